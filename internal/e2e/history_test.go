package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

var recordHistory = flag.Bool("record-history", false, "record a fresh Incident history into workflows/testdata/histories/")

// TestRecordIncidentHistory records the histories that workflows' replay
// test replays: one in plaintext and one sealed with the payload codec
// (with the test-only key in its .keys file). It only runs with
// -record-history: the recorded files are the evidence that a change to
// the interpreter stays compatible with incidents already running.
func TestRecordIncidentHistory(t *testing.T) {
	if !*recordHistory {
		t.Skip("pass -record-history to re-record workflows/testdata/histories/")
	}
	dir := filepath.Join("..", "..", "workflows", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	recordApprovalRollback(t, filepath.Join(dir, "approval-rollback.json"), nil)
	// A fresh key, written next to the history: the replay test reads it.
	// It seals nothing but this test history.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys := "# test-only key for approval-rollback-encrypted.json (internal/e2e -record-history); never use it elsewhere\nreplay-test:" + base64.StdEncoding.EncodeToString(key) + "\n"
	cdc, err := codec.Parse("test key", keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "approval-rollback-encrypted.keys"), []byte(keys), 0o644); err != nil {
		t.Fatal(err)
	}
	recordApprovalRollback(t, filepath.Join(dir, "approval-rollback-encrypted.json"), cdc)
}

// recordApprovalRollback runs an incident through approval (a refused
// self-approval first) and rollback and writes its history to out. With
// cdc, the client and worker seal every payload and failure with it.
func recordApprovalRollback(t *testing.T, out string, cdc *codec.Codec) {
	srv := startServer(t, t.TempDir(), 0)
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quiet),
		DataConverter: codec.DataConverter(cdc), FailureConverter: codec.FailureConverter(cdc)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	records, _ := activities.NewRecordStore("")
	w := startWorker(t, c, records)
	defer w.w.Stop()
	inc := incidents.New(c, contract.DefaultTaskQueue)
	rb := load(t, w.reg, approvalRunbook)
	ctx := context.Background()
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "replay-1", Runbook: rb, Source: "cli", Requester: "carol",
		Labels: map[string]string{"canary": historyCanary}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "replay-1", "awaiting approval", func(st contract.Status) bool { return st.State == contract.StateAwaitingApproval })
	if _, err := inc.Decide(ctx, "replay-1", contract.UpdateApprove, contract.Decision{Actor: "carol", Via: "cli"}); err == nil {
		t.Fatal("self-approval accepted")
	}
	if _, err := inc.Decide(ctx, "replay-1", contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli", Reason: historyCanary}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "replay-1", "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if err := inc.Resolve(ctx, "replay-1", contract.ResolveRequest{Actor: "alice", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, c, "replay-1", out)
}

// writeHistory writes the whole history of workflow id to out as JSON, the
// form the replay test reads.
func writeHistory(t *testing.T, c client.Client, id, out string) {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), out)
}

// historyCanary is put in the recorded incident's labels and approval
// reason; the replay test checks the encrypted history does not hold it.
const historyCanary = "canary-history-3b9e"
