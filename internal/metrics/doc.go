// Package metrics owns quench's Prometheus metrics: one registry per
// process, every quench_* series with its HELP text, the /metrics handler,
// and the Temporal SDK's own metrics exported through the same registry
// (the SDK's OpenTelemetry handler, go.temporal.io/sdk/contrib/opentelemetry,
// read by OpenTelemetry's Prometheus exporter).
//
//	worker side   ObserveStep        action.Registry's observer: step attempts
//	              AWSAPIOption       aws-sdk-go-v2 middleware: failed AWS calls
//	              SlackHTTPClient    Slack Web API calls that failed
//	              TemporalHandler    client.Options.MetricsHandler
//	serve side    Alert*             internal/alerts' Counter
//	              WatchIncidents     open incidents and pending approvals,
//	                                 read from Temporal visibility at scrape
//	                                 time (workflows cannot emit process
//	                                 metrics deterministically)
//	both          Handler            GET /metrics
//
// Labels are bounded sets only (runbook, state, action, source, reason,
// AWS service and error code, Slack method and error): never an incident
// id or free-form error text. Every method works on a nil *Metrics and
// does nothing, so a caller without metrics needs no branch.
//
// It must not import the engine (workflows' interpreter, worker,
// activities): both `quench serve` and `quench worker` use it. It reads
// incidents through internal/incidents and workflows/contract's types.
package metrics
