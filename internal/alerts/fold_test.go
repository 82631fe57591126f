package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

// answer is one HTTP answer, collected from a goroutine.
type answer struct {
	code       int
	retryAfter string
	body       map[string]any
}

// postAsync serves a request on its own goroutine; the answer arrives on the channel.
func (ts *testServer) postAsync(path string, body []byte, headers map[string]string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, alertRequest(path, body, headers))
		a := answer{code: rec.Code, retryAfter: rec.Header().Get("Retry-After")}
		_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
		out <- a
	}()
	return out
}

// holdSignals makes the fake starter block every signal until release is
// called; entered receives once per signal that reached it.
func holdSignals(ts *testServer) (entered <-chan struct{}, release func()) {
	in := make(chan struct{}, 1000)
	gate := make(chan struct{})
	ts.starter.gate = func() {
		in <- struct{}{}
		<-gate
	}
	var once sync.Once
	return in, func() { once.Do(func() { close(gate) }) }
}

// waitQueued waits until n alerts are queued behind the signal in flight.
func waitQueued(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts.folds.mu.Lock()
		queued := 0
		for _, q := range ts.folds.queues {
			queued += len(q)
		}
		ts.folds.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts queued, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdFirstSignal starts a server (without a coalesce window) whose
// signals are held until release, posts an SNS alarm and returns once the
// signal carrying it is in flight.
func holdFirstSignal(t *testing.T, mutate func(*Config)) (ts *testServer, body []byte, first <-chan answer, release func()) {
	t.Helper()
	ts = newTestServer(t, func(c *Config) {
		c.CoalesceWindow = -1
		if mutate != nil {
			mutate(c)
		}
	})
	entered, release := holdSignals(ts)
	t.Cleanup(release)
	body = snsBody(t, "sns-cloudwatch-alarm.json", nil)
	first = ts.postAsync("/alerts/sns", body, nil)
	<-entered
	return ts, body, first, release
}

func TestAlertsForOneIncidentShareTheNextSignal(t *testing.T) {
	ts, body, first, release := holdFirstSignal(t, nil)
	const more = 49
	var answers []<-chan answer
	for range more {
		answers = append(answers, ts.postAsync("/alerts/sns", body, nil))
	}
	waitQueued(t, ts, more)
	select {
	case a := <-answers[0]:
		t.Fatalf("answered %d before the signal carrying the alert was recorded", a.code)
	default:
	}
	release()

	started := 0
	for _, ch := range append(answers, first) {
		a := <-ch
		if a.code != http.StatusAccepted {
			t.Fatalf("status %d %v, want 202", a.code, a.body)
		}
		if a.body["incidents"].([]any)[0].(map[string]any)["started"] == true {
			started++
		}
	}
	alerts, signals := ts.starter.folded()
	if signals != 2 || alerts != more+1 || started != 1 {
		t.Errorf("%d requests became %d signals standing for %d alerts, %d answered started; want 2 signals, %d alerts, 1 started",
			more+1, signals, alerts, started, more+1)
	}
	if c := ts.starter.signals[1].Count; c != more {
		t.Errorf("second signal count %d, want %d", c, more)
	}
}

func TestAlertsWithinTheWindowShareTheFirstSignal(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.CoalesceWindow = 200 * time.Millisecond })
	body := snsBody(t, "sns-cloudwatch-alarm.json", nil)
	var answers []<-chan answer
	for range 10 {
		answers = append(answers, ts.postAsync("/alerts/sns", body, nil))
	}
	for _, ch := range answers {
		if a := <-ch; a.code != http.StatusAccepted {
			t.Fatalf("status %d %v", a.code, a.body)
		}
	}
	// All ten were queued long before the window ended (on a very slow
	// machine a second signal is possible; the count is exact either way).
	alerts, signals := ts.starter.folded()
	if alerts != 10 || signals > 2 {
		t.Errorf("10 requests: %d signals standing for %d alerts, want 1 (at most 2) for 10", signals, alerts)
	}
	t.Logf("10 requests within the window: %d signal(s)", signals)
}

