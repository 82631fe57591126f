package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quenchhq/quench/runbooks"
)

// The runbooks the harness runs. They use core actions only, so every
// figure is the engine's and none is AWS's (there is no AWS here).
const (
	// containRunbook is the two-step core runbook of the table:
	// one containment (core.record, mutating) then a log line.
	containRunbook = "bench-contain"
	// approvalRunbook stops at an approval nobody gives (RSS row).
	approvalRunbook = "bench-approval"
	// crashRunbook holds a step long enough to kill its worker.
	crashRunbook = "bench-crash"
	// overheadRunbook is OverheadSteps no-op core.log steps.
	overheadRunbook = "bench-overhead"
)

const containYAML = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: bench-contain
  title: Benchmark containment (core actions only)
  severity: high
params:
  target: {type: string, required: true, pattern: '^[a-z0-9-]+$'}
steps:
  - id: contain
    action: core.record
    with: {key: 'bench/${{ params.target }}', value: contained}
  - id: note
    action: core.log
    with: {message: 'contained ${{ params.target }}'}
on_resolve: keep
`

const approvalYAML = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: bench-approval
  title: Benchmark incident that waits for an approval
  severity: high
params:
  target: {type: string, required: true, pattern: '^[a-z0-9-]+$'}
approvals:
  approvers: {cli_users: [bench-approver]}
  min_approvals: 1
  timeout: 1h
  on_timeout: deny
steps:
  - id: note
    action: core.log
    with: {message: 'waiting for approval for ${{ params.target }}'}
  - id: approve
    approval: {message: 'Contain ${{ params.target }}?'}
  - id: contain
    action: core.record
    with: {key: 'bench/${{ params.target }}', value: contained}
on_resolve: keep
`

const crashYAML = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: bench-crash
  title: Benchmark step whose worker is killed
  severity: high
params:
  target: {type: string, required: true, pattern: '^[a-z0-9-]+$'}
steps:
  - id: hold
    action: core.sleep
    with: {duration: 3s}
  - id: contain
    action: core.record
    with: {key: 'bench/${{ params.target }}', value: contained}
on_resolve: keep
`

// overheadYAML is a runbook of n no-op action steps.
func overheadYAML(n int) string {
	var b strings.Builder
	b.WriteString(`apiVersion: quench/v1
kind: Runbook
metadata:
  name: bench-overhead
  title: Benchmark of the interpreter (no-op steps)
  severity: low
steps:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - id: step-%d\n    action: core.log\n    with: {message: 'step %d'}\n", i+1, i+1)
	}
	b.WriteString("on_resolve: keep\n")
	return b.String()
}

// routesYAML routes generic alerts to the bench runbooks, one incident per
// labels.target. The rate limit is out of the way: shedding is measured
// as the server's own (503), not as the per-source token bucket.
const routesYAML = `apiVersion: quench/v1
kind: Routes
sources:
  generic: {bearer_token_env: QUENCH_BENCH_TOKEN, rate_limit: {per_second: 1000000, burst: 1000000}}
routes:
  - name: bench-contain
    match: {source: generic, alarm_name: bench-contain}
    runbook: bench-contain
    params: {target: '${{ alert.labels.target }}'}
    dedup_key: '${{ alert.labels.target }}'
  - name: bench-approval
    match: {source: generic, alarm_name: bench-approval}
    runbook: bench-approval
    params: {target: '${{ alert.labels.target }}'}
    dedup_key: '${{ alert.labels.target }}'
`

// writeFiles writes the runbooks and routes into dir and returns the
// runbook directory and the routes file.
func writeFiles(dir string, overheadSteps int) (rbDir, routes string, err error) {
	rbDir = filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rbDir, 0o700); err != nil {
		return "", "", err
	}
	files := map[string]string{
		filepath.Join(rbDir, containRunbook+".yaml"):  containYAML,
		filepath.Join(rbDir, approvalRunbook+".yaml"): approvalYAML,
		filepath.Join(rbDir, crashRunbook+".yaml"):    crashYAML,
		filepath.Join(rbDir, overheadRunbook+".yaml"): overheadYAML(overheadSteps),
		filepath.Join(dir, "routes.yaml"):             routesYAML,
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return "", "", err
		}
	}
	return rbDir, filepath.Join(dir, "routes.yaml"), nil
}

// parseRunbook parses one of the bench runbooks for a workflow input.
func parseRunbook(name, text string) (runbooks.Runbook, error) {
	rb, err := runbooks.Parse(name+".yaml", []byte(text))
	if err != nil {
		return runbooks.Runbook{}, fmt.Errorf("parse bench runbook %s: %w", name, err)
	}
	return *rb, nil
}
