// Package action is how quench declares, checks and runs runbook actions.
//
// An action is a spec (runbooks.ActionSpec: name, arguments, whether it
// mutates) and a function. Each boundary's package returns its actions from
// one Actions method, declared with New so the function receives its
// arguments already decoded:
//
//	activities/core         core.log, core.record, ...
//	activities/aws          iam.*, lambda.*, apigateway.*, ssm.*, bedrock.*, cloudwatch.*, s3.*, cloudtrail.*
//	slack.notify            the Slack notifier
//
// and the worker adds them all to one Registry. The Registry registers each
// action as a Temporal activity named after it and wraps every run:
//
//	activity attempt ──▶ keeper starts ─ heartbeat every ActionHeartbeatInterval,
//	                     │               carrying the latest checkpoint
//	                     ├─ runbooks.CheckArgs(spec, args) ─ bad ▶ InvalidArgument (not retried)
//	                     ├─ action runs: Checkpoint(ctx, prior) before any write
//	                     └─ error ▶ ApplicationError whose detail is the checkpoint
//
// so no action repeats "x is required", every action heartbeats (a killed
// worker costs seconds, not the step timeout), and the prior state an
// attempt read survives into the next attempt, which undoes to it instead
// of to its own change. Actions never call activity.RecordHeartbeat: the
// keeper owns the heartbeat details.
//
// This package imports the Temporal SDK's activity and temporal packages,
// runbooks and workflows/contract; never AWS, Slack or the workflow code.
package action
