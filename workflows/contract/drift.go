package contract

// Drift watch timeline events (see workflows/drift.go).
const (
	// EventDriftDetected: a held change no longer holds; Event.Drift says
	// what was expected, what was found and what the policy does about it.
	EventDriftDetected = "drift_detected"
	// EventDriftReapplied: the change was made again (policy reapply, or
	// an approved ask). The undo record is left as it was.
	EventDriftReapplied = "drift_reapplied"
)

// Drift is what a drift_detected event found.
type Drift struct {
	// Target names what drifted: the lease key of the step's target, or
	// the action and the arguments that name its resource.
	Target string `json:"target"`
	Action string `json:"action"`
	// Expected is the state the step left (its output); Found is the
	// state read now (the prior state a dry run of the step reports).
	Expected map[string]any `json:"expected,omitempty"`
	Found    map[string]any `json:"found,omitempty"`
	// ChangedBy is who changed it, when CloudTrail can tell ("" otherwise).
	ChangedBy string `json:"changed_by,omitempty"`
	// Policy is the runbook's on_drift for the step: reapply, ask or record.
	Policy string `json:"policy"`
}