func TestIncidentsAndStatusesDoNotShareSignals(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.CoalesceWindow = 100 * time.Millisecond })
	firing := snsBody(t, "sns-cloudwatch-alarm.json", nil)
	titan := snsBody(t, "sns-cloudwatch-alarm.json", func(e *SNSEnvelope) {
		e.Message = strings.ReplaceAll(e.Message, "anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-text-express-v1")
	})
	// Open the incident first, so the resolved alert has one to land on.
	if code, resp, _ := ts.post(t, "/alerts/sns", firing, nil); code != http.StatusAccepted {
		t.Fatalf("status %d %v", code, resp)
	}
	ok := snsBody(t, "sns-cloudwatch-ok.json", nil)
	chans := []<-chan answer{
		ts.postAsync("/alerts/sns", firing, nil),
		ts.postAsync("/alerts/sns", titan, nil),
		ts.postAsync("/alerts/sns", ok, nil),
	}
	for _, ch := range chans {
		if a := <-ch; a.code != http.StatusAccepted {
			t.Fatalf("status %d %v", a.code, a.body)
		}
	}
	ts.starter.mu.Lock()
	defer ts.starter.mu.Unlock()
	// The first incident's firing and resolved alerts, and the second
	// incident's firing alert, each had a signal of their own.
	var started []string
	for _, in := range ts.starter.inputs[1:] {
		started = append(started, in.ID)
	}
	slices.Sort(started)
	if len(started) != 2 || started[0] == started[1] || len(ts.starter.signaled) != 1 {
		t.Errorf("firing signals for %v, resolved signals for %v: want one signal per incident and status", started, ts.starter.signaled)
	}
}

func TestFailedSignalAnswersEveryRequestItCarried(t *testing.T) {
	ts, body, first, release := holdFirstSignal(t, nil)
	var answers []<-chan answer
	for range 20 {
		answers = append(answers, ts.postAsync("/alerts/sns", body, nil))
	}
	waitQueued(t, ts, 20)
	ts.starter.mu.Lock()
	ts.starter.err = errors.New("temporal: connection refused")
	ts.starter.mu.Unlock()
	release()
	for _, ch := range append(answers, first) {
		a := <-ch
		msg, _ := a.body["error"].(string)
		if a.code != http.StatusServiceUnavailable || a.retryAfter == "" || !strings.Contains(msg, "connection refused") {
			t.Errorf("status %d Retry-After %q %v, want 503 with Retry-After and the reason", a.code, a.retryAfter, a.body)
		}
	}
}

func TestOverloadIsRefusedWithRetryAfterNotQueued(t *testing.T) {
	const limit = 4
	ts, body, first, release := holdFirstSignal(t, func(c *Config) { c.MaxWaiting = limit })
	held := []<-chan answer{first}
	for range limit - 1 {
		held = append(held, ts.postAsync("/alerts/sns", body, nil))
	}
	waitQueued(t, ts, limit-1)

	for _, path := range []string{"/alerts/sns", "/alerts/generic"} {
		b := body
		if path == "/alerts/generic" {
			b = readTestdata(t, "generic.json")
		}
		a := <-ts.postAsync(path, b, authFor(ts, SourceGeneric, b))
		msg, _ := a.body["error"].(string)
		if a.code != http.StatusServiceUnavailable || a.retryAfter != "1" || !strings.Contains(msg, "overloaded") {
			t.Errorf("%s over the limit: status %d Retry-After %q %v, want 503, Retry-After 1, overloaded", path, a.code, a.retryAfter, a.body)
		}
	}
	release()
	for _, ch := range held {
		if a := <-ch; a.code != http.StatusAccepted {
			t.Errorf("held request: status %d %v", a.code, a.body)
		}
	}
	if alerts, _ := ts.starter.folded(); alerts != limit {
		t.Errorf("%d alerts folded, want the %d accepted ones only", alerts, limit)
	}
	// Once the queue drained, alerts are taken again.
	if code, resp, _ := ts.post(t, "/alerts/sns", body, nil); code != http.StatusAccepted {
		t.Errorf("after the storm: status %d %v", code, resp)
	}
}

