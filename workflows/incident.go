package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/runbooks"
)

// Search attribute keys, typed.
var (
	saRunbook  = temporal.NewSearchAttributeKeyKeyword(SearchAttrRunbook)
	saSeverity = temporal.NewSearchAttributeKeyKeyword(SearchAttrSeverity)
	saState    = temporal.NewSearchAttributeKeyKeyword(SearchAttrState)
)

// historyLimit is the history length after which an idle incident
// continues as new (Temporal suggests it earlier for large histories).
const historyLimit = 10000

// Incident runs one incident: the runbook's steps, approvals, then it holds
// containment until resolved, and rolls back on request. It returns the
// final status.
func Incident(ctx workflow.Context, in IncidentInput) (Status, error) {
	s := newIncident(ctx, in)
	return s.run(ctx)
}

// incident is the running interpreter: the state plus what is not carried
// across continue-as-new (logger, cancellation of the current step).
type incident struct {
	incidentState
	in         IncidentInput
	rb         runbooks.Runbook
	log        log.Logger
	cancelStep workflow.CancelFunc
}

func newIncident(ctx workflow.Context, in IncidentInput) *incident {
	s := &incident{in: in, rb: in.Runbook}
	s.log = log.With(workflow.GetLogger(ctx), "incident", in.ID, "runbook", in.Runbook.Metadata.Name)
	if in.Carry != nil {
		s.incidentState = *in.Carry
		s.Runs++
		return s
	}
	now := workflow.Now(ctx)
	s.ID = in.ID
	if s.ID == "" {
		s.ID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	s.Severity = in.Severity
	if s.Severity == "" {
		s.Severity = in.Runbook.Metadata.Severity
	}
	s.State = StateRunning
	s.Started, s.Updated = now, now
	s.Outputs = map[string]stepVars{}
	for _, st := range in.Runbook.Steps {
		s.Steps = append(s.Steps, StepStatus{ID: st.ID, Kind: st.Kind(), Action: st.Action, State: StepPending})
	}
	if in.Runbook.Slack != nil {
		s.Thread.Channel = in.Runbook.Slack.Channel
	}
	return s
}

func (s *incident) run(ctx workflow.Context) (Status, error) {
	if err := s.registerHandlers(ctx); err != nil {
		return Status{}, err
	}
	if s.Runs == 0 {
		detail := fmt.Sprintf("runbook %s (%s) started by %s via %s", s.rb.Metadata.Name, s.Severity, s.in.Requester, s.in.Source)
		if s.in.DryRun {
			detail += "; dry run: actions change nothing"
		}
		s.event(ctx, EventStarted, "", s.in.Requester, detail)
	}
	s.setState(ctx, s.State)

	// Steps run in a cancellable context so the cancel update can stop them.
	stepCtx, cancel := workflow.WithCancel(ctx)
	s.cancelStep = cancel
	for s.Next < len(s.rb.Steps) && s.Cancel == nil && s.Resolve == nil && s.State != StateFailed {
		stop := s.runStep(stepCtx, s.Next)
		s.Next++
		if stop {
			break
		}
	}
	if s.Cancel != nil {
		return s.finishCancelled(ctx)
	}
	if s.State != StateFailed && s.Resolve == nil {
		s.skipRemaining(ctx)
		s.setState(ctx, StateContained)
		s.event(ctx, EventContained, "", "", s.containedDetail())
	}

	// Hold containment until someone resolves or cancels; keep history small.
	for {
		err := workflow.Await(ctx, func() bool {
			return s.Resolve != nil || s.Cancel != nil || s.shouldContinueAsNew(ctx)
		})
		if err != nil {
			return s.status(ctx), err
		}
		if s.Cancel != nil {
			return s.finishCancelled(ctx)
		}
		if s.Resolve != nil {
			break
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return s.status(ctx), err
		}
		s.drainSignals(ctx)
		next := s.in
		carry := s.incidentState
		next.Carry = &carry
		s.log.Info("continuing as new", "historyLength", workflow.GetInfo(ctx).GetCurrentHistoryLength())
		return Status{}, workflow.NewContinueAsNewError(ctx, IncidentWorkflow, next)
	}
	return s.finishResolved(ctx)
}

func (s *incident) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyLimit
}

func (s *incident) containedDetail() string {
	changes := 0
	for _, u := range s.Undo {
		if !u.Done {
			changes++
		}
	}
	return fmt.Sprintf("runbook finished; %d change(s) held in place until resolve", changes)
}

// skipRemaining marks steps that never ran (after a stop) as skipped.
func (s *incident) skipRemaining(ctx workflow.Context) {
	for i := s.Next; i < len(s.Steps); i++ {
		if s.Steps[i].State == StepPending {
			s.Steps[i].State = StepSkipped
			s.Steps[i].Summary = "not run: the runbook stopped earlier"
			s.Outputs[s.Steps[i].ID] = stepVars{State: StepSkipped}
		}
	}
	s.Next = len(s.Steps)
}

