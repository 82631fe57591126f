package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/quenchhq/quench/internal/testing/tlstest"
)

// The CLI reaches Temporal through a proxy demanding mutual TLS with the
// temporal CLI's --tls-* flags alone: an incident runs to contained and
// resolves; without them, or with a missing file, it is refused.
func TestTLSFlagsRunAnIncidentOverMutualTLS(t *testing.T) {
	q := startQuench(t)
	dir := t.TempDir()
	serverCA, clientCA := tlstest.NewCA(t, "quench test server CA"), tlstest.NewCA(t, "quench test client CA")
	srvCert, srvKey := serverCA.Server(t)
	cliCert, cliKey := clientCA.Client(t, "quench-cli")
	q.addr = tlstest.Proxy(t, tlstest.ServerConfig(t, srvCert, srvKey, clientCA), q.addr)
	tlsFlags := []string{
		"--tls-ca-path", tlstest.WriteFile(t, dir, "ca.pem", serverCA.PEM),
		"--tls-cert-path", tlstest.WriteFile(t, dir, "client.pem", cliCert),
		"--tls-key-path", tlstest.WriteFile(t, dir, "client.key", cliKey),
		"--tls-server-name", tlstest.ServerName,
	}
	rbDir := t.TempDir()
	tlstest.WriteFile(t, rbDir, "drill.yaml", []byte(`apiVersion: quench/v1
kind: Runbook
metadata: {name: tls-drill, severity: low}
steps:
  - {id: say, action: core.log, with: {message: over mTLS}}
`))

	r := q.run(append(tlsFlags, "run", "tls-drill", "--runbooks", rbDir, "--incident", "tls-cli-1", "--wait", "-o", "json")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"state": "contained"`) {
		t.Fatalf("run over mTLS: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r := q.run(append(tlsFlags, "resolve", "tls-cli-1", "--keep")...); r.code != 0 {
		t.Fatalf("resolve over mTLS: exit %d\n%s", r.code, r.stderr)
	}

	if r := q.run("status", "tls-cli-1"); r.code == 0 {
		t.Fatalf("plaintext through the mTLS proxy worked:\n%s", r.stdout)
	}
	missing := filepath.Join(dir, "missing.pem")
	r = q.run(append(tlsFlags, "--tls-ca-path", missing, "status", "tls-cli-1")...)
	if r.code == 0 || !strings.Contains(r.stderr, "--tls-ca-path="+missing) || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("a missing CA file: exit %d, stderr %q; want it named with its flag", r.code, r.stderr)
	}
}

// quench dev's embedded server speaks plaintext on loopback: settings for
// a real cluster, even broken ones, are set aside with a warning.
func TestTLSSettingsDoNotApplyToDev(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("TEMPORAL_TLS_CA", filepath.Join(t.TempDir(), "missing.pem"))
	t.Setenv("TEMPORAL_API_KEY", "a-cloud-key")
	_, errOut, stop := startDev(t, "dev", "--data-dir", t.TempDir(), "--temporal-port", "0", "--listen", "", "--log-level", "warn")
	if err := stop(); err != nil {
		t.Errorf("dev stopped with %v", err)
	}
	if !strings.Contains(errOut.String(), "quench dev ignores the TLS and API key settings") {
		t.Errorf("no warning that the settings are ignored:\n%s", errOut.String())
	}
}
