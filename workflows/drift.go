package workflows

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Drift watch. While the incident holds containment (contained, or waiting
// for an approval after automatic steps), every held change — a step with
// an undo record not yet run, or a lease not yet released — is verified
// each watch interval by running its action again as a dry run with the
// arguments it ran with. The catalogue's dry runs read the current state
// and report Changed when they would change something, so Changed is
// drift, read through the action's own read path.
//
// On drift: a drift_detected event (the target, expected = the step's
// output, found = the dry run's prior state, and who changed it when
// CloudTrail can tell), a line in the incident's Slack thread, then the
// runbook's on_drift: reapply runs the action for real again and drops the
// undo record it returns (the undo stack keeps the state before the
// incident); ask requests an approval whose approval re-applies; record
// stops there. A drift that stays as found is reported once.
//
// The watch is one goroutine with a timer. Its next check time is carried
// across continue-as-new; a check counts as background work, so a run
// never continues as new in the middle of one. Resolve and cancel wait for
// a running check, so a re-apply never races the rollback.

// driftVersion gates the watch's commands (timers, dry runs), which
// incidents recorded before it never issued.
const driftVersion = "drift-watch"

// lookupEventsAction is the catalogue's CloudTrail lookup, used to name who
// changed a drifted resource.
const lookupEventsAction = "cloudtrail.lookup_events"

// maxLookupWindow is how far back CloudTrail's event history goes.
const maxLookupWindow = 90 * 24 * time.Hour

// watchState is the drift watch's part of the carried state.
type watchState struct {
	// Next is when the next check is due; zero while nothing is watched.
	Next time.Time `json:"next,omitempty"`
	// Args are the arguments each held step ran with, by step id.
	Args map[string]map[string]any `json:"args,omitempty"`
	// Drifted is the found state last reported per step (JSON), so a
	// drift that stays (record, a denied ask) is reported once.
	Drifted map[string]string `json:"drifted,omitempty"`
	// Deferred marks drifts whose ask waits for another pending approval.
	Deferred map[string]bool `json:"deferred,omitempty"`
	// Applied is when quench last re-applied a step: CloudTrail events
	// before it are not the drift.
	Applied map[string]time.Time `json:"applied,omitempty"`
	// Unreadable marks steps whose last check failed, so an outage is
	// noted once, not every interval.
	Unreadable map[string]bool `json:"unreadable,omitempty"`
}

// watcher is the run's side of the watch (not carried).
type watcher struct {
	busy    bool // a check or a re-apply is running
	asking  bool // a drift approval is pending
	stopped bool // resolve or cancel began
}

func (s *incident) watchState() *watchState {
	if s.Watch == nil {
		s.Watch = &watchState{}
	}
	w := s.Watch
	// Maps left empty were not carried (omitempty).
	if w.Args == nil {
		w.Args = map[string]map[string]any{}
	}
	if w.Drifted == nil {
		w.Drifted = map[string]string{}
	}
	if w.Deferred == nil {
		w.Deferred = map[string]bool{}
	}
	if w.Applied == nil {
		w.Applied = map[string]time.Time{}
	}
	if w.Unreadable == nil {
		w.Unreadable = map[string]bool{}
	}
	return w
}

// holdArgs remembers the arguments of a step whose change is held, so the
// watch verifies exactly what ran.
func (s *incident) holdArgs(step string, args map[string]any, res contract.ActionResult) {
	if res.DryRun || res.Undo == nil && res.Target == "" {
		return
	}
	s.watchState().Args[step] = args
}

// startWatch starts the drift watch of this run, unless the runbook turned
// it off or the incident changes nothing.
func (s *incident) startWatch(ctx workflow.Context) {
	interval := s.rb.WatchInterval()
	if interval <= 0 || s.in.DryRun {
		return
	}
	// Revision 1 incidents were started by code that has the watch; older
	// ones ask the marker (recorded once per incident).
	if s.in.Revision < 1 && workflow.GetVersion(ctx, driftVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		// A drift approval pending when the previous run continued as new
		// is waited on again (awaitApproval does not ask twice).
		if p := s.Pending; p != nil && p.Decision == "" {
			if i := s.stepIndex(strings.TrimSuffix(p.Step, driftSuffix)); i >= 0 && p.Step == driftApprovalID(s.Steps[i].ID) && s.stepIndex(p.Step) < 0 {
				s.askReapply(ctx, i, p.Message)
			}
		}
		for {
			if err := workflow.Await(ctx, s.watching); err != nil {
				return
			}
			w := s.watchState()
			if w.Next.IsZero() {
				w.Next = workflow.Now(ctx).Add(interval)
			}
			if left := w.Next.Sub(workflow.Now(ctx)); left > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, left, func() bool { return !s.watching() }); err != nil {
					return
				}
				if !s.watching() {
					w.Next = time.Time{} // the next watched state starts a full period
					continue
				}
			}
			if s.canContinueAsNew(ctx) {
				// The run is about to continue as new: the next run checks
				// (Next is carried), none starts a check that would be cut off.
				_ = workflow.Await(ctx, func() bool { return !s.canContinueAsNew(ctx) })
				continue
			}
			s.checkHeld(ctx)
			w.Next = workflow.Now(ctx).Add(interval)
		}
	})
}

