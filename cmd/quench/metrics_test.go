package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

const metricsRunbook = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: metrics-probe
  title: A denied role, a limited Lambda, then an approval
  severity: high
approvals:
  approvers: {cli_users: [lead]}
  min_approvals: 1
steps:
  - id: deny-role
    action: iam.deny_role_actions
    with: {role_name: app-role, policy_name: quench-deny}
    on_error: continue
  - id: limit-lambda
    action: lambda.limit_concurrency
    with: {function_name: chat, reserved: 1}
  - id: approve-more
    approval: {message: "Anything else?"}
`

const metricsRoutes = `apiVersion: quench/v1
kind: Routes
sources:
  generic: {bearer_token_env: QUENCH_TEST_GENERIC_TOKEN}
routes:
  - name: spike
    match: {source: generic, alarm_name: spike}
    runbook: metrics-probe
    dedup_key: 'chat'
`

// A known incident through quench dev (worker and HTTP endpoints in one
// process), then one scrape of /metrics: every listed series has the
// value that incident and those alerts must give it.
func TestMetricsAfterAKnownIncident(t *testing.T) {
	dir := t.TempDir()
	rbDir := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rbDir, "metrics-probe.yaml"), []byte(metricsRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(metricsRoutes), 0o600); err != nil {
		t.Fatal(err)
	}

	// AWS: the role's first read is denied (the step fails, the runbook
	// goes on), the Lambda step succeeds.
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	awsfake.RegisterIAM(fake).AddRole("app-role", 3600)
	lambdaFake := awsfake.RegisterLambda(fake)
	lambdaFake.AddFunction("chat")
	lambdaFake.SetReservedConcurrency("chat", 50)
	awsfake.RegisterSTS(fake)
	fake.InjectFault(awsfake.Fault{Operation: "GetRole", Code: "AccessDenied", Status: http.StatusForbidden})

	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": fake.URL, "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"),
		"QUENCH_TEST_GENERIC_TOKEN": "s3cret", "QUENCH_RUNBOOKS": "", "QUENCH_ROUTES": "",
		"SLACK_BOT_TOKEN": "", "SLACK_BOT_TOKEN_FILE": "", "SLACK_APP_TOKEN": "", "SLACK_APP_TOKEN_FILE": "",
		"QUENCH_CODEC_KEYS": "", "QUENCH_CODEC_KEYS_FILE": "",
	} {
		t.Setenv(k, v)
	}
	line, errOut, stop := startDev(t, "dev", "--data-dir", filepath.Join(dir, "data"), "--temporal-port", "0", "--listen", "127.0.0.1:0",
		"--headless", "--runbooks", rbDir, "--routes", routes, "--log-level", "error")
	t.Cleanup(func() { _ = stop() })
	if strings.Contains(line, "dry run") {
		t.Fatalf("dev runs AWS actions as dry runs; the fake's credentials were not picked up: %s", line)
	}
	_, rest, _ := strings.Cut(line, "http http://")
	base, _, _ := strings.Cut(rest, ",")
	base = "http://" + base

	post := func(path, token string, body any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	alert := map[string]any{"name": "spike", "status": "firing", "labels": map[string]string{"env": "prod"}}
	for i, c := range []struct {
		path, token string
		want        int
	}{
		{"/alerts/generic", "s3cret", http.StatusAccepted},    // starts the incident
		{"/alerts/generic", "s3cret", http.StatusAccepted},    // folds into it
		{"/alerts/generic", "wrong", http.StatusUnauthorized}, // refused: bad token
		{"/alerts/pagerduty", "s3cret", http.StatusNotFound},  // refused: no such source
	} {
		if got := post(c.path, c.token, alert); got != c.want {
			t.Fatalf("post %d to %s: %d, want %d\n%s", i, c.path, got, c.want, errOut.String())
		}
	}

	// The incident id follows from the route and its dedup key; wait for
	// its approval through the CLI, as a user would.
	addr, _, _ := strings.Cut(strings.TrimPrefix(line, "quench dev ready: temporal "), " ")
	q := cli{t: t, addr: addr}
	var st contract.Status
	waitFor(t, "the incident awaits approval", func() bool {
		r := q.run("list", "-o", "json")
		var rows []struct {
			ID, State string
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) != 1 || rows[0].State != contract.StateAwaitingApproval {
			return false
		}
		s := q.run("status", rows[0].ID, "-o", "json")
		return s.code == 0 && json.Unmarshal([]byte(s.stdout), &st) == nil
	})
	if got := stepState(st, "deny-role"); got != contract.StepFailed {
		t.Fatalf("deny-role is %s, want failed (the injected AccessDenied)", got)
	}
	if got := stepState(st, "limit-lambda"); got != contract.StepSucceeded {
		t.Fatalf("limit-lambda is %s, want succeeded", got)
	}

	fams := scrape(t, base+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"quench_incidents_open", map[string]string{"runbook": "metrics-probe", "state": "awaiting_approval"}, 1},
		{"quench_approvals_pending", map[string]string{"runbook": "metrics-probe"}, 1},
		{"quench_step_duration_seconds", map[string]string{"action": "iam.deny_role_actions", "dry_run": "false"}, 1}, // sample count
		{"quench_step_duration_seconds", map[string]string{"action": "lambda.limit_concurrency", "dry_run": "false"}, 1},
		{"quench_step_failures_total", map[string]string{"action": "iam.deny_role_actions", "dry_run": "false", "type": "AccessDenied"}, 1},
		{"quench_alerts_received_total", map[string]string{"source": "generic"}, 2},
		{"quench_alerts_folded_total", map[string]string{"source": "generic"}, 2},
		{"quench_alerts_refused_total", map[string]string{"source": "generic", "reason": "unauthorized"}, 1},
		{"quench_alerts_refused_total", map[string]string{"source": "unknown", "reason": "not_found"}, 1},
		{"quench_aws_errors_total", map[string]string{"service": "IAM", "code": "AccessDenied"}, 1},
		{"quench_incidents_read_errors_total", nil, 0},
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// Exactly those series, nothing else counted by mistake.
	for name, want := range map[string]int{
		"quench_incidents_open": 1, "quench_step_failures_total": 1, "quench_aws_errors_total": 1,
		"quench_alerts_refused_total": 2, "quench_alerts_unrouted_total": 0, "quench_slack_errors_total": 0,
	} {
		if got := len(fams[name].GetMetric()); got != want {
			t.Errorf("%s has %d series, want %d: %v", name, got, want, fams[name].GetMetric())
		}
	}
	if age, ok := value(fams, "quench_approvals_pending_age_seconds", map[string]string{"runbook": "metrics-probe"}); !ok || age <= 0 || age > 120 {
		t.Errorf("quench_approvals_pending_age_seconds = %v (present %v), want > 0 s and < 2 min", age, ok)
	}
	// The Temporal SDK's own metrics, through the same registry.
	var sdk []string
	for name := range fams {
		if strings.HasPrefix(name, "temporal_") {
			sdk = append(sdk, name)
		}
		if f := fams[name]; f.GetHelp() == "" && strings.HasPrefix(name, "quench_") {
			t.Errorf("%s has no HELP", name)
		}
	}
	sort.Strings(sdk)
	for _, want := range []string{"temporal_workflow_task_execution_latency_seconds", "temporal_activity_execution_latency_seconds", "temporal_request_total"} {
		if _, ok := fams[want]; !ok {
			t.Errorf("no %s among the SDK's metrics: %v", want, sdk)
		}
	}
}

func stepState(st contract.Status, id string) string {
	for _, s := range st.Steps {
		if s.ID == id {
			return s.State
		}
	}
	return ""
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the value of the series of name with exactly labels: a
// counter's or gauge's value, a histogram's sample count.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// quench worker --metrics-listen serves the worker's series: the steps it
// ran and the SDK's worker metrics, with nothing of serve's.
func TestWorkerServesMetricsOnMetricsListen(t *testing.T) {
	t.Setenv("QUENCH_RUNBOOKS", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("QUENCH_METRICS_LISTEN", "")
	srv := startServer(t)
	var out, errOut syncBuffer
	root := newRoot(newApp(&out, &errOut))
	root.SetArgs([]string{"worker", "--address", srv.FrontendAddress(), "--metrics-listen", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var url string
	waitFor(t, "the worker logs its metrics URL", func() bool {
		_, rest, ok := strings.Cut(errOut.String(), "url=")
		url, _, _ = strings.Cut(rest, "\n")
		return ok && strings.HasSuffix(url, "/metrics")
	})

	q := cli{t: t, addr: srv.FrontendAddress(), env: map[string]string{"QUENCH_USER": "alice"}}
	if r := q.run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target=chatbot", "--incident", "metrics-worker"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "the incident awaits approval", func() bool {
		return stateOf(t, q, "metrics-worker") == contract.StateAwaitingApproval
	})
	fams := scrape(t, url)
	for action, want := range map[string]float64{"core.log": 1, "core.record": 1} {
		// Real changes only: the approval's plan of the next step is a dry
		// run of core.record, which may or may not have run by now.
		if got, ok := value(fams, "quench_step_duration_seconds", map[string]string{"action": action, "dry_run": "false"}); !ok || got != want {
			t.Errorf("quench_step_duration_seconds_count{action=%q,dry_run=\"false\"} = %v (present %v), want %v", action, got, ok, want)
		}
	}
	// The approval's plan of the throttle step is a dry run, counted apart.
	waitFor(t, "the approval's plan counted as a dry run", func() bool {
		got, ok := value(scrape(t, url), "quench_step_duration_seconds", map[string]string{"action": "core.record", "dry_run": "true"})
		return ok && got == 1
	})
	for _, name := range []string{"temporal_worker_task_slots_available", "temporal_workflow_task_execution_latency_seconds", "temporal_activity_execution_latency_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("the worker serves no %s", name)
		}
	}
	if _, ok := fams["quench_incidents_open"]; ok {
		t.Error("the worker serves serve's incident gauges")
	}
}
