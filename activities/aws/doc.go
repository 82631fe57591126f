// Package aws holds quench's AWS actions, one file per service: each
// service's Actions method lists its actions with their specs, and Actions
// (catalog.go) lists the services. Every action reads the prior state, contains
// idempotently, verifies by polling (IAM is eventually consistent) and
// returns an undo record that restores exactly what it changed.
//
//	iam.go         iam.revoke_role_sessions, iam.deny_role_actions, iam.revoke_user_sessions,
//	               iam.deactivate_access_keys, iam.deactivate_access_key
//	bedrock.go     bedrock.pause_agent_alias, bedrock.disable_agent_knowledge_base,
//	               bedrock.disable_agent_action_group, bedrock.stop_ingestion_jobs
//	guardrail.go   bedrock.apply_guardrail_policy
//	evidence.go    bedrock.snapshot
//	lambda.go      lambda.limit_concurrency
//	apigateway.go  apigateway.throttle_usage_plan, apigateway.disable_api_key
//	ssm.go         ssm.set_parameter
//	cloudwatch.go  cloudwatch.capture_metrics
//	s3.go          s3.block_prefix_writes, s3.list_changed_objects,
//	               s3.restore_object_version (no undo, by design: a restore is the recovery)
//	cloudtrail.go  cloudtrail.lookup_events
//	ingestion.go   bedrock.delete_knowledge_base_documents, bedrock.sync_data_source,
//	               s3.restore_changed_objects (data-source recovery; none is undone, by design)
//
// (each with its undo actions). Clients are small interfaces of only the
// calls used, built per incident by a Provider (region, assumed role);
// errors are classified for Temporal by AWSError. It imports
// aws-sdk-go-v2 and activities/action; never Slack or the workflow code.
//
// The package is named aws like the SDK's: inside it, aws means the SDK;
// importers name it, e.g. awsactions.
package aws
