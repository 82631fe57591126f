package aws

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

// knownGoodLogging is a known-good configuration as an operator pastes it
// from `aws bedrock get-model-invocation-logging-configuration --query loggingConfig`.
const knownGoodLogging = `{"cloudWatchConfig":{"logGroupName":"/bedrock/invocations","roleArn":"arn:aws:iam::123456789012:role/bedrock-logging",
  "largeDataDeliveryS3Config":{"bucketName":"invocation-logs","keyPrefix":"large/"}},
  "s3Config":{"bucketName":"invocation-logs","keyPrefix":"bedrock/"},"textDataDeliveryEnabled":true,"imageDataDeliveryEnabled":true,"audioDataDeliveryEnabled":true}`

func knownGoodLoggingConfig() *brtypes.LoggingConfig {
	return &brtypes.LoggingConfig{
		CloudWatchConfig: &brtypes.CloudWatchConfig{LogGroupName: aws.String("/bedrock/invocations"), RoleArn: aws.String("arn:aws:iam::123456789012:role/bedrock-logging"),
			LargeDataDeliveryS3Config: &brtypes.S3Config{BucketName: aws.String("invocation-logs"), KeyPrefix: aws.String("large/")}},
		S3Config:                &brtypes.S3Config{BucketName: aws.String("invocation-logs"), KeyPrefix: aws.String("bedrock/")},
		TextDataDeliveryEnabled: aws.Bool(true), ImageDataDeliveryEnabled: aws.Bool(true), AudioDataDeliveryEnabled: aws.Bool(true),
	}
}

func TestRestoreInvocationLoggingAfterDelete(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	in := bedrockInput("restore-logging", map[string]any{"logging_config": knownGoodLogging})

	dry, err := act(b, ActionRestoreInvocationLogging)(ctx, dryRun(in))
	if err != nil || !dry.Changed || !strings.HasPrefix(dry.Summary, "would restore") || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("dry run: res=%+v err=%v mutating=%v", dry, err, mutatingOps(srv))
	}

	res, err := act(b, ActionRestoreInvocationLogging)(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := fakeBedrock(srv).LoggingConfig(); !reflect.DeepEqual(got, knownGoodLoggingConfig()) {
		t.Fatalf("logging after restore = %+v, want %+v", got, knownGoodLoggingConfig())
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"PutModelInvocationLoggingConfiguration"}) {
		t.Errorf("mutating calls = %v, want one PutModelInvocationLoggingConfiguration", ops)
	}
	// No undo by design, and the result says so.
	if !res.Changed || res.Undo != nil || res.Prior["logging_config"] != nil ||
		!strings.Contains(res.Summary, "it was off") || !strings.Contains(strings.Join(res.Warnings, "\n"), "not undone when the incident is rolled back, by design") {
		t.Fatalf("res = %+v", res)
	}

	// Again: already equal, no write.
	again, err := act(b, ActionRestoreInvocationLogging)(ctx, in)
	if err != nil || again.Changed || len(srv.MutatingCalls()) != 1 || !strings.Contains(again.Summary, "nothing to do") {
		t.Fatalf("again: res=%+v err=%v mutating=%v", again, err, mutatingOps(srv))
	}
}

func TestRestoreInvocationLoggingReplacesTamperedConfig(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	// The tamperer kept logging on but sent it to their own bucket, text off.
	tampered := &brtypes.LoggingConfig{S3Config: &brtypes.S3Config{BucketName: aws.String("attacker-bucket")}}
	fakeBedrock(srv).SetLoggingConfig(tampered)
	// The snapshot records the full configuration, in the form the restore takes.
	snap, err := act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", nil))
	if err != nil {
		t.Fatal(err)
	}
	recorded := snap.Output["invocation_logging"].(map[string]any)["logging_config"].(map[string]any)
	if recorded["s3Config"].(map[string]any)["bucketName"] != "attacker-bucket" || recorded["textDataDeliveryEnabled"] != false || recorded["audioDataDeliveryEnabled"] != false {
		t.Fatalf("snapshot logging_config = %v", recorded)
	}

	// Restore from a snapshot's map taken before the tampering.
	fakeBedrock(srv).SetLoggingConfig(knownGoodLoggingConfig())
	good, err := act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", nil))
	if err != nil {
		t.Fatal(err)
	}
	fakeBedrock(srv).SetLoggingConfig(tampered)
	srv.ResetCalls()
	res, err := act(b, ActionRestoreInvocationLogging)(ctx, bedrockInput("restore-logging", map[string]any{
		"logging_config": good.Output["invocation_logging"].(map[string]any)["logging_config"]}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fakeBedrock(srv).LoggingConfig(); !reflect.DeepEqual(loggingConfigMap(got), loggingConfigMap(knownGoodLoggingConfig())) {
		t.Fatalf("logging after restore = %v", loggingConfigMap(got))
	}
	prior, _ := res.Prior["logging_config"].(map[string]any)
	if prior["s3Config"].(map[string]any)["bucketName"] != "attacker-bucket" || res.Undo != nil {
		t.Fatalf("prior = %v undo = %v", res.Prior, res.Undo)
	}
}

func TestRestoreInvocationLoggingRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	for name, cfg := range map[string]any{
		"empty":            "",
		"not json":         "{s3Config",
		"unknown member":   `{"s3Config":{"bucketName":"b"},"textDataDelivery":true}`,
		"no destination":   `{"textDataDeliveryEnabled":true}`,
		"cloudwatch alone": map[string]any{"cloudWatchConfig": map[string]any{"logGroupName": "/g"}},
		"a list":           []any{"s3Config"},
	} {
		_, err := act(b, ActionRestoreInvocationLogging)(ctx, bedrockInput("restore-logging", map[string]any{"logging_config": cfg}))
		if err == nil || !strings.Contains(err.Error(), "logging_config") {
			t.Errorf("%s: err = %v, want a logging_config error", name, err)
		}
		assertNonRetryable(t, err, action.ErrInvalidArgument)
	}
	if len(srv.Calls()) != 0 {
		t.Errorf("a refused configuration reached AWS: %v", srv.Calls())
	}
}

func TestRestoreInvocationLoggingThrottleAccessDenied(t *testing.T) {
	ctx := context.Background()
	in := bedrockInput("restore-logging", map[string]any{"logging_config": knownGoodLogging})
	t.Run("throttled then success", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		srv.InjectFault(awsfake.Fault{Operation: "PutModelInvocationLoggingConfiguration", Code: "ThrottlingException", Status: 429, Times: 3})
		if _, err := act(b, ActionRestoreInvocationLogging)(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got := fakeBedrock(srv).LoggingConfig(); !reflect.DeepEqual(got, knownGoodLoggingConfig()) {
			t.Fatalf("logging = %+v", got)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		srv.InjectFault(awsfake.Fault{Operation: "PutModelInvocationLoggingConfiguration", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionRestoreInvocationLogging)(ctx, in)
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:PutModelInvocationLoggingConfiguration")
		if n := countCalls(srv, "PutModelInvocationLoggingConfiguration"); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
}
