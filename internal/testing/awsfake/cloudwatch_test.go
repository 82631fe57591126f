package awsfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestCloudWatchGetMetricDataOverCBOR(t *testing.T) {
	ctx := context.Background()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	cw := awsfake.RegisterCloudWatch(srv)
	start := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	dims := map[string]string{"ModelId": "anthropic.claude-v2"}
	cw.AddDatapoints("AWS/Bedrock", "Invocations", dims,
		awsfake.MetricPoint{At: start.Add(1 * time.Minute), Value: 10},
		awsfake.MetricPoint{At: start.Add(2 * time.Minute), Value: 5},
		awsfake.MetricPoint{At: start.Add(7 * time.Minute), Value: 1},
		awsfake.MetricPoint{At: start.Add(2 * time.Hour), Value: 99}, // outside the window
	)
	cw.AddDatapoints("AWS/Bedrock", "Invocations", map[string]string{"ModelId": "other"}, awsfake.MetricPoint{At: start, Value: 1000})
	c := cloudwatch.NewFromConfig(srv.Config())
	out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(start.Add(time.Hour)), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("inv"),
			MetricStat: &cwtypes.MetricStat{Period: aws.Int32(300), Stat: aws.String("Sum"), Metric: &cwtypes.Metric{
				Namespace: aws.String("AWS/Bedrock"), MetricName: aws.String("Invocations"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("ModelId"), Value: aws.String("anthropic.claude-v2")}},
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.MetricDataResults[0]
	if aws.ToString(r.Id) != "inv" || r.StatusCode != cwtypes.StatusCodeComplete || len(r.Values) != 2 || r.Values[0] != 15 || r.Values[1] != 1 {
		t.Fatalf("result = %+v", r)
	}
	if !r.Timestamps[0].Equal(start) || !r.Timestamps[1].Equal(start.Add(5*time.Minute)) {
		t.Fatalf("timestamps = %v", r.Timestamps)
	}
}

func TestCloudWatchErrors(t *testing.T) {
	ctx := context.Background()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	awsfake.RegisterCloudWatch(srv)
	cfg := srv.Config()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	c := cloudwatch.NewFromConfig(cfg)
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("Bad"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Sum"), Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Bedrock"), MetricName: aws.String("Invocations")}}}},
	}
	_, err := c.GetMetricData(ctx, in)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationError" {
		t.Fatalf("upper-case query id: err = %v, want ValidationError", err)
	}
	in.MetricDataQueries[0].Id = aws.String("ok")
	srv.InjectFault(awsfake.Fault{Operation: "GetMetricData", Code: "Throttling", Status: 400})
	_, err = c.GetMetricData(ctx, in)
	if !errors.As(err, &api) || api.ErrorCode() != "Throttling" || !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Fatalf("err = %v, want a Throttling error the SDK retries", err)
	}
}
