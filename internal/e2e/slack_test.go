package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// TestSlackApproval runs human approval through Slack end to end: the
// Incident workflow on a real embedded Temporal server posts requests to a
// recording Slack, and clicks come back signed, as Slack sends them, to the
// same /slack/interactions endpoint `quench serve` mounts. The subtests
// share the server and run in parallel, each with its own worker, task
// queue, Slack and endpoint.
func TestSlackApproval(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	t.Cleanup(func() { _ = srv.Stop() })
	c := dial(t, srv.FrontendAddress())
	t.Cleanup(c.Close)

	t.Run("RequestPostedWithBlocks", func(t *testing.T) { t.Parallel(); testSlackRequestBlocks(t, newSlackWorld(t, c)) })
	t.Run("ApproveClickResumesAndReplaces", func(t *testing.T) { t.Parallel(); testSlackApproveClick(t, newSlackWorld(t, c)) })
	t.Run("DenyAsksReasonAndDenies", func(t *testing.T) { t.Parallel(); testSlackDeny(t, newSlackWorld(t, c)) })
	t.Run("UnverifiedRequestsRefused", func(t *testing.T) { t.Parallel(); testSlackUnverified(t, newSlackWorld(t, c)) })
	t.Run("RefusedClicksExplainedAndRecorded", func(t *testing.T) { t.Parallel(); testSlackRefusals(t, newSlackWorld(t, c)) })
	t.Run("TwoDistinctApproversOneViaGroup", func(t *testing.T) { t.Parallel(); testSlackTwoApprovers(t, newSlackWorld(t, c)) })
	t.Run("EscalationThenTimeoutDenies", func(t *testing.T) { t.Parallel(); testSlackEscalation(t, newSlackWorld(t, c)) })
	t.Run("SlackDownCLIStillApproves", func(t *testing.T) { t.Parallel(); testSlackDown(t, newSlackWorld(t, c)) })
}

var basicApprovals = `  approvers: {slack_users: [U0ALICE], cli_users: [alice]}
  timeout: 1h`

func testSlackRequestBlocks(t *testing.T, w *slackWorld) {
	w.start(t, "slack-req-1", "carol", slackRunbook(basicApprovals))
	msg := w.request(t, 1)

	if msg.Channel != slackChannel || msg.Form.Get("thread_ts") != "" {
		t.Errorf("request posted to %s (thread %q), want a new thread in %s", msg.Channel, msg.Form.Get("thread_ts"), slackChannel)
	}
	mustContain(t, "notification text", msg.Form.Get("text"), "slack-req-1", "Throttle chat-handler to zero?")
	b := blockTexts(t, msg)
	mustContain(t, "header", b[slackapp.BlockHeader], "Approval needed", "slack-req-1", "slack-approval", "critical")
	mustContain(t, "facts", b[slackapp.BlockFacts], "`slack-req-1`", "`slack-approval`", "*critical*", "step `gate`")
	mustContain(t, "message", b[slackapp.BlockMessage], "Throttle chat-handler to zero?")
	// The dry run of the gated step: which resource, what happens, what it is now.
	mustContain(t, "planned change", b[slackapp.BlockPlanned],
		"`throttle` (`core.record`)", "would record slack-req-1/throttle = 0 (was unset)", "existed=false")
	st := w.status(t, "slack-req-1")
	mustContain(t, "approvers", b[slackapp.BlockApprovers],
		"<@U0ALICE>", "`alice` (CLI)", "*Approvals needed:* 1 distinct", "*Requested by:* `carol`",
		"<!date^"+strconv.FormatInt(st.PendingApproval.Deadline.Unix(), 10)+"^")
	if b[slackapp.BlockActions] != slackapp.ActionApprove+" "+slackapp.ActionDeny {
		t.Errorf("buttons = %q, want Approve and Deny", b[slackapp.BlockActions])
	}
	for id, btn := range buttons(t, msg) {
		v, err := slackapp.DecodeApprovalButton(btn.Value)
		if err != nil || v.Incident != "slack-req-1" || v.Step != "gate" {
			t.Errorf("button %s carries %+v (%v), want incident slack-req-1 step gate", id, v, err)
		}
	}
	if w.records.Writes("slack-req-1/throttle") != 0 {
		t.Error("the gated step ran before anyone approved")
	}
	// The incident knows its thread, so later posts land in it.
	eventually(t, 10*time.Second, "incident thread recorded", func() bool {
		th := w.status(t, "slack-req-1").PendingApproval.Thread
		return th.Channel == slackChannel && th.TS == msg.TS
	})
}

