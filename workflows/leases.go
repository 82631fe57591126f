package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/workflows/contract"
)

// Target leases. One TargetLease workflow per target (a function's reserved
// concurrency, a usage plan's throttle, an alias's invocation state, an
// access key's status) keeps who holds it and the changes holders made,
// oldest first. The action registry acquires before an action runs and
// records its undo after (both idempotent per incident and step, so a
// worker lost between them is harmless); the Incident workflow releases at
// resolve or cancel and runs the undo record the release hands back.
//
// Changes are a stack: each holder relies on one change (its own, or the
// newest one when it found the target already contained). A release drops
// every change no remaining holder relies on, and hands back the undo of the
// oldest dropped one: nothing while an older holder relies on a newer
// change, the previous holder's tighter value when a later one leaves, the
// pre-incident state when the last one leaves. Releases in any order end at
// the original state, and no target is loosened under an open holder.

// targetLinger is how long a target workflow with no holder waits for the
// next incident (and answers retried releases) before it completes.
const targetLinger = 10 * time.Minute

// releasedKept bounds the release answers a target keeps for retries.
const releasedKept = 200

// TargetLease is the workflow that keeps one target's leases.
func TargetLease(ctx workflow.Context, in contract.TargetInput) error {
	t := &target{TargetState: contract.TargetState{Key: in.Key, Holders: []contract.TargetHolder{}}, drops: map[string]int{}}
	if in.Carry != nil {
		t.TargetState, t.released = in.Carry.State, in.Carry.Released
	}
	if err := t.register(ctx); err != nil {
		return err
	}
	for {
		grown := func() bool { return workflow.GetInfo(ctx).GetContinueAsNewSuggested() }
		if t.idle() {
			// The update that started this run is admitted before the
			// first await, so an idle target never misses it.
			held, err := workflow.AwaitWithTimeout(ctx, targetLinger, func() bool { return !t.idle() || grown() })
			if err != nil {
				return err
			}
			if !held && t.idle() {
				return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			}
		} else if err := workflow.Await(ctx, func() bool { return t.idle() || grown() }); err != nil {
			return err
		}
		if grown() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			carry := &contract.TargetCarry{State: t.TargetState, Released: t.released}
			return workflow.NewContinueAsNewError(ctx, contract.TargetWorkflow, contract.TargetInput{Key: t.Key, Carry: carry})
		}
	}
}

// target is the lease state of one target.
type target struct {
	contract.TargetState
	released []contract.TargetReleaseDone
	// drops counts the drops of each incident/step, so an acquire that was
	// waiting when its step was withdrawn does not come back as a holder.
	// Not carried: a run continues as new only with no update waiting.
	drops map[string]int
}

func (t *target) idle() bool { return len(t.Holders) == 0 && t.InFlight == nil }

func (t *target) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, contract.QueryTarget, func() (contract.TargetState, error) { return t.TargetState, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateTargetAcquire, t.acquire,
		workflow.UpdateHandlerOptions{Validator: func(req contract.TargetAcquire) error { return t.check(req.Key, req.Incident, req.Step) }}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateTargetRecord, t.record,
		workflow.UpdateHandlerOptions{Validator: func(req contract.TargetRecord) error { return t.check(req.Key, req.Incident, req.Step) }}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateTargetRelease, t.release,
		workflow.UpdateHandlerOptions{Validator: func(req contract.TargetRelease) error { return t.check(req.Key, req.Incident, "release") }})
}

// check refuses requests meant for another target or that name no holder.
func (t *target) check(key, incident, step string) error {
	switch {
	case key != t.Key:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("request for target %q sent to the workflow of %q", key, t.Key), contract.ErrTypeInvalidRequest, nil)
	case incident == "" || step == "":
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("request for target %q names no incident or step", key), contract.ErrTypeInvalidRequest, nil)
	}
	return nil
}

func (t *target) holder(incident string) int {
	return slices.IndexFunc(t.Holders, func(h contract.TargetHolder) bool { return h.Incident == incident })
}

// releasedAnswer is the answer to the incident's latest release (an id
// can come back: an alert that fires again after its incident closed
// starts a new incident under the same id) and how many releases the
// target had answered before it.
func (t *target) releasedAnswer(incident string) (contract.TargetReleased, int, bool) {
	for i := len(t.released) - 1; i >= 0; i-- {
		if r := t.released[i]; r.Incident == incident {
			return r.Result, r.Seq, true
		}
	}
	return contract.TargetReleased{}, 0, false
}

