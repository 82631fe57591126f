package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

const escalateOnTimeout = `apiVersion: quench/v1
kind: Runbook
metadata: {name: escalate-on-timeout, severity: high}
approvals:
  approvers: {cli_users: [alice]}
  timeout: 30m
  on_timeout: escalate
  escalate: {to: {cli_users: [dave]}}
steps:
  - id: gate
    approval: {message: 'Go on?'}
  - {id: after, action: core.record, with: {key: after, value: 1}}
`

// on_timeout: escalate with no earlier escalation: at the timeout the
// escalation list is asked and gets one more timeout; the clock still
// never approves.
func TestOnTimeoutEscalateGivesEscalationListAnotherTimeout(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(escalateOnTimeout)
	var early, dave, resolve updateResult
	h.at(20*time.Minute, func() {
		h.update(contract.UpdateApprove, contract.Decision{Actor: "dave", Via: "cli"}, &early)
	})
	h.at(45*time.Minute, func() {
		st := h.status()
		if st.PendingApproval == nil || !st.PendingApproval.Escalated {
			t.Errorf("not escalated at the timeout: %+v", st.PendingApproval)
		}
		h.update(contract.UpdateApprove, contract.Decision{Actor: "dave", Via: "cli"}, &dave)
	})
	h.at(time.Hour, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if early.rejected == nil {
		t.Error("dave approved before the escalation reached him")
	}
	if dave.rejected != nil || stepState(st, "gate") != contract.StepApproved || stepState(st, "after") != contract.StepSucceeded {
		t.Fatalf("dave's approval after escalation: rejected %v, gate %s", dave.rejected, stepState(st, "gate"))
	}
	if !hasEvent(h.timeline(), contract.EventApprovalEscalated, "gate", "timed out without a decision") {
		t.Error("escalation at the timeout not in the timeline")
	}
	if len(h.notes.requests) != 2 || !h.notes.requests[1].Escalation {
		t.Errorf("requests posted: %d", len(h.notes.requests))
	}
}

// Nobody answers the escalation either: denied after the second timeout.
func TestOnTimeoutEscalateThenDenies(t *testing.T) {
	h := newHarness(t)
	rb := h.runbook(escalateOnTimeout)
	var resolve updateResult
	h.at(2*time.Hour, func() {
		h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "alice", Mode: "keep"}, &resolve)
	})
	h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
	st := h.result()
	if stepState(st, "gate") != contract.StepDenied {
		t.Fatalf("gate = %s", stepState(st, "gate"))
	}
	for _, e := range h.timeline() {
		if e.Type == contract.EventApprovalDenied && !strings.Contains(e.Detail, "timed out") {
			t.Errorf("denial: %s", e.Detail)
		}
	}
}
