// Package e2e holds integration tests of quench on a real embedded Temporal
// server (never mocked): workers are stopped and restarted mid-incident,
// and the server itself is restarted on the same data directory.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func searchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, n := range contract.SearchAttributes {
		m[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}

func startServer(t *testing.T, dir string, port int) *devserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: dir, FrontendPort: port, SearchAttributes: searchAttributes(), Logger: quiet})
	if err != nil {
		t.Fatalf("start embedded Temporal: %v", err)
	}
	return srv
}

func dial(t *testing.T, addr string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return c
}

// testWorker is a quench worker with in-memory records.
type testWorker struct {
	w   sdkworker.Worker
	reg *activities.Registry
}

func startWorker(t *testing.T, c client.Client, records *activities.RecordStore) *testWorker {
	t.Helper()
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Records: records, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cfg := worker.Config{TaskQueue: contract.DefaultTaskQueue}
	w := worker.New(c, cfg, reg, activities.NewNotifier(nil, "", quiet))
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	return &testWorker{w: w, reg: reg}
}

func load(t *testing.T, cat runbooks.Catalog, yaml string) runbooks.Runbook {
	t.Helper()
	rb, err := runbooks.Load("e2e.yaml", []byte(yaml), cat)
	if err != nil {
		t.Fatal(err)
	}
	return *rb
}

// waitFor polls the incident's status until cond holds.
func waitFor(t *testing.T, inc *incidents.Client, id, what string, cond func(contract.Status) bool) contract.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last contract.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := inc.Status(ctx, id)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: last status %+v, err %v", what, last, lastErr)
	return last
}

func stepState(st contract.Status, id string) string {
	for _, s := range st.Steps {
		if s.ID == id {
			return s.State
		}
	}
	return ""
}

const killWorkerRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: kill-worker, severity: high}
steps:
  - {id: first, action: core.record, with: {key: first, value: 1}}
  - {id: pause, wait: {duration: 3s}}
  - {id: second, action: core.record, with: {key: second, value: 2}}
on_resolve: keep
`

func TestIncidentSurvivesWorkerKilledBetweenSteps(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	defer srv.Stop()
	c := dial(t, srv.FrontendAddress())
	defer c.Close()
	records, _ := activities.NewRecordStore("")
	w1 := startWorker(t, c, records)
	inc := incidents.New(c, contract.DefaultTaskQueue)
	rb := load(t, w1.reg, killWorkerRunbook)
	ctx := context.Background()
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "kill-1", Runbook: rb, Source: "cli", Requester: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "kill-1", "first step done, pause running", func(st contract.Status) bool {
		return stepState(st, "first") == contract.StepSucceeded && stepState(st, "pause") == contract.StepRunning
	})
	w1.w.Stop() // the worker dies between two steps

	// Nothing progresses without a worker.
	time.Sleep(4 * time.Second)
	if records.Writes("kill-1/second") != 0 {
		t.Fatal("second step ran with no worker")
	}
	w2 := startWorker(t, c, records)
	defer w2.w.Stop()
	st := waitFor(t, inc, "kill-1", "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if got := records.Writes("kill-1/first"); got != 1 {
		t.Errorf("first step executed %d times, want 1", got)
	}
	if got := records.Writes("kill-1/second"); got != 1 {
		t.Errorf("second step executed %d times, want 1", got)
	}
	for _, s := range st.Steps {
		if s.Kind == "action" && s.Attempts != 1 {
			t.Errorf("step %s attempts = %d, want 1", s.ID, s.Attempts)
		}
	}
}

const approvalRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: restart-approval, severity: critical}
approvals:
  approvers: {cli_users: [alice]}
  timeout: 1h
steps:
  - {id: block, action: core.record, with: {key: blocked, value: true}}
  - id: gate
    approval: {message: 'Throttle to zero?'}
  - {id: throttle, action: core.record, with: {key: throttle, value: 0}}
on_resolve: rollback
`

func TestIncidentSurvivesServerRestartWhileAwaitingApproval(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, 0)
	addr := srv.FrontendAddress()
	var port int
	if _, err := fmtSscanPort(addr, &port); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	records, _ := activities.NewRecordStore("")
	w1 := startWorker(t, c, records)
	inc := incidents.New(c, contract.DefaultTaskQueue)
	rb := load(t, w1.reg, approvalRunbook)
	ctx := context.Background()
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "restart-1", Runbook: rb, Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "restart-1", "awaiting approval", func(st contract.Status) bool { return st.State == contract.StateAwaitingApproval })

	w1.w.Stop()
	c.Close()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop server: %v", err)
	}

	srv2 := startServer(t, dir, port)
	defer srv2.Stop()
	c2 := dial(t, srv2.FrontendAddress())
	defer c2.Close()
	w2 := startWorker(t, c2, records)
	defer w2.w.Stop()
	inc2 := incidents.New(c2, contract.DefaultTaskQueue)

	// Listed after the restart (visibility is eventually consistent: poll).
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := inc2.List(ctx, incidents.FilterOpen)
		if err == nil && len(rows) == 1 && rows[0].ID == "restart-1" && rows[0].State == contract.StateAwaitingApproval && rows[0].Runbook == "restart-approval" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident not listed after restart: %+v %v", rows, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res, err := inc2.Decide(ctx, "restart-1", contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"})
	if err != nil || res.Outcome != "approved" {
		t.Fatalf("approve after restart: %+v %v", res, err)
	}
	waitFor(t, inc2, "restart-1", "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if err := inc2.Resolve(ctx, "restart-1", contract.ResolveRequest{Actor: "alice", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	st, err := inc2.Status(ctx, "restart-1")
	if err != nil || st.State != contract.StateRolledBack {
		t.Fatalf("final: %s %v", st.State, err)
	}
	if keys := records.Keys(); len(keys) != 0 {
		t.Errorf("rollback left records %v", keys)
	}
	if records.Writes("restart-1/blocked") != 2 || records.Writes("restart-1/throttle") != 2 {
		t.Errorf("writes: blocked %d, throttle %d; want 2 each (contain + undo)", records.Writes("restart-1/blocked"), records.Writes("restart-1/throttle"))
	}
}
