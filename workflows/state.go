package workflows

import (
	"time"

	"github.com/quenchhq/quench/activities"
)

// incidentState is the interpreter's whole state. Its fields are exported
// so continue-as-new can carry it into the next run as JSON.
type incidentState struct {
	Input    IncidentInput `json:"-"`
	ID       string        `json:"id"`
	Severity string        `json:"severity"`
	State    string        `json:"state"`
	Started  time.Time     `json:"started"`
	Updated  time.Time     `json:"updated"`
	// Next is the index of the next step to run.
	Next     int                 `json:"next"`
	Steps    []StepStatus        `json:"steps"`
	Outputs  map[string]stepVars `json:"outputs"`
	Undo     []UndoEntry         `json:"undo"`
	Timeline []Event             `json:"timeline"`
	Alerts   AlertFold           `json:"alerts"`
	Pending  *approvalState      `json:"pending,omitempty"`
	Thread   activities.Thread   `json:"thread"`
	Error    string              `json:"error,omitempty"`
	Resolve  *ResolveRequest     `json:"resolve,omitempty"`
	Cancel   *CancelRequest      `json:"cancel,omitempty"`
	Finished bool                `json:"finished"`
	Runs     int                 `json:"runs"` // how many times it continued as new
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
	Step      string      `json:"step"`
	Message   string      `json:"message"`
	Needed    int         `json:"needed"`
	SelfOK    bool        `json:"self_ok"`
	Approvers approverSet `json:"approvers"`
	Votes     []vote      `json:"votes"`
	Deadline  time.Time   `json:"deadline"`
	Escalated bool        `json:"escalated"`
	// Decision is "" while pending, then approved or denied.
	Decision  string `json:"decision,omitempty"`
	Reason    string `json:"reason,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`
	// Notified is set once the request notification finished (delivered or not).
	Notified bool `json:"notified"`
}

type vote struct {
	Actor  string    `json:"actor"`
	Via    string    `json:"via"`
	Kind   string    `json:"kind"` // approve | deny
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// approverSet is who may decide, as plain lists (deterministic, JSON-friendly).
type approverSet struct {
	SlackUsers  []string `json:"slack_users,omitempty"`
	SlackGroups []string `json:"slack_groups,omitempty"`
	CLIUsers    []string `json:"cli_users,omitempty"`
}

func (a approverSet) describe() []string {
	var out []string
	for _, u := range a.SlackUsers {
		out = append(out, "slack:"+u)
	}
	for _, g := range a.SlackGroups {
		out = append(out, "slack-group:"+g)
	}
	for _, u := range a.CLIUsers {
		out = append(out, "cli:"+u)
	}
	return out
}

func (a *approverSet) add(b approverSet) {
	a.SlackUsers = appendUnique(a.SlackUsers, b.SlackUsers...)
	a.SlackGroups = appendUnique(a.SlackGroups, b.SlackGroups...)
	a.CLIUsers = appendUnique(a.CLIUsers, b.CLIUsers...)
}

func appendUnique(list []string, more ...string) []string {
	for _, m := range more {
		if !contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
