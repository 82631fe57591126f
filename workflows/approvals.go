package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// notifyOptions bound how long a notification is retried: Slack may be
// down, and approval must stay possible from the CLI meanwhile.
var notifyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	HeartbeatTimeout:    contract.ActionHeartbeatTimeout,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
	},
}

// planOptions are those of a dry run that plans or verifies a change. An
// attempt on a worker that died is noticed at the heartbeat timeout, not
// after the whole minute: an approval (or the drift watch) waits on it.
var planOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	HeartbeatTimeout:    contract.ActionHeartbeatTimeout,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2},
}

func (s *incident) runApproval(ctx workflow.Context, i int) bool {
	step := s.rb.Steps[i]
	msg, err := renderString(step.Approval.Message, s.vars())
	if err != nil {
		return s.stepFailed(ctx, i, err)
	}
	policy := runbooks.EffectivePolicy(&s.rb, step)
	s.setState(ctx, contract.StateAwaitingApproval)
	decision := s.awaitApproval(ctx, step.ID, step.ID, msg, policy)
	if s.suspended {
		return true
	}
	if s.Cancel != nil || s.Resolve != nil {
		return s.stepCancelled(ctx, i)
	}
	s.setState(ctx, contract.StateRunning)
	st := &s.Steps[i]
	st.Finished = timePtr(workflow.Now(ctx))
	st.Summary = s.Pending.Reason
	st.Attempts = 1
	approved := decision == contract.StepApproved
	st.State = decision
	s.Outputs[step.ID] = stepVars{Approved: approved, State: decision}
	if approved || step.OnDeny == "continue" {
		return false
	}
	return true
}

// awaitApproval asks for a decision and waits for it: votes arrive through
// the approve/deny updates; escalation at escalate.after; at the timeout the
// request is denied. A clock never approves. It returns approved or denied,
// or "" with s.suspended set when the run must continue as new first: the
// next run finds the same pending approval (votes, deadline, message) and
// waits on without asking again.
func (s *incident) awaitApproval(ctx workflow.Context, id, step, msg string, policy runbooks.ApprovalPolicy) string {
	p := s.Pending
	if p == nil || p.Step != id || p.Decision != "" {
		now := workflow.Now(ctx)
		p = &approvalState{
			Step: id, Message: msg, Needed: max(policy.MinApprovals, 1), SelfOK: policy.AllowSelfApproval,
			Approvers: policy.Approvers.Union(runbooks.Approvers{}),
			Deadline:  now.Add(policy.Timeout.D()),
			Requested: now,
		}
		s.Pending = p
		s.event(ctx, contract.EventApprovalRequested, id, "", fmt.Sprintf("%s (needs %d of %s; deadline %s)", msg, p.Needed, strings.Join(p.Approvers.Describe(), ", "), p.Deadline.UTC().Format(time.RFC3339)))
		p.Planned = s.planGatedSteps(ctx, step)
		s.requestApproval(ctx, p, p.Planned, false)
	}
	planned := p.Planned
	now := p.Requested
	if now.IsZero() { // pending approvals carried from runs before Requested existed
		now = p.Deadline.Add(-policy.Timeout.D())
	}

	var escalateAt time.Time
	if policy.Escalate != nil && policy.Escalate.After > 0 {
		escalateAt = now.Add(policy.Escalate.After.D())
	}
	for p.Decision == "" {
		next := p.Deadline
		if !escalateAt.IsZero() && !p.Escalated && escalateAt.Before(next) {
			next = escalateAt
		}
		wait := next.Sub(workflow.Now(ctx))
		if wait > 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return p.Decision != "" || s.canContinueAsNew(ctx) })
			if err != nil { // cancelled or resolved while waiting
				return contract.StepDenied
			}
			if p.Decision == "" && s.canContinueAsNew(ctx) {
				s.suspended = true
				return ""
			}
			if ok {
				break
			}
		}
		now := workflow.Now(ctx)
		if !escalateAt.IsZero() && !p.Escalated && !now.Before(escalateAt) {
			p.Escalated = true
			p.Approvers = p.Approvers.Union(policy.Escalate.To)
			s.event(ctx, contract.EventApprovalEscalated, id, "", "no decision yet; escalated to "+strings.Join(policy.Escalate.To.Describe(), ", "))
			// The escalation replies in the incident thread, which the first
			// request creates: give a slow (retrying) first post a moment.
			if workflow.GetVersion(ctx, "escalate-after-first-post", workflow.DefaultVersion, 1) == 1 && !p.Notified {
				_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return p.Notified || p.Decision != "" })
			}
			if p.Decision != "" {
				break
			}
			s.requestApproval(ctx, p, planned, true)
			continue
		}
		if !now.Before(p.Deadline) && policy.OnTimeout == "escalate" && !p.Escalated && policy.Escalate != nil {
			// on_timeout: escalate without an earlier escalation: the
			// escalation list gets one more timeout before the denial.
			p.Escalated = true
			p.Approvers = p.Approvers.Union(policy.Escalate.To)
			p.Deadline = now.Add(policy.Timeout.D())
			s.event(ctx, contract.EventApprovalEscalated, id, "", fmt.Sprintf("timed out without a decision; escalated to %s until %s", strings.Join(policy.Escalate.To.Describe(), ", "), p.Deadline.UTC().Format(time.RFC3339)))
			s.requestApproval(ctx, p, planned, true)
			continue
		}
		if !now.Before(p.Deadline) {
			p.Decision, p.Reason = contract.StepDenied, "timed out"
			s.event(ctx, contract.EventApprovalDenied, id, "", fmt.Sprintf("timed out after %s without %d approval(s)", policy.Timeout.D(), p.Needed))
			s.notifyDecided(ctx, p)
		}
	}
	return p.Decision
}

