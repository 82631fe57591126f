package contract

import (
	"time"

	"github.com/quenchhq/quench/runbooks"
)

// PlannedChange is what a gated step will change, from a dry run.
type PlannedChange struct {
	Step    string         `json:"step"`
	Action  string         `json:"action"`
	Summary string         `json:"summary"`
	Prior   map[string]any `json:"prior,omitempty"`
}

// Thread identifies the incident's Slack thread (empty until the first post).
type Thread struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// ApprovalRequest asks humans to approve a step.
type ApprovalRequest struct {
	Incident     IncidentRef        `json:"incident"`
	Step         string             `json:"step"`
	Message      string             `json:"message"`
	Approvers    runbooks.Approvers `json:"approvers"`
	MinApprovals int                `json:"min_approvals"`
	Requester    string             `json:"requester"`
	Deadline     time.Time          `json:"deadline"`
	Planned      []PlannedChange    `json:"planned,omitempty"`
	Thread       Thread             `json:"thread"`
	// Escalation is set when this request goes to the escalation approvers.
	Escalation bool `json:"escalation,omitempty"`
}

// NotifyResult says whether a message reached people and where it is.
type NotifyResult struct {
	Delivered bool `json:"delivered"`
	// Thread is the incident thread (set by the first post).
	Thread Thread `json:"thread"`
	// MessageTS is the posted message, so it can be updated later.
	MessageTS string `json:"message_ts,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// ApprovalDecided tells the notifier that an approval step was decided, so
// the request message can be replaced and its buttons removed.
type ApprovalDecided struct {
	Incident  IncidentRef `json:"incident"`
	Step      string      `json:"step"`
	Decision  string      `json:"decision"` // approved | denied
	Actors    []string    `json:"actors"`
	Reason    string      `json:"reason,omitempty"`
	At        time.Time   `json:"at"`
	Thread    Thread      `json:"thread"`
	MessageTS string      `json:"message_ts,omitempty"`
}

// IncidentUpdate posts one line into the incident thread.
type IncidentUpdate struct {
	Incident IncidentRef `json:"incident"`
	Thread   Thread      `json:"thread"`
	Text     string      `json:"text"`
}
