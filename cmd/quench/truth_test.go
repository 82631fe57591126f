package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

// The CLI says what is true of an incident (issue 9, item 6). Each case
// asserts the exit code and the words a user reads.

var examplesDir = filepath.Join("..", "..", "examples")

// waitFor polls check until it is true; the deadline only bounds a broken run.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stateOf(t *testing.T, q cli, id string, more ...string) string {
	t.Helper()
	r := q.run(append([]string{"status", id, "-o", "json"}, more...)...)
	if r.code != 0 {
		t.Fatalf("status %s: exit %d\n%s", id, r.code, r.stderr)
	}
	var st contract.Status
	decodeJSON(t, r.stdout, &st)
	return st.State
}

// closedInList is true once the incident's execution has closed.
func closedInList(t *testing.T, q cli, id string) bool {
	var rows []incidents.Summary
	r := q.run("list", "--state", "closed", "-o", "json")
	decodeJSON(t, r.stdout, &rows)
	for _, row := range rows {
		if row.ID == id {
			return true
		}
	}
	return false
}

func TestRunRefusesAnIncidentThatIsStillOpen(t *testing.T) {
	q := startQuench(t)
	r := q.as("alice").run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=chatbot", "--incident", "open-1", "--wait")
	if r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	r = q.as("alice").run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=other", "--incident", "open-1")
	if r.code != exitRejected || !strings.Contains(r.stderr, "incident open-1 is already open (started 20") ||
		!strings.Contains(r.stderr, "); use a new id or resolve it") {
		t.Errorf("second run: exit %d (want %d)\n%s", r.code, exitRejected, r.stderr)
	}
	if strings.Contains(r.stderr, "started incident") || r.stdout != "" {
		t.Errorf("second run claims to have started:\n%s%s", r.stdout, r.stderr)
	}
	st := q.run("status", "open-1")
	if !strings.Contains(st.stdout, "chatbot") || strings.Contains(st.stdout, "other") {
		t.Errorf("the open incident changed:\n%s", st.stdout)
	}
}

func TestRunWaitExitsFiveWhenTheIncidentFails(t *testing.T) {
	q := startQuench(t)
	dir := t.TempDir()
	rb := `apiVersion: quench/v1
kind: Runbook
metadata: {name: fails, severity: low}
steps:
  - id: boom
    action: core.fail
    on_error: fail
    with: {message: the drill fails here}
`
	if err := os.WriteFile(filepath.Join(dir, "fails.yaml"), []byte(rb), 0o644); err != nil {
		t.Fatal(err)
	}
	r := q.run("run", "fails", "--runbooks", dir, "--incident", "fail-1", "--wait")
	if r.code != exitIncidentFailed || !strings.Contains(r.stderr, "incident fail-1 ended failed") || !strings.Contains(r.stdout, "state     failed") {
		t.Errorf("exit %d (want %d)\n%s%s", r.code, exitIncidentFailed, r.stdout, r.stderr)
	}
}

func TestClosedIncidentIsClosedNotNotFound(t *testing.T) {
	q := startQuench(t)
	bob := q.as("bob")
	if r := q.as("alice").run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=chatbot", "--incident", "closed-1", "--wait"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if r := bob.run("cancel", "closed-1", "--reason", "drill over"); r.code != 0 {
		t.Fatalf("cancel: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "closed-1 listed as closed", func() bool { return closedInList(t, q, "closed-1") })

	for _, args := range [][]string{
		{"approve", "closed-1"}, {"deny", "closed-1"}, {"resolve", "closed-1", "--rollback"}, {"cancel", "closed-1"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := bob.run(args...)
			if r.code != exitRejected || !strings.Contains(r.stderr, "incident closed-1 is closed (closed at 20") ||
				!strings.Contains(r.stderr, "state cancelled)") || strings.Contains(r.stderr, "not found") {
				t.Errorf("exit %d (want %d)\n%s", r.code, exitRejected, r.stderr)
			}
		})
	}
	t.Run("run reusing the id", func(t *testing.T) {
		r := q.as("alice").run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=chatbot", "--incident", "closed-1")
		if r.code != exitRejected || !strings.Contains(r.stderr, "incident closed-1 is closed (closed at 20") ||
			!strings.Contains(r.stderr, "an incident id is used once: start with a new id") {
			t.Errorf("exit %d (want %d)\n%s", r.code, exitRejected, r.stderr)
		}
	})
	t.Run("status still reads it", func(t *testing.T) {
		if st := stateOf(t, q, "closed-1"); st != contract.StateCancelled {
			t.Errorf("state %s", st)
		}
	})
	t.Run("an unknown id is not found", func(t *testing.T) {
		for _, cmd := range []string{"approve", "deny", "resolve", "cancel", "status", "timeline"} {
			r := bob.run(cmd, "never-was")
			if r.code != exitNotFound || !strings.Contains(r.stderr, "incident never-was not found") {
				t.Errorf("%s: exit %d (want %d)\n%s", cmd, r.code, exitNotFound, r.stderr)
			}
		}
	})
}

