package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Limits bound what one client can hold of an HTTP server. Every field has
// a default (DefaultLimits); tests shorten them.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included: a
	// sender that trickles its body is cut off when it ends. Alert and
	// Slack bodies are at most 1 MiB, sent in one go by real senders.
	ReadTimeout time.Duration
	// WriteTimeout bounds the handler and the answer, from the end of the
	// headers. It must exceed the slowest handler: an alert request folds
	// each of its alerts into Temporal.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful stop: requests in flight get this
	// long to finish.
	ShutdownTimeout time.Duration
}

// DefaultLimits are the limits of `quench serve` and `quench dev`.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxHeaderBytes:    64 << 10,
	ShutdownTimeout:   10 * time.Second,
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	l.ReadHeaderTimeout = pick(l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	l.ReadTimeout = pick(l.ReadTimeout, d.ReadTimeout)
	l.WriteTimeout = pick(l.WriteTimeout, d.WriteTimeout)
	l.IdleTimeout = pick(l.IdleTimeout, d.IdleTimeout)
	l.ShutdownTimeout = pick(l.ShutdownTimeout, d.ShutdownTimeout)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// NewServer is the one place quench builds an http.Server: every server it
// runs has every limit set.
func NewServer(h http.Handler, limits Limits, log *slog.Logger) *http.Server {
	l := limits.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		// What net/http reports itself: accept errors, handler panics.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listen serves h on addr (host:port; port 0 picks one) until stop is
// called, which shuts the server down gracefully within the limits'
// ShutdownTimeout. It returns the address it listens on.
func Listen(ctx context.Context, addr string, h http.Handler, limits Limits, log *slog.Logger) (stop func(), bound string, err error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w (choose another with --listen)", addr, err)
	}
	hs := NewServer(h, limits, log)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "addr", ln.Addr().String(), "error", err)
		}
	}()
	timeout := limits.withDefaults().ShutdownTimeout
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}, ln.Addr().String(), nil
}
