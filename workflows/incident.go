package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Search attribute keys, typed.
var (
	saRunbook  = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrRunbook)
	saSeverity = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrSeverity)
	saState    = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrState)
)

// historyLimit is the history length after which an idle incident
// continues as new (Temporal suggests it earlier for large histories).
const historyLimit = 10000

// historySizeLimit is the history size (bytes) after which a waiting
// incident continues as new, far below Temporal's 50 MB hard limit.
const historySizeLimit = 8 << 20

// Incident runs one incident: the runbook's steps, approvals, then it holds
// containment until resolved, and rolls back on request. It returns the
// final status.
func Incident(ctx workflow.Context, in contract.IncidentInput) (contract.Status, error) {
	s, err := newIncident(ctx, in)
	if err != nil {
		return contract.Status{}, err
	}
	return s.run(ctx)
}

// incident is the running interpreter: the state plus what is not carried
// across continue-as-new (logger, cancellation of the current step).
type incident struct {
	incidentState
	in         contract.IncidentInput
	rb         runbooks.Runbook
	log        log.Logger
	cancelStep workflow.CancelFunc
	// suspended is set when a wait stopped so the run can continue as new.
	suspended bool
	// inBackground counts notifications still running in goroutines; a run
	// continues as new only when none is, so none is lost.
	inBackground int
	// watch is the drift watch's run state (drift.go).
	watch watcher
}

func newIncident(ctx workflow.Context, in contract.IncidentInput) (*incident, error) {
	s := &incident{in: in, rb: in.Runbook}
	s.log = log.With(workflow.GetLogger(ctx), "incident", in.ID, "runbook", in.Runbook.Metadata.Name)
	if in.Carry != nil {
		// Our own previous run wrote it; a failure here is a bug worth
		// failing loudly on (the input stays in history for recovery).
		if err := json.Unmarshal(in.Carry, &s.incidentState); err != nil {
			return nil, fmt.Errorf("read state carried from the previous run: %w", err)
		}
		s.Runs++
		return s, nil
	}
	now := workflow.Now(ctx)
	s.ID = in.ID
	if s.ID == "" {
		s.ID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	s.Severity = in.EffectiveSeverity()
	s.State = contract.StateRunning
	s.Started, s.Updated = now, now
	s.Outputs = map[string]stepVars{}
	for _, st := range in.Runbook.Steps {
		s.Steps = append(s.Steps, contract.StepStatus{ID: st.ID, Kind: st.Kind(), Action: st.Action, State: contract.StepPending})
	}
	if in.Runbook.Slack != nil {
		s.Thread.Channel = in.Runbook.Slack.Channel
	}
	return s, nil
}

func (s *incident) run(ctx workflow.Context) (contract.Status, error) {
	if err := s.registerHandlers(ctx); err != nil {
		return contract.Status{}, err
	}
	s.startWatch(ctx)
	if s.Runs == 0 {
		detail := fmt.Sprintf("runbook %s (%s) started by %s via %s", s.rb.Metadata.Name, s.Severity, s.in.Requester, s.in.Source)
		if s.in.DryRun {
			detail += "; dry run: actions change nothing"
		}
		s.event(ctx, contract.EventStarted, "", s.in.Requester, detail)
	}
	s.setState(ctx, s.State)

	// Steps run in a cancellable context so the cancel update can stop them.
	stepCtx, cancel := workflow.WithCancel(ctx)
	s.cancelStep = cancel
	for s.Next < len(s.rb.Steps) && s.Cancel == nil && s.Resolve == nil && s.State != contract.StateFailed {
		var stop bool
		if s.waitingAt(s.Next) {
			stop = s.resumeWait(stepCtx, s.Next)
		} else {
			stop = s.runStep(stepCtx, s.Next)
		}
		if s.suspended {
			return s.continueAsNew(ctx)
		}
		s.Next++
		if stop {
			break
		}
	}
	if s.Cancel != nil {
		return s.finishCancelled(ctx)
	}
	if s.State != contract.StateFailed && s.State != contract.StateContained && s.Resolve == nil {
		s.skipRemaining(ctx)
		s.setState(ctx, contract.StateContained)
		s.event(ctx, contract.EventContained, "", "", s.containedDetail())
	}

	// Hold containment until someone resolves or cancels; keep history small.
	err := workflow.Await(ctx, func() bool {
		return s.Resolve != nil || s.Cancel != nil || s.canContinueAsNew(ctx)
	})
	switch {
	case err != nil:
		return s.status(ctx), err
	case s.Cancel != nil:
		return s.finishCancelled(ctx)
	case s.Resolve != nil:
		return s.finishResolved(ctx)
	}
	return s.continueAsNew(ctx)
}

// canContinueAsNew is true when history has grown enough to start a new run
// and nothing would be lost by it: no notification in flight.
func (s *incident) canContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	grown := info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyLimit || info.GetCurrentHistorySize() > historySizeLimit
	return grown && s.inBackground == 0
}

