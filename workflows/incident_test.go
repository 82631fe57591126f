package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows"
	"github.com/quenchhq/quench/workflows/contract"
)

// harness runs the Incident workflow in the SDK's test environment with the
// real core actions and a recording notifier.
type harness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	records *activities.RecordStore
	reg     *activities.Registry
	notes   *notes
}

type notes struct {
	mu        sync.Mutex
	requests  []contract.ApprovalRequest
	decided   []contract.ApprovalDecided
	updates   []string
	failPosts bool
}

func (n *notes) requestApproval(ctx context.Context, r contract.ApprovalRequest) (contract.NotifyResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failPosts {
		return contract.NotifyResult{}, errors.New("slack unreachable")
	}
	n.requests = append(n.requests, r)
	return contract.NotifyResult{Delivered: true, Thread: contract.Thread{Channel: "C1", TS: "100.1"}, MessageTS: "100.2"}, nil
}

func (n *notes) approvalDecided(ctx context.Context, d contract.ApprovalDecided) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.decided = append(n.decided, d)
	return nil
}

func (n *notes) postUpdate(ctx context.Context, u contract.IncidentUpdate) (contract.NotifyResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.updates = append(n.updates, u.Text)
	return contract.NotifyResult{Delivered: true, Thread: u.Thread}, nil
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1}))))
	env := suite.NewTestWorkflowEnvironment()
	// Under -race on a loaded 2-core machine a workflow task can take more
	// than the 1s deadlock detector allows; that is not a deadlock.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 30 * time.Second})
	records, _ := activities.NewRecordStore("")
	reg := activities.NewRegistry()
	reg.Register((&activities.Core{Records: records}).Actions()...)
	h := &harness{t: t, env: env, records: records, reg: reg, notes: &notes{}}
	env.RegisterWorkflowWithOptions(workflows.Incident, workflowRegisterOptions())
	reg.RegisterActivities(env)
	env.RegisterActivityWithOptions(h.notes.requestApproval, activity.RegisterOptions{Name: contract.ActivityRequestApproval})
	env.RegisterActivityWithOptions(h.notes.approvalDecided, activity.RegisterOptions{Name: contract.ActivityApprovalDecided})
	env.RegisterActivityWithOptions(h.notes.postUpdate, activity.RegisterOptions{Name: contract.ActivityPostUpdate})
	return h
}

func (h *harness) runbook(yaml string) runbooks.Runbook {
	h.t.Helper()
	rb, err := runbooks.Load("test.yaml", []byte(yaml), h.reg)
	if err != nil {
		h.t.Fatalf("load runbook: %v", err)
	}
	return *rb
}

// at schedules fn at a workflow-time offset from the start.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

type updateResult struct {
	rejected error
	err      error
	value    any
}

// update sends an update and records how it ended.
func (h *harness) update(name string, arg any, into *updateResult) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { into.rejected = err },
		OnComplete: func(v interface{}, err error) {
			into.value, into.err = v, err
		},
	}, arg)
}

func (h *harness) status() contract.Status {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(contract.QueryStatus)
	if err != nil {
		h.t.Fatalf("query status: %v", err)
	}
	var st contract.Status
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) timeline() []contract.Event {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(contract.QueryTimeline)
	if err != nil {
		h.t.Fatalf("query timeline: %v", err)
	}
	var ev []contract.Event
	if err := v.Get(&ev); err != nil {
		h.t.Fatal(err)
	}
	return ev
}

