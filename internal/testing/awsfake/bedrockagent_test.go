package awsfake_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func newAgentFake(t *testing.T) (*awsfake.Server, *awsfake.BedrockAgent, *bedrockagent.Client) {
	t.Helper()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	ba := awsfake.RegisterBedrockAgent(srv)
	ba.AddAgent(agenttypes.Agent{AgentId: aws.String("AGENT00001"), AgentName: aws.String("support")})
	ba.AddAlias(agenttypes.AgentAlias{
		AgentId: aws.String("AGENT00001"), AgentAliasId: aws.String("LIVE000001"), AgentAliasName: aws.String("live"),
		Description:          aws.String("production"),
		RoutingConfiguration: []agenttypes.AgentAliasRoutingConfigurationListItem{{AgentVersion: aws.String("3")}},
	})
	ba.AddAgentKnowledgeBase(agenttypes.AgentKnowledgeBase{AgentId: aws.String("AGENT00001"), KnowledgeBaseId: aws.String("KB00000001"), Description: aws.String("docs")})
	ba.AddKnowledgeBase(agenttypes.KnowledgeBase{KnowledgeBaseId: aws.String("KB00000001"), Name: aws.String("docs"), RoleArn: aws.String("arn:aws:iam::123456789012:role/kb-role")})
	ba.AddDataSource(agenttypes.DataSource{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), Name: aws.String("s3"),
		DataSourceConfiguration: &agenttypes.DataSourceConfiguration{Type: agenttypes.DataSourceTypeS3, S3Configuration: &agenttypes.S3DataSourceConfiguration{BucketArn: aws.String("arn:aws:s3:::docs")}}})
	return srv, ba, bedrockagent.NewFromConfig(srv.Config())
}

func TestBedrockAgentAliasUpdateSettlesAfterReads(t *testing.T) {
	ctx := context.Background()
	_, _, c := newAgentFake(t)
	_, err := c.UpdateAgentAlias(ctx, &bedrockagent.UpdateAgentAliasInput{
		AgentId: aws.String("AGENT00001"), AgentAliasId: aws.String("LIVE000001"), AgentAliasName: aws.String("live"),
		Description: aws.String("production"), AliasInvocationState: agenttypes.AliasInvocationStateRejectInvocations,
		RoutingConfiguration: []agenttypes.AgentAliasRoutingConfigurationListItem{{AgentVersion: aws.String("3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []agenttypes.AgentAliasStatus
	for range 2 {
		out, err := c.GetAgentAlias(ctx, &bedrockagent.GetAgentAliasInput{AgentId: aws.String("AGENT00001"), AgentAliasId: aws.String("LIVE000001")})
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, out.AgentAlias.AgentAliasStatus)
		if out.AgentAlias.AliasInvocationState != agenttypes.AliasInvocationStateRejectInvocations || aws.ToString(out.AgentAlias.RoutingConfiguration[0].AgentVersion) != "3" || aws.ToString(out.AgentAlias.Description) != "production" {
			t.Fatalf("alias after update = %+v", out.AgentAlias)
		}
		if out.AgentAlias.CreatedAt == nil || out.AgentAlias.CreatedAt.IsZero() {
			t.Fatal("createdAt did not round-trip")
		}
	}
	if statuses[0] != agenttypes.AgentAliasStatusUpdating || statuses[1] != agenttypes.AgentAliasStatusPrepared {
		t.Fatalf("statuses = %v, want UPDATING then PREPARED", statuses)
	}
}

func TestBedrockAgentAliasUpdateWithoutNameIsValidationError(t *testing.T) {
	srv, _, _ := newAgentFake(t)
	// The SDK validates the name client-side, so send the request without it.
	c := bedrockagent.NewFromConfig(srv.Config(), func(o *bedrockagent.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			_, err := st.Initialize.Remove("OperationInputValidation")
			return err
		})
	})
	_, err := c.UpdateAgentAlias(context.Background(), &bedrockagent.UpdateAgentAliasInput{AgentId: aws.String("AGENT00001"), AgentAliasId: aws.String("LIVE000001")})
	var ve *agenttypes.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want ValidationException", err)
	}
}

func TestBedrockAgentKnowledgeBaseOnlyDraftIsMutable(t *testing.T) {
	ctx := context.Background()
	_, ba, c := newAgentFake(t)
	_, err := c.UpdateAgentKnowledgeBase(ctx, &bedrockagent.UpdateAgentKnowledgeBaseInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("3"), KnowledgeBaseId: aws.String("KB00000001"), KnowledgeBaseState: agenttypes.KnowledgeBaseStateDisabled})
	var ve *agenttypes.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("update of version 3: err = %v, want ValidationException", err)
	}
	if _, err := c.UpdateAgentKnowledgeBase(ctx, &bedrockagent.UpdateAgentKnowledgeBaseInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), KnowledgeBaseId: aws.String("KB00000001"), KnowledgeBaseState: agenttypes.KnowledgeBaseStateDisabled, Description: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	if a, _ := ba.Agent("AGENT00001"); a.AgentStatus != agenttypes.AgentStatusNotPrepared {
		t.Fatalf("agent status after DRAFT change = %s, want NOT_PREPARED", a.AgentStatus)
	}
	p, err := c.PrepareAgent(ctx, &bedrockagent.PrepareAgentInput{AgentId: aws.String("AGENT00001")})
	if err != nil || p.AgentStatus != agenttypes.AgentStatusPreparing {
		t.Fatalf("prepare = %+v, %v", p, err)
	}
	var got []agenttypes.AgentStatus
	for range 2 {
		out, err := c.GetAgent(ctx, &bedrockagent.GetAgentInput{AgentId: aws.String("AGENT00001")})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Agent.AgentStatus)
	}
	if got[0] != agenttypes.AgentStatusPreparing || got[1] != agenttypes.AgentStatusPrepared {
		t.Fatalf("agent statuses = %v", got)
	}
	kb, err := c.GetAgentKnowledgeBase(ctx, &bedrockagent.GetAgentKnowledgeBaseInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), KnowledgeBaseId: aws.String("KB00000001")})
	if err != nil || kb.AgentKnowledgeBase.KnowledgeBaseState != agenttypes.KnowledgeBaseStateDisabled {
		t.Fatalf("kb = %+v, %v", kb, err)
	}
}