func TestConcurrentResolvesOneWins(t *testing.T) {
	q := startQuench(t)
	if r := q.as("alice").run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=chatbot", "--incident", "race-1", "--wait"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	bob := q.as("bob")
	if r := bob.run("approve", "race-1"); r.code != 0 {
		t.Fatalf("approve: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "race-1 contained", func() bool { return stateOf(t, q, "race-1") == contract.StateContained })

	const n = 10
	t.Setenv("QUENCH_USER", "bob")
	results := make([]cliResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = q.runAsIs("resolve", "race-1", "--rollback", "--reason", fmt.Sprint("caller ", i))
		})
	}
	wg.Wait()
	won := 0
	for i, r := range results {
		switch {
		case r.code == 0:
			won++
		case r.code == exitRejected && (strings.Contains(r.stderr, "incident race-1 is already being resolved (by bob)") ||
			strings.Contains(r.stderr, "incident race-1 is closed (closed at")):
		default:
			t.Errorf("caller %d: exit %d\n%s", i, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "not found") {
			t.Errorf("caller %d says not found:\n%s", i, r.stderr)
		}
	}
	if won != 1 {
		t.Errorf("%d resolves won, want 1", won)
	}
	if st := stateOf(t, q, "race-1"); st != contract.StateRolledBack {
		t.Errorf("final state %s", st)
	}
	r := q.run("timeline", "race-1", "-o", "json")
	if got := strings.Count(r.stdout, `"type": "`+contract.EventResolveRequested+`"`); got != 1 {
		t.Errorf("%d resolve requests in the timeline, want 1", got)
	}
}

// startQuenchSmallHistory runs Temporal with a small history threshold
// (suggest continue-as-new after a few dozen events) and a worker, so an
// incident moves to new runs after a handful of alerts.
func startQuenchSmallHistory(t *testing.T) (cli, client.Client) {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():      true,
			dynamicconfig.HistoryCountSuggestContinueAsNew.Key():             60,
			dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		})))
	c := ts.GetDefaultClient()
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range contract.SearchAttributes {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := c.OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{
		Namespace: ts.GetDefaultNamespace(), SearchAttributes: attrs,
	}); err != nil {
		t.Fatal(err)
	}
	startWorker(t, c)
	t.Setenv("QUENCH_RUNBOOKS", "")
	return cli{t: t, addr: ts.GetFrontendHostPort(), namespace: ts.GetDefaultNamespace()}, c
}

