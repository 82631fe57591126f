package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// continuedInput returns the input the run handed to its next run, failing
// unless the run ended by continuing as new.
func (h *harness) continuedInput() contract.IncidentInput {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not finish its run")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		h.t.Fatalf("want continue-as-new, got %v", err)
	}
	var next contract.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		h.t.Fatal(err)
	}
	if len(next.Carry) == 0 {
		h.t.Fatal("continue-as-new carried no state")
	}
	return next
}

// growHistory makes the test environment report a history past the
// continue-as-new limit, as a storm of folded alerts would. (The test
// environment drops a signal sent in the same callback once the run
// continues as new; a real server would reject the completion and deliver
// it, so alerts are sent in callbacks of their own.)
func (h *harness) growHistory() { h.env.SetCurrentHistoryLength(10001) }

// nextHarness runs the next run against the same record store.
func (h *harness) nextHarness() *harness {
	h2 := newHarness(h.t)
	h2.records = h.records
	h2.reg = activities.NewRegistry()
	h2.reg.Register((&activities.Core{Records: h.records}).Actions()...)
	h2.reg.RegisterActivities(h2.env)
	return h2
}

// A long approval wait under an alert storm continues as new instead of
// running into Temporal's history and signal limits; the next run waits on
// the same request with the votes already cast, and the undo stack intact.
func TestApprovalWaitContinuesAsNewKeepingVotesAndUndo(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(approvalYAML("2"))
	var alice updateResult
	var deadline time.Time
	h.at(time.Minute, func() {
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &alice)
	})
	h.at(90*time.Second, func() {
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing", Count: 3})
	})
	h.at(2*time.Minute, func() {
		deadline = h.status().PendingApproval.Deadline
		h.growHistory()
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	next := h.continuedInput()
	if alice.err != nil || alice.rejected != nil {
		t.Fatalf("alice's vote: %v %v", alice.rejected, alice.err)
	}
	if len(h.notes.requests) != 1 {
		t.Fatalf("approval requests posted in the first run: %d", len(h.notes.requests))
	}

	h2 := h.nextHarness()
	var again, bob, resolve updateResult
	h2.at(time.Minute, func() {
		st := h2.status()
		p := st.PendingApproval
		if st.State != contract.StateAwaitingApproval || p == nil || p.Step != "gate" {
			t.Fatalf("resumed: state %s pending %+v", st.State, p)
		}
		if len(p.Approvals) != 1 || p.Approvals[0] != "alice" || !p.Deadline.Equal(deadline) {
			t.Errorf("resumed approval lost its votes or moved its deadline: %+v (deadline was %s)", p, deadline)
		}
		if len(st.Undo) != 1 || st.Alerts.Count != 3 {
			t.Errorf("resumed undo stack %+v, alerts %+v", st.Undo, st.Alerts)
		}
		h2.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &again)
	})
	h2.at(90*time.Second, func() {
		if again.rejected == nil || !strings.Contains(again.rejected.Error(), "already") {
			t.Errorf("alice's second vote across continue-as-new: rejected %v", again.rejected)
		}
		h2.update(contract.UpdateApprove, contract.Decision{Actor: "bob", Via: "cli"}, &bob)
	})
	h2.at(2*time.Minute, func() {
		if _, ok := h2.records.Get("inc-1/after/chatbot"); !ok {
			t.Error("gated step did not run after the approval in the next run")
		}
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	st := h2.result()
	if st.State != contract.StateRolledBack || stepState(st, "gate") != contract.StepApproved {
		t.Fatalf("final: state %s gate %s", st.State, stepState(st, "gate"))
	}
	if len(h2.notes.requests) != 0 {
		t.Errorf("the next run asked again: %d request(s)", len(h2.notes.requests))
	}
	for _, key := range []string{"inc-1/before/chatbot", "inc-1/after/chatbot"} {
		if _, ok := h2.records.Get(key); ok {
			t.Errorf("%s still recorded after rollback", key)
		}
	}
	if n := countEvents(h2.timeline(), contract.EventApprovalRequested); n != 1 {
		t.Errorf("approval_requested %d times in the carried timeline", n)
	}
}

// An escalation after a failed step (on_error: escalate) survives
// continue-as-new: the failed step is not run again, and approving the
// escalation goes on with the rest of the runbook.
func TestEscalationWaitContinuesAsNew(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: escalating, severity: high}
approvals:
  approvers: {cli_users: [alice]}
  timeout: 30m
steps:
  - {id: broken, action: core.fail, with: {message: boom}, on_error: escalate, retry: {max_attempts: 1}}
  - {id: after, action: core.record, with: {key: after, value: 1}}
`)
	h.at(time.Minute, h.growHistory)
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	next := h.continuedInput()

	h2 := h.nextHarness()
	var approve, resolve updateResult
	h2.at(time.Minute, func() {
		st := h2.status()
		if st.PendingApproval == nil || st.PendingApproval.Step != "broken-escalation" {
			t.Fatalf("resumed without the escalation pending: %+v", st.PendingApproval)
		}
		h2.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
	})
	h2.at(2*time.Minute, func() {
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	st := h2.result()
	if stepState(st, "broken") != contract.StepFailed || stepState(st, "after") != contract.StepSucceeded {
		t.Fatalf("steps after resume: broken %s, after %s", stepState(st, "broken"), stepState(st, "after"))
	}
	if st.Steps[0].Attempts != 1 {
		t.Errorf("failed step ran again after continue-as-new: %d attempts", st.Steps[0].Attempts)
	}
}

// A wait step continues as new and, in the next run, waits only what is left.
func TestWaitStepContinuesAsNewAndWaitsTheRest(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: waiting, severity: low}
steps:
  - {id: settle, wait: {duration: 1h}}
  - {id: after, action: core.log, with: {message: done}}
`)
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	h.env.SetStartTime(start)
	h.at(10*time.Minute, h.growHistory)
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	next := h.continuedInput()

	// The next run starts where the first one stopped, 10 minutes in.
	h2 := h.nextHarness()
	h2.env.SetStartTime(start.Add(10 * time.Minute))
	var resolve updateResult
	h2.at(2*time.Hour, func() {
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	st := h2.result()
	s := st.Steps[0]
	if s.State != contract.StepSucceeded || s.Started == nil || s.Finished == nil {
		t.Fatalf("wait step: %+v", s)
	}
	if got := s.Finished.Sub(*s.Started); got != time.Hour {
		t.Errorf("wait step took %s across two runs, want 1h (a fresh hour in the next run would be 1h10m)", got)
	}
	if stepState(st, "after") != contract.StepSucceeded {
		t.Errorf("step after the wait: %s", stepState(st, "after"))
	}
}

// flakyAction is a test action whose attempts are scripted.
type flakyAction struct {
	mu         sync.Mutex
	attempts   []contract.ActionInput
	failures   []error
	checkpoint string
}

func (f *flakyAction) run(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, in)
	if n := len(f.attempts); n <= len(f.failures) {
		return contract.ActionResult{}, f.failures[n-1]
	}
	prior := f.checkpoint
	if len(in.Checkpoint) > 0 {
		prior = string(in.Checkpoint)
	}
	return contract.ActionResult{Changed: true, Summary: "contained; prior " + prior,
		Undo: &contract.UndoRecord{Action: "core.log", Args: map[string]any{"message": "restore " + prior}}}, nil
}

func (h *harness) registerFlaky(f *flakyAction) {
	h.reg = activities.NewRegistry()
	h.reg.Register((&activities.Core{Records: h.records}).Actions()...)
	h.reg.Register(activities.Action{Spec: runbooks.ActionSpec{Name: "test.flaky", Mutating: true, Description: "scripted"}, Run: f.run})
	h.reg.RegisterActivities(h.env)
}

const flakyRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: flaky, severity: high}
watch: 0 # the tests count attempts; drift checks would add dry runs
steps:
  - {id: contain, action: test.flaky, retry: {max_attempts: 1}}