// continueAsNew hands the whole state to a new run of the same incident.
// It is called from every waiting state (approval, escalation, wait step,
// contained, failed-but-open), so neither the history nor the signal count
// of one run ever reaches Temporal's limits.
func (s *incident) continueAsNew(ctx workflow.Context) (contract.Status, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && s.inBackground == 0 }); err != nil {
		return s.status(ctx), err
	}
	// A signal that arrived in this task may already be matched to the
	// signal goroutine's pending receive, where drainSignals cannot see it:
	// let that goroutine run first, or the alert would be lost.
	yielded := false
	workflow.Go(ctx, func(workflow.Context) { yielded = true })
	if err := workflow.Await(ctx, func() bool { return yielded }); err != nil {
		return s.status(ctx), err
	}
	s.drainSignals(ctx)
	next := s.in
	carry, err := json.Marshal(s.incidentState)
	if err != nil {
		return s.status(ctx), fmt.Errorf("carry state into the next run: %w", err)
	}
	next.Carry = carry
	next.Alert = nil // folded into the carried state
	s.log.Info("continuing as new", "historyLength", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "state", s.State)
	return contract.Status{}, workflow.NewContinueAsNewError(ctx, contract.IncidentWorkflow, next)
}

// waitingAt is true when step i was waiting when the previous run continued
// as new: an approval (or the escalation of a failed step) still pending,
// or a wait step still running.
func (s *incident) waitingAt(i int) bool {
	if p := s.Pending; p != nil && p.Decision == "" {
		return true
	}
	return s.Steps[i].State == contract.StepRunning && s.rb.Steps[i].Kind() == "wait"
}

// resumeWait continues the wait of step i where the previous run left it.
func (s *incident) resumeWait(ctx workflow.Context, i int) bool {
	step := s.rb.Steps[i]
	switch {
	case s.Pending != nil && s.Pending.Step == escalationID(step.ID):
		return s.awaitEscalation(ctx, i)
	case s.Pending != nil:
		return s.runApproval(ctx, i)
	default:
		return s.waitStep(ctx, i)
	}
}

// background runs fn (a notification) in its own goroutine, counted so
// continue-as-new waits for it.
func (s *incident) background(ctx workflow.Context, fn func(ctx workflow.Context)) {
	s.inBackground++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { s.inBackground-- }()
		fn(ctx)
	})
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
		if s.Steps[i].State == contract.StepPending {
			s.Steps[i].State = contract.StepSkipped
			s.Steps[i].Summary = "not run: the runbook stopped earlier"
			s.Outputs[s.Steps[i].ID] = stepVars{State: contract.StepSkipped}
		}
	}
	s.Next = len(s.Steps)
}

func (s *incident) finishResolved(ctx workflow.Context) (contract.Status, error) {
	req := *s.Resolve
	s.stopWatch(ctx)
	s.event(ctx, contract.EventResolveRequested, "", req.Actor, fmt.Sprintf("resolve with %s%s", req.Mode, reasonSuffix(req.Reason)))
	if s.Pending != nil && s.Pending.Decision == "" {
		s.Pending.Decision, s.Pending.Reason = contract.StepDenied, "incident resolved"
	}
	s.skipRemaining(ctx)
	final := contract.StateClosed
	if req.Mode == "rollback" {
		s.setState(ctx, contract.StateRollingBack)
		if failed := s.rollback(ctx); failed > 0 {
			final = contract.StateFailed
			s.Error = fmt.Sprintf("rollback: %d undo step(s) failed; see the timeline", failed)
		} else {
			final = contract.StateRolledBack
		}
	} else {
		s.releaseKeeping(ctx)
	}
	s.setState(ctx, final)
	s.event(ctx, contract.EventResolved, "", req.Actor, fmt.Sprintf("incident %s", final))
	return s.finish(ctx)
}

