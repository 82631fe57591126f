package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/httpapi"
)

func TestNewServerSetsEveryLimit(t *testing.T) {
	t.Parallel()
	hs := httpapi.NewServer(http.NotFoundHandler(), httpapi.Limits{ReadTimeout: time.Second}, quiet())
	if hs.ReadTimeout != time.Second {
		t.Errorf("ReadTimeout = %s, want the one given", hs.ReadTimeout)
	}
	d := httpapi.DefaultLimits
	if hs.ReadHeaderTimeout != d.ReadHeaderTimeout || hs.WriteTimeout != d.WriteTimeout || hs.IdleTimeout != d.IdleTimeout || hs.MaxHeaderBytes != d.MaxHeaderBytes {
		t.Errorf("server limits %s %s %s %d, want the defaults for the fields not given", hs.ReadHeaderTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	for name, v := range map[string]time.Duration{"ReadHeaderTimeout": d.ReadHeaderTimeout, "ReadTimeout": d.ReadTimeout, "WriteTimeout": d.WriteTimeout, "IdleTimeout": d.IdleTimeout} {
		if v <= 0 {
			t.Errorf("DefaultLimits.%s is unset", name)
		}
	}
}

// listen serves an alert-like endpoint (reads its body) and /healthz with
// the given limits.
func listen(t *testing.T, limits httpapi.Limits) string {
	t.Helper()
	mux := http.NewServeMux()
	httpapi.MountHealth(mux, func(context.Context) error { return nil })
	mux.HandleFunc("POST /alerts/generic", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	stop, addr, err := httpapi.Listen(t.Context(), "127.0.0.1:0", mux, limits, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// 200 clients that send headers and 10 bytes of a 1,000-byte body, then
// stall, are all disconnected once ReadTimeout passes, while the server
// keeps answering everyone else.
func TestSlowBodiesAreCutOff(t *testing.T) {
	t.Parallel()
	const conns = 200
	limits := httpapi.Limits{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}
	addr := listen(t, limits)

	// Longer than ReadTimeout by far: a connection still open then is held.
	giveUp := time.Now().Add(30 * time.Second)
	began := time.Now()
	closedAfter := make([]time.Duration, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		req := "POST /alerts/generic HTTP/1.1\r\nHost: quench\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + `{"alerts":`
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		wg.Go(func() {
			_ = c.SetReadDeadline(giveUp)
			_, err := io.Copy(io.Discard, c) // until the server closes
			closedAfter[i] = time.Since(began)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				errs <- fmt.Errorf("connection %d still open after %s", i, time.Since(began).Round(time.Millisecond))
			}
		})
	}

	// Meanwhile everyone else is served.
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := range 20 {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("healthz %d while %d slow bodies are open: %v", i, conns, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz %d: %d", i, resp.StatusCode)
		}
		resp, err = hc.Post("http://"+addr+"/alerts/generic", "application/json", strings.NewReader(`{"alerts":[]}`))
		if err != nil {
			t.Fatalf("alert post %d while %d slow bodies are open: %v", i, conns, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("alert post %d: %d", i, resp.StatusCode)
		}
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	slices.Sort(closedAfter)
	t.Logf("%d slow-body connections closed by the server; ReadTimeout %s; after %s (first), %s (median), %s (last)",
		conns, limits.ReadTimeout, closedAfter[0].Round(time.Millisecond), closedAfter[conns/2].Round(time.Millisecond), closedAfter[conns-1].Round(time.Millisecond))
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	t.Parallel()
	addr := listen(t, httpapi.Limits{MaxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header with a 4 KiB limit: %d, want 431", resp.StatusCode)
	}
}
