package contract

import (
	"time"
)

// Status is the status query's result (and `quench status -o json`).
type Status struct {
	ID        string       `json:"id"`
	Runbook   string       `json:"runbook"`
	Title     string       `json:"title,omitempty"`
	Severity  string       `json:"severity"`
	State     string       `json:"state"`
	Source    string       `json:"source"`
	Requester string       `json:"requester"`
	DryRun    bool         `json:"dry_run"`
	Started   time.Time    `json:"started"`
	Updated   time.Time    `json:"updated"`
	Steps     []StepStatus `json:"steps"`
	// PendingApproval is the approval step waiting for a decision, if any.
	PendingApproval *PendingApproval `json:"pending_approval,omitempty"`
	Alerts          AlertFold        `json:"alerts"`
	// Undo lists the undo records that resolve --rollback would run, newest first.
	Undo  []UndoEntry `json:"undo,omitempty"`
	Error string      `json:"error,omitempty"`
	// Leases are the targets this incident holds a lease on (see TargetWorkflow).
	Leases []HeldLease `json:"leases,omitempty"`
}

// StepStatus is one step's state.
type StepStatus struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Action   string         `json:"action,omitempty"`
	State    string         `json:"state"`
	Attempts int            `json:"attempts"`
	Started  *time.Time     `json:"started,omitempty"`
	Finished *time.Time     `json:"finished,omitempty"`
	Summary  string         `json:"summary,omitempty"`
	Changed  bool           `json:"changed,omitempty"`
	Output   map[string]any `json:"output,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// PendingApproval describes the approval a human must decide.
type PendingApproval struct {
	Step      string    `json:"step"`
	Message   string    `json:"message"`
	Needed    int       `json:"needed"`
	Approvals []string  `json:"approvals"`
	Deadline  time.Time `json:"deadline"`
	Escalated bool      `json:"escalated"`
	Approvers []string  `json:"approvers"`
	Thread    Thread    `json:"thread"`
}

// UndoEntry is one record on the undo stack.
type UndoEntry struct {
	Step string     `json:"step"`
	Undo UndoRecord `json:"undo"`
	Done bool       `json:"done"`
}

// Event types in the timeline.
const (
	EventStarted           = "incident_started"
	EventStepStarted       = "step_started"
	EventStepSucceeded     = "step_succeeded"
	EventStepFailed        = "step_failed"
	EventStepSkipped       = "step_skipped"
	EventApprovalRequested = "approval_requested"
	EventApprovalVote      = "approval_vote"
	EventApprovalGranted   = "approval_granted"
	EventApprovalDenied    = "approval_denied"
	EventApprovalRejected  = "approval_rejected"
	EventApprovalEscalated = "approval_escalated"
	EventNotifyFailed      = "notification_failed"
	EventContained         = "contained"
	EventAlertFolded       = "alert_folded"
	EventResolveRequested  = "resolve_requested"
	EventRollbackStep      = "rollback_step"
	EventRollbackFailed    = "rollback_step_failed"
	EventResolved          = "resolved"
	EventCancelled         = "cancelled"
	EventFailed            = "incident_failed"
	EventNote              = "note"
)

// Event is one timeline entry (`quench timeline -o json`).
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	Step   string    `json:"step,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Detail string    `json:"detail"`
	// Drift is set on drift_detected events.
	Drift *Drift `json:"drift,omitempty"`
}