func (s *incident) finishResolved(ctx workflow.Context) (Status, error) {
	req := *s.Resolve
	s.event(ctx, EventResolveRequested, "", req.Actor, fmt.Sprintf("resolve with %s%s", req.Mode, reasonSuffix(req.Reason)))
	if s.Pending != nil && s.Pending.Decision == "" {
		s.Pending.Decision, s.Pending.Reason = StepDenied, "incident resolved"
	}
	s.skipRemaining(ctx)
	final := StateClosed
	if req.Mode == "rollback" {
		s.setState(ctx, StateRollingBack)
		if failed := s.rollback(ctx); failed > 0 {
			final = StateFailed
			s.Error = fmt.Sprintf("rollback: %d undo step(s) failed; see the timeline", failed)
		} else {
			final = StateRolledBack
		}
	}
	s.setState(ctx, final)
	s.event(ctx, EventResolved, "", req.Actor, fmt.Sprintf("incident %s", final))
	return s.finish(ctx)
}

func (s *incident) finishCancelled(ctx workflow.Context) (Status, error) {
	req := *s.Cancel
	s.skipRemaining(ctx)
	s.setState(ctx, StateCancelled)
	held := 0
	for _, u := range s.Undo {
		if !u.Done {
			held++
		}
	}
	s.event(ctx, EventCancelled, "", req.Actor, fmt.Sprintf("cancelled%s; %d change(s) left in place", reasonSuffix(req.Reason), held))
	return s.finish(ctx)
}

// finish lets running update handlers and notifications complete, then ends the run.
func (s *incident) finish(ctx workflow.Context) (Status, error) {
	s.Finished = true
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return s.status(ctx), nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// setState changes the incident state and its search attribute.
func (s *incident) setState(ctx workflow.Context, state string) {
	s.State = state
	s.Updated = workflow.Now(ctx)
	err := workflow.UpsertTypedSearchAttributes(ctx,
		saRunbook.ValueSet(s.rb.Metadata.Name),
		saSeverity.ValueSet(s.Severity),
		saState.ValueSet(state))
	if err != nil {
		s.log.Warn("upsert search attributes", "error", err)
	}
}

// event appends to the timeline.
func (s *incident) event(ctx workflow.Context, typ, step, actor, detail string) {
	now := workflow.Now(ctx)
	s.Updated = now
	s.Timeline = append(s.Timeline, Event{Time: now, Type: typ, Step: step, Actor: actor, Detail: detail})
}

func (s *incident) ref() activities.IncidentRef {
	ref := activities.IncidentRef{ID: s.ID, Runbook: s.rb.Metadata.Name, Severity: s.Severity}
	if s.rb.AWS != nil {
		ref.RoleARN, ref.Region = s.rb.AWS.RoleARN, s.rb.AWS.Region
	}
	return ref
}

// status builds the status query result.
func (s *incident) status(ctx workflow.Context) Status {
	st := Status{
		ID: s.ID, Runbook: s.rb.Metadata.Name, Title: s.rb.Metadata.Title, Severity: s.Severity,
		State: s.State, Source: s.in.Source, Requester: s.in.Requester, DryRun: s.in.DryRun,
		Started: s.Started, Updated: s.Updated, Alerts: s.Alerts, Error: s.Error,
		Steps: append([]StepStatus(nil), s.Steps...),
	}
	if p := s.Pending; p != nil && p.Decision == "" {
		pa := &PendingApproval{Step: p.Step, Message: p.Message, Needed: p.Needed, Deadline: p.Deadline,
			Escalated: p.Escalated, Approvers: p.Approvers.describe(), Thread: s.Thread, Approvals: []string{}}
		for _, v := range p.Votes {
			if v.Kind == "approve" {
				pa.Approvals = append(pa.Approvals, v.Actor)
			}
		}
		st.PendingApproval = pa
	}
	for i := len(s.Undo) - 1; i >= 0; i-- {
		st.Undo = append(st.Undo, s.Undo[i])
	}
	return st
}

func (s *incident) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return s.status(ctx), nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryTimeline, func() ([]Event, error) { return s.Timeline, nil }); err != nil {
		return err
	}
	for _, kind := range []string{UpdateApprove, UpdateDeny} {
		kind := kind
		err := workflow.SetUpdateHandlerWithOptions(ctx, kind,
			func(ctx workflow.Context, d Decision) (DecisionResult, error) { return s.decide(ctx, kind, d) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d Decision) error {
				_, err := s.checkDecision(kind, d)
				return err
			}})
		if err != nil {
			return err
		}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolve,
		func(ctx workflow.Context, req ResolveRequest) (Status, error) {
			req.Mode = s.resolveMode(req)
			s.Resolve = &req
			if s.cancelStep != nil {
				s.cancelStep()
			}
			// Wait for the rollback so the caller learns the outcome.
			if err := workflow.Await(ctx, func() bool { return s.Finished }); err != nil {
				return Status{}, err
			}
			return s.status(ctx), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req ResolveRequest) error {
			return s.checkResolve(req)
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel,
		func(ctx workflow.Context, req CancelRequest) error {
			s.Cancel = &req
			if s.cancelStep != nil {
				s.cancelStep()
			}
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req CancelRequest) error {
			if s.Finished || s.Resolve != nil || s.Cancel != nil {
				return invalid("incident %s is already %s", s.ID, s.State)
			}
			if req.Actor == "" {
				return invalid("cancel needs an actor")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	alerts := workflow.GetSignalChannel(ctx, SignalAlert)
	rejected := workflow.GetSignalChannel(ctx, SignalRejectedDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
				var a AlertSignal
				c.Receive(ctx, &a)
				s.foldAlert(ctx, a)
			})
			sel.AddReceive(rejected, func(c workflow.ReceiveChannel, _ bool) {
				var r RejectedDecision
				c.Receive(ctx, &r)
				s.event(ctx, EventApprovalRejected, r.Decision.Step, r.Decision.Actor,
					fmt.Sprintf("%s via %s refused: %s", r.Kind, r.Decision.Via, r.Reason))
			})
			sel.Select(ctx)
		}
	})
	return nil
}

