package contract

import (
	"encoding/json"
	"time"
)

// IncidentRef tells an action which incident it acts for, so names it
// creates (policy names, client tokens) are deterministic per incident.
type IncidentRef struct {
	ID       string `json:"id"`
	Runbook  string `json:"runbook"`
	Severity string `json:"severity"`
	// RoleARN and Region, when set, are the AWS role to assume and the region to act in.
	RoleARN string `json:"role_arn,omitempty"`
	Region  string `json:"region,omitempty"`
}

// ActionInput is the single input of every action activity.
type ActionInput struct {
	Incident IncidentRef    `json:"incident"`
	Step     string         `json:"step"`
	Args     map[string]any `json:"args"`
	// DryRun actions read state and report what they would change; they never mutate.
	DryRun bool `json:"dry_run,omitempty"`
	// Checkpoint is what an earlier attempt of this step recorded before it
	// failed or its worker died (the prior state it read before writing).
	// The workflow hands it to the next attempt, which must use it instead
	// of reading state that may already be its own change.
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
}

// AttemptCheckpoint is the one heartbeat detail an action attempt records,
// and the one detail of the error it fails with, so the workflow can pass
// Checkpoint on to the next attempt (see ActionInput.Checkpoint).
type AttemptCheckpoint struct {
	Checkpoint json.RawMessage `json:"quench_checkpoint,omitempty"`
}

// Heartbeats: every action attempt heartbeats at least this often, and the
// workflow gives up on an attempt whose worker has been silent for
// ActionHeartbeatTimeout, so a killed worker costs seconds, not the step timeout.
const (
	ActionHeartbeatTimeout  = 15 * time.Second
	ActionHeartbeatInterval = 3 * time.Second
)

// UndoRecord is how to reverse what a step changed: an action and its arguments.
type UndoRecord struct {
	Action string         `json:"action"`
	Args   map[string]any `json:"args"`
}

// ActionResult is the single result of every action activity.
type ActionResult struct {
	// Changed is true when the action changed something (or, in a dry run, would have).
	Changed bool `json:"changed"`
	// Summary is one human line: what was (or would be) done.
	Summary string `json:"summary"`
	// Prior is the state the action read before changing anything.
	Prior map[string]any `json:"prior,omitempty"`
	// Output is what later steps may use as steps.<id>.output.
	Output map[string]any `json:"output,omitempty"`
	// Undo reverses exactly what this step changed; nil when nothing changed.
	Undo *UndoRecord `json:"undo,omitempty"`
	// Warnings are things an operator should know (e.g. undo re-validates old tokens).
	Warnings []string `json:"warnings,omitempty"`
	DryRun   bool     `json:"dry_run,omitempty"`
	// Target is the key of the target this step holds a lease on (see
	// TargetWorkflow); empty for actions without a declared target.
	Target string `json:"target,omitempty"`
}