func testSlackApproveClick(t *testing.T, w *slackWorld) {
	const id = "slack-approve-1"
	w.start(t, id, "carol", slackRunbook(basicApprovals))
	msg := w.request(t, 1)

	res := w.click(t, msg, "U0ALICE", slackapp.ActionApprove)
	if res.status != http.StatusOK {
		t.Fatalf("click answered %d %s, want 200", res.status, res.body)
	}
	if res.ephemeral != "" {
		t.Errorf("an allowed approval got an ephemeral: %q", res.ephemeral)
	}
	st := waitFor(t, w.inc, id, "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if stepState(st, "gate") != contract.StepApproved || stepState(st, "throttle") != contract.StepSucceeded {
		t.Errorf("gate %s, throttle %s; want approved, succeeded", stepState(st, "gate"), stepState(st, "throttle"))
	}
	if got := w.records.Writes(id + "/throttle"); got != 1 {
		t.Errorf("gated step wrote %d times, want 1", got)
	}
	granted := eventsOf(w.timeline(t, id), contract.EventApprovalGranted)
	if len(granted) != 1 || granted[0].Actor != "U0ALICE" {
		t.Errorf("approval_granted events = %+v, want one by U0ALICE", granted)
	}

	// The clicker's view is replaced at once through response_url...
	if res.response == nil {
		t.Fatal("the handler did not answer through response_url")
	}
	var replaced struct {
		ReplaceOriginal bool `json:"replace_original"`
	}
	if err := res.response.JSON(&replaced); err != nil || !replaced.ReplaceOriginal {
		t.Errorf("response_url post does not replace the original (%v): %s", err, res.response.Body)
	}
	checkDecided(t, "response_url message", *res.response, ":white_check_mark: Approved by <@U0ALICE> at ")
	// ...and the workflow rewrites the channel message through chat.update.
	upd := w.update(t, msg.TS)
	if upd.Form.Get("channel") != msg.Channel {
		t.Errorf("chat.update in channel %q, want %q", upd.Form.Get("channel"), msg.Channel)
	}
	checkDecided(t, "chat.update", upd, ":white_check_mark: Approved by <@U0ALICE> at ")

	// A click on a copy of the message still showing buttons comes too late.
	late := w.click(t, msg, "U0ALICE", slackapp.ActionApprove)
	mustContain(t, "late click ephemeral", late.ephemeral, "not pending")
	w.waitEvent(t, id, contract.EventApprovalRejected, 15*time.Second, func(e contract.Event) bool {
		return e.Actor == "U0ALICE" && strings.Contains(e.Detail, "not pending")
	})
}

