// Package httpapi owns quench's HTTP surface: it assembles the endpoints —
// alert webhooks (internal/alerts), Slack interactions (internal/slackapp)
// and health — into one handler, and builds the one kind of http.Server
// quench runs, so `quench serve`, `quench dev` and the end-to-end tests
// serve exactly the same thing with the same limits.
//
//	NewServer / Listen   every server: read, write, idle and header limits
//	New                  the handler:
//	  GET  /healthz        the process answers
//	  GET  /readyz         Temporal's store works (TemporalReady: a read, a
//	                       sentinel write read back, a visibility query)
//	  POST /alerts/...     internal/alerts
//	  POST /slack/interactions  internal/slackapp
//	  GET  /metrics        internal/metrics, when Options.Metrics is set
//
// Health is defined here and nowhere else; every JSON answer goes through
// the leaf package respond.
//
// It must not import the engine (workflows, activities, worker) or the
// embedded server (internal/devserver): `quench serve` runs against a
// Temporal cluster without either. Temporal is reached through
// internal/incidents, except for the readiness probe's raw service calls.
package httpapi