// stopWatch ends the watch before resolve or cancel change anything, and
// waits for a running check or re-apply to finish.
func (s *incident) stopWatch(ctx workflow.Context) {
	s.watch.stopped = true
	_ = workflow.Await(ctx, func() bool { return !s.watch.busy })
}

// watching is true while held changes are to be verified.
func (s *incident) watching() bool {
	if s.watch.stopped || s.Resolve != nil || s.Cancel != nil || s.Finished {
		return false
	}
	if s.State != contract.StateContained && s.State != contract.StateAwaitingApproval {
		return false
	}
	return len(s.held()) > 0
}

// held lists the steps whose change the incident holds, in step order.
func (s *incident) held() []int {
	var out []int
	for i, st := range s.Steps {
		if st.State != contract.StepSucceeded || s.rb.Steps[i].Action == "" {
			continue
		}
		if s.undoOf(st.ID) != nil || s.leaseOf(st.ID) != nil {
			out = append(out, i)
		}
	}
	return out
}

// checkHeld verifies every held change once.
func (s *incident) checkHeld(ctx workflow.Context) {
	s.watch.busy = true
	s.inBackground++
	defer func() { s.watch.busy = false; s.inBackground-- }()
	for _, i := range s.held() {
		if !s.watching() {
			return
		}
		s.checkStep(ctx, i)
	}
}

// heldArgs are the arguments step i ran with; an incident whose steps ran
// before the watch existed renders them again.
func (s *incident) heldArgs(i int) (map[string]any, error) {
	if args, ok := s.watchState().Args[s.Steps[i].ID]; ok {
		return args, nil
	}
	return s.renderArgs(s.rb.Steps[i])
}

// checkStep verifies held step i with a dry run of its action and acts on drift.
func (s *incident) checkStep(ctx workflow.Context, i int) {
	step := s.rb.Steps[i]
	w := s.watchState()
	args, err := s.heldArgs(i)
	var res contract.ActionResult
	if err == nil {
		in := contract.ActionInput{Incident: s.ref(), Step: step.ID, Args: args, DryRun: true}
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), step.Action, in).Get(ctx, &res)
	}
	if err != nil {
		if !w.Unreadable[step.ID] {
			w.Unreadable[step.ID] = true
			s.event(ctx, contract.EventNote, step.ID, "", fmt.Sprintf("drift watch could not verify %s: %s; it tries again every %s", step.Action, errorMessage(err), s.rb.WatchInterval()))
		}
		return
	}
	delete(w.Unreadable, step.ID)
	if !s.watching() { // resolve or cancel began during the read
		return
	}
	target := s.driftTarget(i, args)
	if !res.Changed {
		if _, was := w.Drifted[step.ID]; was {
			delete(w.Drifted, step.ID)
			delete(w.Deferred, step.ID)
			s.event(ctx, contract.EventNote, step.ID, "", fmt.Sprintf("drift watch: %s holds again", target))
		}
		return
	}
	found := canonical(res.Prior)
	d := &contract.Drift{Target: target, Action: step.Action, Expected: s.Steps[i].Output, Found: res.Prior, Policy: s.onDrift(step.Action)}
	if w.Drifted[step.ID] == found {
		// Reported already; an ask that waited for another approval goes now.
		if w.Deferred[step.ID] && s.canAsk() {
			delete(w.Deferred, step.ID)
			s.askReapply(ctx, i, s.driftAskMessage(i, d))
		}
		return
	}
	w.Drifted[step.ID] = found
	d.ChangedBy = s.whoChanged(ctx, i, args)
	exp, got := describeDrift(s.Steps[i].Summary, d.Expected, d.Found)
	detail := fmt.Sprintf("%s drifted: expected %s, found %s", target, exp, got)
	if d.ChangedBy != "" {
		detail += "; changed by " + d.ChangedBy
	}
	detail += "; on_drift " + d.Policy
	s.event(ctx, contract.EventDriftDetected, step.ID, "", detail)
	s.Timeline[len(s.Timeline)-1].Drift = d
	s.postUpdate(ctx, ":warning: Containment drift: "+detail)
	switch d.Policy {
	case "reapply":
		s.reapply(ctx, i, args, "")
	case "ask":
		if !s.canAsk() {
			w.Deferred[step.ID] = true
			s.event(ctx, contract.EventNote, step.ID, "", "re-apply is asked once the pending approval is decided")
			return
		}
		s.askReapply(ctx, i, s.driftAskMessage(i, d))
	}
}

