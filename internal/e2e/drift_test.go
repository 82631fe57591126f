package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// driftRunbook contains Alice's leaked key, chat-backend's concurrency and
// the application role's Bedrock access, with a drift watch short enough
// for the real server's timer to fire within the test.
func driftRunbook(watch string) string {
	return `apiVersion: quench/v1
kind: Runbook
metadata: {name: drift-e2e, severity: high}
approvals:
  approvers: {slack_users: [` + oncall + `]}
` + watch + `
steps:
  - id: deactivate-key
    action: iam.deactivate_access_key
    with: {access_key_id: AKIAIOSFODNN7EXAMPLE, user_name: Alice}
  - id: limit-concurrency
    action: lambda.limit_concurrency
    with: {function_name: chat-backend, reserved: 1}
  - id: deny-bedrock
    action: iam.deny_role_actions
    with: {role_name: ` + appRole + `}
`
}

// driftDeny is iam.deny_role_actions' default policy name, before the incident id.
const driftDeny = "quench-deny-"

// attacker changes AWS behind quench's back, through the same API.
type attacker struct {
	iam    *iam.Client
	lambda *lambda.Client
}

func newAttacker(w *genaiWorld) *attacker {
	cfg := w.aws.Config()
	return &attacker{iam: iam.NewFromConfig(cfg), lambda: lambda.NewFromConfig(cfg)}
}

