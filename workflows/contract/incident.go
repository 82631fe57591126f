package contract

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/quenchhq/quench/runbooks"
)

// Incident states (status.state).
const (
	StateRunning          = "running"
	StateAwaitingApproval = "awaiting_approval"
	StateContained        = "contained"
	StateRollingBack      = "rolling_back"
	StateClosed           = "closed"
	StateFailed           = "failed"
	StateCancelled        = "cancelled"
	StateRolledBack       = "rolled_back"
)

// Step states (status.steps[].state).
const (
	StepPending    = "pending"
	StepRunning    = "running"
	StepSucceeded  = "succeeded"
	StepFailed     = "failed"
	StepSkipped    = "skipped"
	StepApproved   = "approved"
	StepDenied     = "denied"
	StepRolledBack = "rolled_back"
)

// IncidentInput starts an Incident workflow. The runbook is a snapshot:
// the workflow never reads files, so later edits cannot change a running incident.
type IncidentInput struct {
	ID       string           `json:"id"`
	Runbook  runbooks.Runbook `json:"runbook"`
	Params   map[string]any   `json:"params"`
	Severity string           `json:"severity,omitempty"` // overrides the runbook's
	Source   string           `json:"source"`             // cli | alertmanager | sns | eventbridge | generic
	// Requester is who started the incident (CLI user or alert source); they
	// may not approve their own run unless the policy allows it.
	Requester string            `json:"requester"`
	Labels    map[string]string `json:"labels,omitempty"`
	DryRun    bool              `json:"dry_run,omitempty"`
	// Carry is set only by continue-as-new: the previous run's state, opaque
	// to everyone but the workflow (it is the workflow's private state).
	Carry json.RawMessage `json:"carry,omitempty"`
	// Alert is the alert that started the incident when it was started
	// with its first alert in the input rather than as a signal (eager
	// start, see incidents.Client.WithEagerStart). The workflow folds it as
	// it folds a signal; continued runs do not carry it.
	Alert *AlertSignal `json:"alert,omitempty"`
	// Revision is the engine revision the incident was started under (see
	// CurrentRevision). Continued runs carry it with the input, so an
	// incident keeps one revision's behaviour for its whole life and a
	// history recorded under an older revision still replays.
	Revision int `json:"revision,omitempty"`
}

// CurrentRevision is the engine revision the starters (incidents.Client)
// stamp on new incidents.
//
//   - 0: the workflow upserts its search attributes at the start of every
//     run, and a version marker gates the drift watch.
//   - 1: the starter sets the search attributes on the start request; the
//     workflow upserts only values that change, and the drift watch needs
//     no marker. Each incident saves two history events and two visibility
//     writes (a marker's TemporalChangeVersion upsert and the state upsert),
//     which in a burst of new incidents is a fifth of the server's CPU.
const CurrentRevision = 1

// EffectiveSeverity is the incident's severity: the one it was started
// with, else its runbook's.
func (in IncidentInput) EffectiveSeverity() string {
	if in.Severity != "" {
		return in.Severity
	}
	return in.Runbook.Metadata.Severity
}

// StartSearchAttributes are the search attributes (all Keyword) a new
// incident is started with under revision 1 and later.
func (in IncidentInput) StartSearchAttributes() map[string]string {
	return map[string]string{
		SearchAttrRunbook:  in.Runbook.Metadata.Name,
		SearchAttrSeverity: in.EffectiveSeverity(),
		SearchAttrState:    StateRunning,
	}
}

// Decision is the input of the approve and deny Updates.
type Decision struct {
	Step   string `json:"step,omitempty"` // empty: the one pending approval
	Actor  string `json:"actor"`
	Via    string `json:"via"` // cli | slack
	Reason string `json:"reason,omitempty"`
	// SlackUserGroups are the clicker's user groups, resolved by the caller
	// (the workflow cannot call Slack from a validator).
	SlackUserGroups []string `json:"slack_user_groups,omitempty"`
}

// DecisionResult is the approve/deny Update's result.
type DecisionResult struct {
	Step      string `json:"step"`
	Outcome   string `json:"outcome"` // approved | denied | recorded (more approvals needed)
	Approvals int    `json:"approvals"`
	Needed    int    `json:"needed"`
}

// RejectedDecision reports a decision the validator refused.
type RejectedDecision struct {
	Decision Decision `json:"decision"`
	Kind     string   `json:"kind"` // approve | deny
	Reason   string   `json:"reason"`
}

// ResolveRequest is the resolve Update's input.
type ResolveRequest struct {
	// Mode is rollback | keep; empty uses the runbook's on_resolve.
	Mode   string `json:"mode,omitempty"`
	Actor  string `json:"actor"`
	Reason string `json:"reason,omitempty"`
}

// CancelRequest is the cancel Update's input.
type CancelRequest struct {
	Actor  string `json:"actor"`
	Reason string `json:"reason,omitempty"`
}

// AlertSignal folds an alert into a running incident (SignalWithStart).
type AlertSignal struct {
	Source      string            `json:"source"`
	Name        string            `json:"name"`
	Status      string            `json:"status"` // firing | resolved
	Fingerprint string            `json:"fingerprint,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	ReceivedAt  time.Time         `json:"received_at"`
	// Count is how many alerts this signal stands for when the sender
	// coalesced several into one (0 means 1).
	Count int `json:"count,omitempty"`
}

// Bounds on what one alert may carry into an incident's history. An alert
// storm of large payloads must not push a run toward Temporal's history
// size limit; what is cut is marked, never silently dropped.
const (
	// MaxAlertBytes bounds the labels of one alert, keys and values together.
	MaxAlertBytes      = 8 << 10
	MaxAlertLabelBytes = 1 << 10
	MaxAlertTextBytes  = 2 << 10
	// TruncatedMarker ends every value that was cut.
	TruncatedMarker = "…[truncated]"
	// DroppedLabelsKey counts labels left out to stay within MaxAlertBytes.
	DroppedLabelsKey = "quench_dropped_labels"
)

// Bounded returns a copy of a within the bounds above: labels in key order
// until MaxAlertBytes is reached (each key and value cut to
// MaxAlertLabelBytes; the number left out under DroppedLabelsKey), name
// and summary cut to MaxAlertTextBytes. A bounded alert stays under 13 KB.
func (a AlertSignal) Bounded() AlertSignal {
	a.Name = truncate(a.Name, MaxAlertTextBytes)
	a.Summary = truncate(a.Summary, MaxAlertTextBytes)
	a.Fingerprint = truncate(a.Fingerprint, MaxAlertLabelBytes)
	if len(a.Labels) == 0 {
		return a
	}
	keys := slices.Sorted(maps.Keys(a.Labels))
	labels := make(map[string]string, len(keys))
	used := 0
	for i, k := range keys {
		key, value := truncate(k, MaxAlertLabelBytes), truncate(a.Labels[k], MaxAlertLabelBytes)
		if used+len(key)+len(value) > MaxAlertBytes {
			labels[DroppedLabelsKey] = strconv.Itoa(len(keys) - i)
			break
		}
		used += len(key) + len(value)
		labels[key] = value
	}
	a.Labels = labels
	return a
}

// truncate cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(TruncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncatedMarker
}

// AlertFold is what status shows about alerts folded into the incident.
type AlertFold struct {
	Count     int               `json:"count"`
	Resolved  int               `json:"resolved"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Names     []string          `json:"names,omitempty"`  // bounded
	Labels    map[string]string `json:"labels,omitempty"` // bounded
}
