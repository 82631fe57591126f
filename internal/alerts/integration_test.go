//go:build !nointegration

package alerts

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/activities/core"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// temporalEnv is an embedded Temporal server running the real Incident
// workflow, with the alert server in front of it over HTTP.
type temporalEnv struct {
	c       client.Client
	inc     *incidents.Client
	http    *httptest.Server
	ts      *testServer
	records *core.RecordStore
}

// envOptions change the environment from the default (testdata/routes.yaml,
// testdata/runbooks, Temporal's own limits).
type envOptions struct {
	dir string // testdata subdirectory with routes.yaml and runbooks/
	// signalStart starts incidents as a separate quench serve does
	// (SignalWithStart); by default they start eagerly, as in quench dev,
	// whose worker runs on the same client.
	signalStart bool
	// suggestContinueAsNewAt is the history length at which the server
	// suggests continue-as-new (Temporal's default: 4 Ki events).
	suggestContinueAsNewAt int
	// maxSignalsPerRun is the number of signals one run accepts (Temporal's
	// default: 10,000).
	maxSignalsPerRun int
}

func newTemporalEnv(t *testing.T, opts envOptions) *temporalEnv {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	serverOpts := []temporaltest.TestServerOption{temporaltest.WithT(t),
		temporaltest.WithBaseClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(quiet)})}
	if opts.suggestContinueAsNewAt > 0 || opts.maxSignalsPerRun > 0 {
		dc := dynamicconfig.StaticClient{
			// temporaltest's own setting, which this client replaces.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		}
		if opts.suggestContinueAsNewAt > 0 {
			dc[dynamicconfig.HistoryCountSuggestContinueAsNew.Key()] = []dynamicconfig.ConstrainedValue{{Value: opts.suggestContinueAsNewAt}}
		}
		if opts.maxSignalsPerRun > 0 {
			dc[dynamicconfig.MaximumSignalsPerExecution.Key()] = []dynamicconfig.ConstrainedValue{{Value: opts.maxSignalsPerRun}}
		}
		serverOpts = append(serverOpts, temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(dc)))
	}
	srv := temporaltest.NewServer(serverOpts...)
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
	records, err := core.NewRecordStore("")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := worker.BuildRegistry(ctx, worker.ActionOptions{Logger: quiet, Records: records})
	if err != nil {
		t.Fatal(err)
	}
	notifier := activities.NewNotifier(nil, "", quiet)
	srv.NewWorker(contract.DefaultTaskQueue, func(r sdkworker.Registry) { worker.Register(r, reg, notifier) })

	inc := incidents.New(c, contract.DefaultTaskQueue).WithNamespace(srv.GetDefaultNamespace())
	if !opts.signalStart {
		inc = inc.WithEagerStart()
	}
	ts := newTestServer(t, func(cfg *Config) {
		cfg.Starter = NewTemporalStarter(inc)
		cfg.Now = time.Now
		// Under -race on a shared 2-core machine a signal has been seen to
		// take over 10 s (DefaultSignalTimeout) while large bodies are
		// parsed; what is tested here is that no alert is lost or refused.
		cfg.SignalTimeout = time.Minute
		if opts.dir != "" {
			lib, err := runbooks.NewLibrary(reg, filepath.Join("testdata", opts.dir, "runbooks"))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := LoadRoutes(filepath.Join("testdata", opts.dir, "routes.yaml"), lib)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Library, cfg.Routes = lib, rs
			return
		}
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
	env := &temporalEnv{c: c, inc: inc, ts: ts, http: httptest.NewServer(ts), records: records}
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
	env := newTemporalEnv(t, envOptions{})
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

// An incident started by an alert carries its search attributes from the
// start request (contract.CurrentRevision), so visibility can find it
// before any worker ran, and its history has no version marker and no
// upsert until the state changes: a burst of new incidents costs two
// visibility writes and two events less per incident than it did.
//
// Started eagerly (quench dev), the first alert rides in the input: no
// signal event, and the first workflow task is started in the start's own
// write. A second alert, sent by a client that does not know the incident
// is open, is folded as a signal into the same run; both are counted.
func TestIntegrationNewIncidentStartsWithItsSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	for _, mode := range []struct {
		name        string
		signalStart bool
	}{{"eager", false}, {"signal-with-start", true}} {
		t.Run(mode.name, func(t *testing.T) {
			env := newTemporalEnv(t, envOptions{signalStart: mode.signalStart})
			alarm := snsBody(t, "sns-cloudwatch-alarm.json", fresh)
			code, r := env.post(t, alarm)
			if code != http.StatusAccepted || len(r.Incidents) != 1 || !r.Incidents[0].Started {
				t.Fatalf("alarm: status %d %+v, want one incident started", code, r)
			}
			id, runID := r.Incidents[0].ID, r.Incidents[0].RunID
			env.waitStatus(t, id, "containment", func(s contract.Status) bool { return s.State == contract.StateContained })

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			counts, upserts := historyOf(ctx, t, env.c, id, runID)
			if counts[enumspb.EVENT_TYPE_MARKER_RECORDED] != 0 {
				t.Errorf("%d version markers in a new incident's history, want 0", counts[enumspb.EVENT_TYPE_MARKER_RECORDED])
			}
			if want := contract.SearchAttrState + "=" + contract.StateContained; len(upserts) != 1 || upserts[0] != want {
				t.Errorf("search attribute upserts %q, want only [%s]", upserts, want)
			}
			wantSignals := 1
			if !mode.signalStart {
				wantSignals = 0
			}
			if got := counts[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]; got != wantSignals {
				t.Errorf("%d signal events for the first alert, want %d", got, wantSignals)
			}

			// The same alert again, through a client that has not seen the
			// incident: it must land in the same run, counted once more.
			again := incidents.New(env.c, contract.DefaultTaskQueue).WithNamespace(env.inc.Namespace())
			if !mode.signalStart {
				again = again.WithEagerStart()
			}
			in := contract.IncidentInput{ID: id, Runbook: runbooks.Runbook{Metadata: runbooks.Metadata{Name: "usage-spike", Severity: "high"}}, Source: SourceSNS}
			started, run2, err := again.FoldAlert(ctx, in, contract.AlertSignal{Source: SourceSNS, Name: "again", Status: "firing", Count: 2, ReceivedAt: time.Now()})
			if err != nil || started || run2 != runID {
				t.Fatalf("second alert: started %v run %s (first %s), %v; want folded into the same run", started, run2, runID, err)
			}
			env.waitStatus(t, id, "three alerts counted", func(s contract.Status) bool { return s.Alerts.Count == 3 })
		})
	}
}

// historyOf counts the events of a run by type and lists its search
// attribute upserts as "name=value,...".
func historyOf(ctx context.Context, t *testing.T, c client.Client, id, runID string) (map[enumspb.EventType]int, []string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	counts := map[enumspb.EventType]int{}
	var upserts []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		counts[ev.GetEventType()]++
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			got := map[string]string{}
			for name, p := range ev.GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes().GetIndexedFields() {
				got[name] = strings.Trim(string(p.GetData()), `"`)
			}
			want := map[string]string{contract.SearchAttrRunbook: "usage-spike", contract.SearchAttrSeverity: "high", contract.SearchAttrState: contract.StateRunning}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("start request search attributes %v, want %v", got, want)
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			var names []string
			for name, p := range ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
				names = append(names, name+"="+strings.Trim(string(p.GetData()), `"`))
			}
			upserts = append(upserts, strings.Join(names, ","))
		}
	}
	return counts, upserts
}

