package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// rollback runs the undo stack newest first. A failed undo is recorded and
// the rest still run: leaving every other change in place because one
// resource is gone would be worse. A step that holds a lease on its target
// releases it instead, and runs what the release hands back (see
// leases.go). It returns how many undos failed.
func (s *incident) rollback(ctx workflow.Context) (failed int) {
	// Leased steps that recorded no undo of their own (they found the
	// target contained) still release, in step order with the others.
	for k := len(s.Steps) - 1; k >= 0; k-- {
		id := s.Steps[k].ID
		if l := s.leaseOf(id); l != nil && s.undoOf(id) == nil {
			if s.rollbackLease(ctx, l, nil) {
				failed++
			}
		}
		for i := len(s.Undo) - 1; i >= 0; i-- {
			if s.Undo[i].Step == id && s.undoOne(ctx, &s.Undo[i]) {
				failed++
			}
		}
	}
	// Undo records of steps the runbook does not name (none in practice).
	for i := len(s.Undo) - 1; i >= 0; i-- {
		if s.stepIndex(s.Undo[i].Step) < 0 && s.undoOne(ctx, &s.Undo[i]) {
			failed++
		}
	}
	return failed
}

// undoOf returns step's undo entry not yet done, or nil.
func (s *incident) undoOf(step string) *contract.UndoEntry {
	for i := range s.Undo {
		if s.Undo[i].Step == step && !s.Undo[i].Done {
			return &s.Undo[i]
		}
	}
	return nil
}

// stepOf returns the runbook step with id (zero when there is none).
func (s *incident) stepOf(id string) runbooks.Step {
	if idx := s.stepIndex(id); idx >= 0 {
		return s.rb.Steps[idx]
	}
	return runbooks.Step{}
}

// undoOne runs one undo record unless it is done, and reports a failure.
func (s *incident) undoOne(ctx workflow.Context, u *contract.UndoEntry) (failed bool) {
	if u.Done {
		return false
	}
	if l := s.leaseOf(u.Step); l != nil {
		return s.rollbackLease(ctx, l, u)
	}
	in := contract.ActionInput{Incident: s.ref(), Step: u.Step, Args: u.Undo.Args}
	// Undo steps get the same retry plan as the step they reverse.
	res, err := s.execute(ctx, u.Undo.Action, s.stepOf(u.Step), in, nil)
	if err != nil {
		s.event(ctx, contract.EventRollbackFailed, u.Step, "", fmt.Sprintf("%s failed: %s", u.Undo.Action, errorMessage(err)))
		return true
	}
	u.Done = true
	if idx := s.stepIndex(u.Step); idx >= 0 {
		s.Steps[idx].State = contract.StepRolledBack
	}
	detail := res.Summary
	if detail == "" {
		detail = u.Undo.Action + " done"
	}
	s.event(ctx, contract.EventRollbackStep, u.Step, "", detail)
	for _, w := range res.Warnings {
		s.event(ctx, contract.EventNote, u.Step, "", "warning: "+w)
	}
	return false
}
