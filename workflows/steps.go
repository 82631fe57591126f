package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Defaults for action steps that do not say otherwise.
const (
	defaultStepTimeout     = 5 * time.Minute
	defaultMaxAttempts     = 3
	defaultInitialInterval = time.Second
	defaultBackoff         = 2.0
	defaultMaxInterval     = 30 * time.Second
)

// vars is what expressions see.
func (s *incident) vars() runbooks.Vars {
	steps := make(map[string]any, len(s.Outputs))
	for id, v := range s.Outputs {
		out := v.Output
		if out == nil {
			out = map[string]any{}
		}
		steps[id] = map[string]any{"output": out, "approved": v.Approved, "changed": v.Changed, "state": v.State}
	}
	labels := map[string]any{}
	for k, v := range s.in.Labels {
		labels[k] = v
	}
	for k, v := range s.Alerts.Labels {
		labels[k] = v
	}
	params := s.in.Params
	if params == nil {
		params = map[string]any{}
	}
	return runbooks.Vars{
		Params: params,
		Incident: map[string]any{
			"id": s.ID, "severity": s.Severity, "source": s.in.Source, "requester": s.in.Requester,
			"runbook": s.rb.Metadata.Name, "labels": labels, "dry_run": s.in.DryRun,
			"alerts": map[string]any{"count": s.Alerts.Count, "resolved": s.Alerts.Resolved},
		},
		Steps: steps,
	}
}

// runStep runs step i and reports whether the runbook must stop.
func (s *incident) runStep(ctx workflow.Context, i int) (stop bool) {
	step := s.rb.Steps[i]
	st := &s.Steps[i]
	if step.When != "" {
		ok, err := runbooks.EvalBool(step.When, s.vars())
		if err != nil {
			return s.stepFailed(ctx, i, fmt.Errorf("when: %w", err))
		}
		if !ok {
			st.State = contract.StepSkipped
			st.Summary = "skipped: when is false"
			s.Outputs[step.ID] = stepVars{State: contract.StepSkipped}
			s.event(ctx, contract.EventStepSkipped, step.ID, "", fmt.Sprintf("when %q is false", step.When))
			return false
		}
	}
	st.State = contract.StepRunning
	st.Started = timePtr(workflow.Now(ctx))
	s.event(ctx, contract.EventStepStarted, step.ID, "", step.Kind()+describeStep(step))
	switch step.Kind() {
	case "action":
		return s.runAction(ctx, i)
	case "approval":
		return s.runApproval(ctx, i)
	case "notify":
		msg, err := renderString(step.Notify.Message, s.vars())
		if err != nil {
			return s.stepFailed(ctx, i, err)
		}
		s.postUpdate(ctx, msg)
		return s.stepSucceeded(ctx, i, contract.ActionResult{Summary: "posted: " + msg})
	case "wait":
		return s.waitStep(ctx, i)
	}
	return s.stepFailed(ctx, i, fmt.Errorf("step %s has no action, approval, notify or wait", step.ID))
}

func describeStep(step runbooks.Step) string {
	if step.Action != "" {
		return " " + step.Action
	}
	return ""
}

func renderString(tmpl string, v runbooks.Vars) (string, error) {
	out, err := runbooks.Render(tmpl, v)
	if err != nil {
		return "", err
	}
	if s, ok := out.(string); ok {
		return s, nil
	}
	return fmt.Sprint(out), nil
}

