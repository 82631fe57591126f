// Package alerts turns alert webhooks (Prometheus Alertmanager, CloudWatch
// alarms through SNS or EventBridge, AWS Cost Anomaly Detection and AWS
// Budgets through SNS, GuardDuty and Security Hub findings and CloudTrail
// API calls through EventBridge, and a generic JSON shape) into incidents: each payload is parsed into normalized Alerts, routed
// to a runbook by routes.yaml, and folded into the incident its dedup key
// names with SignalWithStart, so a storm of alerts starts one incident
// (in quench dev a new incident is started eagerly with its first alert,
// see incidents.Client.WithEagerStart).
//
//	POST /alerts/<source> ─auth─▶ parse ─▶ route + dedup (plan every alert first)
//	  ─▶ coalesce per incident (one signal per batch) ─▶ incidents.Client ─▶ 202 once durable
//
// It must not import Temporal directly (every Temporal call goes through
// internal/incidents), activities, or Slack.
package alerts