func TestBedrockAgentIngestionJobsStopAndList(t *testing.T) {
	ctx := context.Background()
	_, ba, c := newAgentFake(t)
	t0 := time.Now().Add(-time.Hour)
	for i, st := range []agenttypes.IngestionJobStatus{agenttypes.IngestionJobStatusComplete, agenttypes.IngestionJobStatusInProgress, agenttypes.IngestionJobStatusStarting} {
		ba.AddIngestionJob(agenttypes.IngestionJob{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"),
			IngestionJobId: aws.String(string(rune('A' + i))), Status: st, StartedAt: aws.Time(t0.Add(time.Duration(i) * time.Minute))})
	}
	filter := []agenttypes.IngestionJobFilter{{Attribute: agenttypes.IngestionJobFilterAttributeStatus, Operator: agenttypes.IngestionJobFilterOperatorEq, Values: []string{"STARTING", "IN_PROGRESS"}}}
	var ids []string
	p := bedrockagent.NewListIngestionJobsPaginator(c, &bedrockagent.ListIngestionJobsInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), Filters: filter, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.IngestionJobSummaries {
			ids = append(ids, aws.ToString(s.IngestionJobId))
		}
	}
	if len(ids) != 2 || ids[0] != "C" || ids[1] != "B" {
		t.Fatalf("running jobs = %v, want [C B] (newest first)", ids)
	}
	out, err := c.StopIngestionJob(ctx, &bedrockagent.StopIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), IngestionJobId: aws.String("B")})
	if err != nil || out.IngestionJob.Status != agenttypes.IngestionJobStatusStopping {
		t.Fatalf("stop = %+v, %v", out, err)
	}
	_, err = c.StopIngestionJob(ctx, &bedrockagent.StopIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), IngestionJobId: aws.String("A")})
	var ce *agenttypes.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("stopping a COMPLETE job: err = %v, want ConflictException", err)
	}
	var got []agenttypes.IngestionJobStatus
	for range 2 {
		j, err := c.GetIngestionJob(ctx, &bedrockagent.GetIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), IngestionJobId: aws.String("B")})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, j.IngestionJob.Status)
	}
	if got[0] != agenttypes.IngestionJobStatusStopping || got[1] != agenttypes.IngestionJobStatusStopped {
		t.Fatalf("job statuses = %v", got)
	}
	// A start while C still runs conflicts; the same token after that is idempotent.
	if _, err := c.StartIngestionJob(ctx, &bedrockagent.StartIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), ClientToken: aws.String("tok-0000000000000000000000000000000001")}); !errors.As(err, &ce) {
		t.Fatalf("start while running: err = %v, want ConflictException", err)
	}
}

func TestBedrockAgentNotFoundAndFaults(t *testing.T) {
	ctx := context.Background()
	srv, _, c := newAgentFake(t)
	_, err := c.GetAgent(ctx, &bedrockagent.GetAgentInput{AgentId: aws.String("NOPE000000")})
	var nf *agenttypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ResourceNotFoundException", err)
	}
	srv.InjectFault(awsfake.Fault{Operation: "GetAgent", Code: "AccessDeniedException", Status: 403})
	_, err = c.GetAgent(ctx, &bedrockagent.GetAgentInput{AgentId: aws.String("AGENT00001")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("err = %v, want AccessDeniedException", err)
	}
	calls := srv.Calls()
	if last := calls[len(calls)-1]; last.Service != "bedrock-agent" || last.Operation != "GetAgent" || !last.Faulted {
		t.Fatalf("last call = %+v", last)
	}
}

