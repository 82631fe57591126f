package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestCaptureMetricsReturnsSeededDatapoints(t *testing.T) {
	srv, p := newTestAWS(t)
	now := time.Date(2026, 11, 28, 21, 0, 30, 0, time.UTC)
	model := map[string]string{"ModelId": "anthropic.claude-3-haiku"}
	cw := fakeCloudWatch(srv)
	cw.AddDatapoints("AWS/Bedrock", "Invocations", model,
		awsfake.MetricPoint{At: now.Add(-50 * time.Minute), Value: 100},
		awsfake.MetricPoint{At: now.Add(-49 * time.Minute), Value: 20},
		awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: 3000},
		awsfake.MetricPoint{At: now.Add(-3 * time.Hour), Value: 1e6}, // before the window
	)
	cw.AddDatapoints("AWS/Bedrock", "InputTokenCount", model, awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: 4.5e6})
	cw.AddDatapoints("AWS/Bedrock", "OutputTokenCount", model, awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: 2e5})
	cw.AddDatapoints("AWS/Bedrock", "InvocationThrottles", map[string]string{"ModelId": "another-model"}, awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: 7})

	c := NewCloudWatchActions(p)
	c.Now = func() time.Time { return now }
	res, err := act(c, ActionCaptureMetrics)(context.Background(), bedrockInput("metrics", map[string]any{"model_id": "anthropic.claude-3-haiku", "window": "1h", "period": "5m"}))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	if res.Changed || res.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("evidence changed something: %+v", res)
	}
	if out["invocations"] != 3120.0 || out["input_tokens"] != 4.5e6 || out["output_tokens"] != 2e5 || out["invocation_throttles"] != 0.0 {
		t.Fatalf("sums = %v %v %v %v", out["invocations"], out["input_tokens"], out["output_tokens"], out["invocation_throttles"])
	}
	inv := out["metrics"].(map[string]any)["invocations"].(map[string]any)
	series := inv["series"].([]any)
	if len(series) != 2 || inv["max"] != 3000.0 {
		t.Fatalf("invocations series = %v", inv)
	}
	first := series[0].(map[string]any)
	if first["timestamp"] != "2026-11-28T20:10:00Z" || first["value"] != 120.0 {
		t.Fatalf("first datapoint = %v, want 120 in the 20:10 period", first)
	}
	if out["start"] != "2026-11-28T20:00:00Z" || out["end"] != "2026-11-28T21:00:00Z" || out["period_seconds"] != 300 {
		t.Fatalf("window = %v..%v period %v", out["start"], out["end"], out["period_seconds"])
	}
	if !strings.Contains(res.Summary, "3120 invocations") {
		t.Fatalf("summary = %q", res.Summary)
	}
}

func TestCaptureMetricsArgumentsAndErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range []map[string]any{
		{"window": "1h"},
		{"model_id": "m", "period": "90s"},
		{"model_id": "m", "window": "1m", "period": "5m"},
		{"model_id": "m", "window": "forever"},
	} {
		_, p := newTestAWS(t)
		if _, err := act(NewCloudWatchActions(p), ActionCaptureMetrics)(ctx, bedrockInput("metrics", args)); err == nil || !strings.Contains(err.Error(), ActionCaptureMetrics) {
			t.Errorf("args %v: err = %v, want an argument error", args, err)
		}
	}
	t.Run("three throttles then success", func(t *testing.T) {
		srv, p := newTestAWS(t)
		srv.InjectFault(awsfake.Fault{Operation: "GetMetricData", Code: "Throttling", Status: 400, Times: 3})
		if _, err := act(NewCloudWatchActions(p), ActionCaptureMetrics)(ctx, bedrockInput("metrics", map[string]any{"model_id": "m"})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, p := newTestAWS(t)
		srv.InjectFault(awsfake.Fault{Operation: "GetMetricData", Code: "AccessDenied", Status: 403, Times: 5})
		_, err := act(NewCloudWatchActions(p), ActionCaptureMetrics)(ctx, bedrockInput("metrics", map[string]any{"model_id": "m"}))
		assertNonRetryable(t, err, action.ErrAccessDenied, "cloudwatch:GetMetricData")
	})
}