// onDrift is the runbook's policy for drift of a change made by action.
func (s *incident) onDrift(action string) string {
	if w := s.rb.Watch; w != nil && w.OnDrift != "" {
		return w.OnDrift
	}
	return runbooks.DefaultOnDrift(action)
}

// reapply runs held step i again for real. The undo record it returns is
// dropped: the step's record already restores the state before the
// incident, and a lease records a step's change only once.
func (s *incident) reapply(ctx workflow.Context, i int, args map[string]any, actor string) {
	if !s.watching() {
		return
	}
	step := s.rb.Steps[i]
	in := contract.ActionInput{Incident: s.ref(), Step: step.ID, Args: args}
	res, err := s.execute(ctx, step.Action, step, in, nil)
	if err != nil {
		msg := fmt.Sprintf("re-applying %s failed: %s; the change stays drifted", step.Action, errorMessage(err))
		s.event(ctx, contract.EventNote, step.ID, actor, msg)
		s.postUpdate(ctx, ":x: Containment drift: "+msg)
		return
	}
	w := s.watchState()
	delete(w.Drifted, step.ID)
	w.Applied[step.ID] = workflow.Now(ctx)
	detail := res.Summary + " (the undo record still restores the state before the incident)"
	s.event(ctx, contract.EventDriftReapplied, step.ID, actor, detail)
	s.postUpdate(ctx, ":white_check_mark: Containment re-applied: "+detail)
}

// driftSuffix names a drift approval after its step, as escalations are.
const driftSuffix = "-drift"

func driftApprovalID(step string) string { return step + driftSuffix }

// canAsk is true when a drift approval can be requested now: the incident
// is contained and no other approval is pending (there is one at a time).
func (s *incident) canAsk() bool {
	return s.watching() && !s.watch.asking && s.State == contract.StateContained && (s.Pending == nil || s.Pending.Decision != "")
}

func (s *incident) driftAskMessage(i int, d *contract.Drift) string {
	exp, got := describeDrift(s.Steps[i].Summary, d.Expected, d.Found)
	return fmt.Sprintf("Containment drifted: %s (expected %s, found %s). Approve to re-apply step %s (%s); the undo record stays as it was before the incident. Deny to leave it as found.",
		d.Target, exp, got, s.Steps[i].ID, d.Action)
}

// askReapply requests an approval to re-apply held step i and re-applies
// once approved. It waits in its own goroutine, so the watch goes on; a
// run may continue as new meanwhile, and the next run waits on the same
// request (startWatch).
func (s *incident) askReapply(ctx workflow.Context, i int, msg string) {
	s.watch.asking = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { s.watch.asking = false }()
		id := driftApprovalID(s.Steps[i].ID)
		policy := runbooks.EffectivePolicy(&s.rb, runbooks.Step{Approval: &runbooks.ApprovalStep{}})
		if s.awaitApproval(ctx, id, id, msg, policy) != contract.StepApproved || !s.watching() {
			return
		}
		args, err := s.heldArgs(i)
		if err != nil {
			s.event(ctx, contract.EventNote, s.Steps[i].ID, "", "cannot re-apply: "+err.Error())
			return
		}
		s.watch.busy = true
		s.inBackground++
		defer func() { s.watch.busy = false; s.inBackground-- }()
		s.reapply(ctx, i, args, strings.Join(approvers(s.Pending), ", "))
	})
}

// driftTarget names what step i holds: its lease's target, else its
// action and the arguments that name a resource.
func (s *incident) driftTarget(i int, args map[string]any) string {
	if l := s.leaseOf(s.Steps[i].ID); l != nil {
		return describeTarget(l.Target)
	}
	var names []string
	for _, k := range workflow.DeterministicKeys(args) {
		if v, ok := args[k].(string); ok && v != "" && (strings.HasSuffix(k, "_name") || strings.HasSuffix(k, "_id") || k == "key") {
			names = append(names, k+"="+v)
		}
	}
	if len(names) == 0 {
		return s.rb.Steps[i].Action + " of step " + s.Steps[i].ID
	}
	return s.rb.Steps[i].Action + " " + strings.Join(names, " ")
}

