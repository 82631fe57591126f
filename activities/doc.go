// Package activities is the home of every Temporal activity quench runs.
// The folders are the catalogue:
//
//	action/   how actions are declared, checked and run: Action, New,
//	          Registry (argument checks, heartbeats, checkpoints), errors
//	core/     core.* actions, which need nothing outside quench
//	aws/      iam.*, lambda.*, apigateway.*, ssm.*, bedrock.*, cloudwatch.*,
//	          one file per service
//
// plus, in this package, the notification activities and slack.notify (a
// thin layer over internal/slackapp), and Targets (targets.go): the
// acquire, record and release calls to the TargetLease workflows.
//
// Adding an action is one function with its spec in its boundary's
// Actions method, and its test; worker.BuildRegistry adds every
// boundary's actions to one Registry.
//
// The names in compat.go are the ones callers used before the catalogue
// was split into folders; new code uses the subpackages.
package activities
