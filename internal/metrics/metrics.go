package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/temporal"
)

// Metrics is one process's registry and the series quench writes to it.
type Metrics struct {
	reg      *prometheus.Registry
	temporal client.MetricsHandler

	stepDuration   *prometheus.HistogramVec
	stepFailures   *prometheus.CounterVec
	alertsReceived *prometheus.CounterVec
	alertsFolded   *prometheus.CounterVec
	alertsUnrouted *prometheus.CounterVec
	alertsRefused  *prometheus.CounterVec
	awsErrors      *prometheus.CounterVec
	slackErrors    *prometheus.CounterVec
}

// New builds a registry with quench's series, the Go runtime and process
// collectors, and the Temporal SDK's metrics handler writing to it.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "quench_step_duration_seconds",
			Help: "Duration of action step attempts (one per activity attempt, failed ones included), by action and dry_run (true: an approval's plan, a drift check or a dry-run incident; false: a real change).",
			// Actions poll for IAM's eventual consistency: seconds to minutes.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"action", "dry_run"}),
		stepFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_step_failures_total",
			Help: "Failed action step attempts, by action, dry_run and error type (AccessDenied, NotFound, ValidationFailed, InvalidArgument, Conflict, ActionFailed, SlackRateLimited, Canceled, Error for a retryable failure without a type).",
		}, []string{"action", "dry_run", "type"}),
		alertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_alerts_received_total",
			Help: "Alerts parsed from authenticated, well-formed alert requests, by source endpoint.",
		}, []string{"source"}),
		alertsFolded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_alerts_folded_total",
			Help: "Alerts folded into an incident (starting it, joining the open one, or recording a resolved alert on it), by source endpoint.",
		}, []string{"source"}),
		alertsUnrouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_alerts_unrouted_total",
			Help: "Alerts accepted but dropped because no route matched them or their state was neither firing nor resolved, by source endpoint.",
		}, []string{"source"}),
		alertsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_alerts_refused_total",
			Help: "Alert requests refused (answered other than 202), by source endpoint (unknown for a path that names no source) and reason (the HTTP status in snake case: unauthorized, forbidden, bad_request, too_many_requests, service_unavailable, ...).",
		}, []string{"source", "reason"}),
		awsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_aws_errors_total",
			Help: "AWS API calls that failed after the SDK's own retries, by service (SDK service id, e.g. IAM, Bedrock Agent) and error code (e.g. AccessDenied, ThrottlingException; Transport when no AWS answer was read).",
		}, []string{"service", "code"}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quench_slack_errors_total",
			Help: "Slack Web API calls that failed, by method (e.g. chat.postMessage) and error (Slack's error code, http_<status>, or transport).",
		}, []string{"method", "error"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.stepDuration, m.stepFailures,
		m.alertsReceived, m.alertsFolded, m.alertsUnrouted, m.alertsRefused,
		m.awsErrors, m.slackErrors,
	)
	h, err := temporalHandler(reg)
	if err != nil {
		return nil, err
	}
	m.temporal = h
	return m, nil
}

// temporalHandler is the SDK's OpenTelemetry metrics handler exported into
// reg. The SDK's metrics keep their own temporal_ names; counters get
// _total, timers become histograms in seconds (_seconds).
func temporalHandler(reg prometheus.Registerer) (client.MetricsHandler, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("temporal sdk metrics exporter: %w", err)
	}
	// OpenTelemetry's default buckets are for milliseconds; the SDK's
	// timers are in seconds.
	seconds := sdkmetric.NewView(
		sdkmetric.Instrument{Name: "*", Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: prometheus.DefBuckets}},
	)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: provider.Meter("go.temporal.io/sdk"),
		// An instrument the exporter cannot take must not stop a worker.
		OnError: func(error) {},
		// Prometheus counters (_total, rate()-able), not up-down gauges.
		UseMonotonicCounters: true,
	}), nil
}

// Handler serves the registry in Prometheus' text format (GET /metrics).
// A collector that fails (Temporal unreachable) does not hide the others.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// TemporalHandler is the SDK's metrics handler for client.Options.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return nil
	}
	return m.temporal
}

// ObserveStep records one attempt of an action step: its duration and,
// when it failed, its error type. It is action.Registry's observer.
func (m *Metrics) ObserveStep(action string, dryRun bool, took time.Duration, err error) {
	if m == nil {
		return
	}
	dry := strconv.FormatBool(dryRun)
	m.stepDuration.WithLabelValues(action, dry).Observe(took.Seconds())
	if err != nil {
		m.stepFailures.WithLabelValues(action, dry, failureType(err)).Inc()
	}
}

// failureType is the application error type the workflow sees, a bounded
// set (activities/action.Err*), never the message.
func failureType(err error) string {
	var app *temporal.ApplicationError
	switch {
	case errors.Is(err, context.Canceled) || temporal.IsCanceledError(err):
		return "Canceled"
	case errors.As(err, &app) && app.Type() != "":
		return app.Type()
	}
	return "Error"
}