func TestSenderThatLeavesBeforeItsSignalIsNotCounted(t *testing.T) {
	ts, body, first, release := holdFirstSignal(t, nil)

	// A second request for the same incident waits behind it, then its
	// sender disconnects.
	env, err := ParseSNSEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := ParseSNSMessage(env)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planAlert(alerts[0], ts.cfg.Routes, ts.cfg.Library)
	if err != nil || p == nil {
		t.Fatalf("plan: %v %v", p, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	f := &fold{plan: p, sig: alerts[0].Signal(testNow)}
	ts.folds.add(ctx, f)
	waitQueued(t, ts, 1)
	cancel()
	if _, err := ts.folds.wait(ctx, f); err == nil {
		t.Fatal("wait after the sender left: no error")
	}
	release()
	if a := <-first; a.code != http.StatusAccepted {
		t.Fatalf("first: %d %v", a.code, a.body)
	}
	if alerts, signals := ts.starter.folded(); alerts != 1 || signals != 1 {
		t.Errorf("%d signals for %d alerts, want only the answered one", signals, alerts)
	}
}

func TestContentTypeIsChecked(t *testing.T) {
	am, gen := readTestdata(t, "alertmanager.json"), readTestdata(t, "generic.json")
	sns := snsBody(t, "sns-cloudwatch-alarm.json", nil)
	tests := []struct {
		name, path, contentType string
		body                    []byte
		code                    int
		reason                  string
	}{
		{"alertmanager as form", "/alerts/alertmanager", "application/x-www-form-urlencoded", am, 415, "is not application/json"},
		{"alertmanager without a type", "/alerts/alertmanager", "", am, 415, "missing Content-Type"},
		{"generic as text", "/alerts/generic", "text/plain", gen, 415, "is not application/json"},
		{"eventbridge malformed type", "/alerts/eventbridge", "application/", readTestdata(t, "eventbridge-alarm.json"), 415, "is not application/json"},
		{"sns as json", "/alerts/sns", "application/json", sns, 415, "is not text/plain"},
		{"json with charset", "/alerts/alertmanager", "application/json; charset=utf-8", am, 202, ""},
		{"sns as sns sends it", "/alerts/sns", "text/plain; charset=UTF-8", sns, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			source := strings.TrimPrefix(tt.path, "/alerts/")
			headers := authFor(ts, source, tt.body)
			if headers == nil {
				headers = map[string]string{}
			}
			headers["Content-Type"] = tt.contentType
			code, resp, _ := ts.post(t, tt.path, tt.body, headers)
			if code != tt.code {
				t.Fatalf("status %d, want %d: %v", code, tt.code, resp)
			}
			if msg, _ := resp["error"].(string); !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not say %q", msg, tt.reason)
			}
			if tt.code != 202 && ts.starter.calls() != 0 {
				t.Error("a refused request reached the starter")
			}
		})
	}
}

// rejectReplays turns replay protection on for the generic source, as
// reject_replays: true in the routes file does.
func rejectReplays(c *Config) { c.Routes.Sources[SourceGeneric].RejectReplays = true }

