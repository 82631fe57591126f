// Package bench is quench's benchmark harness: it runs the figures of
// BENCHMARKS.md against real processes and prints them as a table with the
// machine they were measured on and the command that reproduces each row.
//
//	quench bench (cmd/quench/bench.go) or go test ./internal/bench/ (short mode)
//	   │
//	   ├─ quench dev  ──────────────── subprocess, fresh data dir per scenario
//	   │     ▲ POST /alerts/generic     (so RSS and start-up are the real ones)
//	   │     │ SDK client: status/timeline queries, visibility counts, history
//	   ├─ load generator (this process: N connections, honours 429/503 Retry-After)
//	   ├─ in-process worker on its own task queue (engine overhead: the
//	   │     Incident workflow vs a hand-written workflow, same activity)
//	   ├─ quench worker ────────────── subprocess, killed with SIGKILL (crash)
//	   └─ peer: temporal server start-dev + quench worker + quench serve
//	         (only with Config.Temporal: the official dev server, same load)
//
// Every figure comes from the server's own clock where the server has one
// (the incident timeline, workflow history); wall times are taken here.
// Tests of this package assert only correctness — counts, nothing lost,
// the number of incidents — never a duration.
//
// bench may import workflows and workflows/contract (to run the Incident
// workflow in its own worker) and runbooks (to parse its runbooks). It
// must not import cmd, worker or activities: it drives the quench binary
// from outside, as an operator would, so it measures what ships.
package bench
