package aws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
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
	// testActionGroupID is an enabled Lambda tool with an inline OpenAPI schema.
	testActionGroupID = "AG00000001"
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
	ba.AddAgentActionGroup(agenttypes.AgentActionGroup{AgentId: aws.String(testAgentID), ActionGroupId: aws.String(testActionGroupID), ActionGroupName: aws.String("refunds"),
		Description:         aws.String("issue refunds to customers"),
		ActionGroupExecutor: &agenttypes.ActionGroupExecutorMemberLambda{Value: "arn:aws:lambda:us-east-1:123456789012:function:refunds"},
		ApiSchema:           &agenttypes.APISchemaMemberPayload{Value: `{"openapi":"3.0.0","paths":{"/refund":{"post":{"operationId":"refund"}}}}`}})
	b := NewBedrockActions(p)
	b.Poll = testPoll
	return srv, b
}

func bedrockInput(step string, args map[string]any) contract.ActionInput {
	return contract.ActionInput{Incident: testIncident, Step: step, Args: args}
}

// bedrockUndos maps each Bedrock undo action to its function, for mustUndo.
func bedrockUndos(b *BedrockActions) map[string]action.Func {
	return map[string]action.Func{
		ActionRestoreAgentAlias: act(b, ActionRestoreAgentAlias), ActionEnableAgentKnowledgeBase: act(b, ActionEnableAgentKnowledgeBase),
		ActionEnableAgentActionGroup: act(b, ActionEnableAgentActionGroup),
		ActionStartIngestionJob:      act(b, ActionStartIngestionJob), ActionRestoreGuardrail: act(b, ActionRestoreGuardrail),
	}
}
