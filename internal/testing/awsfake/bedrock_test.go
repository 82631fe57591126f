package awsfake_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestBedrockGuardrailUpdateVersionAndRead(t *testing.T) {
	ctx := context.Background()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	br := awsfake.RegisterBedrock(srv)
	br.AddGuardrail(bedrock.GetGuardrailOutput{
		GuardrailId: aws.String("gr0000001"), Name: aws.String("app"),
		BlockedInputMessaging: aws.String("no"), BlockedOutputsMessaging: aws.String("no"),
		TopicPolicy: &brtypes.GuardrailTopicPolicy{Topics: []brtypes.GuardrailTopic{{Name: aws.String("weapons"), Definition: aws.String("weapons talk"), Type: brtypes.GuardrailTopicTypeDeny, Examples: []string{"how to"}}}},
	})
	c := bedrock.NewFromConfig(srv.Config())

	_, err := c.UpdateGuardrail(ctx, &bedrock.UpdateGuardrailInput{
		GuardrailIdentifier: aws.String("gr0000001"), Name: aws.String("app"),
		BlockedInputMessaging: aws.String("no"), BlockedOutputsMessaging: aws.String("no"),
		ContentPolicyConfig: &brtypes.GuardrailContentPolicyConfig{FiltersConfig: []brtypes.GuardrailContentFilterConfig{
			{Type: brtypes.GuardrailContentFilterTypePromptAttack, InputStrength: "HIGH", OutputStrength: "HIGH"},
		}},
	})
	var ve *brtypes.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("PROMPT_ATTACK output HIGH: err = %v, want ValidationException", err)
	}

	if _, err := c.UpdateGuardrail(ctx, &bedrock.UpdateGuardrailInput{
		GuardrailIdentifier: aws.String("gr0000001"), Name: aws.String("app"),
		BlockedInputMessaging: aws.String("no"), BlockedOutputsMessaging: aws.String("no"),
		ContentPolicyConfig: &brtypes.GuardrailContentPolicyConfig{FiltersConfig: []brtypes.GuardrailContentFilterConfig{
			{Type: brtypes.GuardrailContentFilterTypeHate, InputStrength: "HIGH", OutputStrength: "HIGH", InputEnabled: aws.Bool(true)},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	// The update replaced the DRAFT: the topic policy was not resent, so it is gone.
	g, _ := br.Guardrail("gr0000001")
	if g.TopicPolicy != nil || g.Status != brtypes.GuardrailStatusUpdating {
		t.Fatalf("draft after update: topic policy %+v, status %s", g.TopicPolicy, g.Status)
	}
	// Versioning an UPDATING draft conflicts until a read sees it READY.
	_, err = c.CreateGuardrailVersion(ctx, &bedrock.CreateGuardrailVersionInput{GuardrailIdentifier: aws.String("gr0000001"), ClientRequestToken: aws.String("tok1")})
	var ce *brtypes.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("version while UPDATING: err = %v, want ConflictException", err)
	}
	for _, want := range []brtypes.GuardrailStatus{"UPDATING", "READY"} {
		out, err := c.GetGuardrail(ctx, &bedrock.GetGuardrailInput{GuardrailIdentifier: aws.String("gr0000001")})
		if err != nil || out.Status != want {
			t.Fatalf("status = %v (%v), want %s", out, err, want)
		}
		if f := out.ContentPolicy.Filters[0]; f.Type != "HATE" || f.InputStrength != "HIGH" || !aws.ToBool(f.InputEnabled) {
			t.Fatalf("filter = %+v", f)
		}
	}
	for range 2 { // same token twice: one version
		v, err := c.CreateGuardrailVersion(ctx, &bedrock.CreateGuardrailVersionInput{GuardrailIdentifier: aws.String("gr0000001"), ClientRequestToken: aws.String("tok1")})
		if err != nil || aws.ToString(v.Version) != "1" {
			t.Fatalf("version = %+v, %v", v, err)
		}
	}
	v1, err := c.GetGuardrail(ctx, &bedrock.GetGuardrailInput{GuardrailIdentifier: aws.String("gr0000001"), GuardrailVersion: aws.String("1")})
	if err != nil || aws.ToString(v1.Version) != "1" || v1.ContentPolicy == nil {
		t.Fatalf("version 1 = %+v, %v", v1, err)
	}
	if n := len(br.GuardrailVersions("gr0000001")); n != 1 {
		t.Fatalf("versions = %d, want 1", n)
	}
}

func TestBedrockInvocationLoggingConfiguration(t *testing.T) {
	ctx := context.Background()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	br := awsfake.RegisterBedrock(srv)
	c := bedrock.NewFromConfig(srv.Config())
	out, err := c.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || out.LoggingConfig != nil {
		t.Fatalf("logging off: %+v, %v", out, err)
	}
	br.SetLoggingConfig(&brtypes.LoggingConfig{TextDataDeliveryEnabled: aws.Bool(true), CloudWatchConfig: &brtypes.CloudWatchConfig{LogGroupName: aws.String("/bedrock/invocations"), RoleArn: aws.String("arn:aws:iam::123456789012:role/log")}})
	out, err = c.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || out.LoggingConfig == nil || aws.ToString(out.LoggingConfig.CloudWatchConfig.LogGroupName) != "/bedrock/invocations" {
		t.Fatalf("logging on: %+v, %v", out, err)
	}
}

func TestBedrockPutDeleteInvocationLogging(t *testing.T) {
	ctx := context.Background()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	br := awsfake.RegisterBedrock(srv)
	c := bedrock.NewFromConfig(srv.Config())
	want := &brtypes.LoggingConfig{TextDataDeliveryEnabled: aws.Bool(true), S3Config: &brtypes.S3Config{BucketName: aws.String("logs"), KeyPrefix: aws.String("br/")}}
	if _, err := c.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: want}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || aws.ToString(out.LoggingConfig.S3Config.BucketName) != "logs" || !aws.ToBool(out.LoggingConfig.TextDataDeliveryEnabled) {
		t.Fatalf("after put: %+v, %v", out, err)
	}
	// AWS refuses a configuration without a destination.
	_, err = c.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: &brtypes.LoggingConfig{
		TextDataDeliveryEnabled: aws.Bool(true)}})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Fatalf("no destination: err = %v", err)
	}
	if aws.ToString(br.LoggingConfig().S3Config.BucketName) != "logs" {
		t.Fatalf("a refused put changed the configuration: %+v", br.LoggingConfig())
	}
	if _, err := c.DeleteModelInvocationLoggingConfiguration(ctx, &bedrock.DeleteModelInvocationLoggingConfigurationInput{}); err != nil {
		t.Fatal(err)
	}
	if br.LoggingConfig() != nil {
		t.Fatalf("after delete: %+v", br.LoggingConfig())
	}
	if got := srv.MutatingCalls(); len(got) != 3 { // the refused put is logged as attempted
		t.Fatalf("mutating calls = %v, want two puts and the delete", got)
	}
}
