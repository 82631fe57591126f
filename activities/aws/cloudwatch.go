package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// ActionCaptureMetrics is the CloudWatch evidence action.
const ActionCaptureMetrics = "cloudwatch.capture_metrics"

// CloudWatchAPI is the part of the CloudWatch client the actions call.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CloudWatchActions captures Bedrock usage metrics as incident evidence.
type CloudWatchActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (CloudWatchAPI, error)
	// Now is the clock the capture window ends at; tests pin it.
	Now func() time.Time
}

// NewCloudWatchActions returns the CloudWatch actions acting through p.
func NewCloudWatchActions(p *Provider) *CloudWatchActions {
	return &CloudWatchActions{clients: clientsFrom(p, func(c aws.Config) CloudWatchAPI { return cloudwatch.NewFromConfig(c) }), Now: time.Now}
}

// Actions returns the cloudwatch.* actions.
func (c *CloudWatchActions) Actions() []action.Action {
	return []action.Action{action.New(runbooks.ActionSpec{Name: ActionCaptureMetrics,
		Description: "Read-only evidence: sums and series of AWS/Bedrock Invocations, InputTokenCount, OutputTokenCount and InvocationThrottles for one model over a window.",
		Args: []runbooks.ArgSpec{
			{Name: "model_id", Type: "string", Required: true, Description: "the ModelId dimension, e.g. anthropic.claude-3-5-sonnet-20240620-v1:0"},
			{Name: "window", Type: "duration", Description: "how far back to look (default 1h, at most 15 days)"},
			{Name: "period", Type: "duration", Description: "datapoint period, a multiple of 1m (default 5m)"},
		}}, c.CaptureMetrics)}
}

// bedrockMetrics are the metrics captured, by output key.
var bedrockMetrics = []struct{ key, id, metric string }{
	{"invocations", "invocations", "Invocations"},
	{"input_tokens", "input_tokens", "InputTokenCount"},
	{"output_tokens", "output_tokens", "OutputTokenCount"},
	{"invocation_throttles", "invocation_throttles", "InvocationThrottles"},
}

type captureArgs struct {
	ModelID string            `json:"model_id"`
	Window  runbooks.Duration `json:"window,omitempty"`
	Period  runbooks.Duration `json:"period,omitempty"`
}

// CaptureMetrics reads the Bedrock usage of a model. Output: model_id,
// start, end, period_seconds, one sum per metric at the top level
// (invocations, input_tokens, output_tokens, invocation_throttles) for
// `when:` expressions, and metrics.<key>{metric, sum, max, series[{timestamp, value}]}.
func (c *CloudWatchActions) CaptureMetrics(ctx context.Context, in contract.ActionInput, args captureArgs) (contract.ActionResult, error) {
	window, period := args.Window.D(), args.Period.D()
	if window == 0 {
		window = time.Hour
	}
	if period == 0 {
		period = 5 * time.Minute
	}
	switch {
	case period < time.Minute || period%time.Minute != 0:
		return contract.ActionResult{}, action.InvalidArg(ActionCaptureMetrics, "period %s must be a whole number of minutes", period)
	case window < period || window > 15*24*time.Hour:
		return contract.ActionResult{}, action.InvalidArg(ActionCaptureMetrics, "window %s must be at least the period (%s) and at most 15 days", window, period)
	}
	client, err := c.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	end := c.Now().UTC().Truncate(time.Minute)
	start := end.Add(-window)
	queries := make([]cwtypes.MetricDataQuery, 0, len(bedrockMetrics))
	for _, m := range bedrockMetrics {
		queries = append(queries, cwtypes.MetricDataQuery{
			Id: aws.String(m.id), ReturnData: aws.Bool(true),
			MetricStat: &cwtypes.MetricStat{Period: aws.Int32(int32(period / time.Second)), Stat: aws.String("Sum"), Metric: &cwtypes.Metric{
				Namespace: aws.String("AWS/Bedrock"), MetricName: aws.String(m.metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("ModelId"), Value: aws.String(args.ModelID)}},
			}},
		})
	}
	resource := "AWS/Bedrock metrics of model " + args.ModelID
	type series struct {
		sum, max float64
		points   []any
	}
	byID := map[string]*series{}
	p := cloudwatch.NewGetMetricDataPaginator(client, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: queries, ScanBy: cwtypes.ScanByTimestampAscending,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return contract.ActionResult{}, AWSError("cloudwatch", "GetMetricData", resource, err)
		}
		for _, r := range page.MetricDataResults {
			s := byID[aws.ToString(r.Id)]
			if s == nil {
				s = &series{}
				byID[aws.ToString(r.Id)] = s
			}
			for i, v := range r.Values {
				if i >= len(r.Timestamps) {
					break
				}
				s.sum += v
				s.max = max(s.max, v)
				s.points = append(s.points, map[string]any{"timestamp": r.Timestamps[i].UTC().Format(time.RFC3339), "value": v})
			}
		}
	}
	out := map[string]any{
		"model_id": args.ModelID, "start": start.Format(time.RFC3339), "end": end.Format(time.RFC3339),
		"period_seconds": int(period / time.Second),
	}
	metrics := map[string]any{}
	for _, m := range bedrockMetrics {
		s := byID[m.id]
		if s == nil {
			s = &series{}
		}
		if s.points == nil {
			s.points = []any{}
		}
		out[m.key] = s.sum
		metrics[m.key] = map[string]any{"metric": m.metric, "sum": s.sum, "max": s.max, "series": s.points}
	}
	out["metrics"] = metrics
	return contract.ActionResult{
		DryRun: in.DryRun,
		Output: out,
		Summary: fmt.Sprintf("model %s over the last %s: %.0f invocations, %.0f input tokens, %.0f output tokens, %.0f throttled",
			args.ModelID, window, out["invocations"], out["input_tokens"], out["output_tokens"], out["invocation_throttles"]),
	}, nil
}