// An alert that fires again after its incident closed starts a new
// incident under the same id. The CLI tells the two apart by run id, and
// an incident that continued as new stays one incident.
func TestIDReusedByAnAlertIsToldApartByRunID(t *testing.T) {
	q, c := startQuenchSmallHistory(t)
	inc := incidents.New(c, contract.DefaultTaskQueue).WithNamespace(q.namespace)
	lib, err := newApp(nil, nil).library(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := lib.Get("quench-selftest")
	if !ok {
		t.Fatal("no quench-selftest runbook")
	}
	in := contract.IncidentInput{ID: "reuse-1", Runbook: *rb, Params: map[string]any{"marker": "reuse"}, Source: "generic", Requester: "alert:generic"}
	alert := func() contract.AlertSignal {
		return contract.AlertSignal{Source: "generic", Name: "TokenSpike", Status: "firing", ReceivedAt: time.Now()}
	}

	// The first incident: started by an alert, cancelled.
	if _, firstRun, err := inc.FoldAlert(t.Context(), in, alert()); err != nil {
		t.Fatal(err)
	} else if firstRun == "" {
		t.Fatal("no run id")
	}
	waitFor(t, "reuse-1 awaiting approval", func() bool { return stateOf(t, q, "reuse-1") == contract.StateAwaitingApproval })
	if r := q.as("bob").run("cancel", "reuse-1"); r.code != 0 {
		t.Fatalf("cancel: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "reuse-1 closed", func() bool { return closedInList(t, q, "reuse-1") })
	var old []incidents.Summary
	decodeJSON(t, q.run("list", "-o", "json").stdout, &old)
	if len(old) != 1 {
		t.Fatalf("list: %+v", old)
	}
	oldRun := old[0].RunID

	// The alert fires again: a second incident under the same id, which
	// takes enough alerts to continue as new more than once.
	const alerts = 60
	started, secondRun, err := inc.FoldAlert(t.Context(), in, alert())
	if err != nil || !started {
		t.Fatalf("second incident: started %v, %v", started, err)
	}
	for range alerts - 1 {
		if _, _, err := inc.FoldAlert(t.Context(), in, alert()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the second incident continued as new", func() bool {
		resp, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: q.namespace, Query: "WorkflowId = 'reuse-1' AND ExecutionStatus = 'ContinuedAsNew'",
		})
		return err == nil && len(resp.GetExecutions()) >= 1
	})
	var st contract.Status
	waitFor(t, "every alert folded in", func() bool {
		decodeJSON(t, q.run("status", "reuse-1", "-o", "json").stdout, &st)
		return st.Alerts.Count == alerts
	})

	var rows []incidents.Summary
	decodeJSON(t, q.run("list", "-o", "json").stdout, &rows)
	if len(rows) != 2 || rows[0].ID != "reuse-1" || rows[1].ID != "reuse-1" || rows[0].RunID == rows[1].RunID || rows[1].RunID != oldRun {
		t.Fatalf("list shows %+v, want the new incident then the old one (run %s)", rows, oldRun)
	}
	if rows[0].State != contract.StateAwaitingApproval || rows[1].State != contract.StateCancelled {
		t.Errorf("states %s, %s", rows[0].State, rows[1].State)
	}
	text := q.run("list").stdout
	if !strings.Contains(text, "RUN") || !strings.Contains(text, rows[0].RunID) || !strings.Contains(text, oldRun) {
		t.Errorf("text list:\n%s", text)
	}

	t.Run("status and timeline --run read the earlier incident", func(t *testing.T) {
		if got := stateOf(t, q, "reuse-1", "--run", oldRun); got != contract.StateCancelled {
			t.Errorf("status --run old: %s", got)
		}
		r := q.run("timeline", "reuse-1", "--run", oldRun, "-o", "json")
		if r.code != 0 || !strings.Contains(r.stdout, contract.EventCancelled) {
			t.Errorf("timeline --run old: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("any run id of the incident reaches its current state", func(t *testing.T) {
		var viaFirst contract.Status
		decodeJSON(t, q.run("status", "reuse-1", "--run", secondRun, "-o", "json").stdout, &viaFirst)
		if viaFirst.State != contract.StateAwaitingApproval || viaFirst.Alerts.Count != alerts {
			t.Errorf("status --run %s (its first run): state %s, %d alerts", secondRun, viaFirst.State, viaFirst.Alerts.Count)
		}
	})
	t.Run("an unknown run is not found", func(t *testing.T) {
		r := q.run("status", "reuse-1", "--run", uuid.NewString())
		if r.code != exitNotFound || !strings.Contains(r.stderr, "incident reuse-1 has no run") {
			t.Errorf("exit %d (want %d)\n%s", r.code, exitNotFound, r.stderr)
		}
	})
	t.Run("the CLI does not reuse an id", func(t *testing.T) {
		r := q.run("run", "quench-selftest", "--incident", "reuse-1")
		if r.code != exitRejected || !strings.Contains(r.stderr, "incident reuse-1 is already open") {
			t.Errorf("exit %d (want %d)\n%s", r.code, exitRejected, r.stderr)
		}
	})
}
