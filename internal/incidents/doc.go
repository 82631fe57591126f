// Package incidents is the client side of the Incident workflow: starting
// incidents, folding alerts into them, deciding approvals, resolving,
// cancelling, and reading status and timelines. The CLI, the Slack
// interaction handler and the alert server all go through it, so each
// operation is written once.
//
// It is the only package (besides worker and devserver wiring) that calls
// the Temporal client; it turns Temporal errors into typed ones the CLI maps
// to exit codes. It imports workflows/contract, never activities, AWS or
// Slack.
package incidents