func (h *harness) result() contract.Status {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var st contract.Status
	if err := h.env.GetWorkflowResult(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func input(rb runbooks.Runbook, params map[string]any) contract.IncidentInput {
	return contract.IncidentInput{ID: "inc-1", Runbook: rb, Params: params, Source: "cli", Requester: "carol"}
}

func stepState(st contract.Status, id string) string {
	for _, s := range st.Steps {
		if s.ID == id {
			return s.State
		}
	}
	return "<missing>"
}

func hasEvent(ev []contract.Event, typ, step, detailPart string) bool {
	for _, e := range ev {
		if e.Type == typ && (step == "" || e.Step == step) && strings.Contains(e.Detail, detailPart) {
			return true
		}
	}
	return false
}

const approvalRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: approval-test, severity: high}
params:
  target: {type: string, required: true}
approvals:
  approvers: {cli_users: [alice, bob, carol], slack_users: [U1]}
  min_approvals: %MIN%
  timeout: 30m
  on_timeout: deny
  escalate: {after: 10m, to: {cli_users: [dave]}}
steps:
  - id: record-before
    action: core.record
    with: {key: 'before/${{ params.target }}', value: 1}
  - id: gate
    approval: {message: 'Block ${{ params.target }}?'}
  - id: record-after
    action: core.record
    with: {key: 'after/${{ params.target }}', value: 2}
on_resolve: rollback
`

func approvalYAML(min string) string { return strings.ReplaceAll(approvalRunbook, "%MIN%", min) }

func TestApprovalGrantedRunsGatedStepAndRollbackRestores(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var approve, resolve updateResult
	h.at(time.Minute, func() {
		st := h.status()
		if st.State != contract.StateAwaitingApproval || st.PendingApproval == nil || st.PendingApproval.Step != "gate" {
			t.Errorf("before approval: state %s, pending %+v", st.State, st.PendingApproval)
		}
		if _, ok := h.records.Get("inc-1/after/chatbot"); ok {
			t.Error("gated step ran before approval")
		}
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.State != contract.StateContained {
			t.Errorf("after approval: state %s, want contained", st.State)
		}
		if v, _ := h.records.Get("inc-1/after/chatbot"); fmt.Sprint(v) != "2" {
			t.Errorf("gated step value = %v, want 2", v)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	st := h.result()
	if approve.rejected != nil || approve.err != nil {
		t.Fatalf("approve: rejected=%v err=%v", approve.rejected, approve.err)
	}
	if st.State != contract.StateRolledBack {
		t.Errorf("final state %s, want rolled_back", st.State)
	}
	if n := len(h.records.Keys()); n != 0 {
		t.Errorf("rollback left records: %v", h.records.Snapshot())
	}
	if got := stepState(st, "gate"); got != contract.StepApproved {
		t.Errorf("gate state %s", got)
	}
	// The request named the planned change from a dry run of the gated step.
	if len(h.notes.requests) != 1 || len(h.notes.requests[0].Planned) != 1 || !strings.Contains(h.notes.requests[0].Planned[0].Summary, "would record") {
		t.Errorf("approval request planned changes: %+v", h.notes.requests)
	}
	if len(h.notes.decided) != 1 || h.notes.decided[0].Decision != contract.StepApproved || h.notes.decided[0].MessageTS != "100.2" {
		t.Errorf("decided notification: %+v", h.notes.decided)
	}
}

func TestRollbackRunsUndoStackInReverseAndRecordsEachUndo(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: rollback-order, severity: low}
steps:
  - {id: one, action: core.record, with: {key: k1, value: a}}
  - {id: two, action: core.record, with: {key: k2, value: b}}
  - {id: three, action: core.record, with: {key: k1, value: c}}
`)
	// k1 existed before the incident: rollback must put it back, not delete it.
	if err := h.records.Put("inc-1/k1", "original"); err != nil {
		t.Fatal(err)
	}
	var resolve updateResult
	h.at(time.Minute, func() {
		st := h.status()
		if len(st.Undo) != 3 || st.Undo[0].Step != "three" || st.Undo[2].Step != "one" {
			t.Errorf("undo stack (newest first) = %+v", st.Undo)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if st.State != contract.StateRolledBack {
		t.Fatalf("state %s", st.State)
	}
	if got := h.records.Snapshot(); len(got) != 1 || got["inc-1/k1"] != "original" {
		t.Errorf("records after rollback = %v, want only k1=original", got)
	}
	var order []string
	for _, e := range h.timeline() {
		if e.Type == contract.EventRollbackStep {
			order = append(order, e.Step)
		}
	}
	if strings.Join(order, ",") != "three,two,one" {
		t.Errorf("rollback order = %v, want three,two,one", order)
	}
	for _, id := range []string{"one", "two", "three"} {
		if s := stepState(st, id); s != contract.StepRolledBack {
			t.Errorf("step %s state %s, want rolled_back", id, s)
		}
	}
}

func TestResolveKeepLeavesChangesInPlace(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: keep, severity: low}
steps:
  - {id: one, action: core.record, with: {key: k1, value: a}}
on_resolve: ask
`)
	var noMode, keep updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice"}, &noMode)
	})
	h.at(2*time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &keep)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if noMode.rejected == nil || !strings.Contains(noMode.rejected.Error(), "--rollback or --keep") {
		t.Errorf("resolve without mode on an ask runbook: rejected=%v", noMode.rejected)
	}
	if st.State != contract.StateClosed {
		t.Errorf("state %s, want closed", st.State)
	}
	if v, ok := h.records.Get("inc-1/k1"); !ok || v != "a" {
		t.Errorf("keep removed the change: %v %v", v, ok)
	}
}

func TestApprovalDeniedStopsRunbook(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var deny, resolve updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateDeny, contract.Decision{Actor: "bob", Via: "cli", Reason: "false positive"}, &deny)
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.State != contract.StateContained {
			t.Errorf("after deny: state %s", st.State)
		}
		if stepState(st, "record-after") != contract.StepSkipped {
			t.Errorf("step after a denied approval: %s", stepState(st, "record-after"))
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "bob", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	st := h.result()
	if deny.err != nil || deny.rejected != nil {
		t.Fatalf("deny failed: %v %v", deny.err, deny.rejected)
	}
	if stepState(st, "gate") != contract.StepDenied {
		t.Errorf("gate = %s", stepState(st, "gate"))
	}
	if _, ok := h.records.Get("inc-1/after/chatbot"); ok {
		t.Error("gated step ran after a denial")
	}
	if !hasEvent(h.timeline(), contract.EventApprovalDenied, "gate", "false positive") {
		t.Error("timeline lacks the denial with its reason")
	}
}

func TestApprovalTimesOutToDenyAfterEscalating(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var resolve updateResult
	h.at(11*time.Minute, func() {
		st := h.status()
		if st.PendingApproval == nil || !st.PendingApproval.Escalated {
			t.Errorf("not escalated after 10m: %+v", st.PendingApproval)
		}
	})
	h.at(31*time.Minute, func() {
		st := h.status()
		if stepState(st, "gate") != contract.StepDenied {
			t.Errorf("after timeout gate = %s, want denied", stepState(st, "gate"))
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "bob", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	h.result()
	ev := h.timeline()
	if !hasEvent(ev, contract.EventApprovalEscalated, "gate", "cli:dave") {
		t.Error("no escalation event naming the escalation approver")
	}
	if !hasEvent(ev, contract.EventApprovalDenied, "gate", "timed out") {
		t.Error("no timed-out denial")
	}
	if hasEvent(ev, contract.EventApprovalGranted, "", "") {
		t.Error("a clock approved")
	}
	if len(h.notes.requests) != 2 || !h.notes.requests[1].Escalation {
		t.Errorf("escalation request not posted: %+v", h.notes.requests)
	}
	if _, ok := h.records.Get("inc-1/after/chatbot"); ok {
		t.Error("gated step ran after timeout")
	}
}

func TestEscalationApproverCanApproveAfterEscalation(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var early, late, resolve updateResult
	h.at(time.Minute, func() { h.update(contract.UpdateApprove, contract.Decision{Actor: "dave", Via: "cli"}, &early) })
	h.at(11*time.Minute, func() { h.update(contract.UpdateApprove, contract.Decision{Actor: "dave", Via: "cli"}, &late) })
	h.at(12*time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "x", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	st := h.result()
	if early.rejected == nil {
		t.Error("escalation approver accepted before escalation")
	}
	if late.rejected != nil || late.err != nil {
		t.Errorf("escalation approver refused after escalation: %v %v", late.rejected, late.err)
	}
	if stepState(st, "gate") != contract.StepApproved {
		t.Errorf("gate = %s", stepState(st, "gate"))
	}
}

func TestApprovalValidatorRefusals(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("2"))
	var self, stranger, first, dup, wrongVia, second, late, resolve updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateApprove, contract.Decision{Actor: "carol", Via: "cli"}, &self) // carol started it
		h.update(contract.UpdateApprove, contract.Decision{Actor: "mallory", Via: "cli"}, &stranger)
		h.update(contract.UpdateApprove, contract.Decision{Actor: "U1", Via: "cli"}, &wrongVia) // a Slack id is not a CLI user
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &first)
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if stepState(st, "gate") != contract.StepRunning || st.State != contract.StateAwaitingApproval {
			t.Errorf("one approval of two decided the step: %s / %s", stepState(st, "gate"), st.State)
		}
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &dup)
	})
	h.at(3*time.Minute, func() { h.update(contract.UpdateApprove, contract.Decision{Actor: "U1", Via: "slack"}, &second) })
	h.at(4*time.Minute, func() {
		h.update(contract.UpdateApprove, contract.Decision{Actor: "bob", Via: "cli", Step: "gate"}, &late)
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "x", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	st := h.result()
	for name, tc := range map[string]struct {
		r    updateResult
		want string
	}{
		"self approval":          {self, "cannot approve their own run"},
		"not an approver":        {stranger, "not an approver"},
		"wrong channel":          {wrongVia, "not an approver"},
		"duplicate vote":         {dup, "already voted"},
		"step no longer pending": {late, "not pending"},
	} {
		if tc.r.rejected == nil || !strings.Contains(tc.r.rejected.Error(), tc.want) {
			t.Errorf("%s: rejected = %v, want %q", name, tc.r.rejected, tc.want)
		}
	}
	if first.rejected != nil || second.rejected != nil {
		t.Errorf("valid votes refused: %v / %v", first.rejected, second.rejected)
	}
	res, _ := second.value.(contract.DecisionResult)
	if res.Outcome != "approved" || res.Approvals != 2 || res.Needed != 2 {
		t.Errorf("second vote result = %+v", second.value)
	}
	if stepState(st, "gate") != contract.StepApproved {
		t.Errorf("gate = %s after two distinct approvers", stepState(st, "gate"))
	}
}

func TestRejectedDecisionSignalLandsInTimeline(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var resolve updateResult
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(contract.SignalRejectedDecision, contract.RejectedDecision{
			Decision: contract.Decision{Actor: "mallory", Via: "slack", Step: "gate"}, Kind: "approve", Reason: "mallory is not an approver"})
	})
	h.at(2*time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "x", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	h.result()
	ev := h.timeline()
	found := false
	for _, e := range ev {
		if e.Type == contract.EventApprovalRejected && e.Actor == "mallory" && strings.Contains(e.Detail, "not an approver") {
			found = true
		}
	}
	if !found {
		t.Errorf("rejected attempt not in timeline: %+v", ev)
	}
}

const onErrorRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: on-error, severity: low}
approvals:
  approvers: {cli_users: [alice]}
  timeout: 10m
steps:
  - {id: first, action: core.record, with: {key: k1, value: 1}}
  - id: broken
    action: core.fail
    with: {message: boom}
    on_error: %MODE%
  - {id: after, action: core.record, with: {key: k2, value: 2}}
`

func TestOnErrorPolicies(t *testing.T) {
	t.Run("fail stops and holds changes until resolve", func(t *testing.T) {
		h := newHarness(t)
		rb := h.runbook(strings.ReplaceAll(onErrorRunbook, "%MODE%", "fail"))
		var resolve updateResult
		h.at(time.Minute, func() {
			st := h.status()
			if st.State != contract.StateFailed || stepState(st, "broken") != contract.StepFailed || stepState(st, "after") != contract.StepPending {
				t.Errorf("after failure: %s broken=%s after=%s", st.State, stepState(st, "broken"), stepState(st, "after"))
			}
			if !strings.Contains(st.Error, "boom") {
				t.Errorf("error %q does not carry the failure", st.Error)
			}
			h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
		})
		h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
		st := h.result()
		if st.State != contract.StateRolledBack || len(h.records.Keys()) != 0 {
			t.Errorf("state %s, records %v", st.State, h.records.Snapshot())
		}
		for _, s := range st.Steps {
			if s.ID == "broken" && s.Attempts != 1 {
				t.Errorf("non-retryable failure attempted %d times", s.Attempts)
			}
		}
	})
	t.Run("continue runs the next step", func(t *testing.T) {
		h := newHarness(t)
		rb := h.runbook(strings.ReplaceAll(onErrorRunbook, "%MODE%", "continue"))
		var resolve updateResult
		h.at(time.Minute, func() {
			h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
		})
		h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
		st := h.result()
		if stepState(st, "broken") != contract.StepFailed || stepState(st, "after") != contract.StepSucceeded {
			t.Errorf("broken=%s after=%s", stepState(st, "broken"), stepState(st, "after"))
		}
	})
	t.Run("escalate asks a human, approval continues", func(t *testing.T) {
		h := newHarness(t)
		rb := h.runbook(strings.ReplaceAll(onErrorRunbook, "%MODE%", "escalate"))
		var approve, resolve updateResult
		h.at(time.Minute, func() {
			st := h.status()
			if st.PendingApproval == nil || st.PendingApproval.Step != "broken-escalation" || !strings.Contains(st.PendingApproval.Message, "boom") {
				t.Errorf("no escalation approval pending: %+v", st.PendingApproval)
			}
			h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
		})
		h.at(2*time.Minute, func() {
			h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
		})
		h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
		st := h.result()
		if approve.rejected != nil || stepState(st, "after") != contract.StepSucceeded {
			t.Errorf("approve=%v after=%s", approve.rejected, stepState(st, "after"))
		}
	})
}

func TestWhenSkipsSteps(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: when, severity: low}
params:
  agent_id: {type: string, default: ""}
steps:
  - id: maybe
    action: core.record
    when: 'params.agent_id != ""'
    with: {key: agent, value: '${{ params.agent_id }}'}
  - id: always
    action: core.record
    when: '!steps.maybe.changed'
    with: {key: fallback, value: true}
`)
	var resolve updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"agent_id": ""}))
	st := h.result()
	if stepState(st, "maybe") != contract.StepSkipped || stepState(st, "always") != contract.StepSucceeded {
		t.Errorf("maybe=%s always=%s", stepState(st, "maybe"), stepState(st, "always"))
	}
	if _, ok := h.records.Get("inc-1/agent"); ok {
		t.Error("skipped step ran")
	}
	if !hasEvent(h.timeline(), contract.EventStepSkipped, "maybe", "is false") {
		t.Error("skip not in timeline")
	}
}

func TestAlertsFoldIntoStatus(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: fold, severity: low}
steps:
  - {id: one, action: core.log, with: {message: hi}}
`)
	var resolve updateResult
	for i := 0; i < 5; i++ {
		h.at(time.Duration(i+1)*time.Second, func() {
			h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "alertmanager", Name: "TokenSpike", Status: "firing", Labels: map[string]string{"model": "m1"}})
		})
	}
	h.at(time.Minute, func() {
		st := h.status()
		if st.Alerts.Count != 5 || st.Alerts.Labels["model"] != "m1" || len(st.Alerts.Names) != 1 {
			t.Errorf("alerts = %+v", st.Alerts)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	if st := h.result(); st.State != contract.StateRolledBack {
		t.Errorf("state %s", st.State)
	}
}

func TestCancelStopsWaitingIncident(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("1"))
	var cancel updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateCancel, contract.CancelRequest{Actor: "alice", Reason: "drill"}, &cancel)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "x"}))
	st := h.result()
	if st.State != contract.StateCancelled || cancel.rejected != nil {
		t.Errorf("state %s rejected %v", st.State, cancel.rejected)
	}
	if !hasEvent(h.timeline(), contract.EventCancelled, "", "1 change(s) left in place") {
		t.Errorf("cancel event: %+v", h.timeline())
	}
}