// drainSignals folds signals that arrived but were not yet handled, so
// continue-as-new loses none.
func (s *incident) drainSignals(ctx workflow.Context) {
	alerts := workflow.GetSignalChannel(ctx, SignalAlert)
	for {
		var a AlertSignal
		if !alerts.ReceiveAsync(&a) {
			break
		}
		s.foldAlert(ctx, a)
	}
	rejected := workflow.GetSignalChannel(ctx, SignalRejectedDecision)
	for {
		var r RejectedDecision
		if !rejected.ReceiveAsync(&r) {
			break
		}
		s.event(ctx, EventApprovalRejected, r.Decision.Step, r.Decision.Actor, fmt.Sprintf("%s via %s refused: %s", r.Kind, r.Decision.Via, r.Reason))
	}
}

func (s *incident) resolveMode(req ResolveRequest) string {
	if req.Mode != "" {
		return req.Mode
	}
	if s.rb.OnResolve == "" {
		return "rollback"
	}
	return s.rb.OnResolve
}

func (s *incident) checkResolve(req ResolveRequest) error {
	if s.Finished || s.Resolve != nil || s.Cancel != nil {
		return invalid("incident %s is already %s", s.ID, s.State)
	}
	if req.Actor == "" {
		return invalid("resolve needs an actor")
	}
	switch req.Mode {
	case "", "rollback", "keep":
	default:
		return invalid("unknown resolve mode %q (want rollback or keep)", req.Mode)
	}
	if req.Mode == "" && s.rb.OnResolve == "ask" {
		return invalid("runbook %s asks how to resolve: choose --rollback or --keep", s.rb.Metadata.Name)
	}
	switch s.State {
	case StateContained, StateFailed, StateAwaitingApproval:
		return nil
	}
	return invalid("incident %s is %s: wait until it is contained, or cancel it", s.ID, s.State)
}

// Alert folding keeps these bounded so a storm cannot grow the state.
const (
	maxAlertNames  = 20
	maxAlertLabels = 50
)

func (s *incident) foldAlert(ctx workflow.Context, a AlertSignal) {
	f := &s.Alerts
	at := a.ReceivedAt
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	if f.Count == 0 && f.Resolved == 0 {
		f.FirstSeen = at
	}
	if at.After(f.LastSeen) {
		f.LastSeen = at
	}
	if a.Status == "resolved" {
		f.Resolved++
		s.event(ctx, EventAlertFolded, "", a.Source, fmt.Sprintf("alert %s resolved (source %s)", a.Name, a.Source))
	} else {
		f.Count++
		if f.Count == 1 {
			s.event(ctx, EventAlertFolded, "", a.Source, fmt.Sprintf("alert %s firing (source %s)", a.Name, a.Source))
		}
	}
	if a.Name != "" && len(f.Names) < maxAlertNames && !contains(f.Names, a.Name) {
		f.Names = append(f.Names, a.Name)
	}
	for _, k := range workflow.DeterministicKeys(a.Labels) {
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		if _, ok := f.Labels[k]; ok || len(f.Labels) < maxAlertLabels {
			f.Labels[k] = a.Labels[k]
		}
	}
	s.Updated = workflow.Now(ctx)
}

// invalid is a validator rejection of a malformed or ill-timed request.
func invalid(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalidRequest)
}

// rejected is a validator rejection of an approval decision.
func rejected(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypeApprovalRejected)
}

// stepIndex returns the index of a step id, or -1.
func (s *incident) stepIndex(id string) int {
	for i, st := range s.Steps {
		if st.ID == id {
			return i
		}
	}
	return -1
}

func timePtr(t time.Time) *time.Time { return &t }