// renderArgs evaluates the ${{ }} expressions in a step's arguments.
func (s *incident) renderArgs(step runbooks.Step) (map[string]any, error) {
	out, err := runbooks.Render(map[string]any(step.With), s.vars())
	if err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	args, _ := out.(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	return args, nil
}

// actionOptions are the activity options of one attempt; retries are the
// workflow's, so attempts show in status and every failure in the timeline.
func actionOptions(step runbooks.Step) workflow.ActivityOptions {
	timeout := defaultStepTimeout
	if step.Timeout > 0 {
		timeout = step.Timeout.D()
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    contract.ActionHeartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
}

type retryPlan struct {
	attempts int
	interval time.Duration
	backoff  float64
	max      time.Duration
}

func planRetries(r *runbooks.RetryPolicy) retryPlan {
	p := retryPlan{defaultMaxAttempts, defaultInitialInterval, defaultBackoff, defaultMaxInterval}
	if r == nil {
		return p
	}
	if r.MaxAttempts > 0 {
		p.attempts = r.MaxAttempts
	}
	if r.InitialInterval > 0 {
		p.interval = r.InitialInterval.D()
	}
	if r.BackoffCoefficient >= 1 {
		p.backoff = r.BackoffCoefficient
	}
	if r.MaximumInterval > 0 {
		p.max = r.MaximumInterval.D()
	}
	return p
}

// maxWorkerLosses bounds how often a step is retried because its worker
// stopped heartbeating (killed, partitioned). These retries do not use the
// step's attempts: a crash is not the action failing.
const maxWorkerLosses = 10

// execute runs an action activity with the step's retry plan. onAttempt is
// called before each attempt. An attempt that fails or loses its worker
// hands its checkpoint (the prior state it read) to the next attempt, so a
// retry after a write never mistakes its own change for the prior state.
func (s *incident) execute(ctx workflow.Context, action string, step runbooks.Step, in contract.ActionInput, onAttempt func(n int)) (contract.ActionResult, error) {
	plan := planRetries(step.Retry)
	actx := workflow.WithActivityOptions(ctx, actionOptions(step))
	wait := plan.interval
	var lastErr error
	losses := 0
	for n := 1; n <= plan.attempts; n++ {
		if onAttempt != nil {
			onAttempt(n + losses)
		}
		var res contract.ActionResult
		err := workflow.ExecuteActivity(actx, action, in).Get(ctx, &res)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if cp := checkpointOf(err); cp != nil {
			in.Checkpoint = cp
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil || !retryable(err) {
			break
		}
		if workerLost(err) && losses < maxWorkerLosses {
			losses++
			n-- // a lost worker is not a failed attempt
			s.event(ctx, contract.EventNote, in.Step, "", fmt.Sprintf("worker lost during the attempt (no heartbeat for %s); retrying on another worker", contract.ActionHeartbeatTimeout))
			continue
		}
		if n == plan.attempts {
			break
		}
		s.event(ctx, contract.EventNote, in.Step, "", fmt.Sprintf("attempt %d of %d failed, retrying in %s: %s", n, plan.attempts, wait, errorMessage(err)))
		if workflow.Sleep(ctx, wait) != nil {
			break
		}
		wait = time.Duration(float64(wait) * plan.backoff)
		if wait > plan.max {
			wait = plan.max
		}
	}
	return contract.ActionResult{}, lastErr
}

// workerLost is true when the attempt timed out because its worker stopped
// heartbeating.
func workerLost(err error) bool {
	var to *temporal.TimeoutError
	return errors.As(err, &to) && to.TimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT
}

// checkpointOf returns the checkpoint a failed attempt left: its last
// heartbeat (worker lost, timed out) or its error's details.
func checkpointOf(err error) json.RawMessage {
	var cp contract.AttemptCheckpoint
	var to *temporal.TimeoutError
	if errors.As(err, &to) && to.HasLastHeartbeatDetails() {
		if to.LastHeartbeatDetails(&cp) == nil && len(cp.Checkpoint) > 0 {
			return cp.Checkpoint
		}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		if appErr.Details(&cp) == nil && len(cp.Checkpoint) > 0 {
			return cp.Checkpoint
		}
	}
	return nil
}

// retryable is false for application errors marked non-retryable.
func retryable(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable()
	}
	return true
}

// errorMessage is the innermost useful message of an activity error.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "timed out (" + to.TimeoutType().String() + ")"
	}
	return err.Error()
}

func (s *incident) runAction(ctx workflow.Context, i int) bool {
	step := s.rb.Steps[i]
	args, err := s.renderArgs(step)
	if err != nil {
		return s.stepFailed(ctx, i, err)
	}
	in := contract.ActionInput{Incident: s.ref(), Step: step.ID, Args: args, DryRun: s.in.DryRun}
	res, err := s.execute(ctx, step.Action, step, in, func(n int) { s.Steps[i].Attempts = n })
	if err != nil {
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			return s.stepCancelled(ctx, i)
		}
		return s.stepFailed(ctx, i, errors.New(errorMessage(err)))
	}
	s.holdArgs(step.ID, args, res)
	return s.stepSucceeded(ctx, i, res)
}