func testSlackDeny(t *testing.T, w *slackWorld) {
	const id = "slack-deny-1"
	w.start(t, id, "carol", slackRunbook(basicApprovals))
	msg := w.request(t, 1)

	// Deny opens a dialog asking why; nothing is decided yet.
	res := w.click(t, msg, "U0ALICE", slackapp.ActionDeny)
	if res.status != http.StatusOK || res.ephemeral != "" {
		t.Fatalf("deny click answered %d %s, ephemeral %q", res.status, res.body, res.ephemeral)
	}
	opened := w.fake.Calls(slackfake.ViewsOpen)
	if len(opened) != 1 {
		t.Fatalf("views.open called %d times, want 1", len(opened))
	}
	_, view, err := opened[0].OpenedView()
	if err != nil {
		t.Fatal(err)
	}
	if st := w.status(t, id); st.State != contract.StateAwaitingApproval {
		t.Fatalf("state %s after opening the deny dialog, want still awaiting approval", st.State)
	}

	body, err := slackfake.FormBody(slackfake.DenySubmission(view, "U0ALICE", "traffic is legitimate (launch day)"))
	if err != nil {
		t.Fatal(err)
	}
	ts, sig := slackapp.Sign(slackSecret, time.Now(), body)
	if res := w.send(t, body, ts, sig); res.status != http.StatusOK {
		t.Fatalf("deny submission answered %d %s", res.status, res.body)
	}
	st := waitFor(t, w.inc, id, "denied and stopped", func(st contract.Status) bool { return st.State == contract.StateContained })
	if stepState(st, "gate") != contract.StepDenied || stepState(st, "throttle") != contract.StepSkipped {
		t.Errorf("gate %s, throttle %s; want denied, skipped", stepState(st, "gate"), stepState(st, "throttle"))
	}
	if got := w.records.Writes(id + "/throttle"); got != 0 {
		t.Errorf("the gated step ran %d times after a denial", got)
	}
	denied := eventsOf(w.timeline(t, id), contract.EventApprovalDenied)
	if len(denied) != 1 || denied[0].Actor != "U0ALICE" || !strings.Contains(denied[0].Detail, "traffic is legitimate (launch day)") {
		t.Errorf("approval_denied = %+v, want one by U0ALICE with the reason", denied)
	}
	want := ":no_entry: Denied by <@U0ALICE> at "
	upd := w.update(t, msg.TS)
	checkDecided(t, "chat.update", upd, want)
	mustContain(t, "chat.update", blockTexts(t, upd)[slackapp.BlockDecision], ": traffic is legitimate (launch day)")
}

// checkDecided checks a replaced request: the decision line, no buttons.
func checkDecided(t *testing.T, what string, c slackfake.Call, line string) {
	t.Helper()
	b := blockTexts(t, c)
	if !strings.HasPrefix(b[slackapp.BlockDecision], line) {
		t.Errorf("%s decision line = %q, want it to start with %q", what, b[slackapp.BlockDecision], line)
	}
	if _, ok := b[slackapp.BlockActions]; ok {
		t.Errorf("%s still has the buttons: %v", what, b)
	}
}

