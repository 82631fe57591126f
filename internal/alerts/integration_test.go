//go:build !nointegration

package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// temporalEnv is an embedded Temporal server running the real Incident
// workflow, with the alert server in front of it over HTTP.
type temporalEnv struct {
	c    client.Client
	inc  *incidents.Client
	http *httptest.Server
	ts   *testServer
}

func newTemporalEnv(t *testing.T) *temporalEnv {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := temporaltest.NewServer(temporaltest.WithT(t),
		temporaltest.WithBaseClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(quiet)}))
	c := srv.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sas := map[string]enumspb.IndexedValueType{}
	for _, name := range contract.SearchAttributes {
		sas[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: srv.GetDefaultNamespace(), SearchAttributes: sas,
	}); err != nil {
		t.Fatalf("add search attributes: %v", err)
	}
	reg, err := worker.BuildRegistry(ctx, worker.ActionOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	notifier := activities.NewNotifier(nil, "", quiet)
	srv.NewWorker(contract.DefaultTaskQueue, func(r sdkworker.Registry) { worker.Register(r, reg, notifier) })

	inc := incidents.New(c, contract.DefaultTaskQueue).WithNamespace(srv.GetDefaultNamespace())
	ts := newTestServer(t, func(cfg *Config) {
		cfg.Starter = NewTemporalStarter(inc)
		cfg.Now = time.Now
		// The storm must not be rate limited: it is what folding is for.
		rs := *cfg.Routes
		rs.Sources = map[string]*SourceConfig{}
		for k, v := range cfg.Routes.Sources {
			cp := *v
			rs.Sources[k] = &cp
		}
		rs.Sources[SourceSNS].Burst = 5000
		cfg.Routes = &rs
	})
	env := &temporalEnv{c: c, inc: inc, ts: ts, http: httptest.NewServer(ts)}
	t.Cleanup(env.http.Close)
	return env
}

func (e *temporalEnv) post(t *testing.T, body []byte) (int, Response) {
	t.Helper()
	resp, err := http.Post(e.http.URL+"/alerts/sns", "text/plain; charset=UTF-8", bytes.NewReader(body))
	if err != nil {
		t.Errorf("post: %v", err)
		return 0, Response{}
	}
	defer resp.Body.Close()
	var r Response
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("decode %q: %v", b, err)
		}
	} else {
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, r
}

// waitStatus polls the incident's status until ok says so.
func (e *temporalEnv) waitStatus(t *testing.T, id string, what string, ok func(contract.Status) bool) contract.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var st contract.Status
	var err error
	for ctx.Err() == nil {
		st, err = e.inc.Status(ctx, id)
		if err == nil && ok(st) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("incident %s: waiting for %s: last status %+v, err %v", id, what, st, err)
	return st
}

// fresh stamps an SNS message with the current time (the server refuses
// stale ones) before it is signed.
func fresh(e *SNSEnvelope) { e.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func TestIntegrationStormOfOneAlertIsOneIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	env := newTemporalEnv(t)
	firing := snsBody(t, "sns-cloudwatch-alarm.json", fresh)
	const posts = 1000
	const inFlight = 64 // bounded, like a load balancer's connection pool

	var (
		mu      sync.Mutex
		started int
		runIDs  = map[string]int{}
		ids     = map[string]bool{}
		wg      sync.WaitGroup
		sem     = make(chan struct{}, inFlight)
	)
	for range posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			code, r := env.post(t, firing)
			if code != http.StatusAccepted || len(r.Incidents) != 1 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			inc := r.Incidents[0]
			if inc.Started {
				started++
			}
			runIDs[inc.RunID]++
			ids[inc.ID] = true
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if started != 1 || len(runIDs) != 1 || len(ids) != 1 {
		t.Fatalf("%d posts: started %d times, run ids %v, incident ids %v; want one incident and one run", posts, started, runIDs, ids)
	}
	var id, runID string
	for k := range ids {
		id = k
	}
	for k := range runIDs {
		runID = k
	}
	if want := IncidentID("usage-spike", "usage-spike|anthropic.claude-3-haiku-20240307-v1:0"); id != want {
		t.Errorf("incident id %s, want %s", id, want)
	}
	st := env.waitStatus(t, id, "1000 folded alerts and containment", func(s contract.Status) bool {
		return s.Alerts.Count == posts && s.State == contract.StateContained
	})
	if st.Runbook != "usage-spike" || st.Severity != "high" || st.Source != SourceSNS {
		t.Errorf("status runbook %s severity %s source %s", st.Runbook, st.Severity, st.Source)
	}
	if st.Alerts.Labels["ModelId"] != "anthropic.claude-3-haiku-20240307-v1:0" {
		t.Errorf("folded labels %v", st.Alerts.Labels)
	}

	// Exactly one execution of this workflow id exists.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var runs int
	for ctx.Err() == nil { // visibility is eventually consistent
		resp, err := env.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", id)})
		if err != nil {
			t.Fatalf("list executions: %v", err)
		}
		if runs = len(resp.GetExecutions()); runs > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if runs != 1 {
		t.Errorf("%d executions of %s, want 1", runs, id)
	}

	// The alarm returns to OK: the route resolves the incident, which closes.
	code, r := env.post(t, snsBody(t, "sns-cloudwatch-ok.json", fresh))
	if code != http.StatusAccepted || len(r.Incidents) != 1 || !r.Incidents[0].ResolveRequested || r.Incidents[0].Started {
		t.Fatalf("OK alarm: status %d %+v, want resolve requested and nothing started", code, r)
	}
	var final contract.Status
	if err := env.c.GetWorkflow(ctx, id, runID).Get(ctx, &final); err != nil {
		t.Fatalf("incident %s did not close: %v", id, err)
	}
	if final.Alerts.Count != posts || final.Alerts.Resolved != 1 {
		t.Errorf("closed incident folded %d firing and %d resolved alerts, want %d and 1", final.Alerts.Count, final.Alerts.Resolved, posts)
	}

	// The next alert after the close starts a new incident with the same id.
	code, r = env.post(t, firing)
	if code != http.StatusAccepted || len(r.Incidents) != 1 || !r.Incidents[0].Started || r.Incidents[0].RunID == runID || r.Incidents[0].ID != id {
		t.Fatalf("alert after close: %d %+v, want a new run of %s", code, r, id)
	}
	st = env.waitStatus(t, id, "the new incident's first alert", func(s contract.Status) bool { return s.Alerts.Count == 1 })
	if st.State == contract.StateClosed {
		t.Errorf("new incident is %s", st.State)
	}
}
