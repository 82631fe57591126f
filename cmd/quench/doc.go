// Command quench runs incident-response runbooks for generative-AI
// workloads on AWS as durable Temporal workflows.
//
// One file per command; app.go is the composition root (config → Temporal
// client → incidents, runbook library, worker, HTTP) with a seam so command
// tests can run against a fake incidents client. Exit codes are decided in
// one place, errors.go. Nothing imports this package.
package main