// checkDecision is the approve/deny validator: it refuses a decision that
// must not count, with a reason the person who clicked can read.
func (s *incident) checkDecision(kind string, d contract.Decision) (*approvalState, error) {
	p := s.Pending
	if d.Actor == "" {
		return nil, invalid("a decision needs an actor")
	}
	if p == nil || p.Decision != "" || s.Finished {
		if d.Step != "" {
			return nil, rejected("step %s is not pending approval", d.Step)
		}
		return nil, rejected("no approval is pending on incident %s", s.ID)
	}
	if d.Step != "" && d.Step != p.Step {
		return nil, rejected("step %s is not pending approval (pending: %s)", d.Step, p.Step)
	}
	if !allows(p.Approvers, d) {
		return nil, rejected("%s is not an approver for step %s (approvers: %s)", d.Actor, p.Step, strings.Join(p.Approvers.Describe(), ", "))
	}
	if kind == contract.UpdateApprove && !p.SelfOK && d.Actor == s.in.Requester {
		return nil, rejected("%s started this incident and cannot approve their own run", d.Actor)
	}
	for _, v := range p.Votes {
		if v.Actor == d.Actor {
			return nil, rejected("%s already voted (%s) on step %s", d.Actor, v.Kind, p.Step)
		}
	}
	return p, nil
}

// allows reports whether the decision's actor is on the approver lists for
// the channel they decided through.
func allows(a runbooks.Approvers, d contract.Decision) bool {
	switch d.Via {
	case "slack":
		if slices.Contains(a.SlackUsers, d.Actor) {
			return true
		}
		for _, g := range d.SlackUserGroups {
			if slices.Contains(a.SlackGroups, g) {
				return true
			}
		}
	case "cli":
		return slices.Contains(a.CLIUsers, d.Actor)
	}
	return false
}

// decide is the approve/deny handler; the validator already ran.
func (s *incident) decide(ctx workflow.Context, kind string, d contract.Decision) (contract.DecisionResult, error) {
	p, err := s.checkDecision(kind, d) // state may have moved since validation
	if err != nil {
		return contract.DecisionResult{}, err
	}
	now := workflow.Now(ctx)
	v := vote{Actor: d.Actor, Via: d.Via, Kind: "approve", Reason: d.Reason, At: now}
	if kind == contract.UpdateDeny {
		v.Kind = "deny"
	}
	p.Votes = append(p.Votes, v)
	approvals := 0
	for _, x := range p.Votes {
		if x.Kind == "approve" {
			approvals++
		}
	}
	res := contract.DecisionResult{Step: p.Step, Approvals: approvals, Needed: p.Needed, Outcome: "recorded"}
	switch {
	case kind == contract.UpdateDeny:
		p.Decision, p.Reason = contract.StepDenied, "denied by "+d.Actor+reasonSuffix(d.Reason)
		s.event(ctx, contract.EventApprovalDenied, p.Step, d.Actor, fmt.Sprintf("denied via %s%s", d.Via, reasonSuffix(d.Reason)))
		res.Outcome = "denied"
	case approvals >= p.Needed:
		p.Decision, p.Reason = contract.StepApproved, "approved by "+strings.Join(approvers(p), ", ")
		s.event(ctx, contract.EventApprovalVote, p.Step, d.Actor, fmt.Sprintf("approved via %s (%d of %d)%s", d.Via, approvals, p.Needed, reasonSuffix(d.Reason)))
		s.event(ctx, contract.EventApprovalGranted, p.Step, d.Actor, p.Reason)
		res.Outcome = "approved"
	default:
		s.event(ctx, contract.EventApprovalVote, p.Step, d.Actor, fmt.Sprintf("approved via %s (%d of %d)%s", d.Via, approvals, p.Needed, reasonSuffix(d.Reason)))
	}
	if p.Decision != "" {
		s.notifyDecided(ctx, p)
	}
	return res, nil
}

