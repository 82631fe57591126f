package alerts

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// recordingCounter records what the server counted, as "what source n"
// (n alerts, or the status of a refusal).
type recordingCounter struct {
	mu  sync.Mutex
	got []string
}

func (c *recordingCounter) add(what, source string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("%s %s %d", what, source, n))
}

func (c *recordingCounter) AlertsReceived(source string, n int) { c.add("received", source, n) }
func (c *recordingCounter) AlertsFolded(source string, n int)   { c.add("folded", source, n) }
func (c *recordingCounter) AlertsUnrouted(source string, n int) { c.add("unrouted", source, n) }
func (c *recordingCounter) AlertRequestRefused(source string, status int) {
	c.add("refused", source, status)
}

// Every answer is counted once, by the endpoint's source: alerts received
// and folded for a 202, unrouted ones, and a refusal with its status.
func TestServerCountsWhatItDidWithAlerts(t *testing.T) {
	rc := &recordingCounter{}
	ts := newTestServer(t, func(c *Config) { c.Counter = rc })
	sns := snsBody(t, "sns-cloudwatch-alarm.json", nil)
	unrouted := []byte(`{"name": "disk-full", "labels": {"host": "db1"}}`)
	for _, c := range []struct {
		path    string
		body    []byte
		headers map[string]string
		want    int
	}{
		{"/alerts/sns", sns, nil, http.StatusAccepted},
		{"/alerts/sns", sns, nil, http.StatusAccepted},
		{"/alerts/generic", unrouted, hmacHeaders(ts, unrouted), http.StatusAccepted},
		{"/alerts/alertmanager", []byte(`{}`), bearer("wrong"), http.StatusUnauthorized},
		{"/alerts/pagerduty", []byte(`{}`), nil, http.StatusNotFound},
	} {
		if code, resp, _ := ts.post(t, c.path, c.body, c.headers); code != c.want {
			t.Fatalf("POST %s: %d %v, want %d", c.path, code, resp, c.want)
		}
	}
	rec := httptest.NewRecorder()
	ts.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alerts/generic", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /alerts/generic: %d, want 405", rec.Code)
	}
	want := []string{
		"received sns 1", "folded sns 1", "unrouted sns 0",
		"received sns 1", "folded sns 1", "unrouted sns 0",
		"received generic 1", "folded generic 0", "unrouted generic 1",
		"refused alertmanager 401",
		"refused unknown 404",
		"refused generic 405",
	}
	if !slices.Equal(rc.got, want) {
		t.Errorf("counted\n%q\nwant\n%q", rc.got, want)
	}
}
