package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/metrics"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func scrape(t *testing.T, m *metrics.Metrics) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	text := rec.Body.String()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return fams, text
}

// value is the counter's or gauge's value of the series of name with
// exactly labels (given as name, value pairs).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		if match && m.Counter != nil {
			return m.GetCounter().GetValue(), true
		}
		if match && m.Gauge != nil {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// The SDK's metrics land in the same registry, in Prometheus' names:
// timers as histograms in seconds.
func TestTemporalSDKMetricsAreServedWithQuenchs(t *testing.T) {
	m := newMetrics(t)
	h := m.TemporalHandler().WithTags(map[string]string{"namespace": "default"})
	h.Counter("temporal_request").Inc(3)
	h.Timer("temporal_workflow_task_execution_latency").Record(1500 * time.Millisecond)
	h.Gauge("temporal_num_pollers").Update(2)
	fams, text := scrape(t, m)
	if got, _ := value(fams, "temporal_request_total", "namespace", "default"); got != 3 {
		t.Errorf("temporal_request_total = %v, want 3 (a counter)\n%s", got, text)
	}
	hist := fams["temporal_workflow_task_execution_latency_seconds"].GetMetric()
	if len(hist) != 1 || hist[0].GetHistogram().GetSampleCount() != 1 || hist[0].GetHistogram().GetSampleSum() != 1.5 {
		t.Errorf("temporal_workflow_task_execution_latency_seconds = %v, want one sample of 1.5 s", hist)
	}
	if got, _ := value(fams, "temporal_num_pollers", "namespace", "default"); got != 2 {
		t.Errorf("temporal_num_pollers = %v, want 2", got)
	}
	for name, f := range fams {
		if strings.HasPrefix(name, "quench_") && f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
	}
}

// Slack's failures are counted at the transport: an {"ok": false} answer
// by its error code, an HTTP error by its status; a delivered post is not.
func TestSlackErrorsByMethodAndError(t *testing.T) {
	m := newMetrics(t)
	fake := slackfake.New(t)
	api := slack.New("xoxb-test-token", slack.OptionAPIURL(fake.GetAPIURL()), slack.OptionHTTPClient(m.SlackHTTPClient(nil)))
	fake.Fail("chat.postMessage", slackfake.Fault{SlackError: "channel_not_found"}, 1)
	fake.Fail("chat.update", slackfake.Fault{Status: http.StatusServiceUnavailable}, 1)
	ctx := t.Context()
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("one", false)); err == nil {
		t.Fatal("post to a missing channel succeeded")
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("two", false))
	if err != nil {
		t.Fatalf("second post: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("three", false)); err == nil {
		t.Fatal("update answered 503 succeeded")
	}
	fams, _ := scrape(t, m)
	for _, c := range []struct {
		method, error string
	}{{"chat.postMessage", "channel_not_found"}, {"chat.update", "http_503"}} {
		if got, _ := value(fams, "quench_slack_errors_total", "error", c.error, "method", c.method); got != 1 {
			t.Errorf("quench_slack_errors_total{method=%q,error=%q} = %v, want 1", c.method, c.error, got)
		}
	}
	if n := len(fams["quench_slack_errors_total"].GetMetric()); n != 2 {
		t.Errorf("quench_slack_errors_total has %d series, want 2 (the delivered post counts nothing)", n)
	}
	// The answer the caller read was whole: the second post's ts came through.
	if ts == "" {
		t.Error("the delivered post's answer lost its ts")
	}
}

type fakeIncidents struct {
	mu       sync.Mutex
	lists    atomic.Int32
	statuses atomic.Int32
	open     []incidents.Summary
	status   map[string]contract.Status
	err      error
}

func (f *fakeIncidents) List(_ context.Context, filter string) ([]incidents.Summary, error) {
	f.lists.Add(1)
	if filter != incidents.FilterOpen {
		return nil, errors.New("want the open filter, got " + filter)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, f.err
}

func (f *fakeIncidents) StatusOfRun(_ context.Context, id, _ string) (contract.Status, error) {
	f.statuses.Add(1)
	st, ok := f.status[id]
	if !ok {
		return st, errors.New("query status: worker not answering")
	}
	return st, nil
}

// The incident gauges come from one read per TTL however many scrapes
// arrive; a failed read leaves them absent and counts the failure.
func TestIncidentGaugesReadTemporalOncePerTTL(t *testing.T) {
	asked := time.Now().Add(-90 * time.Second)
	src := &fakeIncidents{
		open: []incidents.Summary{
			{ID: "a", Runbook: "leaked-credentials", State: contract.StateContained},
			{ID: "b", Runbook: "leaked-credentials", State: contract.StateContained},
			{ID: "c", Runbook: "leaked-credentials", State: contract.StateAwaitingApproval},
			{ID: "d", Runbook: "usage-spike", State: contract.StateAwaitingApproval}, // its worker is gone: counted, no age
		},
		status: map[string]contract.Status{"c": {
			PendingApproval: &contract.PendingApproval{Step: "approve"},
			Steps:           []contract.StepStatus{{ID: "deny", State: contract.StepSucceeded}, {ID: "approve", Started: &asked}},
		}},
	}
	m := newMetrics(t)
	m.WatchIncidents(t.Context(), src, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))

	var wg sync.WaitGroup
	for range 20 { // a scrape storm
		wg.Add(1)
		go func() { defer wg.Done(); scrape(t, m) }()
	}
	wg.Wait()
	fams, _ := scrape(t, m)
	if n := src.lists.Load(); n != 1 {
		t.Errorf("21 scrapes listed incidents %d times, want 1", n)
	}
	if n := src.statuses.Load(); n != 2 {
		t.Errorf("status queried %d times, want 2 (one per pending approval)", n)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"quench_incidents_open", []string{"runbook", "leaked-credentials", "state", "contained"}, 2},
		{"quench_incidents_open", []string{"runbook", "leaked-credentials", "state", "awaiting_approval"}, 1},
		{"quench_incidents_open", []string{"runbook", "usage-spike", "state", "awaiting_approval"}, 1},
		{"quench_approvals_pending", []string{"runbook", "leaked-credentials"}, 1},
		{"quench_approvals_pending", []string{"runbook", "usage-spike"}, 1},
		{"quench_incidents_read_errors_total", nil, 0},
	} {
		if got, ok := value(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if age, ok := value(fams, "quench_approvals_pending_age_seconds", "runbook", "leaked-credentials"); !ok || age < 90 || age > 150 {
		t.Errorf("pending age = %v (present %v), want about 90 s", age, ok)
	}
	if _, ok := value(fams, "quench_approvals_pending_age_seconds", "runbook", "usage-spike"); ok {
		t.Error("an approval whose status could not be read has an age")
	}

	// Temporal unreachable: no stale gauges, one more error.
	m2 := newMetrics(t)
	src.err = errors.New("visibility unavailable")
	m2.WatchIncidents(t.Context(), src, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fams, _ = scrape(t, m2)
	if got, _ := value(fams, "quench_incidents_read_errors_total"); got != 1 {
		t.Errorf("read errors = %v, want 1", got)
	}
	if n := len(fams["quench_incidents_open"].GetMetric()); n != 0 {
		t.Errorf("%d open-incident series after a failed read, want none", n)
	}
}

// Alert refusals are labelled by the answer's status, in snake case.
func TestAlertRefusalReasons(t *testing.T) {
	m := newMetrics(t)
	for _, status := range []int{401, 401, 413, 429, 599} {
		m.AlertRequestRefused("generic", status)
	}
	m.AlertsReceived("sns", 3)
	m.AlertsUnrouted("sns", 2)
	fams, _ := scrape(t, m)
	for reason, want := range map[string]float64{"unauthorized": 2, "request_entity_too_large": 1, "too_many_requests": 1, "http_599": 1} {
		if got, _ := value(fams, "quench_alerts_refused_total", "reason", reason, "source", "generic"); got != want {
			t.Errorf("refused{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got, _ := value(fams, "quench_alerts_received_total", "source", "sns"); got != 3 {
		t.Errorf("received = %v, want 3", got)
	}
	if got, _ := value(fams, "quench_alerts_unrouted_total", "source", "sns"); got != 2 {
		t.Errorf("unrouted = %v, want 2", got)
	}
}

// A nil *Metrics does nothing: callers without metrics need no branch.
func TestNilMetricsDoNothing(t *testing.T) {
	var m *metrics.Metrics
	m.AlertsReceived("generic", 1)
	m.AlertRequestRefused("generic", 401)
	m.ObserveStep("iam.deny_role_actions", false, time.Second, errors.New("x"))
	m.WatchIncidents(t.Context(), nil, 0, nil)
	if m.TemporalHandler() != nil {
		t.Error("nil metrics give a Temporal handler")
	}
	if c := m.SlackHTTPClient(nil); c == nil || c.Transport != nil {
		t.Errorf("nil metrics wrap Slack's client: %#v", c)
	}
}

// An AWS call is counted once, after the SDK's own retries, by service
// and error code; a call that succeeds on a retry counts nothing.
func TestAWSErrorsCountedOncePerCallAfterRetries(t *testing.T) {
	m := newMetrics(t)
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	awsfake.RegisterIAM(fake).AddRole("app-role", 3600)
	cfg := fake.Config()
	cfg.APIOptions = append(cfg.APIOptions, m.AWSAPIOption)
	api := iam.NewFromConfig(cfg)

	fake.InjectFault(awsfake.Fault{Operation: "GetRole", Code: "Throttling", Status: http.StatusBadRequest, Times: 3}) // every attempt of one call
	if _, err := api.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("app-role")}); err == nil {
		t.Fatal("GetRole throttled on every attempt succeeded")
	}
	fake.InjectFault(awsfake.Fault{Operation: "GetRole", Code: "Throttling", Status: http.StatusBadRequest}) // one attempt, then success
	if _, err := api.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("app-role")}); err != nil {
		t.Fatalf("GetRole after one throttle: %v", err)
	}
	if _, err := api.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("missing")}); err == nil {
		t.Fatal("GetRole of a missing role succeeded")
	}
	fams, _ := scrape(t, m)
	for code, want := range map[string]float64{"Throttling": 1, "NoSuchEntity": 1} {
		if got, _ := value(fams, "quench_aws_errors_total", "code", code, "service", "IAM"); got != want {
			t.Errorf("quench_aws_errors_total{service=IAM,code=%s} = %v, want %v", code, got, want)
		}
	}
	if n := len(fams["quench_aws_errors_total"].GetMetric()); n != 2 {
		t.Errorf("quench_aws_errors_total has %d series, want 2", n)
	}
}