// The alert storm tests post over HTTP, signed as a generic sender signs,
// into an incident that waits for approval, as issue 9 reproduced it.
//
// The storm must be larger than what one run accepts as signals (had each
// alert been a signal) and must cross runs while the incident waits. With
// Temporal's limits that takes over 10,000 alerts, which on this shared
// 2-core machine under -race is minutes (45–150 alerts/s measured), so
// the default run scales Temporal's per-run limits down instead: 3,000
// alerts against a limit of 2,500 signals per run, continue-as-new
// suggested at 200 events. The long run sends 100,000 alerts against
// Temporal's own limits (10,000 signals, 4 Ki events); without -race it
// took 2 minutes here (873 alerts/s, 3,241 signals over 3 runs):
//
//	go test -run TestIntegrationAlertStormIntoIncidentAwaitingApproval ./internal/alerts/ -long -timeout 60m
var long = flag.Bool("long", false, "alert storm test: 100,000 alerts against Temporal's own per-run limits")

// stormAnswers counts the answers to a storm.
type stormAnswers struct {
	codes    map[int]int
	ids      map[string]int
	runIDs   map[string]int
	started  int
	firstErr string
	elapsed  time.Duration
}

// storm posts alerts 0..n-1 (body(i) is the generic JSON of alert i) from
// inFlight concurrent senders, each request signed when sent.
func (e *temporalEnv) storm(t *testing.T, n, inFlight int, body func(i int) []byte) stormAnswers {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
		out  = stormAnswers{codes: map[int]int{}, ids: map[string]int{}, runIDs: map[string]int{}}
	)
	start := time.Now()
	for range inFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				b := body(i)
				var (
					code   int
					answer []byte
					err    error
				)
				// The in-process test server's namespace cache can miss its
				// refresh when the machine is starved (seen under load ~28:
				// "Namespace temporaltest-… is not found"); a sender retries
				// a 503, so this one does too, for that cause only. Every
				// other refusal counts.
				for attempt := 1; attempt <= 3; attempt++ {
					var req *http.Request
					req, err = http.NewRequest(http.MethodPost, e.http.URL+"/alerts/generic", bytes.NewReader(b))
					if err != nil {
						t.Error(err)
						return
					}
					stamp := strconv.FormatInt(time.Now().Unix(), 10)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(HeaderTimestamp, stamp)
					req.Header.Set(HeaderSignature, SignHMAC([]byte(genericKey), stamp, b))
					code, answer = 0, nil
					var resp *http.Response
					resp, err = hc.Do(req)
					if err == nil {
						code = resp.StatusCode
						answer, err = io.ReadAll(resp.Body)
						resp.Body.Close()
					}
					if code != http.StatusServiceUnavailable || !bytes.Contains(answer, []byte("Namespace temporaltest-")) {
						break
					}
					t.Logf("alert %d: test server namespace cache miss, retrying as a sender would: %s", i, answer)
					time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
				}
				var r Response
				if code == http.StatusAccepted {
					if err := json.Unmarshal(answer, &r); err != nil {
						code = -1
					}
				}
				mu.Lock()
				out.codes[code]++
				if code != http.StatusAccepted && out.firstErr == "" {
					out.firstErr = fmt.Sprintf("status %d: %s%v", code, answer, err)
				}
				for _, inc := range r.Incidents {
					out.ids[inc.ID]++
					out.runIDs[inc.RunID]++
					if inc.Started {
						out.started++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

// only returns the one key of m, or fails.
func only(t *testing.T, what string, m map[string]int) string {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("%s: %v, want exactly one", what, m)
	}
	for k := range m {
		return k
	}
	return ""
}

// runInfo is one run of an incident, read from its history.
type runInfo struct {
	runID   string
	events  int
	signals int
	bytes   int64
}

// runs follows an incident from its first run through every
// continue-as-new, reading each run's history.
func (e *temporalEnv) runs(t *testing.T, id, firstRunID string) []runInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []runInfo
	for runID := firstRunID; runID != ""; {
		info, next := runInfo{runID: runID}, ""
		it := e.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s run %s: %v", id, runID, err)
			}
			info.events++
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				info.signals++
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				next = ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
			}
		}
		d, err := e.c.DescribeWorkflowExecution(ctx, id, runID)
		if err != nil {
			t.Fatalf("describe %s run %s: %v", id, runID, err)
		}
		info.bytes = d.GetWorkflowExecutionInfo().GetHistorySizeBytes()
		out = append(out, info)
		runID = next
	}
	return out
}