func testSlackUnverified(t *testing.T, w *slackWorld) {
	const id = "slack-forged-1"
	w.start(t, id, "carol", slackRunbook(basicApprovals))
	msg := w.request(t, 1)

	// A click by an allowed approver: only its signature decides whether it counts.
	payload, err := slackfake.ClickPayload(msg, slackfake.Click{User: "U0ALICE", ActionID: slackapp.ActionApprove, ResponseURL: w.fake.ResponseURL("T0TEAM/forged")})
	if err != nil {
		t.Fatal(err)
	}
	body, err := slackfake.FormBody(payload)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	_, captured := slackapp.Sign(slackSecret, now.Add(-10*time.Minute), body)
	cases := []struct {
		name, ts, sig string
	}{
		{"forged signature", strconv.FormatInt(now.Unix(), 10), "v0=" + hex.EncodeToString(random)},
		{"wrong secret", first(slackapp.Sign("not-the-secret", now, body)), second(slackapp.Sign("not-the-secret", now, body))},
		{"timestamp 6 minutes old", first(slackapp.Sign(slackSecret, now.Add(-6*time.Minute), body)), second(slackapp.Sign(slackSecret, now.Add(-6*time.Minute), body))},
		{"replayed body, fresh timestamp, old signature", strconv.FormatInt(now.Unix(), 10), captured},
	}
	for _, tc := range cases {
		res := w.send(t, body, tc.ts, tc.sig)
		if res.status != http.StatusUnauthorized {
			t.Errorf("%s: answered %d %s, want 401", tc.name, res.status, res.body)
		}
		mustContain(t, tc.name+" answer", res.body, "not verified")
		if res.ephemeral != "" || res.response != nil {
			t.Errorf("%s: the handler told Slack something: ephemeral %q, response_url %v", tc.name, res.ephemeral, res.response)
		}
	}

	st := w.status(t, id)
	if st.State != contract.StateAwaitingApproval || len(st.PendingApproval.Approvals) != 0 {
		t.Errorf("after refused requests: state %s, approvals %v; want awaiting approval, none", st.State, st.PendingApproval.Approvals)
	}
	if ev := eventsOf(w.timeline(t, id), contract.EventApprovalVote, contract.EventApprovalGranted, contract.EventApprovalRejected, contract.EventApprovalDenied); len(ev) != 0 {
		t.Errorf("refused requests reached the timeline: %+v", ev)
	}
	if n := len(w.fake.Calls(slackfake.Update)); n != 0 {
		t.Errorf("the request message was updated %d times", n)
	}

	// The same body signed correctly is accepted: the refusals were the signatures'.
	ts, sig := slackapp.Sign(slackSecret, time.Now(), body)
	if res := w.send(t, body, ts, sig); res.status != http.StatusOK {
		t.Fatalf("correctly signed click answered %d %s", res.status, res.body)
	}
	waitFor(t, w.inc, id, "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
}

func first(a, _ string) string  { return a }
func second(_, b string) string { return b }

func testSlackRefusals(t *testing.T, w *slackWorld) {
	const id = "slack-refuse-1"
	w.start(t, id, "U0REQUESTER", slackRunbook(`  approvers: {slack_users: [U0ALICE, U0BOB, U0REQUESTER]}
  min_approvals: 2
  timeout: 1h`))
	msg := w.request(t, 1)

	refused := func(user, reason string) {
		t.Helper()
		res := w.click(t, msg, user, slackapp.ActionApprove)
		if res.status != http.StatusOK {
			t.Errorf("click by %s answered %d %s; Slack must get its ack", user, res.status, res.body)
		}
		if res.ephemeralTo != user {
			t.Errorf("refusal of %s shown to %q", user, res.ephemeralTo)
		}
		mustContain(t, "ephemeral to "+user, res.ephemeral, "was refused", reason)
		if res.response != nil {
			t.Errorf("refused click by %s replaced the message: %s", user, res.response.Body)
		}
		w.waitEvent(t, id, contract.EventApprovalRejected, 15*time.Second, func(e contract.Event) bool {
			return e.Actor == user && strings.Contains(e.Detail, reason)
		})
	}
	refused("U0MALLORY", "not an approver")
	refused("U0REQUESTER", "own run")

	res := w.click(t, msg, "U0ALICE", slackapp.ActionApprove)
	if res.ephemeral != "" || res.response == nil {
		t.Fatalf("first approval by U0ALICE: ephemeral %q, response_url %v", res.ephemeral, res.response)
	}
	mustContain(t, "votes after U0ALICE", blockTexts(t, *res.response)[slackapp.BlockVotes], "1 of 2 approvals", "<@U0ALICE>")
	refused("U0ALICE", "already voted")

	st := w.status(t, id)
	if st.State != contract.StateAwaitingApproval || strings.Join(st.PendingApproval.Approvals, ",") != "U0ALICE" {
		t.Errorf("state %s, approvals %v; want awaiting approval with only U0ALICE's", st.State, st.PendingApproval.Approvals)
	}
	if n := len(eventsOf(w.timeline(t, id), contract.EventApprovalRejected)); n != 3 {
		t.Errorf("%d approval_rejected events, want 3", n)
	}
	if n := len(w.fake.Calls(slackfake.Update)); n != 0 {
		t.Errorf("the request message was updated %d times while pending", n)
	}
}

func testSlackTwoApprovers(t *testing.T, w *slackWorld) {
	const id = "slack-two-1"
	w.fake.SetGroupMembers("S0ONCALL", "U0GRACE", "U0HENRY")
	w.start(t, id, "carol", slackRunbook(`  approvers: {slack_users: [U0ALICE], slack_groups: [S0ONCALL]}
  min_approvals: 2
  timeout: 1h`))
	msg := w.request(t, 1)
	mustContain(t, "approvers", blockTexts(t, msg)[slackapp.BlockApprovers], "<!subteam^S0ONCALL>", "2 distinct")

	res := w.click(t, msg, "U0ALICE", slackapp.ActionApprove)
	if res.response == nil {
		t.Fatalf("first approval left no trace in Slack (ephemeral %q)", res.ephemeral)
	}
	votes := blockTexts(t, *res.response)
	mustContain(t, "votes", votes[slackapp.BlockVotes], "1 of 2 approvals: <@U0ALICE>")
	if votes[slackapp.BlockActions] == "" {
		t.Error("the buttons went away before the second approval")
	}
	st := w.status(t, id)
	if st.State != contract.StateAwaitingApproval || w.records.Writes(id+"/throttle") != 0 {
		t.Fatalf("after one of two approvals: state %s, throttle writes %d", st.State, w.records.Writes(id+"/throttle"))
	}
	current := asMessage(msg, res.response)

	// Someone outside the group is still nobody.
	out := w.click(t, current, "U0OUTSIDER", slackapp.ActionApprove)
	mustContain(t, "ephemeral to U0OUTSIDER", out.ephemeral, "not an approver")

	// A member of the approver group, resolved through usergroups.users.list.
	res = w.click(t, current, "U0GRACE", slackapp.ActionApprove)
	if res.ephemeral != "" || res.response == nil {
		t.Fatalf("approval by group member U0GRACE: ephemeral %q, response_url %v", res.ephemeral, res.response)
	}
	checkDecided(t, "response_url message", *res.response, ":white_check_mark: Approved by <@U0ALICE>, <@U0GRACE> at ")
	asked := false
	for _, c := range w.fake.Calls(slackfake.GroupMembers) {
		asked = asked || c.Form.Get("usergroup") == "S0ONCALL"
	}
	if !asked {
		t.Error("group S0ONCALL was never listed through usergroups.users.list")
	}
	st = waitFor(t, w.inc, id, "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if stepState(st, "throttle") != contract.StepSucceeded {
		t.Errorf("throttle %s after two approvals", stepState(st, "throttle"))
	}
	granted := eventsOf(w.timeline(t, id), contract.EventApprovalGranted)
	if len(granted) != 1 || granted[0].Actor != "U0GRACE" || !strings.Contains(granted[0].Detail, "approved by U0ALICE, U0GRACE") {
		t.Errorf("approval_granted = %+v, want one naming U0ALICE and U0GRACE", granted)
	}
	checkDecided(t, "chat.update", w.update(t, msg.TS), ":white_check_mark: Approved by <@U0ALICE>, <@U0GRACE> at ")
}

func testSlackEscalation(t *testing.T, w *slackWorld) {
	const id = "slack-escalate-1"
	w.start(t, id, "carol", slackRunbook(`  approvers: {slack_users: [U0ALICE]}
  timeout: 5s
  escalate: {after: 2s, to: {slack_users: [U0BOSS], slack_groups: [S0LEADS]}}`))
	root := w.request(t, 1)
	// When the workflow learnt the thread: only an escalation after that
	// can be threaded (on a loaded machine the 2s may pass first).
	var threadKnown time.Time
	eventually(t, 10*time.Second, "incident thread recorded", func() bool {
		st := w.status(t, id)
		if st.PendingApproval == nil || st.PendingApproval.Thread.TS == root.TS {
			threadKnown = time.Now()
			return true
		}
		return false
	})

	esc := w.request(t, 2)
	b := blockTexts(t, esc)
	mustContain(t, "escalation", b[slackapp.BlockEscalated], "Escalated", "<@U0BOSS>", "<!subteam^S0LEADS>")
	mustContain(t, "escalation approvers", b[slackapp.BlockApprovers], "<@U0ALICE>", "<@U0BOSS>", "<!subteam^S0LEADS>")
	mustContain(t, "escalation text", esc.Form.Get("text"), "Escalated")

	st := waitFor(t, w.inc, id, "timed out", func(st contract.Status) bool { return st.State == contract.StateContained })
	if stepState(st, "gate") != contract.StepDenied || stepState(st, "throttle") != contract.StepSkipped {
		t.Errorf("gate %s, throttle %s; want denied, skipped", stepState(st, "gate"), stepState(st, "throttle"))
	}
	if got := w.records.Writes(id + "/throttle"); got != 0 {
		t.Errorf("the gated step ran %d times after a timeout", got)
	}
	tl := w.timeline(t, id)
	requested, escalated, denied := eventsOf(tl, contract.EventApprovalRequested), eventsOf(tl, contract.EventApprovalEscalated), eventsOf(tl, contract.EventApprovalDenied)
	if len(requested) != 1 || len(escalated) != 1 || len(denied) != 1 {
		t.Fatalf("requested %d, escalated %d, denied %d events; want 1 each", len(requested), len(escalated), len(denied))
	}
	// Upper bounds would measure the machine's load, not quench.
	if d := escalated[0].Time.Sub(requested[0].Time); d < 2*time.Second {
		t.Errorf("escalated %s after the request, before escalate.after (2s)", d)
	}
	if escalated[0].Time.After(denied[0].Time) {
		t.Errorf("escalated at %s, after the timeout denied at %s", escalated[0].Time, denied[0].Time)
	}
	if d := denied[0].Time.Sub(requested[0].Time); d < 5*time.Second {
		t.Errorf("denied %s after the request, before the 5s timeout", d)
	}
	mustContain(t, "escalation event", escalated[0].Detail, "U0BOSS", "S0LEADS")
	if threadKnown.Before(escalated[0].Time) {
		if esc.Form.Get("thread_ts") != root.TS || esc.Form.Get("reply_broadcast") != "true" {
			t.Errorf("escalation thread_ts %q broadcast %q; want a reply to %s also sent to the channel", esc.Form.Get("thread_ts"), esc.Form.Get("reply_broadcast"), root.TS)
		}
	} else {
		t.Logf("the request was posted only after the escalation was due; thread not checked")
	}
	mustContain(t, "denial event", denied[0].Detail, "timed out")
	if denied[0].Actor != "" || len(eventsOf(tl, contract.EventApprovalGranted)) != 0 {
		t.Errorf("a clock decided as someone: %+v", tl)
	}
	checkDecided(t, "chat.update", w.update(t, root.TS), ":no_entry: Denied at ")
	mustContain(t, "chat.update", blockTexts(t, w.update(t, root.TS))[slackapp.BlockDecision], ": timed out")
}

func testSlackDown(t *testing.T, w *slackWorld) {
	const id = "slack-down-1"
	w.fake.Fail(slackfake.PostMessage, slackfake.Fault{Status: http.StatusInternalServerError}, 1000)
	begin := time.Now()
	w.start(t, id, "carol", slackRunbook(basicApprovals))

	eventually(t, 30*time.Second, "a retried chat.postMessage", func() bool { return len(w.fake.Calls(slackfake.PostMessage)) > 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := w.inc.Decide(ctx, id, contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"})
	if err != nil || res.Outcome != "approved" {
		t.Fatalf("CLI approval while Slack is down: %+v %v", res, err)
	}
	st := waitFor(t, w.inc, id, "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if stepState(st, "throttle") != contract.StepSucceeded {
		t.Errorf("throttle %s after CLI approval", stepState(st, "throttle"))
	}

	// The workflow retries the post 5 times with 2s..16s backoff (~30s)
	// before it says so in the timeline.
	failed := w.waitEvent(t, id, contract.EventNotifyFailed, 75*time.Second, nil)
	mustContain(t, "notification_failed", failed.Detail, "approval request could not be delivered", "approve from the CLI")
	attempts := len(w.fake.Calls(slackfake.PostMessage))
	if attempts < 2 {
		t.Errorf("chat.postMessage tried %d times, want retries", attempts)
	}
	if n := len(w.fake.Calls(slackfake.Update)); n != 0 {
		t.Errorf("chat.update called %d times for a message that was never posted", n)
	}
	t.Logf("slack down: %d chat.postMessage attempts; notification_failed after %s", attempts, time.Since(begin).Round(time.Second))
}
