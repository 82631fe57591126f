package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

var recordHistory = flag.Bool("record-history", false, "record a fresh Incident history into workflows/testdata/histories/")

// TestRecordIncidentHistory records the history that workflows' replay test
// replays. It only runs with -record-history: the recorded file is the
// evidence that a change to the interpreter stays compatible with incidents
// already running.
func TestRecordIncidentHistory(t *testing.T) {
	if !*recordHistory {
		t.Skip("pass -record-history to re-record workflows/testdata/histories/")
	}
	srv := startServer(t, t.TempDir(), 0)
	defer srv.Stop()
	c := dial(t, srv.FrontendAddress())
	defer c.Close()
	records, _ := activities.NewRecordStore("")
	w := startWorker(t, c, records)
	defer w.w.Stop()
	inc := incidents.New(c, contract.DefaultTaskQueue)
	rb := load(t, w.reg, approvalRunbook)
	ctx := context.Background()
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "replay-1", Runbook: rb, Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "replay-1", "awaiting approval", func(st contract.Status) bool { return st.State == contract.StateAwaitingApproval })
	if _, err := inc.Decide(ctx, "replay-1", contract.UpdateApprove, contract.Decision{Actor: "carol", Via: "cli"}); err == nil {
		t.Fatal("self-approval accepted")
	}
	if _, err := inc.Decide(ctx, "replay-1", contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "replay-1", "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if err := inc.Resolve(ctx, "replay-1", contract.ResolveRequest{Actor: "alice", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	iter := c.GetWorkflowHistory(ctx, "replay-1", "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "..", "workflows", "testdata", "histories", "approval-rollback.json")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), out)
}
