// Package workflows holds the Incident workflow: the runbook interpreter,
// approvals (Updates with validators), the undo stack and rollback, alert
// folding, and the status and timeline queries; and the TargetLease
// workflow, one per shared target, that lets concurrent incidents hold the
// same target without undoing each other (leases.go).
//
//	IncidentInput ─▶ steps in order: action │ approval │ notify │ wait
//	                  │ actions run as activities named after the action
//	                  ▼
//	contained (changes held) ──resolve──▶ rollback (undo stack, newest first) ─▶ closed
//	    └─ drift watch: every watch interval, a dry run of each held step;
//	       drift ─▶ drift_detected, then reapply │ ask │ record (drift.go)
//	    └─ a leased step releases its target at resolve: the undo runs only
//	       when no other open incident holds it (TargetLease, leases.go)
//
// Every waiting state (approval, escalation, wait step, contained, failed
// but open) continues as new when history grows, carrying the whole state,
// so an alert storm never reaches Temporal's history or signal limits.
//
// Workflow code must stay deterministic: no network, files, clocks or
// randomness (workflow.Now, workflow.Go, sorted map keys). It imports only
// runbooks and workflows/contract — never activities, aws-sdk-go-v2 or
// slack-go (internal/archtest asserts it). What crosses its boundary
// (inputs, query results, names, activity inputs and results) is in
// workflows/contract.
package workflows
