package worker

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
)

// Connection is how a client secures its connection to Temporal: TLS,
// mutual TLS and Temporal Cloud API keys. It is read from the environment
// variables of the Temporal SDK's envconfig package (go.temporal.io/sdk/
// contrib/envconfig), which the temporal CLI shares, with the CLI's older
// short names (TEMPORAL_TLS_CERT, _KEY, _CA) accepted as aliases; flags
// override both. Files are read when the client dials, so commands that
// never dial are not stopped by a bad setting.
type Connection struct {
	// TLS is "true"/"1" or "false"/"0"; empty means on when any other
	// setting here is given, off otherwise (a plaintext dev server).
	TLS        Setting
	ClientCert Setting
	ClientKey  Setting
	ServerCA   Setting // CA the server's certificate must chain to; default the system roots
	ServerName Setting // name checked in the server's certificate; default the address's host
	// DisableHostVerification skips checking the server's certificate
	// entirely; for a test cluster only.
	DisableHostVerification Setting
	// APIKey is sent as "authorization: Bearer <key>" on every call; it
	// turns TLS on unless TLS is explicitly "false".
	APIKey Setting

	err error // a conflict found while reading the environment
}

// Setting is one connection value and where it came from, an environment
// variable or a flag, so an error can say which to fix.
type Setting struct {
	Value string
	From  string
	// Inline means Value is PEM text (a *_DATA variable), not a file path.
	Inline bool
}

func (s Setting) set() bool { return s.Value != "" }

// where names the setting for an error: the variable and, for a file, its
// path; never inline PEM, which may be a private key.
func (s Setting) where() string {
	if s.Inline {
		return s.From
	}
	return s.From + "=" + s.Value
}

// Flag makes s settable by a command-line flag named name (a pflag.Value).
func (s *Setting) Flag(name string) *SettingFlag { return &SettingFlag{s: s, name: "--" + name} }

// SettingFlag is a Setting as a flag value: setting the flag overrides the
// environment and names the flag in errors.
type SettingFlag struct {
	s    *Setting
	name string
}

func (f *SettingFlag) String() string { return f.s.Value }
func (f *SettingFlag) Type() string   { return "string" }
func (f *SettingFlag) Set(v string) error {
	*f.s = Setting{Value: v, From: f.name}
	return nil
}

// The environment variables, envconfig's name first; the second, where
// there is one, is the temporal CLI's older name the issue tracker and
// older guides use.
var connectionEnv = []struct {
	field       func(*Connection) *Setting
	path, alias string
	data        string // envconfig's inline-PEM variant
}{
	{func(c *Connection) *Setting { return &c.TLS }, "TEMPORAL_TLS", "", ""},
	{func(c *Connection) *Setting { return &c.ClientCert }, "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_DATA"},
	{func(c *Connection) *Setting { return &c.ClientKey }, "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_DATA"},
	{func(c *Connection) *Setting { return &c.ServerCA }, "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_CA_CERT_DATA"},
	{func(c *Connection) *Setting { return &c.ServerName }, "TEMPORAL_TLS_SERVER_NAME", "", ""},
	{func(c *Connection) *Setting { return &c.DisableHostVerification }, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "", ""},
	{func(c *Connection) *Setting { return &c.APIKey }, "TEMPORAL_API_KEY", "", ""},
}

// ConnectionFromEnv reads the connection settings from the environment.
// Two variables for one setting (a path under both names, or a path and
// inline data) with different values are an error, reported by Dial:
// guessing which was meant could connect with the wrong identity.
func ConnectionFromEnv() Connection {
	var c Connection
	var errs []error
	for _, e := range connectionEnv {
		var found []Setting
		for _, name := range []string{e.path, e.alias, e.data} {
			if v := os.Getenv(name); name != "" && v != "" {
				found = append(found, Setting{Value: v, From: name, Inline: name == e.data})
			}
		}
		if len(found) == 0 {
			continue
		}
		*e.field(&c) = found[0]
		for _, other := range found[1:] {
			if other.Value != found[0].Value || other.Inline != found[0].Inline {
				errs = append(errs, fmt.Errorf("%s and %s are both set, differently: set one", found[0].From, other.From))
			}
		}
	}
	c.err = errors.Join(errs...)
	return c
}