func (r runInfo) String() string {
	return fmt.Sprintf("%d events, %d signals, %.1f KiB", r.events, r.signals, float64(r.bytes)/1024)
}

// startAwaitingApproval sends alert 0, which starts the hold-for-approval
// incident; it returns once the incident holds its first change and waits
// for a human.
func (e *temporalEnv) startAwaitingApproval(t *testing.T, alert func(i int) []byte) (id, runID string) {
	t.Helper()
	first := e.storm(t, 1, 1, alert)
	if first.codes[http.StatusAccepted] != 1 || first.started != 1 {
		t.Fatalf("first alert: %+v, want 202 and started", first)
	}
	id, runID = only(t, "incident", first.ids), only(t, "run", first.runIDs)
	e.waitStatus(t, id, "the approval request", func(s contract.Status) bool {
		return s.State == contract.StateAwaitingApproval && len(s.Undo) == 1
	})
	return id, runID
}

// approveAndRollBack approves the pending step, waits for its change, then
// resolves with rollback and checks both changes were undone, and that the
// closed incident still counts n alerts.
func (e *temporalEnv) approveAndRollBack(t *testing.T, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := e.inc.Decide(ctx, id, contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"})
	if err != nil || res.Outcome != "approved" {
		t.Fatalf("approve after the storm: %+v %v", res, err)
	}
	st := e.waitStatus(t, id, "containment after approval", func(s contract.Status) bool { return s.State == contract.StateContained })
	if len(st.Undo) != 2 {
		t.Fatalf("undo stack after approval: %+v, want the first change and the approved one", st.Undo)
	}
	for _, key := range []string{"contain", "more"} {
		if _, ok := e.records.Get(id + "/" + key); !ok {
			t.Fatalf("record %s/%s missing after containment", id, key)
		}
	}
	if err := e.inc.Resolve(ctx, id, contract.ResolveRequest{Mode: "rollback", Actor: "alice"}); err != nil {
		t.Fatalf("resolve --rollback: %v", err)
	}
	var final contract.Status
	if err := e.c.GetWorkflow(ctx, id, "").Get(ctx, &final); err != nil {
		t.Fatalf("incident %s did not close: %v", id, err)
	}
	for _, key := range []string{"contain", "more"} {
		if v, ok := e.records.Get(id + "/" + key); ok {
			t.Errorf("record %s/%s = %v after rollback, want it undone", id, key, v)
		}
	}
	if final.State != contract.StateRolledBack || final.Alerts.Count != n {
		t.Errorf("closed incident: state %s, %d alerts folded; want %s and %d", final.State, final.Alerts.Count, contract.StateRolledBack, n)
	}
}

func TestIntegrationAlertStormIntoIncidentAwaitingApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	n, limits := 3_000, envOptions{dir: "storm", suggestContinueAsNewAt: 200, maxSignalsPerRun: 2_500}
	if *long {
		n, limits = 100_000, envOptions{dir: "storm"}
	}
	maxSignals := cmp.Or(limits.maxSignalsPerRun, 10_000)
	const inFlight = 64
	env := newTemporalEnv(t, limits)
	alert := func(i int) []byte {
		b, _ := json.Marshal(GenericAlert{Name: "storm", Labels: map[string]string{"target": "bedrock-app", "seq": strconv.Itoa(i)}})
		return b
	}
	id, firstRun := env.startAwaitingApproval(t, alert)

	got := env.storm(t, n-1, inFlight, func(i int) []byte { return alert(i + 1) })
	t.Logf("%d alerts posted in %s from %d senders: %.0f alerts/s", n-1, got.elapsed.Round(time.Millisecond), inFlight, float64(n-1)/got.elapsed.Seconds())
	if got.codes[http.StatusAccepted] != n-1 || len(got.codes) != 1 {
		t.Fatalf("%d alerts: answers %v (first refusal: %s), want every one 202", n-1, got.codes, got.firstErr)
	}
	if only(t, "incident", got.ids) != id || got.started != 0 {
		t.Fatalf("storm answers name incidents %v, %d started; want only %s, none started", got.ids, got.started, id)
	}
	st := env.waitStatus(t, id, fmt.Sprintf("%d folded alerts", n), func(s contract.Status) bool { return s.Alerts.Count >= n })
	if st.Alerts.Count != n || st.State != contract.StateAwaitingApproval || len(st.Undo) != 1 || st.PendingApproval == nil {
		t.Fatalf("after the storm: %d alerts, state %s, undo %d, pending %v; want %d, awaiting approval, 1, pending", st.Alerts.Count, st.State, len(st.Undo), st.PendingApproval, n)
	}
	runs := env.runs(t, id, firstRun)
	signals := 0
	for i, r := range runs {
		signals += r.signals
		t.Logf("run %d: %s", i+1, r)
		if r.signals >= maxSignals || r.bytes > 8<<20 {
			t.Errorf("run %d: %s; a run must stay below %d signals and far below 50 MB", i+1, r, maxSignals)
		}
	}
	t.Logf("%d alerts became %d signals (%.1f alerts each) over %d runs", n, signals, float64(n)/float64(signals), len(runs))
	if len(runs) < 2 {
		t.Errorf("the incident never continued as new while waiting for approval (%d run)", len(runs))
	}
	if signals >= n {
		t.Errorf("%d signals for %d alerts: alerts for one incident were not coalesced", signals, n)
	}
	env.approveAndRollBack(t, id, n)
}