func TestReplayedSignedRequest(t *testing.T) {
	body := readTestdata(t, "generic.json")
	t.Run("is refused with a reason when replay protection is on", func(t *testing.T) {
		ts := newTestServer(t, rejectReplays)
		h := hmacHeaders(ts, body)
		if code, resp, _ := ts.post(t, "/alerts/generic", body, h); code != http.StatusAccepted {
			t.Fatalf("first: %d %v", code, resp)
		}
		ts.clock.Add(time.Minute) // still inside the signature window
		code, resp, _ := ts.post(t, "/alerts/generic", body, h)
		if msg, _ := resp["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "replayed request") {
			t.Errorf("replay: status %d %v, want 409 replayed request", code, resp)
		}
		// The same alert signed anew is a new request.
		if code, resp, _ := ts.post(t, "/alerts/generic", body, hmacHeaders(ts, body)); code != http.StatusAccepted {
			t.Errorf("re-signed: %d %v", code, resp)
		}
		if alerts, _ := ts.starter.folded(); alerts != 2 {
			t.Errorf("%d alerts folded, want 2", alerts)
		}
	})
	t.Run("a refused request may be sent again as it is", func(t *testing.T) {
		ts := newTestServer(t, rejectReplays)
		h := hmacHeaders(ts, body)
		ts.starter.err = errors.New("temporal: connection refused")
		if code, resp, _ := ts.post(t, "/alerts/generic", body, h); code != http.StatusServiceUnavailable {
			t.Fatalf("with Temporal down: %d %v", code, resp)
		}
		ts.starter.err = nil
		if code, resp, _ := ts.post(t, "/alerts/generic", body, h); code != http.StatusAccepted {
			t.Errorf("retry of a refused request: %d %v, want 202", code, resp)
		}
	})
	t.Run("is accepted when replay protection is off", func(t *testing.T) {
		ts := newTestServer(t, nil)
		h := hmacHeaders(ts, body)
		for i := range 2 {
			if code, resp, _ := ts.post(t, "/alerts/generic", body, h); code != http.StatusAccepted {
				t.Errorf("post %d: %d %v", i, code, resp)
			}
		}
	})
	t.Run("forgets signatures once they left the window", func(t *testing.T) {
		clk := &clock{t: testNow}
		g := newReplayGuard(clk.Now)
		for i := range 3000 {
			if _, rerr := g.claim(fmt.Sprint(i), clk.Now().Add(SignatureWindow)); rerr != nil {
				t.Fatal(rerr)
			}
		}
		clk.Add(SignatureWindow)
		if _, rerr := g.claim("1", clk.Now().Add(SignatureWindow)); rerr != nil {
			t.Errorf("a signature that left the window is still refused: %v", rerr)
		}
		for i := range 1999 {
			if _, rerr := g.claim(fmt.Sprint("new", i), clk.Now().Add(SignatureWindow)); rerr != nil {
				t.Fatal(rerr)
			}
		}
		if n := len(g.seen); n != 2000 {
			t.Errorf("%d signatures remembered, want the 2000 inside the window (the expired ones swept)", n)
		}
	})
}

func TestLargeLabelsAreBoundedBeforeTheyAreSignalled(t *testing.T) {
	ts := newTestServer(t, nil)
	labels := map[string]string{"env": "prod", "knowledge_base_id": "KB12345678", "agent_id": "AGENT00001"}
	for i := range 16 {
		labels[fmt.Sprintf("blob%02d", i)] = strings.Repeat("x", 60_000)
	}
	body, _ := json.Marshal(map[string]any{"name": "agent-kb-exfiltration", "labels": labels})
	if len(body) < 900_000 || len(body) > DefaultMaxBodyBytes {
		t.Fatalf("body is %d bytes, want just under 1 MiB", len(body))
	}
	code, resp, _ := ts.post(t, "/alerts/generic", body, hmacHeaders(ts, body))
	if code != http.StatusAccepted {
		t.Fatalf("status %d %v", code, resp)
	}
	sig := ts.starter.signals[0]
	size := 0
	for k, v := range sig.Labels {
		size += len(k) + len(v)
	}
	if size > contract.MaxAlertBytes+64 || sig.Labels[contract.DroppedLabelsKey] == "" || !strings.HasSuffix(sig.Labels["blob00"], contract.TruncatedMarker) {
		t.Errorf("signalled labels are %d bytes (dropped %q), want at most %d with truncation marked", size, sig.Labels[contract.DroppedLabelsKey], contract.MaxAlertBytes)
	}
}

// Every Temporal call goes through internal/incidents: no file of this
// package (tests aside) imports the Temporal SDK or API.
func TestAlertsDoNotCallTemporalThemselves(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.HasPrefix(strings.Trim(imp.Path.Value, `"`), "go.temporal.io/") {
				t.Errorf("%s imports %s: go through internal/incidents", file, imp.Path.Value)
			}
		}
	}
}
