// Package contract is what crosses the Incident workflow's boundaries: the
// workflow's input and query results, the names of its task queue, signals,
// updates, queries and search attributes, and the inputs and results of the
// activities it calls (actions and notifications).
//
//	client (CLI, alerts, Slack) ──IncidentInput / Decision / ResolveRequest──▶ workflows
//	workflows ──ActionInput / ApprovalRequest──▶ activities ──ActionResult / NotifyResult──▶ workflows
//	workflows ──Status / []Event (queries)──▶ client
//
// It is a leaf: it imports only the standard library and runbooks (the
// runbook a workflow runs is part of its input). It must not import
// Temporal, aws-sdk-go-v2 or slack-go, so workflow code stays free of
// network clients. Fields are only ever added: running histories hold
// these types as JSON.
package contract
