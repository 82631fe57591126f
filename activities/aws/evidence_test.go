package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestSnapshotRecordsConfiguration(t *testing.T) {
	srv, b := newBedrockTest(t)
	seedGuardrail(srv)
	res, err := act(b, ActionBedrockSnapshot)(context.Background(), bedrockInput("snapshot", map[string]any{
		"agent_id": testAgentID, "knowledge_base_id": testKBID, "data_source_id": testDSID, "guardrail_id": testGuardrailID,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("snapshot changed something: %+v", res)
	}
	out := res.Output
	agent := out["agent"].(map[string]any)
	kb := out["knowledge_base"].(map[string]any)
	ds := out["data_source"].(map[string]any)
	gr := out["guardrail"].(map[string]any)
	logging := out["invocation_logging"].(map[string]any)
	checks := map[string][2]any{
		"agent status":       {agent["status"], "PREPARED"},
		"agent role name":    {agent["role_name"], "support-agent"},
		"kb role name":       {kb["role_name"], "kb-docs"},
		"kb embedding model": {kb["embedding_model_arn"], "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"},
		"bucket":             {ds["bucket_arn"], "arn:aws:s3:::docs-bucket"},
		"deletion policy":    {ds["data_deletion_policy"], "RETAIN"},
		"guardrail name":     {gr["name"], "support-app"},
		"logging":            {logging["enabled"], false},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if len(gr["content_filters"].([]any)) != 3 || len(gr["denied_topics"].([]any)) != 1 {
		t.Errorf("guardrail = %v", gr)
	}
	warned := strings.Join(res.Warnings, "\n")
	if !strings.Contains(warned, "logging is off") || !strings.Contains(warned, "no guardrail") {
		t.Errorf("warnings = %q", warned)
	}
}

func TestSnapshotInvocationLoggingOnAndErrors(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	fakeBedrock(srv).SetLoggingConfig(&brtypes.LoggingConfig{TextDataDeliveryEnabled: aws.Bool(true), S3Config: &brtypes.S3Config{BucketName: aws.String("invocation-logs"), KeyPrefix: aws.String("bedrock/")}})
	res, err := act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", nil))
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Output["invocation_logging"].(map[string]any); l["enabled"] != true || l["s3_bucket"] != "invocation-logs" {
		t.Fatalf("logging = %v", l)
	}
	if _, err := act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", map[string]any{"data_source_id": testDSID})); err == nil || !strings.Contains(err.Error(), "needs knowledge_base_id") {
		t.Fatalf("data source without knowledge base: err = %v", err)
	}
	_, err = act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", map[string]any{"agent_id": "NOPE000000"}))
	if err == nil || !strings.Contains(err.Error(), "agent NOPE000000") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing agent: err = %v", err)
	}
	srv.InjectFault(awsfake.Fault{Operation: "GetKnowledgeBase", Code: "AccessDeniedException", Status: 403})
	_, err = act(b, ActionBedrockSnapshot)(ctx, bedrockInput("snapshot", map[string]any{"knowledge_base_id": testKBID}))
	assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:GetKnowledgeBase")
}
