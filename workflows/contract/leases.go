package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Target leases: concurrent incidents that change the same target (a
// function's reserved concurrency, a usage plan's throttle, an access key)
// each hold a lease on it, kept by one TargetWorkflow per target (its
// names are in names.go). The state before the first incident's change is
// the one restored, and only when the last holder releases.

// TargetWorkflowID is the id of the workflow that keeps key's leases for
// the quench deployment on taskQueue: stable, short and free of the
// characters a key may hold. Leases are per deployment (task queue), like
// everything else its workers do.
func TargetWorkflowID(taskQueue, key string) string {
	sum := sha256.Sum256([]byte(taskQueue + "\x00" + key))
	return "quench-target-" + hex.EncodeToString(sum[:])[:16]
}

// EventRollbackDeferred: a leased target was not restored at rollback
// because another open incident still holds it.
const EventRollbackDeferred = "rollback_deferred"

// TargetInput starts (or continues as new) a target workflow.
type TargetInput struct {
	Key string `json:"key"`
	// Carry is the state a previous run handed over at continue-as-new.
	Carry *TargetCarry `json:"carry,omitempty"`
}

// TargetCarry is the target workflow's state across continue-as-new.
type TargetCarry struct {
	State TargetState `json:"state"`
	// Released are the answers given to recent releases, oldest first, so
	// a retried release gets the same answer.
	Released []TargetReleaseDone `json:"released,omitempty"`
}

// TargetReleaseDone is the answer given to one incident's release.
type TargetReleaseDone struct {
	Incident string         `json:"incident"`
	Result   TargetReleased `json:"result"`
	// Seq is how many releases were answered before this one.
	Seq int `json:"seq"`
}

// TargetAcquire asks for a lease on Key for one step of an incident.
type TargetAcquire struct {
	Key      string `json:"key"`
	Incident string `json:"incident"`
	Step     string `json:"step"`
	Action   string `json:"action"`
}

// TargetAcquired answers an acquire.
type TargetAcquired struct {
	// Holders are the other incidents that hold the target.
	Holders []string `json:"holders,omitempty"`
	// Waited is set when the acquire waited for another incident's change
	// in flight; Stale when it stopped waiting after TargetInFlightLimit.
	Waited bool `json:"waited,omitempty"`
	Stale  bool `json:"stale,omitempty"`
}

// TargetInFlightLimit bounds how long an acquire waits for another
// incident's change to be recorded (a worker lost mid-step is retried
// within seconds; a step that gave up never records).
const TargetInFlightLimit = 2 * time.Minute

// TargetRecord records what one step of a holder did to the target.
type TargetRecord struct {
	Key      string      `json:"key"`
	Incident string      `json:"incident"`
	Step     string      `json:"step"`
	Summary  string      `json:"summary,omitempty"`
	Undo     *UndoRecord `json:"undo,omitempty"`
	// Drop: the step failed for good (or ran dry) and holds nothing.
	Drop bool `json:"drop,omitempty"`
}

// TargetRelease ends an incident's lease. Keep leaves the target as it is.
type TargetRelease struct {
	Key      string `json:"key"`
	Incident string `json:"incident"`
	Keep     bool   `json:"keep,omitempty"`
}

// TargetReleased answers a release.
type TargetReleased struct {
	// NotHeld: the target workflow does not know the incident (its lease
	// ended long ago); the incident falls back to its own undo record.
	NotHeld bool `json:"not_held,omitempty"`
	// Last is true when no holder remains.
	Last bool `json:"last,omitempty"`
	// Restore is the undo record the releasing incident must run now: the
	// pre-incident state when it was the last holder, or the state the
	// remaining holders set when its change was the tightest. Nil: nothing
	// to run.
	Restore *UndoRecord `json:"restore,omitempty"`
	// StillHeldBy lists the incidents that still hold the target.
	StillHeldBy []string `json:"still_held_by,omitempty"`
	// Original is the undo record that restores the pre-incident state.
	Original *UndoRecord `json:"original,omitempty"`
}

// TargetState is what the target workflow answers QueryTarget with.
type TargetState struct {
	Key     string         `json:"key"`
	Holders []TargetHolder `json:"holders"`
	// Changes are the holders' changes, oldest first; the first one's undo
	// restores the state before any incident.
	Changes  []TargetChange `json:"changes,omitempty"`
	InFlight *TargetAcquire `json:"in_flight,omitempty"`
	// Releases counts the releases answered since the workflow started.
	Releases int `json:"releases"`
}

// TargetHolder is one incident holding the target.
type TargetHolder struct {
	Incident string    `json:"incident"`
	Steps    []string  `json:"steps"`
	Since    time.Time `json:"since"`
	// Relies is the index in Changes of the change this holder relies on
	// (its own, or the last one when it found the target contained); -1:
	// none, it found the target contained by something else.
	Relies int `json:"relies"`
	// Recorded are the steps whose outcome is recorded.
	Recorded []string `json:"recorded,omitempty"`
}

// TargetChange is one holder's change of the target.
type TargetChange struct {
	Incident string     `json:"incident"`
	Step     string     `json:"step"`
	Summary  string     `json:"summary,omitempty"`
	Undo     UndoRecord `json:"undo"`
	At       time.Time  `json:"at"`
}

// HeldLease is one lease an incident holds, as its status shows it.
type HeldLease struct {
	Step     string `json:"step"`
	Target   string `json:"target"`
	Released bool   `json:"released,omitempty"`
	// Holders, filled in by the CLI from the target workflow, are every
	// incident holding the target now.
	Holders []TargetHolder `json:"holders,omitempty"`
}

// DescribeUndo says what an undo record does: its action and arguments,
// sorted ("lambda.restore_concurrency function_name=chat-backend prior=50").
func DescribeUndo(u UndoRecord) string {
	keys := make([]string, 0, len(u.Args))
	for k := range u.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{u.Action}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, u.Args[k]))
	}
	return strings.Join(parts, " ")
}
