package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// rollback runs the undo stack newest first. A failed undo is recorded and
// the rest still run: leaving every other change in place because one
// resource is gone would be worse. It returns how many undos failed.
func (s *incident) rollback(ctx workflow.Context) (failed int) {
	for i := len(s.Undo) - 1; i >= 0; i-- {
		u := &s.Undo[i]
		if u.Done {
			continue
		}
		in := contract.ActionInput{Incident: s.ref(), Step: u.Step, Args: u.Undo.Args}
		// Undo steps get the same retry plan as the step they reverse.
		var step runbooks.Step
		if idx := s.stepIndex(u.Step); idx >= 0 {
			step = s.rb.Steps[idx]
		}
		res, err := s.execute(ctx, u.Undo.Action, step, in, nil)
		if err != nil {
			failed++
			s.event(ctx, contract.EventRollbackFailed, u.Step, "", fmt.Sprintf("%s failed: %s", u.Undo.Action, errorMessage(err)))
			continue
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
	}
	return failed
}