func approvers(p *approvalState) []string {
	var out []string
	for _, v := range p.Votes {
		if v.Kind == "approve" {
			out = append(out, v.Actor)
		}
	}
	return out
}

// planGatedSteps dry-runs the action steps an approval gates (up to the
// next approval), so approvers see what will change. Steps whose arguments
// depend on outputs not yet produced are listed without a plan.
func (s *incident) planGatedSteps(ctx workflow.Context, approvalStep string) []contract.PlannedChange {
	start := s.stepIndex(approvalStep) + 1
	if start <= 0 {
		return nil
	}
	var out []contract.PlannedChange
	for _, step := range s.rb.Steps[start:] {
		if step.Approval != nil {
			break
		}
		if step.Action == "" {
			continue
		}
		pc := contract.PlannedChange{Step: step.ID, Action: step.Action}
		args, err := s.renderArgs(step)
		if err != nil {
			pc.Summary = "not planned: " + err.Error()
			out = append(out, pc)
			continue
		}
		in := contract.ActionInput{Incident: s.ref(), Step: step.ID, Args: args, DryRun: true}
		var res contract.ActionResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), step.Action, in).Get(ctx, &res); err != nil {
			pc.Summary = "could not plan: " + errorMessage(err)
		} else {
			pc.Summary, pc.Prior = res.Summary, res.Prior
		}
		out = append(out, pc)
	}
	return out
}

// requestApproval posts the approval request in the background so the
// wait (and CLI approval) never depends on Slack being up.
func (s *incident) requestApproval(ctx workflow.Context, p *approvalState, planned []contract.PlannedChange, escalation bool) {
	req := contract.ApprovalRequest{
		Incident: s.ref(), Step: p.Step, Message: p.Message, MinApprovals: p.Needed, Requester: s.in.Requester,
		Deadline: p.Deadline, Planned: planned, Thread: s.Thread, Escalation: escalation,
		Approvers: runbooks.Approvers{SlackUsers: p.Approvers.SlackUsers, SlackGroups: p.Approvers.SlackGroups, CLIUsers: p.Approvers.CLIUsers},
	}
	s.background(ctx, func(ctx workflow.Context) {
		var res contract.NotifyResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), contract.ActivityRequestApproval, req).Get(ctx, &res)
		switch {
		case err != nil:
			s.event(ctx, contract.EventNotifyFailed, p.Step, "", "approval request could not be delivered: "+errorMessage(err)+"; approve from the CLI")
		case !res.Delivered:
			s.event(ctx, contract.EventNote, p.Step, "", "approval request not posted ("+res.Reason+"); approve from the CLI")
		default:
			s.Thread = res.Thread
			if !escalation {
				p.MessageTS = res.MessageTS
			}
		}
		if !escalation {
			p.Notified = true
		}
	})
}

// notifyDecided replaces the request message once it was posted.
func (s *incident) notifyDecided(ctx workflow.Context, p *approvalState) {
	s.background(ctx, func(ctx workflow.Context) {
		if err := workflow.Await(ctx, func() bool { return p.Notified }); err != nil || p.MessageTS == "" {
			return
		}
		msg := contract.ApprovalDecided{
			Incident: s.ref(), Step: p.Step, Decision: p.Decision, Actors: approvers(p), Reason: p.Reason,
			At: workflow.Now(ctx), Thread: s.Thread, MessageTS: p.MessageTS,
		}
		if p.Decision == contract.StepDenied {
			msg.Actors = nil
			for _, v := range p.Votes {
				if v.Kind == "deny" {
					msg.Actors = append(msg.Actors, v.Actor)
				}
			}
		}
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), contract.ActivityApprovalDecided, msg).Get(ctx, nil)
		if err != nil {
			s.event(ctx, contract.EventNotifyFailed, p.Step, "", "could not update the approval message: "+errorMessage(err))
		}
	})
}

// postUpdate posts a line into the incident thread in the background.
func (s *incident) postUpdate(ctx workflow.Context, text string) {
	upd := contract.IncidentUpdate{Incident: s.ref(), Thread: s.Thread, Text: text}
	s.background(ctx, func(ctx workflow.Context) {
		var res contract.NotifyResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), contract.ActivityPostUpdate, upd).Get(ctx, &res)
		if err != nil {
			s.event(ctx, contract.EventNotifyFailed, "", "", "could not post update: "+errorMessage(err))
			return
		}
		if res.Delivered && s.Thread.TS == "" {
			s.Thread = res.Thread
		}
	})
}