func TestNotificationFailureKeepsCLIApprovalWorking(t *testing.T) {
	h := newHarness(t)
	h.notes.failPosts = true
	rb := h.runbook(approvalYAML("1"))
	var approve, resolve updateResult
	h.at(5*time.Minute, func() { h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve) })
	h.at(6*time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "x"}))
	st := h.result()
	if stepState(st, "gate") != contract.StepApproved {
		t.Errorf("gate = %s", stepState(st, "gate"))
	}
	if !hasEvent(h.timeline(), contract.EventNotifyFailed, "gate", "approve from the CLI") {
		t.Error("undelivered request not recorded in the timeline")
	}
}

func TestContainedIncidentContinuesAsNewCarryingState(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: long-lived, severity: low}
steps:
  - {id: one, action: core.record, with: {key: k1, value: a}}
`)
	in := input(rb, nil)
	for i := 0; i < 5; i++ {
		h.at(time.Duration(i+1)*time.Minute, func() {
			h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing"})
		})
	}
	// A storm of folded alerts has grown the history past the limit.
	h.at(10*time.Minute, func() {
		h.env.SetCurrentHistoryLength(10001)
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing"})
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not finish its run")
	}
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new once history passed the limit, got %v", err)
	}
	var next contract.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	// The carried state is the workflow's private business; read the parts
	// this test cares about as a client would see them.
	var c struct {
		State    string               `json:"state"`
		Undo     []contract.UndoEntry `json:"undo"`
		Alerts   contract.AlertFold   `json:"alerts"`
		Timeline []contract.Event     `json:"timeline"`
	}
	if next.Carry == nil {
		t.Fatal("continue-as-new carried no state")
	}
	if err := json.Unmarshal(next.Carry, &c); err != nil {
		t.Fatal(err)
	}
	if c.State != contract.StateContained || len(c.Undo) != 1 || c.Alerts.Count == 0 || len(c.Timeline) == 0 {
		t.Fatalf("carried state lost something: %+v", c)
	}
	// The next run resumes held containment and can still roll it back.
	h2 := newHarness(t)
	h2.records = h.records
	if err := h2.records.Put("inc-1/k1", "a"); err != nil {
		t.Fatal(err)
	}
	h2.reg = activities.NewRegistry()
	var resolve updateResult
	h2.at(time.Minute, func() {
		if st := h2.status(); st.Alerts.Count != c.Alerts.Count || stepState(st, "one") != contract.StepSucceeded {
			t.Errorf("resumed status: %+v", st)
		}
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "rollback"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	if st := h2.result(); st.State != contract.StateRolledBack {
		t.Errorf("after continue-as-new and resolve: %s", st.State)
	}
}

// Every incident field the validator lets a runbook reference is there at run time.
func TestEveryIncidentFieldResolvesAtRunTime(t *testing.T) {
	h := newHarness(t)
	var parts []string
	for _, f := range runbooks.IncidentFields {
		parts = append(parts, f+"=${{ incident."+f+" }}")
	}
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: fields, severity: low}
steps:
  - id: show
    action: core.log
    with: {message: '` + strings.Join(parts, " ") + `'}
`)
	var resolve updateResult
	h.at(time.Minute, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if stepState(st, "show") != contract.StepSucceeded {
		t.Fatalf("step show: %s %s", stepState(st, "show"), st.Steps[0].Error)
	}
	if !strings.Contains(st.Steps[0].Summary, "id=inc-1") || !strings.Contains(st.Steps[0].Summary, "requester=carol") {
		t.Errorf("rendered: %s", st.Steps[0].Summary)
	}
}