// acquire makes the incident a holder and its step the change in flight.
// It waits while another incident's change is in flight, so the first
// recorded undo is always the state before any incident.
func (t *target) acquire(ctx workflow.Context, req contract.TargetAcquire) (contract.TargetAcquired, error) {
	var res contract.TargetAcquired
	releasesBefore, dropsBefore := t.Releases, t.drops[req.Incident+"/"+req.Step]
	deadline := workflow.Now(ctx).Add(contract.TargetInFlightLimit)
	for t.InFlight != nil && t.InFlight.Incident != req.Incident {
		res.Waited = true
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			// The other step gave up without recording (its incident
			// will release at resolve); stop waiting for it.
			res.Stale = true
			break
		}
		if _, err := workflow.AwaitWithTimeout(ctx, left, func() bool { return t.InFlight == nil || t.InFlight.Incident == req.Incident }); err != nil {
			return res, err
		}
	}
	// An incident that released, or a step withdrawn, while this acquire
	// waited (resolved or cancelled meanwhile) must not come back as a
	// holder: nothing would release it again.
	if _, seq, gone := t.releasedAnswer(req.Incident); gone && seq >= releasesBefore && t.holder(req.Incident) < 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("incident %s already released target %s", req.Incident, t.Key), contract.ErrTypeInvalidRequest, nil)
	}
	if t.drops[req.Incident+"/"+req.Step] != dropsBefore {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s of incident %s withdrew from target %s while waiting", req.Step, req.Incident, t.Key), contract.ErrTypeInvalidRequest, nil)
	}
	inFlight := req
	t.InFlight = &inFlight
	i := t.holder(req.Incident)
	if i < 0 {
		t.Holders = append(t.Holders, contract.TargetHolder{Incident: req.Incident, Since: workflow.Now(ctx), Relies: -1})
		i = len(t.Holders) - 1
	}
	if h := &t.Holders[i]; !slices.Contains(h.Steps, req.Step) {
		h.Steps = append(h.Steps, req.Step)
	}
	for _, h := range t.Holders {
		if h.Incident != req.Incident {
			res.Holders = append(res.Holders, h.Incident)
		}
	}
	return res, nil
}

// record stores a step's outcome once: a retried attempt that records
// again changes nothing, so a target never gets a second prior state.
func (t *target) record(ctx workflow.Context, req contract.TargetRecord) error {
	if req.Drop {
		t.drops[req.Incident+"/"+req.Step]++
	}
	if f := t.InFlight; f != nil && f.Incident == req.Incident && f.Step == req.Step {
		t.InFlight = nil
	}
	i := t.holder(req.Incident)
	if i < 0 {
		return nil // released meanwhile
	}
	h := &t.Holders[i]
	if slices.Contains(h.Recorded, req.Step) {
		return nil
	}
	if req.Drop {
		h.Steps = slices.DeleteFunc(h.Steps, func(s string) bool { return s == req.Step })
		if len(h.Steps) == 0 && len(h.Recorded) == 0 {
			t.Holders = slices.Delete(t.Holders, i, i+1)
		}
		return nil
	}
	h.Recorded = append(h.Recorded, req.Step)
	if req.Undo != nil {
		t.Changes = append(t.Changes, contract.TargetChange{Incident: req.Incident, Step: req.Step, Summary: req.Summary, Undo: *req.Undo, At: workflow.Now(ctx)})
	}
	// A holder relies on the newest change when it recorded: its own, or
	// the one it found in place.
	h.Relies = max(h.Relies, len(t.Changes)-1)
	return nil
}

// release ends the incident's lease and says what to restore (see the
// comment at the top of this file). A retried release gets the first answer.
func (t *target) release(_ workflow.Context, req contract.TargetRelease) (contract.TargetReleased, error) {
	if r, _, ok := t.releasedAnswer(req.Incident); ok && t.holder(req.Incident) < 0 {
		return r, nil
	}
	i := t.holder(req.Incident)
	if i < 0 {
		return contract.TargetReleased{NotHeld: true}, nil
	}
	t.Holders = slices.Delete(t.Holders, i, i+1)
	if f := t.InFlight; f != nil && f.Incident == req.Incident {
		t.InFlight = nil
	}
	res := contract.TargetReleased{Last: len(t.Holders) == 0}
	if len(t.Changes) > 0 {
		orig := t.Changes[0].Undo
		res.Original = &orig
	}
	need := -1
	for _, h := range t.Holders {
		res.StillHeldBy = append(res.StillHeldBy, h.Incident)
		need = max(need, h.Relies)
	}
	// Keep leaves the target as it is: nothing runs, and the changes stay
	// so a later holder's rollback still restores the original.
	if need < len(t.Changes)-1 && !req.Keep {
		u := t.Changes[need+1].Undo
		res.Restore = &u
		t.Changes = t.Changes[:need+1]
	}
	if res.Last {
		t.Changes = nil // the next incident's prior is the target as it is then
	}
	t.released = append(t.released, contract.TargetReleaseDone{Incident: req.Incident, Result: res, Seq: t.Releases})
	t.Releases++
	if len(t.released) > releasedKept {
		t.released = t.released[len(t.released)-releasedKept:]
	}
	return res, nil
}

// --- the Incident workflow's side ---

// leaseVersion gates the commands of releasing leases (an activity per
// held target at resolve and cancel).
const leaseVersion = "target-leases"

