package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

const leasedRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: leased, severity: high}
steps:
  - {id: limit, action: test.limit}
  - {id: note, action: core.record, with: {key: k, value: 1}}
`

// leaseWorld stands in for the worker's side of leases: test.limit
// reports a leased target, the release activity answers as told.
type leaseWorld struct {
	mu       sync.Mutex
	ran      []string // undo actions run, with their prior
	releases []contract.TargetRelease
}

func newLeaseHarness(t *testing.T, changed bool, answer contract.TargetReleased) (*harness, *leaseWorld) {
	h := newHarness(t)
	lw := &leaseWorld{}
	limit := func(context.Context, contract.ActionInput) (contract.ActionResult, error) {
		res := contract.ActionResult{Changed: changed, Summary: "limited", Target: leaseKey}
		if changed {
			res.Undo = setTo(50)
		}
		return res, nil
	}
	restore := func(_ context.Context, in contract.ActionInput) (contract.ActionResult, error) {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		lw.ran = append(lw.ran, fmt.Sprint("restore to ", in.Args["prior"]))
		return contract.ActionResult{Changed: true, Summary: "restored"}, nil
	}
	h.reg.Register(
		action.Action{Spec: runbooks.ActionSpec{Name: "test.limit", Mutating: true}, Run: limit},
		action.Action{Spec: runbooks.ActionSpec{Name: "lambda.restore_concurrency", Mutating: true, UndoOnly: true}, Run: restore})
	h.env.RegisterActivityWithOptions(limit, activity.RegisterOptions{Name: "test.limit"})
	h.env.RegisterActivityWithOptions(restore, activity.RegisterOptions{Name: "lambda.restore_concurrency"})
	h.env.RegisterActivityWithOptions(func(_ context.Context, req contract.TargetRelease) (contract.TargetReleased, error) {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		lw.releases = append(lw.releases, req)
		return answer, nil
	}, activity.RegisterOptions{Name: contract.ActivityTargetRelease})
	return h, lw
}

// The Incident workflow releases its lease at resolve or cancel and runs
// only what the release hands back.
func TestIncidentReleasesItsLeaseAndRunsOnlyWhatTheReleaseHandsBack(t *testing.T) {
	others := []string{"usage-spike-3f2a"}
	cases := []struct {
		name    string
		changed bool
		answer  contract.TargetReleased
		mode    string // rollback, keep or cancel
		ran     []string
		event   string // an event the timeline must have
		detail  string
		final   string
	}{
		{name: "another holder: the step's own undo is deferred", changed: true, mode: "rollback",
			answer: contract.TargetReleased{StillHeldBy: others, Original: setTo(50)},
			event:  contract.EventRollbackDeferred, final: contract.StateRolledBack,
			detail: "reserved-concurrency of lambda function/chat-backend stays as contained: still held by incident usage-spike-3f2a; restored (lambda.restore_concurrency function_name=chat-backend prior=50) when that one resolves"},
		{name: "last holder: the original is restored", changed: true, mode: "rollback",
			answer: contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)},
			ran:    []string{"restore to 50"}, event: contract.EventRollbackStep, detail: "restored", final: contract.StateRolledBack},
		{name: "last holder that changed nothing still restores the first holder's prior", changed: false, mode: "rollback",
			answer: contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)},
			ran:    []string{"restore to 50"}, event: contract.EventRollbackStep, detail: "restored", final: contract.StateRolledBack},
		{name: "a later tighter holder leaving goes back to the earlier holder's value", changed: true, mode: "rollback",
			answer: contract.TargetReleased{StillHeldBy: others, Restore: setTo(1), Original: setTo(50)},
			ran:    []string{"restore to 1"}, event: contract.EventRollbackStep, detail: "back to the containment of incident usage-spike-3f2a", final: contract.StateRolledBack},
		{name: "a lease the target no longer knows falls back to the step's own undo", changed: true, mode: "rollback",
			answer: contract.TargetReleased{NotHeld: true},
			ran:    []string{"restore to 50"}, event: contract.EventRollbackStep, detail: "restored", final: contract.StateRolledBack},
		{name: "keep releases without restoring", changed: true, mode: "keep",
			answer: contract.TargetReleased{StillHeldBy: others, Original: setTo(50)},
			event:  contract.EventNote, detail: "still held by incident usage-spike-3f2a, whose rollback decides", final: contract.StateClosed},
		{name: "cancel releases without restoring", changed: true, mode: "cancel",
			answer: contract.TargetReleased{Last: true, Original: setTo(50)},
			event:  contract.EventCancelled, detail: "left in place", final: contract.StateCancelled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, lw := newLeaseHarness(t, tc.changed, tc.answer)
			rb := h.runbook(leasedRunbook)
			var res updateResult
			h.at(time.Minute, func() {
				st := h.status()
				if len(st.Leases) != 1 || st.Leases[0].Step != "limit" || st.Leases[0].Target != leaseKey || st.Leases[0].Released {
					t.Errorf("status leases while contained = %+v, want step limit holding %s", st.Leases, leaseKey)
				}
				if tc.mode == "cancel" {
					h.update(contract.UpdateCancel, contract.CancelRequest{Actor: "carol"}, &res)
				} else {
					h.update(contract.UpdateResolve, contract.ResolveRequest{Actor: "carol", Mode: tc.mode}, &res)
				}
			})
			h.env.ExecuteWorkflow(contract.IncidentWorkflow, input(rb, nil))
			st := h.result()
			if res.rejected != nil || res.err != nil {
				t.Fatalf("%s: %v %v", tc.mode, res.rejected, res.err)
			}
			if st.State != tc.final {
				t.Errorf("final state %s, want %s (error %q)", st.State, tc.final, st.Error)
			}
			if strings.Join(lw.ran, ",") != strings.Join(tc.ran, ",") {
				t.Errorf("undo actions run = %v, want %v", lw.ran, tc.ran)
			}
			keep := tc.mode != "rollback"
			if len(lw.releases) != 1 || lw.releases[0].Key != leaseKey || lw.releases[0].Incident != "inc-1" || lw.releases[0].Keep != keep {
				t.Errorf("releases = %+v, want one of %s for inc-1 with keep=%v", lw.releases, leaseKey, keep)
			}
			if len(st.Leases) != 1 || !st.Leases[0].Released {
				t.Errorf("final leases = %+v, want the lease released", st.Leases)
			}
			if !hasEvent(h.timeline(), tc.event, "", tc.detail) {
				t.Errorf("timeline has no %s event with %q: %+v", tc.event, tc.detail, h.timeline())
			}
		})
	}
}