func (s *incident) finishCancelled(ctx workflow.Context) (contract.Status, error) {
	req := *s.Cancel
	s.stopWatch(ctx)
	s.skipRemaining(ctx)
	s.releaseKeeping(ctx)
	s.setState(ctx, contract.StateCancelled)
	held := 0
	for _, u := range s.Undo {
		if !u.Done {
			held++
		}
	}
	s.event(ctx, contract.EventCancelled, "", req.Actor, fmt.Sprintf("cancelled%s; %d change(s) left in place", reasonSuffix(req.Reason), held))
	return s.finish(ctx)
}

// finish lets running update handlers and notifications complete, then ends the run.
func (s *incident) finish(ctx workflow.Context) (contract.Status, error) {
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

// setState changes the incident state and its search attributes. From
// revision 1 on, the start request set them and continued runs inherit
// them, so only values that differ are upserted (each upsert is a history
// event and a visibility write).
func (s *incident) setState(ctx workflow.Context, state string) {
	s.State = state
	s.Updated = workflow.Now(ctx)
	var updates []temporal.SearchAttributeUpdate
	current := workflow.GetTypedSearchAttributes(ctx)
	for _, sa := range []struct {
		key   temporal.SearchAttributeKeyKeyword
		value string
	}{{saRunbook, s.rb.Metadata.Name}, {saSeverity, s.Severity}, {saState, state}} {
		if have, ok := current.GetKeyword(sa.key); s.in.Revision >= 1 && ok && have == sa.value {
			continue
		}
		updates = append(updates, sa.key.ValueSet(sa.value))
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		s.log.Warn("upsert search attributes", "error", err)
	}
}

// event appends to the timeline.
func (s *incident) event(ctx workflow.Context, typ, step, actor, detail string) {
	now := workflow.Now(ctx)
	s.Updated = now
	s.Timeline = append(s.Timeline, contract.Event{Time: now, Type: typ, Step: step, Actor: actor, Detail: detail})
}

func (s *incident) ref() contract.IncidentRef {
	ref := contract.IncidentRef{ID: s.ID, Runbook: s.rb.Metadata.Name, Severity: s.Severity}
	if s.rb.AWS != nil {
		ref.RoleARN, ref.Region = s.rb.AWS.RoleARN, s.rb.AWS.Region
	}
	return ref
}

// status builds the status query result.
func (s *incident) status(ctx workflow.Context) contract.Status {
	st := contract.Status{
		ID: s.ID, Runbook: s.rb.Metadata.Name, Title: s.rb.Metadata.Title, Severity: s.Severity,
		State: s.State, Source: s.in.Source, Requester: s.in.Requester, DryRun: s.in.DryRun || s.ForcedDryRun,
		Started: s.Started, Updated: s.Updated, Alerts: s.Alerts, Error: s.Error,
		Steps: append([]contract.StepStatus(nil), s.Steps...),
	}
	if p := s.Pending; p != nil && p.Decision == "" {
		pa := &contract.PendingApproval{Step: p.Step, Message: p.Message, Needed: p.Needed, Deadline: p.Deadline,
			Escalated: p.Escalated, Approvers: p.Approvers.Describe(), Thread: s.Thread, Approvals: []string{}}
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
	st.Leases = append(st.Leases, s.Leases...)
	return st
}

func (s *incident) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, contract.QueryStatus, func() (contract.Status, error) { return s.status(ctx), nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, contract.QueryTimeline, func() ([]contract.Event, error) { return s.Timeline, nil }); err != nil {
		return err
	}
	for _, kind := range []string{contract.UpdateApprove, contract.UpdateDeny} {
		kind := kind
		err := workflow.SetUpdateHandlerWithOptions(ctx, kind,
			func(ctx workflow.Context, d contract.Decision) (contract.DecisionResult, error) {
				return s.decide(ctx, kind, d)
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d contract.Decision) error {
				_, err := s.checkDecision(kind, d)
				return err
			}})
		if err != nil {
			return err
		}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateResolve,
		func(ctx workflow.Context, req contract.ResolveRequest) (contract.Status, error) {
			req.Mode = s.resolveMode(req)
			s.Resolve = &req
			if s.cancelStep != nil {
				s.cancelStep()
			}
			// Wait for the rollback so the caller learns the outcome.
			if err := workflow.Await(ctx, func() bool { return s.Finished }); err != nil {
				return contract.Status{}, err
			}
			return s.status(ctx), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req contract.ResolveRequest) error {
			return s.checkResolve(req)
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCancel,
		func(ctx workflow.Context, req contract.CancelRequest) error {
			s.Cancel = &req
			if s.cancelStep != nil {
				s.cancelStep()
			}
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req contract.CancelRequest) error {
			if s.Finished || s.Resolve != nil || s.Cancel != nil {
				return s.alreadyClosing()
			}
			if req.Actor == "" {
				return invalid("cancel needs an actor")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	alerts := workflow.GetSignalChannel(ctx, contract.SignalAlert)
	rejected := workflow.GetSignalChannel(ctx, contract.SignalRejectedDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		// An alert in the input is folded where its signal would have
		// been: first thing in this goroutine, so the timeline reads the same.
		if a := s.in.Alert; a != nil && s.in.Carry == nil {
			s.foldAlert(ctx, *a)
		}
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
				var a contract.AlertSignal
				c.Receive(ctx, &a)
				s.foldAlert(ctx, a)
			})
			sel.AddReceive(rejected, func(c workflow.ReceiveChannel, _ bool) {
				var r contract.RejectedDecision
				c.Receive(ctx, &r)
				s.event(ctx, contract.EventApprovalRejected, r.Decision.Step, r.Decision.Actor,
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
	alerts := workflow.GetSignalChannel(ctx, contract.SignalAlert)
	for {
		var a contract.AlertSignal
		if !alerts.ReceiveAsync(&a) {
			break
		}
		s.foldAlert(ctx, a)
	}
	rejected := workflow.GetSignalChannel(ctx, contract.SignalRejectedDecision)
	for {
		var r contract.RejectedDecision
		if !rejected.ReceiveAsync(&r) {
			break
		}
		s.event(ctx, contract.EventApprovalRejected, r.Decision.Step, r.Decision.Actor, fmt.Sprintf("%s via %s refused: %s", r.Kind, r.Decision.Via, r.Reason))
	}
}

func (s *incident) resolveMode(req contract.ResolveRequest) string {
	if req.Mode != "" {
		return req.Mode
	}
	if s.rb.OnResolve == "" {
		return "rollback"
	}
	return s.rb.OnResolve
}

// alreadyClosing refuses a second resolve or cancel. It names the request
// already under way: the state may not show it yet (it still says
// contained until the main loop takes the request up).
func (s *incident) alreadyClosing() error {
	switch {
	case s.Resolve != nil:
		return invalid("incident %s is already being resolved (by %s)", s.ID, s.Resolve.Actor)
	case s.Cancel != nil:
		return invalid("incident %s is already being cancelled (by %s)", s.ID, s.Cancel.Actor)
	}
	return invalid("incident %s is already %s", s.ID, s.State)
}

func (s *incident) checkResolve(req contract.ResolveRequest) error {
	if s.Finished || s.Resolve != nil || s.Cancel != nil {
		return s.alreadyClosing()
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
	case contract.StateContained, contract.StateFailed, contract.StateAwaitingApproval:
		return nil
	}
	return invalid("incident %s is %s: wait until it is contained, or cancel it", s.ID, s.State)
}

// Alert folding keeps these bounded so a storm cannot grow the state.
const (
	maxAlertNames  = 20
	maxAlertLabels = 50
)

func (s *incident) foldAlert(ctx workflow.Context, a contract.AlertSignal) {
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
	a = a.Bounded()
	n := max(a.Count, 1)
	if a.Status == "resolved" {
		f.Resolved += n
		s.event(ctx, contract.EventAlertFolded, "", a.Source, fmt.Sprintf("alert %s resolved (source %s)", a.Name, a.Source))
	} else {
		first := f.Count == 0
		f.Count += n
		if first {
			s.event(ctx, contract.EventAlertFolded, "", a.Source, fmt.Sprintf("alert %s firing (source %s)", a.Name, a.Source))
		}
	}
	if a.Name != "" && len(f.Names) < maxAlertNames && !slices.Contains(f.Names, a.Name) {
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
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), contract.ErrTypeInvalidRequest)
}

// rejected is a validator rejection of an approval decision.
func rejected(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), contract.ErrTypeApprovalRejected)
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
