package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// UIPortOffset puts the UI at the frontend's port + 1000 by default, as
// `temporal server start-dev` does (7233 → 8233).
const UIPortOffset = 1000

// UIOptions configure StartUI.
type UIOptions struct {
	// Port the UI listens on, on 127.0.0.1; 0 picks a free port.
	Port int
	// TemporalAddress is the frontend's gRPC address (host:port).
	TemporalAddress string
	// Namespace the UI opens first.
	Namespace string
	// CodecEndpoint, when set, is the remote codec the browser calls to
	// decode payloads (…/decode). The browser sends its cookies with it
	// (the UI's "include credentials"): the endpoint authenticates by one.
	CodecEndpoint string
}

// UI is a running Temporal Web UI (github.com/temporalio/ui-server), the one
// `temporal server start-dev` serves.
type UI struct {
	srv *uiserver.Server
	url string
}

// StartUI serves the Temporal Web UI for the server at o.TemporalAddress and
// returns once it answers its health check.
func StartUI(ctx context.Context, o UIOptions) (*UI, error) {
	if o.TemporalAddress == "" {
		return nil, errors.New("temporal ui: no temporal address")
	}
	port, err := uiPort(o.Port)
	if err != nil {
		return nil, err
	}
	cfg := &uiconfig.Config{
		Host:                defaultIP,
		Port:                port,
		TemporalGRPCAddress: o.TemporalAddress,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		Codec:               uiconfig.Codec{Endpoint: o.CodecEndpoint, IncludeCredentials: o.CodecEndpoint != ""},
		// Plain http on loopback: the CSRF cookie must not require https.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
		// No calls to the internet from a dev server.
		DisableNewsFetch: true,
		// Approvals and decisions are signals and updates that quench sends
		// after its own checks (who may approve, guardrails); the UI is for
		// reading incidents, not for going around those checks. These hide
		// the UI's controls only: like the frontend port, the UI's API has no
		// login, which is why both listen on loopback. Terminate and cancel
		// stay, as in the official dev server.
		WorkflowSignalDisabled: true,
		WorkflowUpdateDisabled: true,
		WorkflowResetDisabled:  true,
		StartWorkflowDisabled:  true,
		BatchActionsDisabled:   true,
		Distribution:           "quench",
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("temporal ui: %w", err)
	}
	u := &UI{
		srv: uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg)),
		url: "http://" + net.JoinHostPort(defaultIP, strconv.Itoa(port)),
	}
	// Start blocks, and exits the process if it cannot listen (the
	// ui-server offers no listener of our own); uiPort has just checked the
	// port is free, so that leaves only a race with another process.
	go func() { _ = u.srv.Start() }()
	if err := u.awaitHealthy(ctx); err != nil {
		u.Stop()
		return nil, err
	}
	return u, nil
}

// URL is where the UI is served, e.g. http://127.0.0.1:8233.
func (u *UI) URL() string { return u.url }

// Stop closes the UI's listener and connections.
func (u *UI) Stop() { u.srv.Stop() }

// uiPort returns port after checking it is free, or a free port for 0: the
// ui-server reports a taken port only by exiting the process.
func uiPort(port int) (int, error) {
	if port == 0 {
		return freePort(defaultIP)
	}
	if port < 0 || port > 65535 {
		return 0, fmt.Errorf("temporal ui port %d: want 1-65535", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(defaultIP, strconv.Itoa(port)))
	if errors.Is(err, syscall.EADDRINUSE) {
		return 0, fmt.Errorf("temporal ui port %d on %s is in use (another quench dev or temporal server?); choose another with --ui-port, or --headless for none: %w", port, defaultIP, ErrPortInUse)
	}
	if err != nil {
		return 0, fmt.Errorf("temporal ui: listen on %s:%d: %w", defaultIP, port, err)
	}
	return port, l.Close()
}

// awaitHealthy polls the UI's /healthz until it answers 200.
func (u *UI) awaitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := &http.Client{}
	defer c.CloseIdleConnections()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal ui at %s did not answer its health check: %w", u.url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