`

// A worker that dies mid-attempt (its heartbeats stop) is not the action
// failing: the attempt is retried even with max_attempts 1, and the next
// attempt gets the checkpoint the lost one recorded, so its undo restores
// the state from before the incident, not the lost attempt's own change.
func TestLostWorkerRetriesWithCheckpoint(t *testing.T) {
	h := newHarness(t)
	cp := contract.AttemptCheckpoint{Checkpoint: []byte(`{"concurrency":50}`)}
	f := &flakyAction{checkpoint: `{"concurrency":1}`, failures: []error{
		temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil, cp),
	}}
	h.registerFlaky(f)
	rb := h.runbook(flakyRunbook)
	var resolve updateResult
	h.at(time.Hour, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if stepState(st, "contain") != contract.StepSucceeded {
		t.Fatalf("step after a lost worker: %s (%s)", stepState(st, "contain"), st.Steps[0].Error)
	}
	if len(f.attempts) != 2 || string(f.attempts[1].Checkpoint) != `{"concurrency":50}` {
		t.Fatalf("attempts %d; second got checkpoint %q", len(f.attempts), f.attempts[len(f.attempts)-1].Checkpoint)
	}
	if len(st.Undo) != 1 || !strings.Contains(st.Undo[0].Undo.Args["message"].(string), `"concurrency":50`) {
		t.Errorf("undo does not restore the pre-incident state: %+v", st.Undo)
	}
	if !hasEvent(h.timeline(), contract.EventNote, "contain", "worker lost") {
		t.Error("the lost worker is not in the timeline")
	}
}

// A failed attempt that wrote before failing hands its checkpoint on in its
// error's details.
func TestFailedAttemptHandsCheckpointToNextAttempt(t *testing.T) {
	h := newHarness(t)
	cp := contract.AttemptCheckpoint{Checkpoint: []byte(`{"state":"Active"}`)}
	f := &flakyAction{checkpoint: `{"state":"Inactive"}`, failures: []error{
		temporal.NewApplicationError("verify: throttled", "Throttling", cp),
	}}
	h.registerFlaky(f)
	rb := h.runbook(strings.Replace(flakyRunbook, "max_attempts: 1", "max_attempts: 2, initial_interval: 1s", 1))
	var resolve updateResult
	h.at(time.Hour, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if len(f.attempts) != 2 || string(f.attempts[1].Checkpoint) != `{"state":"Active"}` {
		t.Fatalf("attempts %d; second got checkpoint %q", len(f.attempts), f.attempts[len(f.attempts)-1].Checkpoint)
	}
	if st.Steps[0].Attempts != 2 {
		t.Errorf("attempts shown: %d", st.Steps[0].Attempts)
	}
}

// An alert storm of oversized payloads is bounded before it is kept.
func TestFoldedAlertsAreBoundedAndCounted(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(`apiVersion: quench/v1
kind: Runbook
metadata: {name: storm, severity: low}
steps:
  - {id: one, action: core.log, with: {message: hi}}
`)
	big := strings.Repeat("x", 1<<20)
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing", Count: 250,
			Labels: map[string]string{"a": big, "b": big, "c": "small"}})
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing"})
	})
	var resolve updateResult
	h.at(time.Hour, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "a", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if st.Alerts.Count != 251 {
		t.Errorf("fold count %d, want 251", st.Alerts.Count)
	}
	size := 0
	for k, v := range st.Alerts.Labels {
		size += len(k) + len(v)
	}
	if size > contract.MaxAlertBytes || !strings.HasSuffix(st.Alerts.Labels["a"], contract.TruncatedMarker) {
		t.Errorf("labels kept: %d bytes, a ends %q", size, st.Alerts.Labels["a"][max(0, len(st.Alerts.Labels["a"])-20):])
	}
}

func countEvents(ev []contract.Event, typ string) int {
	n := 0
	for _, e := range ev {
		if e.Type == typ {
			n++
		}
	}
	return n
}