// Configured reports whether any setting is given, for `quench dev`, whose
// embedded server speaks plaintext on loopback and ignores them.
func (c Connection) Configured() bool {
	return c.TLS.set() || c.ClientCert.set() || c.ClientKey.set() || c.ServerCA.set() ||
		c.ServerName.set() || c.DisableHostVerification.set() || c.APIKey.set()
}

// apply sets TLS and credentials on opts. Every problem is an error naming
// the variable (or flag) and file: a client that silently fell back to
// plaintext or to no client certificate would fail later, less clearly, or
// not at all.
func (c Connection) apply(opts *client.Options) error {
	if c.err != nil {
		return c.err
	}
	on, explicit, err := parseBool(c.TLS)
	if err != nil {
		return err
	}
	hostOff, _, err := parseBool(c.DisableHostVerification)
	if err != nil {
		return err
	}
	tlsSettings := c.ClientCert.set() || c.ClientKey.set() || c.ServerCA.set() || c.ServerName.set() || hostOff
	if explicit && !on {
		if tlsSettings {
			return fmt.Errorf("%s turns TLS off, but TLS settings are given (client certificate, CA, server name or host verification): unset one or the other", c.TLS.where())
		}
		// An API key over plaintext is the user's explicit choice (e.g. a
		// local proxy that terminates TLS), as in envconfig.
		opts.ConnectionOptions.TLSDisabled = true
	} else if on || tlsSettings || c.APIKey.set() {
		cfg, err := c.tlsConfig(hostOff)
		if err != nil {
			return err
		}
		opts.ConnectionOptions.TLS = cfg
	}
	if c.APIKey.set() {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey.Value)
	}
	return nil
}

func (c Connection) tlsConfig(skipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName.Value, InsecureSkipVerify: skipVerify}
	switch {
	case c.ClientCert.set() && !c.ClientKey.set():
		return nil, fmt.Errorf("%s gives a client certificate but no key is set: set TEMPORAL_TLS_CLIENT_KEY_PATH (or TEMPORAL_TLS_KEY)", c.ClientCert.where())
	case c.ClientKey.set() && !c.ClientCert.set():
		return nil, fmt.Errorf("%s gives a client key but no certificate is set: set TEMPORAL_TLS_CLIENT_CERT_PATH (or TEMPORAL_TLS_CERT)", c.ClientKey.where())
	case c.ClientCert.set():
		certPEM, err := c.ClientCert.read("client certificate")
		if err != nil {
			return nil, err
		}
		keyPEM, err := c.ClientKey.read("client key")
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s: %w", c.ClientCert.where(), c.ClientKey.where(), err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if c.ServerCA.set() {
		caPEM, err := c.ServerCA.read("server CA certificate")
		if err != nil {
			return nil, err
		}
		pool, err := certPool(caPEM)
		if err != nil {
			return nil, fmt.Errorf("server CA certificate %s: %w", c.ServerCA.where(), err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// read returns the PEM the setting gives, inline or from its file.
func (s Setting) read(what string) ([]byte, error) {
	if s.Inline {
		return []byte(s.Value), nil
	}
	b, err := os.ReadFile(s.Value)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, s.where(), err)
	}
	return b, nil
}

// certPool parses every certificate in caPEM: unlike AppendCertsFromPEM,
// which skips what it cannot parse, a bad certificate is an error.
func certPool(caPEM []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// parseBool reads a boolean setting as envconfig does (1, 0, true, false,
// any case), but a value it cannot read is an error rather than ignored.
func parseBool(s Setting) (v, set bool, err error) {
	if !s.set() {
		return false, false, nil
	}
	switch strings.ToLower(s.Value) {
	case "1", "true":
		return true, true, nil
	case "0", "false":
		return false, true, nil
	}
	return false, false, fmt.Errorf("%s: want true, false, 1 or 0", s.where())
}