// noteLease remembers that step holds a lease on its target.
func (s *incident) noteLease(step string, res contract.ActionResult) {
	if res.Target != "" && !res.DryRun {
		s.Leases = append(s.Leases, contract.HeldLease{Step: step, Target: res.Target})
	}
}

// leaseOf returns the unreleased lease step holds, or nil.
func (s *incident) leaseOf(step string) *contract.HeldLease {
	for i := range s.Leases {
		if s.Leases[i].Step == step && !s.Leases[i].Released {
			return &s.Leases[i]
		}
	}
	return nil
}

// releaseActivity calls ActivityTargetRelease. Temporal being briefly
// unreachable from the worker is retried; the release is idempotent.
func (s *incident) releaseActivity(ctx workflow.Context, l *contract.HeldLease, keep bool) (contract.TargetReleased, error) {
	workflow.GetVersion(ctx, leaseVersion, workflow.DefaultVersion, 1)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
	})
	var res contract.TargetReleased
	err := workflow.ExecuteActivity(actx, contract.ActivityTargetRelease, contract.TargetRelease{Key: l.Target, Incident: s.ID, Keep: keep}).Get(ctx, &res)
	return res, err
}

// releaseKeeping releases every lease without restoring anything
// (resolve --keep, cancel): the incident no longer relies on its targets,
// and whoever releases last decides what is restored.
func (s *incident) releaseKeeping(ctx workflow.Context) {
	for i := range s.Leases {
		l := &s.Leases[i]
		if l.Released {
			continue
		}
		res, err := s.releaseActivity(ctx, l, true)
		if err != nil {
			s.event(ctx, contract.EventNote, l.Step, "", fmt.Sprintf("release of target %s failed: %s; it ends when its other holders release", l.Target, errorMessage(err)))
			continue
		}
		l.Released = true
		if len(res.StillHeldBy) > 0 {
			s.event(ctx, contract.EventNote, l.Step, "", fmt.Sprintf("released %s, left as it is; still held by incident %s, whose rollback decides what is restored",
				describeTarget(l.Target), strings.Join(res.StillHeldBy, ", ")))
		}
	}
}

// rollbackLease releases step's lease in a rollback and runs what the
// release hands back. own is the step's own undo entry, if any: it runs
// only when the target workflow no longer knows the lease. It reports
// whether an undo failed.
func (s *incident) rollbackLease(ctx workflow.Context, l *contract.HeldLease, own *contract.UndoEntry) (failed bool) {
	res, err := s.releaseActivity(ctx, l, false)
	if err != nil {
		s.event(ctx, contract.EventRollbackFailed, l.Step, "", fmt.Sprintf("release of target %s failed: %s", l.Target, errorMessage(err)))
		return true
	}
	l.Released = true
	restore := res.Restore
	if res.NotHeld && own != nil {
		restore = &own.Undo
	}
	if own != nil {
		own.Done = true // the lease decides; the step's own record is superseded
	}
	if restore == nil {
		if !res.Last && !res.NotHeld {
			later := "the original state"
			if res.Original != nil {
				later = contract.DescribeUndo(*res.Original)
			}
			s.event(ctx, contract.EventRollbackDeferred, l.Step, "", fmt.Sprintf("%s stays as contained: still held by incident %s; restored (%s) when %s resolves",
				describeTarget(l.Target), strings.Join(res.StillHeldBy, ", "), later, plural(len(res.StillHeldBy), "that one", "the last of them")))
		}
		// The last holder with nothing to restore: no holder changed it.
		return false
	}
	in := contract.ActionInput{Incident: s.ref(), Step: l.Step, Args: restore.Args}
	out, err := s.execute(ctx, restore.Action, s.stepOf(l.Step), in, nil)
	if err != nil {
		s.event(ctx, contract.EventRollbackFailed, l.Step, "", fmt.Sprintf("%s of %s failed: %s", restore.Action, describeTarget(l.Target), errorMessage(err)))
		return true
	}
	if idx := s.stepIndex(l.Step); idx >= 0 {
		s.Steps[idx].State = contract.StepRolledBack
	}
	detail := out.Summary
	if detail == "" {
		detail = restore.Action + " done"
	}
	if !res.Last && !res.NotHeld {
		detail += fmt.Sprintf(" (back to the containment of incident %s, which still holds %s)", strings.Join(res.StillHeldBy, ", "), describeTarget(l.Target))
	}
	s.event(ctx, contract.EventRollbackStep, l.Step, "", detail)
	for _, w := range out.Warnings {
		s.event(ctx, contract.EventNote, l.Step, "", "warning: "+w)
	}
	return false
}

// describeTarget turns "lambda:123:us-east-1:function/chat-backend#reserved-concurrency"
// into "reserved-concurrency of lambda function/chat-backend".
func describeTarget(key string) string {
	res, attr, _ := strings.Cut(key, "#")
	parts := strings.SplitN(res, ":", 4)
	if len(parts) < 4 {
		return key
	}
	return fmt.Sprintf("%s of %s %s", attr, parts[0], parts[3])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
