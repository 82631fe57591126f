package activities

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/internal/awsfake"
)

func init() {
	fakeRegistrars = append(fakeRegistrars, func(s *awsfake.Server) {
		awsfake.RegisterBedrockAgent(s)
		awsfake.RegisterBedrock(s)
		awsfake.RegisterCloudWatch(s)
	})
}

func fakeBedrockAgent(srv *awsfake.Server) *awsfake.BedrockAgent {
	return srv.Handler("bedrock-agent").(*awsfake.BedrockAgent)
}
func fakeBedrock(srv *awsfake.Server) *awsfake.Bedrock {
	return srv.Handler("bedrock").(*awsfake.Bedrock)
}
func fakeCloudWatch(srv *awsfake.Server) *awsfake.CloudWatch {
	return srv.Handler("monitoring").(*awsfake.CloudWatch)
}

// Seeded resource ids.
const (
	testAgentID = "AGENT00001"
	testAliasID = "LIVE000001"
	testKBID    = "KB00000001"
	testDSID    = "DS00000001"
)

// newBedrockTest starts a fake AWS seeded with one agent (alias routed to
// version 3, knowledge base enabled in its DRAFT), a knowledge base with an
// S3 data source, and returns Bedrock actions polling fast.
func newBedrockTest(t *testing.T) (*awsfake.Server, *BedrockActions) {
	t.Helper()
	srv, p := newTestAWS(t)
	ba := fakeBedrockAgent(srv)
	ba.AddAgent(agenttypes.Agent{AgentId: aws.String(testAgentID), AgentName: aws.String("support"),
		AgentResourceRoleArn: aws.String("arn:aws:iam::123456789012:role/service-role/support-agent"), FoundationModel: aws.String("anthropic.claude-v2")})
	ba.AddAlias(agenttypes.AgentAlias{AgentId: aws.String(testAgentID), AgentAliasId: aws.String(testAliasID), AgentAliasName: aws.String("live"),
		Description:          aws.String("production traffic"),
		RoutingConfiguration: []agenttypes.AgentAliasRoutingConfigurationListItem{{AgentVersion: aws.String("3")}}})
	ba.AddAgentKnowledgeBase(agenttypes.AgentKnowledgeBase{AgentId: aws.String(testAgentID), KnowledgeBaseId: aws.String(testKBID), Description: aws.String("product docs")})
	ba.AddKnowledgeBase(agenttypes.KnowledgeBase{KnowledgeBaseId: aws.String(testKBID), Name: aws.String("docs"), RoleArn: aws.String("arn:aws:iam::123456789012:role/kb-docs"),
		KnowledgeBaseConfiguration: &agenttypes.KnowledgeBaseConfiguration{Type: agenttypes.KnowledgeBaseTypeVector,
			VectorKnowledgeBaseConfiguration: &agenttypes.VectorKnowledgeBaseConfiguration{EmbeddingModelArn: aws.String("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")}}})
	ba.AddDataSource(agenttypes.DataSource{KnowledgeBaseId: aws.String(testKBID), DataSourceId: aws.String(testDSID), Name: aws.String("docs-bucket"),
		DataDeletionPolicy: agenttypes.DataDeletionPolicyRetain,
		DataSourceConfiguration: &agenttypes.DataSourceConfiguration{Type: agenttypes.DataSourceTypeS3,
			S3Configuration: &agenttypes.S3DataSourceConfiguration{BucketArn: aws.String("arn:aws:s3:::docs-bucket"), InclusionPrefixes: []string{"public/"}}}})
	b := NewBedrockActions(p)
	b.Poll = testPoll
	return srv, b
}

func bedrockInput(step string, args map[string]any) ActionInput {
	return ActionInput{Incident: IncidentRef{ID: "inc-42", Runbook: "test", Severity: "high"}, Step: step, Args: args}
}

// bedrockUndoInput turns an undo record into the input Temporal would deliver:
// the arguments travel through JSON in the workflow history.
func bedrockUndoInput(t *testing.T, u *UndoRecord) ActionInput {
	t.Helper()
	if u == nil {
		t.Fatal("no undo record")
	}
	b, err := json.Marshal(u.Args)
	if err != nil {
		t.Fatal(err)
	}
	var args map[string]any
	if err := json.Unmarshal(b, &args); err != nil {
		t.Fatal(err)
	}
	return bedrockInput("undo", args)
}

// bedrockRequireAccessDenied checks err is a non-retryable access-denied error naming perm.
func bedrockRequireAccessDenied(t *testing.T, err error, perm string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != ErrAccessDenied {
		t.Fatalf("err = %v, want a non-retryable %s error", err, ErrAccessDenied)
	}
	if !strings.Contains(err.Error(), perm) {
		t.Fatalf("err = %q does not name the permission %s", err, perm)
	}
}

// bedrockCountOps counts the calls of op the server received.
func bedrockCountOps(srv *awsfake.Server, op string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Operation == op {
			n++
		}
	}
	return n
}