func TestBedrockAgentActionGroupRoundTripsThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	srv, ba, c := newAgentFake(t)
	ba.AddAgentActionGroup(agenttypes.AgentActionGroup{AgentId: aws.String("AGENT00001"), ActionGroupId: aws.String("AG00000001"), ActionGroupName: aws.String("refunds"),
		Description:         aws.String("issue refunds"),
		ActionGroupExecutor: &agenttypes.ActionGroupExecutorMemberLambda{Value: "arn:aws:lambda:us-east-1:123456789012:function:refunds"},
		ApiSchema:           &agenttypes.APISchemaMemberS3{Value: agenttypes.S3Identifier{S3BucketName: aws.String("schemas"), S3ObjectKey: aws.String("refunds.yaml")}}})
	ba.AddAgentActionGroup(agenttypes.AgentActionGroup{AgentId: aws.String("AGENT00001"), ActionGroupId: aws.String("AG00000002"), ActionGroupName: aws.String("ask-user"),
		ParentActionSignature: agenttypes.ActionGroupSignatureAmazonUserinput})
	get := func(id string) *agenttypes.AgentActionGroup {
		t.Helper()
		out, err := c.GetAgentActionGroup(ctx, &bedrockagent.GetAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), ActionGroupId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.AgentActionGroup
	}
	g := get("AG00000001")
	exec, ok := g.ActionGroupExecutor.(*agenttypes.ActionGroupExecutorMemberLambda)
	s3, ok2 := g.ApiSchema.(*agenttypes.APISchemaMemberS3)
	if !ok || !ok2 || exec.Value != "arn:aws:lambda:us-east-1:123456789012:function:refunds" || aws.ToString(s3.Value.S3ObjectKey) != "refunds.yaml" ||
		g.ActionGroupState != agenttypes.ActionGroupStateEnabled || g.CreatedAt == nil {
		t.Fatalf("action group = %+v", g)
	}
	before := srv.State()

	// The whole definition resent with DISABLED changes only the state (and the stamp).
	if _, err := c.UpdateAgentActionGroup(ctx, &bedrockagent.UpdateAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), ActionGroupId: aws.String("AG00000001"),
		ActionGroupName: g.ActionGroupName, Description: g.Description, ActionGroupExecutor: g.ActionGroupExecutor, ApiSchema: g.ApiSchema, ActionGroupState: agenttypes.ActionGroupStateDisabled}); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, ch := range before.Diff(srv.State()) {
		changed = append(changed, ch.Resource+" "+ch.Path)
	}
	want := []string{"bedrock-agent/agent-action-group/AGENT00001/DRAFT/AG00000001 actionGroupState", "bedrock-agent/agent-action-group/AGENT00001/DRAFT/AG00000001 updatedAt",
		"bedrock-agent/agent/AGENT00001 AgentStatus", "bedrock-agent/agent/AGENT00001 UpdatedAt"}
	if !slices.Equal(changed, want) {
		t.Fatalf("changes = %v, want %v", changed, want)
	}
	if ba.ActionGroupState("AGENT00001", "DRAFT", "AG00000001") != agenttypes.ActionGroupStateDisabled {
		t.Fatal("not disabled")
	}

	// Members not sent are cleared, as AWS does: the reason callers round-trip.
	if _, err := c.UpdateAgentActionGroup(ctx, &bedrockagent.UpdateAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), ActionGroupId: aws.String("AG00000001"),
		ActionGroupName: g.ActionGroupName, ActionGroupState: agenttypes.ActionGroupStateEnabled}); err != nil {
		t.Fatal(err)
	}
	if g := get("AG00000001"); g.ApiSchema != nil || g.ActionGroupExecutor != nil || g.Description != nil {
		t.Fatalf("partial update kept %+v", g)
	}

	// The built-in signature comes back as parentActionSignature and is sent as parentActionGroupSignature.
	u := get("AG00000002")
	if u.ParentActionSignature != agenttypes.ActionGroupSignatureAmazonUserinput {
		t.Fatalf("parent signature = %q", u.ParentActionSignature)
	}
	var ve *agenttypes.ValidationException
	_, err := c.UpdateAgentActionGroup(ctx, &bedrockagent.UpdateAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), ActionGroupId: aws.String("AG00000002"),
		ActionGroupName: u.ActionGroupName, ParentActionGroupSignature: u.ParentActionSignature, Description: aws.String("not allowed")})
	if !errors.As(err, &ve) {
		t.Fatalf("description with a parent signature: err = %v, want ValidationException", err)
	}
	_, err = c.UpdateAgentActionGroup(ctx, &bedrockagent.UpdateAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("3"), ActionGroupId: aws.String("AG00000001"),
		ActionGroupName: aws.String("refunds"), ActionGroupState: agenttypes.ActionGroupStateDisabled})
	if !errors.As(err, &ve) {
		t.Fatalf("update of version 3: err = %v, want ValidationException", err)
	}
	var nf *agenttypes.ResourceNotFoundException
	if _, err := c.GetAgentActionGroup(ctx, &bedrockagent.GetAgentActionGroupInput{AgentId: aws.String("AGENT00001"), AgentVersion: aws.String("DRAFT"), ActionGroupId: aws.String("NOPE000000")}); !errors.As(err, &nf) {
		t.Fatalf("missing group: err = %v, want ResourceNotFoundException", err)
	}
}