// resourceArgs are the arguments CloudTrail can name a resource by, most
// specific first.
var resourceArgs = []string{"access_key_id", "api_key_id", "function_name", "usage_plan_id", "alias_id", "agent_id", "guardrail_id", "role_name", "user_name", "name", "bucket", "key"}

// whoChanged asks CloudTrail (cloudtrail.lookup_events) for the newest
// write on step i's resource since quench last made the change, and names
// its caller. It is "" when CloudTrail cannot tell yet (it delivers events
// minutes late) or the lookup fails: attribution never holds up the watch.
func (s *incident) whoChanged(ctx workflow.Context, i int, args map[string]any) string {
	resource := ""
	if l := s.leaseOf(s.Steps[i].ID); l != nil {
		res, _, _ := strings.Cut(l.Target, "#")
		resource = res[strings.LastIndexAny(res, "/:")+1:]
	}
	for _, k := range resourceArgs {
		if v, ok := args[k].(string); ok && v != "" && resource == "" {
			resource = v
		}
	}
	if resource == "" {
		return ""
	}
	since := s.watchState().Applied[s.Steps[i].ID]
	if f := s.Steps[i].Finished; f != nil && f.After(since) {
		since = *f
	}
	window := min(workflow.Now(ctx).Sub(since).Truncate(time.Second)+time.Minute, maxLookupWindow)
	in := contract.ActionInput{Incident: s.ref(), Step: s.Steps[i].ID, Args: map[string]any{"resource_name": resource, "window": window.String(), "max_events": 50}}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	var res contract.ActionResult
	if err := workflow.ExecuteActivity(actx, lookupEventsAction, in).Get(ctx, &res); err != nil {
		s.log.Warn("drift watch: CloudTrail lookup failed", "step", s.Steps[i].ID, "error", err)
		return ""
	}
	recent, _ := res.Output["recent"].([]any)
	for _, r := range recent { // newest first
		e, _ := r.(map[string]any)
		name, _ := e["name"].(string)
		at, _ := time.Parse(time.RFC3339, fmt.Sprint(e["time"]))
		if name == "" || !at.After(since) || readOnlyEvent(name) {
			continue
		}
		who := fmt.Sprint(e["username"])
		if who == "" || who == "<nil>" {
			who = "an unnamed caller"
		}
		detail := fmt.Sprintf("%s (%s at %s", who, name, at.UTC().Format(time.RFC3339))
		if ip, _ := e["source_ip"].(string); ip != "" {
			detail += " from " + ip
		}
		return detail + ", per CloudTrail)"
	}
	return ""
}

// readOnlyEvent is true for CloudTrail event names that change nothing.
func readOnlyEvent(name string) bool {
	return slices.ContainsFunc([]string{"Get", "List", "Describe", "Lookup", "Head"}, func(p string) bool { return strings.HasPrefix(name, p) })
}

// describeDrift says what was expected and what was found: the values of
// the keys both name that differ, or else the step's own summary and what
// the found state says beyond the expected one.
func describeDrift(summary string, expected, found map[string]any) (exp, got string) {
	var e, g []string
	for _, k := range workflow.DeterministicKeys(found) {
		want, ok := expected[k]
		if ok && !reflect.DeepEqual(canonicalValue(want), canonicalValue(found[k])) {
			e = append(e, k+"="+short(want))
			g = append(g, k+"="+short(found[k]))
		}
	}
	if len(e) > 0 {
		return strings.Join(e, " "), strings.Join(g, " ")
	}
	for _, k := range workflow.DeterministicKeys(found) {
		if _, ok := expected[k]; !ok {
			g = append(g, k+"="+short(found[k]))
		}
	}
	if len(g) == 0 {
		g = append(g, "it changed")
	}
	return fmt.Sprintf("%q", summary), strings.Join(g, " ")
}

// short is a value for a one-line message.
func short(v any) string {
	b, _ := json.Marshal(v)
	out := string(b)
	if s, ok := v.(string); ok {
		out = s
	}
	if len(out) > 80 {
		out = out[:77] + "..."
	}
	return out
}

// canonical is a value's JSON (map keys sorted), for comparing found states.
func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// canonicalValue makes numbers and lists compare alike whether they came
// from an activity result or from the carried state (both JSON).
func canonicalValue(v any) any {
	var out any
	_ = json.Unmarshal([]byte(canonical(v)), &out)
	return out
}
