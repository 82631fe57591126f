package main

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/internal/httpapi"
)

type codecServerOptions struct {
	listen         string
	allowOrigin    string
	insecureNoAuth bool
}

func newCmdCodecServer(a *app) *cobra.Command {
	var o codecServerOptions
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve Temporal's remote codec endpoint so the Temporal UI and CLI can show decrypted incidents",
		Long: `Codec-server decrypts incident payloads for the Temporal Web UI and the
temporal CLI, which otherwise show only ciphertext when quench encrypts
history (QUENCH_CODEC_KEYS or QUENCH_CODEC_KEYS_FILE: the same keys as the
worker).

  POST /decode  POST /encode   (Temporal's remote codec protocol)

Every request must carry "Authorization: Bearer <QUENCH_CODEC_AUTH_TOKEN>"
(or the token in QUENCH_CODEC_AUTH_TOKEN_FILE); without a token configured
the server refuses to start, unless it listens on localhost only and
--insecure-no-auth is given. Browsers may call it only from --allow-origin,
the Temporal UI's origin; a request from any other origin is refused.

The Temporal UI sends no static token: put this server behind the proxy
that authenticates your UI users and have it add the header, and set the
UI's codec endpoint to the proxy. With the CLI:
temporal workflow show --codec-endpoint URL --codec-auth "Bearer TOKEN".`,
		Example: `  QUENCH_CODEC_KEYS_FILE=/run/secrets/quench-keys QUENCH_CODEC_AUTH_TOKEN_FILE=/run/secrets/codec-token \
    quench codec-server --listen :8081 --allow-origin https://temporal.example.com
  quench codec-server --insecure-no-auth --allow-origin http://localhost:8233   # on a laptop`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			stop, addr, err := a.startCodecServer(cmd.Context(), o)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(a.out, "quench codec-server ready: http://%s (keys %v, origin %s)\n", addr, a.cfg.Codec.KeyIDs(), firstNonEmpty(o.allowOrigin, "none"))
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address to listen on")
	f.StringVar(&o.allowOrigin, "allow-origin", "", "the one browser origin allowed to call it, the Temporal UI's (e.g. https://temporal.example.com)")
	f.BoolVar(&o.insecureNoAuth, "insecure-no-auth", false, "serve without a bearer token (only when --listen is a loopback address)")
	return cmd
}

// startCodecServer checks the configuration, failing closed, and serves
// the codec endpoint until stop is called.
func (a *app) startCodecServer(ctx context.Context, o codecServerOptions) (stop func(), addr string, err error) {
	h, err := a.codecHandler(o)
	if err != nil {
		return nil, "", err
	}
	return httpapi.Listen(ctx, o.listen, h, httpapi.DefaultLimits, a.logger())
}

func (a *app) codecHandler(o codecServerOptions) (http.Handler, error) {
	if err := a.loadCodec(); err != nil {
		return nil, err
	}
	if a.cfg.Codec == nil {
		return nil, fmt.Errorf("codec-server: no keys: set %s or %s (the keys the worker encrypts with)", codec.EnvKeys, codec.EnvKeysFile)
	}
	token, err := codec.AuthTokenFromEnv()
	if err != nil {
		return nil, fmt.Errorf("codec-server: %w", err)
	}
	if o.insecureNoAuth {
		if token != "" {
			return nil, usagef(fmt.Sprintf("--insecure-no-auth with %s set: drop one", codec.EnvAuthToken))
		}
		if !loopback(o.listen) {
			return nil, usagef(fmt.Sprintf("--insecure-no-auth needs a loopback --listen (127.0.0.1:PORT, [::1]:PORT or localhost:PORT), not %q: anyone who reaches it could decrypt every incident", o.listen))
		}
	}
	h, err := codec.Handler(a.cfg.Codec, codec.HandlerOptions{Token: token, Insecure: o.insecureNoAuth, AllowOrigin: o.allowOrigin})
	if err != nil {
		return nil, usagef(err.Error())
	}
	return h, nil
}

// loopback is true when addr (host:port) listens on a loopback interface
// only; an empty host listens on every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