func (s *incident) stepSucceeded(ctx workflow.Context, i int, res contract.ActionResult) bool {
	step := s.rb.Steps[i]
	st := &s.Steps[i]
	st.State = contract.StepSucceeded
	st.Finished = timePtr(workflow.Now(ctx))
	st.Summary, st.Changed, st.Output = res.Summary, res.Changed, res.Output
	s.Outputs[step.ID] = stepVars{Output: res.Output, Changed: res.Changed, State: contract.StepSucceeded}
	if res.Undo != nil && !res.DryRun {
		s.Undo = append(s.Undo, contract.UndoEntry{Step: step.ID, Undo: *res.Undo})
	}
	s.noteLease(step.ID, res)
	detail := res.Summary
	if detail == "" {
		detail = "done"
	}
	s.event(ctx, contract.EventStepSucceeded, step.ID, "", detail)
	for _, w := range res.Warnings {
		s.event(ctx, contract.EventNote, step.ID, "", "warning: "+w)
	}
	// A worker that forces dry runs (quench dev without AWS credentials)
	// makes the incident one. State and timeline only, no new commands, so
	// no version gate.
	if res.DryRun && !s.in.DryRun && !s.ForcedDryRun {
		s.ForcedDryRun = true
		s.event(ctx, contract.EventNote, step.ID, "", "the worker ran this step as a dry run (its summary says why): no AWS action of this incident changes anything, and it is shown as a dry run")
	}
	return false
}

// awaitEscalation asks a human whether the runbook goes on without failed
// step i, and reports whether to stop.
func (s *incident) awaitEscalation(ctx workflow.Context, i int) bool {
	step := s.rb.Steps[i]
	msg := fmt.Sprintf("Step %s failed: %s. Approve to continue the runbook without it, deny to stop.", step.ID, s.Steps[i].Error)
	decision := s.awaitApproval(ctx, escalationID(step.ID), step.ID, msg, runbooks.EffectivePolicy(&s.rb, runbooks.Step{Approval: &runbooks.ApprovalStep{}}))
	return s.suspended || decision != contract.StepApproved
}

// escalationID names the approval that asks whether to go on after a failed step.
func escalationID(step string) string { return step + "-escalation" }

// waitStep sleeps until the wait step's end (from when it started, so a run
// that continued as new waits only what is left), or suspends for
// continue-as-new.
func (s *incident) waitStep(ctx workflow.Context, i int) bool {
	step := s.rb.Steps[i]
	end := s.Steps[i].Started.Add(step.Wait.Duration.D())
	for {
		left := end.Sub(workflow.Now(ctx))
		if left <= 0 {
			return s.stepSucceeded(ctx, i, contract.ActionResult{Summary: "waited " + step.Wait.Duration.D().String()})
		}
		if _, err := workflow.AwaitWithTimeout(ctx, left, func() bool { return s.canContinueAsNew(ctx) }); err != nil {
			return s.stepCancelled(ctx, i)
		}
		if workflow.Now(ctx).Before(end) && s.canContinueAsNew(ctx) {
			s.suspended = true
			return true
		}
	}
}

func (s *incident) stepCancelled(ctx workflow.Context, i int) bool {
	st := &s.Steps[i]
	st.State = contract.StepSkipped
	st.Finished = timePtr(workflow.Now(ctx))
	st.Summary = "interrupted: incident cancelled or resolved"
	s.Outputs[st.ID] = stepVars{State: contract.StepSkipped}
	return true
}

// stepFailed applies the step's on_error policy and reports whether to stop.
func (s *incident) stepFailed(ctx workflow.Context, i int, err error) bool {
	step := s.rb.Steps[i]
	st := &s.Steps[i]
	st.State = contract.StepFailed
	st.Finished = timePtr(workflow.Now(ctx))
	st.Error = err.Error()
	s.Outputs[step.ID] = stepVars{State: contract.StepFailed}
	s.event(ctx, contract.EventStepFailed, step.ID, "", err.Error())
	switch step.OnError {
	case "continue":
		return false
	case "escalate":
		return s.awaitEscalation(ctx, i)
	}
	s.Error = fmt.Sprintf("step %s failed: %s", step.ID, err)
	s.setState(ctx, contract.StateFailed)
	s.event(ctx, contract.EventFailed, step.ID, "", s.Error+"; changes so far are held until resolve")
	s.postUpdate(ctx, fmt.Sprintf(":x: %s", s.Error))
	return true
}
