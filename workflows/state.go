package workflows

import (
	"time"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// incidentState is the interpreter's whole state. Its fields are exported
// so continue-as-new can carry it into the next run as JSON.
type incidentState struct {
	Input    contract.IncidentInput `json:"-"`
	ID       string                 `json:"id"`
	Severity string                 `json:"severity"`
	State    string                 `json:"state"`
	Started  time.Time              `json:"started"`
	Updated  time.Time              `json:"updated"`
	// Next is the index of the next step to run.
	Next     int                      `json:"next"`
	Steps    []contract.StepStatus    `json:"steps"`
	Outputs  map[string]stepVars      `json:"outputs"`
	Undo     []contract.UndoEntry     `json:"undo"`
	Timeline []contract.Event         `json:"timeline"`
	Alerts   contract.AlertFold       `json:"alerts"`
	Pending  *approvalState           `json:"pending,omitempty"`
	Thread   contract.Thread          `json:"thread"`
	Error    string                   `json:"error,omitempty"`
	Resolve  *contract.ResolveRequest `json:"resolve,omitempty"`
	Cancel   *contract.CancelRequest  `json:"cancel,omitempty"`
	Finished bool                     `json:"finished"`
	Runs     int                      `json:"runs"` // how many times it continued as new
	// ForcedDryRun is set when the worker ran a step as a dry run although
	// the incident was not started as one (quench dev without AWS
	// credentials): nothing it does changes AWS, and status says so.
	ForcedDryRun bool `json:"forced_dry_run,omitempty"`
	// Leases are the targets the incident's steps hold (see leases.go).
	Leases []contract.HeldLease `json:"leases,omitempty"`
	// Watch is the drift watch's state (see drift.go).
	Watch *watchState `json:"watch,omitempty"`
}

// stepVars is what expressions see as steps.<id>.
type stepVars struct {
	Output   map[string]any `json:"output,omitempty"`
	Approved bool           `json:"approved"`
	Changed  bool           `json:"changed"`
	State    string         `json:"state"`
}

// approvalState is the approval step waiting for humans.
type approvalState struct {
	Step      string             `json:"step"`
	Message   string             `json:"message"`
	Needed    int                `json:"needed"`
	SelfOK    bool               `json:"self_ok"`
	Approvers runbooks.Approvers `json:"approvers"`
	Votes     []vote             `json:"votes"`
	Deadline  time.Time          `json:"deadline"`
	Escalated bool               `json:"escalated"`
	// Decision is "" while pending, then approved or denied.
	Decision  string `json:"decision,omitempty"`
	Reason    string `json:"reason,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`
	// Notified is set once the request notification finished (delivered or not).
	Notified bool `json:"notified"`
	// Requested is when the request went out; Planned is what it showed.
	// Both are kept so a run that continued as new escalates on time and
	// shows the same plan.
	Requested time.Time                `json:"requested,omitempty"`
	Planned   []contract.PlannedChange `json:"planned,omitempty"`
}

type vote struct {
	Actor  string    `json:"actor"`
	Via    string    `json:"via"`
	Kind   string    `json:"kind"` // approve | deny
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}
