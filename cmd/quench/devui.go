package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/internal/httpapi"
)

// The codec route of `quench dev`, on its HTTP listener: Temporal's remote
// codec (POST /codec/decode, /codec/encode) for the UI and the temporal
// CLI, and GET /codec/signin, which lets a browser in.
const (
	codecPath       = "/codec"
	codecSigninPath = codecPath + "/signin"
	// codecCookie carries the codec token from the browser: the Temporal UI
	// sends a bearer token only to https endpoints and only one from its
	// own login, but sends cookies ("include credentials").
	codecCookie = "quench_codec"
)

// devCodec is dev's codec route and what to tell the user about it.
type devCodec struct {
	handler   http.Handler
	token     string
	generated bool // the token was made for this run: print it
}

// uiPortFor is dev's UI port: --ui-port, or the frontend's + 1000 as
// `temporal server start-dev` does.
func uiPortFor(flag int, frontendAddr string) (int, error) {
	if flag != 0 {
		return flag, nil
	}
	_, p, err := net.SplitHostPort(frontendAddr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0, err
	}
	if port+devserver.UIPortOffset > 65535 {
		return 0, usagef(fmt.Sprintf("no default UI port for temporal port %d (it is the temporal port + %d): choose one with --ui-port, or --headless", port, devserver.UIPortOffset))
	}
	return port + devserver.UIPortOffset, nil
}

// newDevCodec serves the codec endpoint with codec-server's handler, for
// the token in QUENCH_CODEC_AUTH_TOKEN(_FILE) or, without one, a random
// token for this run; browsers may call it from uiOrigin only. Without keys
// there is nothing to decode and no route.
func (a *app) newDevCodec(uiOrigin string) (*devCodec, error) {
	if a.cfg.Codec == nil {
		return nil, nil
	}
	token, err := codec.AuthTokenFromEnv()
	if err != nil {
		return nil, fmt.Errorf("dev codec route: %w", err)
	}
	d := &devCodec{token: token}
	if token == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		d.token, d.generated = hex.EncodeToString(b), true
	}
	h, err := codec.Handler(a.cfg.Codec, codec.HandlerOptions{Token: d.token, AllowOrigin: uiOrigin})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+codecSigninPath, signinHandler(d.token, uiOrigin))
	mux.Handle(codecPath+"/", cookieAuth(h))
	d.handler = mux
	return d, nil
}

// cookieAuth lets the codec handler check the browser's cookie as it
// checks a bearer token; an Authorization header, if sent, wins. The
// handler still refuses any origin but the UI's.
func cookieAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if c, err := r.Cookie(codecCookie); err == nil {
				r.Header.Set("Authorization", "Bearer "+c.Value)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// signinHandler checks ?token= and sets the cookie, then sends the browser
// to the UI (at ?to=, a path of the UI, or its start page). The cookie is
// HttpOnly and SameSite=Strict: the UI is on the same host, another port,
// so the same site; pages of other sites never send it.
func signinHandler(token, uiOrigin string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("token")), []byte(token)) != 1 {
			http.Error(w, "missing or wrong token (the one quench dev printed, or QUENCH_CODEC_AUTH_TOKEN)", http.StatusUnauthorized)
			return
		}
		to := q.Get("to")
		// Only a path on the UI: no open redirect.
		if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.Contains(to, `\`) {
			to = "/"
		}
		http.SetCookie(w, &http.Cookie{Name: codecCookie, Value: token, Path: codecPath, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, uiOrigin+to, http.StatusSeeOther)
	})
}

// startDevHTTP serves dev's HTTP endpoints, with the codec route when
// there is one.
func (a *app) startDevHTTP(ctx context.Context, listen string, routes *alerts.Routes, dc *devCodec) (stop func(), addr string, err error) {
	if dc == nil {
		return a.startHTTP(ctx, listen, routes)
	}
	h, err := a.httpHandler(ctx, routes)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.Handle(codecPath+"/", dc.handler)
	mux.Handle("/", h)
	return httpapi.Listen(ctx, listen, mux, httpapi.DefaultLimits, a.logger())
}

// browserURL is the http URL of a listen address as a browser on this
// machine reaches it: an unspecified host (":8080", "0.0.0.0") is
// 127.0.0.1.
func browserURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}).String()
}

// devUIPort is the UI's port, 0 with --headless.
func devUIPort(o devOptions, frontendAddr string) (int, error) {
	switch {
	case o.headless:
		return 0, nil
	case o.temporalPort == 0 && o.uiPort == 0:
		// A random temporal port's + 1000 is as likely to be taken as any
		// other: the UI gets a free port of its own, printed on the ready line.
		return freeLoopbackPort()
	}
	return uiPortFor(o.uiPort, frontendAddr)
}

// freeLoopbackPort is a port nothing listens on at 127.0.0.1 right now.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the Temporal UI: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// uiOrigin is the origin of the UI on port, "" for none.
func uiOrigin(port int) string {
	if port == 0 {
		return ""
	}
	return browserURL(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// hint tells the user how to decode with the codec route at endpoint: in
// the UI (when there is one) and with the temporal CLI. A token quench dev
// made is shown; one from the environment is not repeated.
func (d *devCodec) hint(endpoint string, ui bool) string {
	token := "$" + codec.EnvAuthToken
	if d.generated {
		token = d.token
	}
	s := fmt.Sprintf("quench dev: codec endpoint %s (token %s): temporal workflow show --codec-endpoint %s --codec-auth \"Bearer %s\"", endpoint, token, endpoint, token)
	if ui {
		s += fmt.Sprintf("; to decode in the UI, open %s?token=%s once in the browser", strings.TrimSuffix(endpoint, codecPath)+codecSigninPath, url.QueryEscape(token))
	}
	return s
}
