package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/workflows/contract"
)

// driftRunbook holds one change (k1 = a) under the given watch setting.
func driftRunbook(watch string) string {
	return `apiVersion: quench/v1
kind: Runbook
metadata: {name: drift-test, severity: high}
approvals:
  approvers: {cli_users: [alice]}
` + watch + `
steps:
  - {id: one, action: core.record, with: {key: k1, value: a}}
`
}

// trail is a fake cloudtrail.lookup_events: the writes someone made
// behind quench's back, newest first, as the catalogue action reports them.
type trail struct {
	mu      sync.Mutex
	events  []map[string]any
	lookups []map[string]any
}

func (tr *trail) add(at time.Time, name, user string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append([]map[string]any{{"time": at.UTC().Format(time.RFC3339), "name": name, "username": user, "source_ip": "203.0.113.9"}}, tr.events...)
}

func (tr *trail) lookup(_ context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.lookups = append(tr.lookups, in.Args)
	recent := []any{}
	for _, e := range tr.events {
		recent = append(recent, e)
	}
	return contract.ActionResult{Summary: fmt.Sprintf("%d events", len(recent)), Output: map[string]any{"recent": recent}}, nil
}

func (h *harness) withTrail() *trail {
	tr := &trail{}
	h.env.RegisterActivityWithOptions(tr.lookup, activity.RegisterOptions{Name: "cloudtrail.lookup_events"})
	return tr
}

// tamper changes the held record behind quench's back.
func (h *harness) tamper(value any) {
	h.t.Helper()
	if err := h.records.Put("inc-1/k1", value); err != nil {
		h.t.Fatal(err)
	}
}

func driftEvents(ev []contract.Event) []contract.Event {
	var out []contract.Event
	for _, e := range ev {
		if e.Type == contract.EventDriftDetected {
			out = append(out, e)
		}
	}
	return out
}