func (a *attacker) reenableKey(t *testing.T) {
	t.Helper()
	_, err := a.iam.UpdateAccessKey(context.Background(), &iam.UpdateAccessKeyInput{UserName: aws.String("Alice"), AccessKeyId: aws.String("AKIAIOSFODNN7EXAMPLE"), Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
}

func (a *attacker) raiseConcurrency(t *testing.T) {
	t.Helper()
	_, err := a.lambda.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("chat-backend"), ReservedConcurrentExecutions: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
}

func (a *attacker) deleteDeny(t *testing.T, id string) {
	t.Helper()
	_, err := a.iam.DeleteRolePolicy(context.Background(), &iam.DeleteRolePolicyInput{RoleName: aws.String(appRole), PolicyName: aws.String(driftDeny + id)})
	if err != nil {
		t.Fatal(err)
	}
}

// startDrift starts the runbook in a world seeded like the usage spike and
// waits until it is contained; it returns the AWS state before the incident.
func startDrift(t *testing.T, w *genaiWorld, id, watch string) awsfake.State {
	t.Helper()
	seedUsageSpike(t, w)
	before := w.aws.State()
	rb := load(t, w.slack.reg, driftRunbook(watch))
	if _, err := w.inc.Start(context.Background(), contract.IncidentInput{ID: id, Runbook: rb, Source: "cli", Requester: "oncall-lead"}); err != nil {
		t.Fatal(err)
	}
	w.waitState(t, id, contract.StateContained)
	w.checkContained(t, id, "after the runbook")
	return before
}

// checkContained checks all three changes hold in AWS.
func (w *genaiWorld) checkContained(t *testing.T, id, when string) {
	t.Helper()
	if s := w.iam.AccessKeyStatus("Alice", "AKIAIOSFODNN7EXAMPLE"); s != "Inactive" {
		t.Errorf("%s: key is %s, want Inactive", when, s)
	}
	if n, _ := w.lambda.ReservedConcurrency("chat-backend"); n != 1 {
		t.Errorf("%s: chat-backend reserved concurrency %d, want 1", when, n)
	}
	if _, ok := w.iam.RolePolicy(appRole, driftDeny+id); !ok {
		t.Errorf("%s: deny policy %s is gone", when, driftDeny+id)
	}
}

// rollbackExactly resolves with --rollback through the CLI and checks the
// account is exactly as before the incident.
func (w *genaiWorld) rollbackExactly(t *testing.T, id string, before awsfake.State) {
	t.Helper()
	w.cli(t, "resolve", id, "--rollback")
	w.waitState(t, id, contract.StateRolledBack)
	var all []string
	for _, ch := range before.Diff(w.aws.State()) {
		// The attacker's CloudTrail event is history AWS keeps.
		if !strings.HasPrefix(ch.Resource, "cloudtrail/") {
			all = append(all, ch.String())
		}
	}
	if len(all) != 0 {
		t.Errorf("after rollback the account differs from before the incident:\n  %s", strings.Join(all, "\n  "))
	}
}

// waitDrifts waits until each step has a drift_detected event and returns them.
func (w *genaiWorld) waitDrifts(t *testing.T, id string, steps ...string) map[string]contract.Event {
	t.Helper()
	got := map[string]contract.Event{}
	eventually(t, 30*time.Second, "drift_detected for "+strings.Join(steps, ", "), func() bool {
		for _, e := range eventsOf(w.slack.timeline(t, id), contract.EventDriftDetected) {
			got[e.Step] = e
		}
		for _, s := range steps {
			if _, ok := got[s]; !ok {
				return false
			}
		}
		return true
	})
	return got
}

// threadPosts are the texts of the updates posted in the incident thread.
func (w *genaiWorld) threadPosts() string {
	var out []string
	for _, c := range w.slack.fake.Calls(slackfake.PostMessage) {
		out = append(out, c.Form.Get("text")+c.Form.Get("blocks"))
	}
	return strings.Join(out, "\n")
}

// driftRequest waits for the drift approval request: the message with
// buttons among the thread's posts (the drift line itself has no blocks).
func (w *genaiWorld) driftRequest(t *testing.T) slackfake.Call {
	t.Helper()
	var got slackfake.Call
	eventually(t, 30*time.Second, "drift approval request posted", func() bool {
		for _, c := range w.slack.fake.Calls(slackfake.PostMessage) {
			if blocks, err := c.Blocks(); err == nil && c.TS != "" && slackfake.BlockText(blocks)[slackapp.BlockActions] != "" {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// TestDriftWatch changes contained resources behind quench's back on the
// embedded Temporal server and the AWS test server: the watch (2s) finds
// each drift, reports it with expected and found state, and acts by the
// runbook's on_drift; the final rollback restores the state before the
// incident, not the drifted one.
func TestDriftWatch(t *testing.T) {
	quenchBinary(t)
	srv := startServer(t, t.TempDir(), 0)
	t.Cleanup(func() { _ = srv.Stop() })
	c := dial(t, srv.FrontendAddress())
	t.Cleanup(c.Close)

	t.Run("reapply", func(t *testing.T) {
		t.Parallel()
		w := newGenAIWorld(t, c, srv.FrontendAddress(), false)
		id := "drift-reapply"
		before := startDrift(t, w, id, "watch: {interval: 2s, on_drift: reapply}")
		ct := awsfake.RegisterCloudTrail(w.aws)
		a := newAttacker(w)
		// The trail has the event before the key changes: a watch firing
		// in between would report the drift, once, with no one to name.
		ct.AddEvents(awsfake.TrailEvent{Name: "UpdateAccessKey", Source: "iam.amazonaws.com", Time: time.Now(), SourceIP: attackerIP,
			Username: "mallory", IdentityType: "IAMUser", Resources: []awsfake.TrailResource{{Type: "AWS::IAM::AccessKey", Name: "AKIAIOSFODNN7EXAMPLE"}}})
		a.reenableKey(t)
		a.raiseConcurrency(t)
		a.deleteDeny(t, id)

		drifts := w.waitDrifts(t, id, "deactivate-key", "limit-concurrency", "deny-bedrock")
		key := drifts["deactivate-key"]
		if key.Drift == nil || key.Drift.Found["status"] != "Active" || key.Drift.Expected["status"] != "Inactive" ||
			!strings.Contains(key.Drift.Target, "access-key/AKIAIOSFODNN7EXAMPLE") || !strings.HasPrefix(key.Drift.ChangedBy, "mallory (UpdateAccessKey at") {
			t.Errorf("key drift: %+v %+v", key, key.Drift)
		}
		if d := drifts["limit-concurrency"]; !strings.Contains(d.Detail, "expected reserved=1, found reserved=100") {
			t.Errorf("concurrency drift detail: %s", d.Detail)
		}
		if d := drifts["deny-bedrock"]; d.Drift == nil || d.Drift.Found["policy_exists"] != false {
			t.Errorf("deny drift: %+v", d.Drift)
		}
		for _, step := range []string{"deactivate-key", "limit-concurrency", "deny-bedrock"} {
			w.slack.waitEvent(t, id, contract.EventDriftReapplied, 30*time.Second, func(e contract.Event) bool { return e.Step == step })
		}
		w.checkContained(t, id, "after re-applying")
		st := w.slack.status(t, id)
		if len(st.Undo) != 3 {
			t.Errorf("undo stack after re-applying: %+v", st.Undo)
		}
		posts := w.threadPosts()
		if !strings.Contains(posts, "Containment drift") || !strings.Contains(posts, "Containment re-applied") {
			t.Errorf("thread posts: %s", posts)
		}
		w.rollbackExactly(t, id, before)
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		w := newGenAIWorld(t, c, srv.FrontendAddress(), false)
		id := "drift-defaults"
		before := startDrift(t, w, id, "watch: 2s")
		a := newAttacker(w)
		a.reenableKey(t)
		a.raiseConcurrency(t)
		a.deleteDeny(t, id)
		drifts := w.waitDrifts(t, id, "deactivate-key", "limit-concurrency", "deny-bedrock")
		for step, want := range map[string]string{"deactivate-key": "reapply", "deny-bedrock": "reapply", "limit-concurrency": "record"} {
			if d := drifts[step].Drift; d == nil || d.Policy != want {
				t.Errorf("%s: policy %+v, want %s", step, d, want)
			}
		}
		for _, step := range []string{"deactivate-key", "deny-bedrock"} {
			w.slack.waitEvent(t, id, contract.EventDriftReapplied, 30*time.Second, func(e contract.Event) bool { return e.Step == step })
		}
		if s := w.iam.AccessKeyStatus("Alice", "AKIAIOSFODNN7EXAMPLE"); s != "Inactive" {
			t.Errorf("identity containment not re-applied: key %s", s)
		}
		if _, ok := w.iam.RolePolicy(appRole, driftDeny+id); !ok {
			t.Error("identity containment not re-applied: deny policy missing")
		}
		// Recorded, not fought: the raised concurrency stays, and rollback
		// still restores the 50 from before the incident.
		if n, _ := w.lambda.ReservedConcurrency("chat-backend"); n != 100 {
			t.Errorf("record policy changed concurrency to %d", n)
		}
		w.rollbackExactly(t, id, before)
	})

	t.Run("ask", func(t *testing.T) {
		t.Parallel()
		w := newGenAIWorld(t, c, srv.FrontendAddress(), false)
		id := "drift-ask"
		before := startDrift(t, w, id, "watch: {interval: 2s, on_drift: ask}")
		newAttacker(w).reenableKey(t)
		w.waitDrifts(t, id, "deactivate-key")
		msg := w.driftRequest(t)
		mustContain(t, "drift approval request", msg.Form.Get("text")+msg.Form.Get("blocks"), "Containment drifted", "Approve to re-apply step deactivate-key")
		if p := w.slack.status(t, id).PendingApproval; p == nil || p.Step != "deactivate-key-drift" {
			t.Fatalf("pending approval: %+v", p)
		}
		if s := w.iam.AccessKeyStatus("Alice", "AKIAIOSFODNN7EXAMPLE"); s != "Active" {
			t.Errorf("re-applied before anyone approved: key %s", s)
		}
		w.clickApprove(t, msg)
		w.slack.waitEvent(t, id, contract.EventDriftReapplied, 30*time.Second, func(e contract.Event) bool { return e.Step == "deactivate-key" })
		w.checkContained(t, id, "after the approved re-apply")
		w.rollbackExactly(t, id, before)
	})
}

// driftHistoryRunbook holds one record under a one-second watch.
const driftHistoryRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: drift-history, severity: high}
watch: {interval: 1s, on_drift: reapply}
steps:
  - {id: hold, action: core.record, with: {key: k1, value: a}}
`

// TestRecordDriftHistory records workflows/testdata/histories/drift-reapply.json
// (with -record-history): an incident whose watch finds drift, re-applies
// and rolls back, so the replay test proves the watch's commands
// (version marker, timers, dry runs, re-apply) replay deterministically.
func TestRecordDriftHistory(t *testing.T) {
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
	ctx := context.Background()
	id := "replay-drift"
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: id, Runbook: load(t, w.reg, driftHistoryRunbook), Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, id, "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if err := records.Put(id+"/k1", "tampered"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "drift re-applied", func() bool {
		ev, err := inc.Timeline(ctx, id)
		return err == nil && len(eventsOf(ev, contract.EventDriftReapplied)) == 1
	})
	if err := inc.Resolve(ctx, id, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, c, id, filepath.Join("..", "..", "workflows", "testdata", "histories", "drift-reapply.json"))
}