func TestIntegrationStormOfLargeAlertsKeepsHistoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	const n, inFlight = 200, 16
	env := newTemporalEnv(t, envOptions{dir: "storm"})
	// 16 labels of 62,000 bytes: each body is just under the 1 MiB limit.
	// Ten different bodies take turns (building 200 costs the test more
	// than the server).
	var bodies [10][]byte
	for i := range bodies {
		labels := map[string]string{"target": "bedrock-app"}
		for j := range 16 {
			labels[fmt.Sprintf("blob%02d", j)] = strings.Repeat(strconv.Itoa((i+j)%10), 62_000)
		}
		bodies[i], _ = json.Marshal(GenericAlert{Name: "storm", Labels: labels})
		if size := len(bodies[i]); size < 990_000 || size > DefaultMaxBodyBytes {
			t.Fatalf("alert body is %d bytes, want just under %d", size, DefaultMaxBodyBytes)
		}
	}
	alert := func(i int) []byte { return bodies[i%len(bodies)] }
	id, firstRun := env.startAwaitingApproval(t, alert)
	got := env.storm(t, n-1, inFlight, func(i int) []byte { return alert(i + 1) })
	if got.codes[http.StatusAccepted] != n-1 || len(got.codes) != 1 {
		t.Fatalf("%d large alerts: answers %v (first refusal: %s), want every one 202", n-1, got.codes, got.firstErr)
	}
	if only(t, "incident", got.ids) != id {
		t.Fatalf("storm answers name incidents %v, want only %s", got.ids, id)
	}
	st := env.waitStatus(t, id, fmt.Sprintf("%d folded alerts", n), func(s contract.Status) bool { return s.Alerts.Count >= n })
	if st.Alerts.Count != n || st.State != contract.StateAwaitingApproval || len(st.Undo) != 1 {
		t.Fatalf("after the storm: %d alerts, state %s, undo %d; want %d, awaiting approval, 1", st.Alerts.Count, st.State, len(st.Undo), n)
	}
	runs := env.runs(t, id, firstRun)
	var total int64
	for i, r := range runs {
		total += r.bytes
		t.Logf("run %d: %s", i+1, r)
		// Bounded alerts (≤ 13 KB each) keep 200 of them far below the 4 MiB
		// at which Temporal suggests continuing as new, let alone 50 MB.
		if r.bytes > 4<<20 {
			t.Errorf("run %d history is %d bytes for %d alerts of %d bytes: alerts reach history unbounded", i+1, r.bytes, n, len(bodies[0]))
		}
	}
	t.Logf("%d alerts of %d bytes in %s (%.0f alerts/s, %.1f MB/s in): history %.1f KiB over %d run(s)",
		n-1, len(bodies[0]), got.elapsed.Round(time.Millisecond), float64(n-1)/got.elapsed.Seconds(),
		float64(n-1)*float64(len(bodies[0]))/got.elapsed.Seconds()/1e6, float64(total)/1024, len(runs))
	env.approveAndRollBack(t, id, n)
}