// Under reapply, drift is found within one watch period, reported with
// expected and found state and who changed it, posted in the thread and
// put back; the undo record is untouched, so rollback restores the state
// before the incident (k1 absent), not the drifted one.
func TestDriftIsReappliedWithinOnePeriod(t *testing.T) {
	h := newHarness(t)
	tr := h.withTrail()
	rb := h.runbook(driftRunbook("watch: {interval: 5m, on_drift: reapply}"))
	var resolve updateResult
	h.at(time.Minute, func() {
		h.tamper("tampered")
		tr.add(h.env.Now(), "PutRecord", "mallory")
	})
	h.at(4*time.Minute+50*time.Second, func() {
		if n := len(driftEvents(h.timeline())); n != 0 {
			t.Errorf("drift reported before the watch period ended: %d", n)
		}
	})
	h.at(5*time.Minute+30*time.Second, func() {
		ev := h.timeline()
		drifts := driftEvents(ev)
		if len(drifts) != 1 {
			t.Fatalf("drift_detected events after one period: %d (%+v)", len(drifts), ev)
		}
		d := drifts[0]
		if d.Step != "one" || d.Drift == nil || d.Drift.Found["value"] != "tampered" || d.Drift.Expected["value"] != "a" || d.Drift.Policy != "reapply" {
			t.Errorf("drift event: %+v %+v", d, d.Drift)
		}
		if !strings.Contains(d.Detail, "expected value=a, found value=tampered") || !strings.Contains(d.Drift.ChangedBy, "mallory (PutRecord at") {
			t.Errorf("drift detail %q, changed by %q", d.Detail, d.Drift.ChangedBy)
		}
		if !hasEvent(ev, contract.EventDriftReapplied, "one", "recorded inc-1/k1 = a") {
			t.Errorf("no drift_reapplied event: %+v", ev)
		}
		if v, _ := h.records.Get("inc-1/k1"); v != "a" {
			t.Errorf("after re-apply k1 = %v, want a", v)
		}
		st := h.status()
		if len(st.Undo) != 1 || st.Undo[0].Undo.Args["existed"] != false {
			t.Errorf("re-apply changed the undo stack: %+v", st.Undo)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if st.State != contract.StateRolledBack {
		t.Fatalf("final state %s", st.State)
	}
	if v, ok := h.records.Get("inc-1/k1"); ok {
		t.Errorf("rollback left k1 = %v; before the incident it did not exist", v)
	}
	posted := strings.Join(h.notes.updates, "\n")
	if !strings.Contains(posted, "Containment drift: ") || !strings.Contains(posted, "Containment re-applied") {
		t.Errorf("thread updates: %q", h.notes.updates)
	}
	if len(tr.lookups) != 1 || tr.lookups[0]["resource_name"] != "k1" {
		t.Errorf("CloudTrail lookups: %+v", tr.lookups)
	}
}

// Under ask, drift requests an approval; approving re-applies, and the
// final rollback still restores the state before the incident.
func TestDriftAskRequestsApprovalThatReapplies(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(driftRunbook("watch: {interval: 5m, on_drift: ask}"))
	var approve, resolve updateResult
	h.at(time.Minute, func() { h.tamper("tampered") })
	h.at(6*time.Minute, func() {
		st := h.status()
		p := st.PendingApproval
		if st.State != contract.StateContained || p == nil || p.Step != "one-drift" || !strings.Contains(p.Message, "Approve to re-apply step one") {
			t.Fatalf("after drift: state %s pending %+v", st.State, p)
		}
		if v, _ := h.records.Get("inc-1/k1"); v != "tampered" {
			t.Errorf("re-applied before approval: k1 = %v", v)
		}
		if len(h.notes.requests) != 1 || h.notes.requests[0].Step != "one-drift" {
			t.Errorf("approval requests: %+v", h.notes.requests)
		}
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
	})
	h.at(7*time.Minute, func() {
		if v, _ := h.records.Get("inc-1/k1"); v != "a" {
			t.Errorf("after approval k1 = %v, want a", v)
		}
		if !hasEvent(h.timeline(), contract.EventDriftReapplied, "one", "") {
			t.Error("no drift_reapplied event after approval")
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if approve.err != nil || approve.rejected != nil {
		t.Fatalf("approve: %v %v", approve.rejected, approve.err)
	}
	if st.State != contract.StateRolledBack {
		t.Fatalf("final state %s", st.State)
	}
	if v, ok := h.records.Get("inc-1/k1"); ok {
		t.Errorf("rollback left k1 = %v", v)
	}
	for _, e := range st.Steps {
		if e.ID == "one" && e.State != contract.StepRolledBack {
			t.Errorf("step one %s", e.State)
		}
	}
}

// Under record (the default outside iam.*), drift is reported once while
// it stays as found, nothing is re-applied, and rollback restores the
// state before the incident.
func TestDriftRecordReportsOnceAndRollbackRestores(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(driftRunbook(""))
	var resolve updateResult
	h.at(time.Minute, func() { h.tamper("tampered") })
	h.at(16*time.Minute, func() {
		ev := h.timeline()
		if n := len(driftEvents(ev)); n != 1 {
			t.Errorf("drift_detected %d times over three periods, want once", n)
		}
		if d := driftEvents(ev); len(d) == 1 && d[0].Drift.Policy != "record" {
			t.Errorf("default policy %q, want record", d[0].Drift.Policy)
		}
		if v, _ := h.records.Get("inc-1/k1"); v != "tampered" {
			t.Errorf("record policy changed k1 to %v", v)
		}
		if hasEvent(ev, contract.EventDriftReapplied, "", "") || h.status().PendingApproval != nil {
			t.Error("record policy re-applied or asked")
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	if st := h.result(); st.State != contract.StateRolledBack {
		t.Fatalf("final state %s", st.State)
	}
	if v, ok := h.records.Get("inc-1/k1"); ok {
		t.Errorf("rollback left k1 = %v", v)
	}
}

// watch: 0 turns the watch off: no check runs, so drift goes unseen.
func TestDriftWatchOff(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(driftRunbook("watch: 0"))
	var resolve updateResult
	h.at(time.Minute, func() { h.tamper("tampered") })
	h.at(30*time.Minute, func() {
		if n := len(driftEvents(h.timeline())); n != 0 {
			t.Errorf("watch off but drift reported %d times", n)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	if st := h.result(); st.State != contract.StateClosed {
		t.Fatalf("final state %s", st.State)
	}
	if v, _ := h.records.Get("inc-1/k1"); v != "tampered" {
		t.Errorf("k1 = %v", v)
	}
}

// The watch also runs while the runbook waits for an approval after its
// automatic steps.
func TestDriftWatchedWhileAwaitingApproval(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(strings.Replace(approvalYAML("1"), "on_resolve: rollback", "on_resolve: rollback\nwatch: {interval: 2m, on_drift: reapply}", 1))
	var cancel updateResult
	h.at(time.Minute, func() {
		if err := h.records.Put("inc-1/before/chatbot", 99); err != nil {
			t.Fatal(err)
		}
	})
	h.at(3*time.Minute, func() {
		st := h.status()
		if st.State != contract.StateAwaitingApproval {
			t.Errorf("state %s, want awaiting_approval", st.State)
		}
		if !hasEvent(h.timeline(), contract.EventDriftDetected, "record-before", "found value=99") {
			t.Errorf("no drift found while awaiting approval: %+v", h.timeline())
		}
		if v, _ := h.records.Get("inc-1/before/chatbot"); fmt.Sprint(v) != "1" {
			t.Errorf("not re-applied: %v", v)
		}
		h.update(contract.UpdateCancel, contract.CancelRequest{Actor: "alice"}, &cancel)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	if st := h.result(); st.State != contract.StateCancelled {
		t.Fatalf("final state %s", st.State)
	}
}

// The watch period survives continue-as-new: the next run checks when the
// period that began in the previous run ends, with the carried arguments.
func TestDriftWatchSurvivesContinueAsNew(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(driftRunbook("watch: {interval: 5m, on_drift: reapply}"))
	start := h.env.Now()
	var at time.Time
	h.at(3*time.Minute, func() {
		at = h.env.Now()
		h.growHistory()
	})
	h.at(3*time.Minute+time.Second, func() {
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing"})
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	next := h.continuedInput()
	var carried struct {
		Watch struct {
			Next time.Time                 `json:"next"`
			Args map[string]map[string]any `json:"args"`
		} `json:"watch"`
	}
	if err := json.Unmarshal(next.Carry, &carried); err != nil {
		t.Fatal(err)
	}
	if carried.Watch.Args["one"]["key"] != "k1" || carried.Watch.Next.IsZero() || carried.Watch.Next.After(start.Add(5*time.Minute+time.Second)) {
		t.Fatalf("carried watch state: %+v (started %s)", carried.Watch, start)
	}

	h2 := h.nextHarness()
	h2.env.SetStartTime(at)
	var resolve updateResult
	h2.at(30*time.Second, func() { h2.tamper("tampered") })
	// The first run's period ends about 2 minutes into this one.
	h2.at(2*time.Minute+30*time.Second, func() {
		if !hasEvent(h2.timeline(), contract.EventDriftReapplied, "one", "") {
			t.Errorf("the next run did not check when the carried period ended: %+v", h2.timeline())
		}
		if v, _ := h2.records.Get("inc-1/k1"); v != "a" {
			t.Errorf("k1 = %v after re-apply in the next run", v)
		}
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	if st := h2.result(); st.State != contract.StateRolledBack {
		t.Fatalf("final state %s", st.State)
	}
	if v, ok := h2.records.Get("inc-1/k1"); ok {
		t.Errorf("rollback left k1 = %v", v)
	}
}

// An ask while the runbook's own approval is pending waits for it (there
// is one pending approval at a time) and is asked at the first check once
// contained; resolving while it is pending denies it, re-applies nothing
// and rolls back to the state before the incident.
func TestDriftAskWaitsForPendingApprovalAndResolveEndsIt(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(strings.Replace(approvalYAML("1"), "on_resolve: rollback", "on_resolve: rollback\nwatch: {interval: 2m, on_drift: ask}", 1))
	var approve, resolve updateResult
	h.at(time.Minute, func() {
		if err := h.records.Put("inc-1/before/chatbot", 99); err != nil {
			t.Fatal(err)
		}
	})
	h.at(150*time.Second, func() {
		ev := h.timeline()
		if !hasEvent(ev, contract.EventDriftDetected, "record-before", "found value=99") || !hasEvent(ev, contract.EventNote, "record-before", "once the pending approval is decided") {
			t.Errorf("drift while the gate is pending: %+v", ev)
		}
		if p := h.status().PendingApproval; p == nil || p.Step != "gate" {
			t.Errorf("the drift ask displaced the pending gate: %+v", p)
		}
		h.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
	})
	h.at(6*time.Minute, func() {
		st := h.status()
		if st.State != contract.StateContained || st.PendingApproval == nil || st.PendingApproval.Step != "record-before-drift" {
			t.Fatalf("deferred ask: state %s pending %+v", st.State, st.PendingApproval)
		}
		if n := len(driftEvents(h.timeline())); n != 1 {
			t.Errorf("drift_detected %d times, want once", n)
		}
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, map[string]any{"target": "chatbot"}))
	st := h.result()
	if resolve.err != nil || st.State != contract.StateRolledBack {
		t.Fatalf("final state %s (%v)", st.State, resolve.err)
	}
	if hasEvent(h.timeline(), contract.EventDriftReapplied, "", "") {
		t.Error("re-applied without an approval")
	}
	if n := len(h.records.Keys()); n != 0 {
		t.Errorf("rollback left records: %v", h.records.Snapshot())
	}
}

// A drift approval pending when the run continues as new is waited on by
// the next run without asking again; approving it there re-applies.
func TestDriftAskSurvivesContinueAsNew(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(driftRunbook("watch: {interval: 5m, on_drift: ask}"))
	var at time.Time
	h.at(time.Minute, func() { h.tamper("tampered") })
	h.at(6*time.Minute, func() {
		if p := h.status().PendingApproval; p == nil || p.Step != "one-drift" {
			t.Fatalf("no drift ask before continue-as-new: %+v", p)
		}
		at = h.env.Now()
		h.growHistory()
	})
	h.at(6*time.Minute+time.Second, func() {
		h.env.SignalWorkflow(contract.SignalAlert, contract.AlertSignal{Source: "generic", Name: "Spike", Status: "firing"})
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	next := h.continuedInput()

	h2 := h.nextHarness()
	h2.env.SetStartTime(at)
	var approve, resolve updateResult
	h2.at(30*time.Second, func() {
		if p := h2.status().PendingApproval; p == nil || p.Step != "one-drift" {
			t.Fatalf("the next run lost the drift ask: %+v", p)
		}
		h2.update(contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}, &approve)
	})
	h2.at(time.Minute, func() {
		if v, _ := h2.records.Get("inc-1/k1"); v != "a" {
			t.Errorf("approved in the next run, k1 = %v, want a", v)
		}
		h2.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "rollback"}, &resolve)
	})
	h2.env.ExecuteWorkflow(contract.IncidentWorkflow, next)
	if st := h2.result(); st.State != contract.StateRolledBack || approve.err != nil || approve.rejected != nil {
		t.Fatalf("final state %s; approve %v %v", st.State, approve.rejected, approve.err)
	}
	if len(h2.notes.requests) != 0 {
		t.Errorf("the next run asked again: %+v", h2.notes.requests)
	}
	if n := countEvents(h2.timeline(), contract.EventDriftDetected); n != 1 {
		t.Errorf("drift_detected %d times across runs, want once", n)
	}
	if v, ok := h2.records.Get("inc-1/k1"); ok {
		t.Errorf("rollback left k1 = %v", v)
	}
}
