package aws

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
	"go.temporal.io/sdk/testsuite"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/activities/core"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

func aliasArgsMap() map[string]any {
	return map[string]any{"agent_id": testAgentID, "alias_id": testAliasID}
}

func TestPauseAgentAliasContainIdempotentUndo(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	ba := fakeBedrockAgent(srv)
	before, _ := ba.Alias(testAgentID, testAliasID)

	res, err := act(b, ActionPauseAgentAlias)(ctx, bedrockInput("pause", aliasArgsMap()))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := ba.Alias(testAgentID, testAliasID)
	if !res.Changed || after.AliasInvocationState != agenttypes.AliasInvocationStateRejectInvocations || after.AgentAliasStatus != agenttypes.AgentAliasStatusPrepared {
		t.Fatalf("after pause: changed=%v state=%s status=%s", res.Changed, after.AliasInvocationState, after.AgentAliasStatus)
	}
	// UpdateAgentAlias clears what is not resent: name, description and routing must survive.
	if aws.ToString(after.AgentAliasName) != "live" || aws.ToString(after.Description) != "production traffic" || !reflect.DeepEqual(after.RoutingConfiguration, before.RoutingConfiguration) {
		t.Fatalf("alias lost its configuration: %+v", after)
	}
	if res.Prior["alias_invocation_state"] != "ACCEPT_INVOCATIONS" || res.Undo == nil || res.Undo.Action != ActionRestoreAgentAlias {
		t.Fatalf("prior %v undo %+v", res.Prior, res.Undo)
	}

	srv.ResetCalls()
	again, err := act(b, ActionPauseAgentAlias)(ctx, bedrockInput("pause", aliasArgsMap()))
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || again.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("second pause: changed=%v undo=%v mutating calls %v", again.Changed, again.Undo, mutatingOps(srv))
	}

	mustUndo(t, srv, bedrockUndos(b), res)
	restored, _ := ba.Alias(testAgentID, testAliasID)
	if restored.AliasInvocationState != before.AliasInvocationState || aws.ToString(restored.Description) != aws.ToString(before.Description) ||
		!reflect.DeepEqual(restored.RoutingConfiguration, before.RoutingConfiguration) || restored.AgentAliasStatus != agenttypes.AgentAliasStatusPrepared {
		t.Fatalf("after undo: %+v, want like %+v", restored, before)
	}
}

func TestPauseAgentAliasWaitsUntilPrepared(t *testing.T) {
	srv, b := newBedrockTest(t)
	fakeBedrockAgent(srv).SetSettleAfter(4)
	if _, err := act(b, ActionPauseAgentAlias)(context.Background(), bedrockInput("pause", aliasArgsMap())); err != nil {
		t.Fatal(err)
	}
	// The fake only settles on reads: PREPARED means the action kept polling.
	if a, _ := fakeBedrockAgent(srv).Alias(testAgentID, testAliasID); a.AgentAliasStatus != agenttypes.AgentAliasStatusPrepared {
		t.Fatalf("returned while the alias was %s", a.AgentAliasStatus)
	}
}

func TestPauseAgentAliasAlreadyRejectingIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	fakeBedrockAgent(srv).AddAlias(agenttypes.AgentAlias{AgentId: aws.String(testAgentID), AgentAliasId: aws.String("PAUSED0001"), AgentAliasName: aws.String("old"),
		AliasInvocationState: agenttypes.AliasInvocationStateRejectInvocations})
	res, err := act(b, ActionPauseAgentAlias)(ctx, bedrockInput("pause", map[string]any{"agent_id": testAgentID, "alias_id": "PAUSED0001"}))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed, so rollback must not start accepting invocations on an alias that was off before.
	if res.Changed || res.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("changed=%v undo=%+v mutating=%v", res.Changed, res.Undo, mutatingOps(srv))
	}
}

func TestPauseAgentAliasDryRunDoesNotMutate(t *testing.T) {
	srv, b := newBedrockTest(t)
	in := bedrockInput("pause", aliasArgsMap())
	in.DryRun = true
	res, err := act(b, ActionPauseAgentAlias)(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || !res.DryRun || !strings.HasPrefix(res.Summary, "would pause") || res.Undo != nil {
		t.Fatalf("dry run result = %+v", res)
	}
	if ops := mutatingOps(srv); len(ops) != 0 {
		t.Fatalf("dry run made mutating calls %v", ops)
	}
}

func TestPauseAgentAliasRetriesThrottling(t *testing.T) {
	srv, b := newBedrockTest(t)
	srv.InjectFault(awsfake.Fault{Operation: "UpdateAgentAlias", Code: "ThrottlingException", Status: 429, Times: 3})
	if _, err := act(b, ActionPauseAgentAlias)(context.Background(), bedrockInput("pause", aliasArgsMap())); err != nil {
		t.Fatalf("three throttles then success: %v", err)
	}
	if n := countCalls(srv, "UpdateAgentAlias"); n != 4 {
		t.Fatalf("UpdateAgentAlias calls = %d, want 4", n)
	}
	if a, _ := fakeBedrockAgent(srv).Alias(testAgentID, testAliasID); a.AliasInvocationState != agenttypes.AliasInvocationStateRejectInvocations {
		t.Fatalf("state = %s", a.AliasInvocationState)
	}
}

func TestPauseAgentAliasAccessDeniedFailsAtOnce(t *testing.T) {
	srv, b := newBedrockTest(t)
	srv.InjectFault(awsfake.Fault{Operation: "UpdateAgentAlias", Code: "AccessDeniedException", Status: 403, Times: 5})
	_, err := act(b, ActionPauseAgentAlias)(context.Background(), bedrockInput("pause", aliasArgsMap()))
	assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:UpdateAgentAlias")
	if n := countCalls(srv, "UpdateAgentAlias"); n != 1 {
		t.Fatalf("UpdateAgentAlias calls = %d, want 1 (no retries)", n)
	}
}

func TestPauseAgentAliasMissingArgument(t *testing.T) {
	srv, b := newBedrockTest(t)
	_, err := act(b, ActionPauseAgentAlias)(context.Background(), bedrockInput("pause", map[string]any{"agent_id": testAgentID}))
	if err == nil || !strings.Contains(err.Error(), `missing argument "alias_id"`) || countCalls(srv, "GetAgentAlias") != 0 {
		t.Fatalf("err = %v", err)
	}
}

// A retried attempt must undo to what the first attempt saw, not to its own change.
func TestPauseAgentAliasRetryKeepsFirstAttemptsPrior(t *testing.T) {
	srv, b := newBedrockTest(t)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(act(b, ActionPauseAgentAlias), activityOptions(ActionPauseAgentAlias))
	// The first attempt wrote REJECT_INVOCATIONS and then died; the
	// workflow hands its checkpoint to this attempt.
	a, _ := fakeBedrockAgent(srv).Alias(testAgentID, testAliasID)
	a.AliasInvocationState = agenttypes.AliasInvocationStateRejectInvocations
	fakeBedrockAgent(srv).AddAlias(a)
	in := bedrockInput("pause", aliasArgsMap())
	in.Checkpoint = json.RawMessage(`{"name":"live","state":"ACCEPT_INVOCATIONS"}`)

	val, err := env.ExecuteActivity(ActionPauseAgentAlias, in)
	if err != nil {
		t.Fatal(err)
	}
	var res contract.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Undo == nil || res.Undo.Args["prior_state"] != "ACCEPT_INVOCATIONS" {
		t.Fatalf("retry result = %+v", res)
	}
	if n := countCalls(srv, "UpdateAgentAlias"); n != 0 {
		t.Fatalf("retry wrote again (%d UpdateAgentAlias calls)", n)
	}
}

func kbArgsMap() map[string]any {
	return map[string]any{"agent_id": testAgentID, "knowledge_base_id": testKBID}
}

func TestDisableAgentKnowledgeBaseContainIdempotentUndo(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	ba := fakeBedrockAgent(srv)
	res, err := act(b, ActionDisableAgentKnowledgeBase)(ctx, bedrockInput("disable-kb", kbArgsMap()))
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := ba.AgentKnowledgeBase(testAgentID, "DRAFT", testKBID)
	agent, _ := ba.Agent(testAgentID)
	if !res.Changed || kb.KnowledgeBaseState != agenttypes.KnowledgeBaseStateDisabled || agent.AgentStatus != agenttypes.AgentStatusPrepared {
		t.Fatalf("after disable: changed=%v kb=%s agent=%s", res.Changed, kb.KnowledgeBaseState, agent.AgentStatus)
	}
	if aws.ToString(kb.Description) != "product docs" {
		t.Fatalf("description lost: %q", aws.ToString(kb.Description))
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"UpdateAgentKnowledgeBase", "PrepareAgent"}) {
		t.Fatalf("mutating calls = %v", ops)
	}
	if !strings.Contains(res.Summary, "published agent versions") || len(res.Warnings) == 0 {
		t.Fatalf("summary does not warn that published versions keep serving the KB: %q", res.Summary)
	}

	srv.ResetCalls()
	again, err := act(b, ActionDisableAgentKnowledgeBase)(ctx, bedrockInput("disable-kb", kbArgsMap()))
	if err != nil || again.Changed || again.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("second disable: %+v %v mutating=%v", again, err, mutatingOps(srv))
	}

	mustUndo(t, srv, bedrockUndos(b), res)
	kb, _ = ba.AgentKnowledgeBase(testAgentID, "DRAFT", testKBID)
	agent, _ = ba.Agent(testAgentID)
	if kb.KnowledgeBaseState != agenttypes.KnowledgeBaseStateEnabled || aws.ToString(kb.Description) != "product docs" || agent.AgentStatus != agenttypes.AgentStatusPrepared {
		t.Fatalf("after undo: kb=%+v agent=%s", kb, agent.AgentStatus)
	}
}

func TestDisableAgentKnowledgeBaseAlreadyDisabledHasNoUndo(t *testing.T) {
	srv, b := newBedrockTest(t)
	fakeBedrockAgent(srv).AddAgentKnowledgeBase(agenttypes.AgentKnowledgeBase{AgentId: aws.String(testAgentID), KnowledgeBaseId: aws.String("KBOFF00001"), KnowledgeBaseState: agenttypes.KnowledgeBaseStateDisabled})
	res, err := act(b, ActionDisableAgentKnowledgeBase)(context.Background(), bedrockInput("disable-kb", map[string]any{"agent_id": testAgentID, "knowledge_base_id": "KBOFF00001"}))
	if err != nil || res.Changed || res.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
	}
}

func TestDisableAgentKnowledgeBaseDryRunThrottleAccessDenied(t *testing.T) {
	ctx := context.Background()
	t.Run("dry run", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		in := bedrockInput("disable-kb", kbArgsMap())
		in.DryRun = true
		res, err := act(b, ActionDisableAgentKnowledgeBase)(ctx, in)
		if err != nil || !res.Changed || !strings.HasPrefix(res.Summary, "would set") || len(srv.MutatingCalls()) != 0 {
			t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
		}
	})
	t.Run("three throttles then success", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		srv.InjectFault(awsfake.Fault{Operation: "PrepareAgent", Code: "ThrottlingException", Status: 429, Times: 3})
		if _, err := act(b, ActionDisableAgentKnowledgeBase)(ctx, bedrockInput("disable-kb", kbArgsMap())); err != nil {
			t.Fatal(err)
		}
		if a, _ := fakeBedrockAgent(srv).Agent(testAgentID); a.AgentStatus != agenttypes.AgentStatusPrepared {
			t.Fatalf("agent status %s", a.AgentStatus)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		srv.InjectFault(awsfake.Fault{Operation: "UpdateAgentKnowledgeBase", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionDisableAgentKnowledgeBase)(ctx, bedrockInput("disable-kb", kbArgsMap()))
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:UpdateAgentKnowledgeBase")
		if n := countCalls(srv, "UpdateAgentKnowledgeBase"); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
}

func seedJobs(srv *awsfake.Server, statuses ...agenttypes.IngestionJobStatus) {
	t0 := time.Now().Add(-time.Hour)
	for i, st := range statuses {
		fakeBedrockAgent(srv).AddIngestionJob(agenttypes.IngestionJob{KnowledgeBaseId: aws.String(testKBID), DataSourceId: aws.String(testDSID),
			IngestionJobId: aws.String(string(rune('A'+i)) + "JOB000000"), Status: st, StartedAt: aws.Time(t0.Add(time.Duration(i) * time.Minute))})
	}
}

func dsArgsMap(restart bool) map[string]any {
	m := map[string]any{"knowledge_base_id": testKBID, "data_source_id": testDSID}
	if restart {
		m["restart_on_undo"] = true
	}
	return m
}

func TestStopIngestionJobsContainIdempotentUndo(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	seedJobs(srv, agenttypes.IngestionJobStatusComplete, agenttypes.IngestionJobStatusInProgress, agenttypes.IngestionJobStatusStarting)
	res, err := act(b, ActionStopIngestionJobs)(ctx, bedrockInput("stop-ingestion", dsArgsMap(true)))
	if err != nil {
		t.Fatal(err)
	}
	want := []agenttypes.IngestionJobStatus{agenttypes.IngestionJobStatusComplete, agenttypes.IngestionJobStatusStopped, agenttypes.IngestionJobStatusStopped}
	var got []agenttypes.IngestionJobStatus
	for _, j := range fakeBedrockAgent(srv).IngestionJobs(testKBID, testDSID) {
		got = append(got, j.Status)
	}
	if !res.Changed || !reflect.DeepEqual(got, want) {
		t.Fatalf("changed=%v job statuses = %v, want %v", res.Changed, got, want)
	}
	if ops := mutatingOps(srv); len(ops) != 2 {
		t.Fatalf("mutating calls = %v, want two StopIngestionJob", ops)
	}

	srv.ResetCalls()
	again, err := act(b, ActionStopIngestionJobs)(ctx, bedrockInput("stop-ingestion", dsArgsMap(true)))
	if err != nil || again.Changed || again.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("second stop: %+v %v %v", again, err, mutatingOps(srv))
	}

	// Undo (restart_on_undo) starts one job; mustUndo runs it twice and the repeat starts none.
	mustUndo(t, srv, bedrockUndos(b), res)
	jobs := fakeBedrockAgent(srv).IngestionJobs(testKBID, testDSID)
	if len(jobs) != 4 || jobs[3].Status != agenttypes.IngestionJobStatusStarting {
		t.Fatalf("jobs after undo = %d (last %s), want one new STARTING job", len(jobs), jobs[len(jobs)-1].Status)
	}
}

func TestStopIngestionJobsWithoutRestartHasNoUndo(t *testing.T) {
	srv, b := newBedrockTest(t)
	seedJobs(srv, agenttypes.IngestionJobStatusInProgress)
	res, err := act(b, ActionStopIngestionJobs)(context.Background(), bedrockInput("stop-ingestion", dsArgsMap(false)))
	if err != nil || !res.Changed || res.Undo != nil || len(res.Warnings) == 0 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestStopIngestionJobsDryRunThrottleAccessDenied(t *testing.T) {
	ctx := context.Background()
	t.Run("dry run", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedJobs(srv, agenttypes.IngestionJobStatusInProgress)
		in := bedrockInput("stop-ingestion", dsArgsMap(false))
		in.DryRun = true
		res, err := act(b, ActionStopIngestionJobs)(ctx, in)
		if err != nil || !res.Changed || !strings.Contains(res.Summary, "would stop 1") || len(srv.MutatingCalls()) != 0 {
			t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
		}
	})
	t.Run("three throttles then success", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedJobs(srv, agenttypes.IngestionJobStatusInProgress)
		srv.InjectFault(awsfake.Fault{Operation: "StopIngestionJob", Code: "ThrottlingException", Status: 429, Times: 3})
		if _, err := act(b, ActionStopIngestionJobs)(ctx, bedrockInput("stop-ingestion", dsArgsMap(false))); err != nil {
			t.Fatal(err)
		}
		if j := fakeBedrockAgent(srv).IngestionJobs(testKBID, testDSID)[0]; j.Status != agenttypes.IngestionJobStatusStopped {
			t.Fatalf("job %s", j.Status)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedJobs(srv, agenttypes.IngestionJobStatusInProgress)
		srv.InjectFault(awsfake.Fault{Operation: "StopIngestionJob", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionStopIngestionJobs)(ctx, bedrockInput("stop-ingestion", dsArgsMap(false)))
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:StopIngestionJob")
	})
}

// The built-in Bedrock runbooks must validate against the real actions.
func TestBedrockBuiltinRunbooksValidate(t *testing.T) {
	_, p := newTestAWS(t)
	reg := catalog(p)
	reg.Register((&core.Core{}).Actions()...)
	lib, err := runbooks.NewLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, prob := range lib.Problems() {
		t.Errorf("built-in runbook problem: %v", prob)
	}
	for _, name := range []string{"unsafe-output", "usage-spike", "compromised-data-source", "ai-controls-tampered"} {
		rb, ok := lib.Get(name)
		if !ok {
			t.Errorf("built-in runbook %s not loaded", name)
			continue
		}
		if rb.OnResolve != "rollback" || rb.Approvals == nil || rb.Metadata.Title == "" {
			t.Errorf("%s: on_resolve %q, approvals %v, title %q", name, rb.OnResolve, rb.Approvals, rb.Metadata.Title)
		}
	}
}

func actionGroupArgsMap(id string) map[string]any {
	return map[string]any{"agent_id": testAgentID, "action_group_id": id}
}

// stateChanges lists "resource path" for every value that differs, except
// the stamps AWS writes on every update and prepare (they cannot come back).
func stateChanges(before, after awsfake.State) []string {
	stamps := map[string]bool{"updatedAt": true, "UpdatedAt": true, "PreparedAt": true}
	var out []string
	for _, ch := range before.Diff(after) {
		if !stamps[ch.Path] {
			out = append(out, ch.Resource+" "+ch.Path)
		}
	}
	return out
}

func TestDisableAgentActionGroupContainIdempotentUndo(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	ba := fakeBedrockAgent(srv)
	before := srv.State()

	res, err := act(b, ActionDisableAgentActionGroup)(ctx, bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID)))
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := ba.Agent(testAgentID)
	if !res.Changed || ba.ActionGroupState(testAgentID, "DRAFT", testActionGroupID) != agenttypes.ActionGroupStateDisabled || agent.AgentStatus != agenttypes.AgentStatusPrepared {
		t.Fatalf("after disable: changed=%v state=%s agent=%s", res.Changed, ba.ActionGroupState(testAgentID, "DRAFT", testActionGroupID), agent.AgentStatus)
	}
	// The update replaces the definition: executor, schema, name and
	// description must have been resent unchanged.
	if got, want := stateChanges(before, srv.State()), []string{"bedrock-agent/agent-action-group/" + testAgentID + "/DRAFT/" + testActionGroupID + " actionGroupState"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changes after disable = %v, want only %v", got, want)
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"UpdateAgentActionGroup", "PrepareAgent"}) {
		t.Fatalf("mutating calls = %v", ops)
	}
	if res.Prior["action_group_state"] != "ENABLED" || res.Prior["action_group_name"] != "refunds" {
		t.Fatalf("prior = %v", res.Prior)
	}
	wantUndo := &contract.UndoRecord{Action: ActionEnableAgentActionGroup, Args: map[string]any{"agent_id": testAgentID, "action_group_id": testActionGroupID, "agent_version": "DRAFT"}}
	if !reflect.DeepEqual(res.Undo, wantUndo) {
		t.Fatalf("undo = %+v, want %+v", res.Undo, wantUndo)
	}
	if !strings.Contains(res.Summary, "published agent versions") || len(res.Warnings) == 0 {
		t.Fatalf("summary does not warn that published versions keep the tool: %q", res.Summary)
	}

	srv.ResetCalls()
	again, err := act(b, ActionDisableAgentActionGroup)(ctx, bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID)))
	if err != nil || again.Changed || again.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("second disable: %+v %v mutating=%v", again, err, mutatingOps(srv))
	}

	mustUndo(t, srv, bedrockUndos(b), res)
	if got := stateChanges(before, srv.State()); len(got) != 0 {
		t.Fatalf("after undo the account differs from before in %v", got)
	}
	if a, _ := ba.Agent(testAgentID); a.AgentStatus != agenttypes.AgentStatusPrepared {
		t.Fatalf("agent %s after undo", a.AgentStatus)
	}
}

// Every kind of action group comes back from the update as it was: a
// function schema with return of control, and a built-in signature whose
// request name differs from its resource name.
func TestDisableAgentActionGroupKeepsEveryDefinition(t *testing.T) {
	groups := map[string]agenttypes.AgentActionGroup{
		"functions": {ActionGroupName: aws.String("lookup"), Description: aws.String("look orders up"),
			ActionGroupExecutor: &agenttypes.ActionGroupExecutorMemberCustomControl{Value: agenttypes.CustomControlMethodReturnControl},
			FunctionSchema: &agenttypes.FunctionSchemaMemberFunctions{Value: []agenttypes.Function{{Name: aws.String("get_order"), Description: aws.String("one order"),
				RequireConfirmation: agenttypes.RequireConfirmationEnabled,
				Parameters:          map[string]agenttypes.ParameterDetail{"order_id": {Type: agenttypes.TypeString, Required: aws.Bool(true), Description: aws.String("the id")}}}}}},
		"s3 schema": {ActionGroupName: aws.String("tickets"),
			ActionGroupExecutor: &agenttypes.ActionGroupExecutorMemberLambda{Value: "arn:aws:lambda:us-east-1:123456789012:function:tickets"},
			ApiSchema:           &agenttypes.APISchemaMemberS3{Value: agenttypes.S3Identifier{S3BucketName: aws.String("schemas"), S3ObjectKey: aws.String("tickets.yaml")}}},
		"user input": {ActionGroupName: aws.String("ask-user"), ParentActionSignature: agenttypes.ActionGroupSignatureAmazonUserinput},
		"computer use": {ActionGroupName: aws.String("bash"), ParentActionSignature: agenttypes.ActionGroupSignatureAnthropicBash,
			ParentActionGroupSignatureParams: map[string]string{"type": "bash_20241022"}},
	}
	for name, g := range groups {
		t.Run(name, func(t *testing.T) {
			srv, b := newBedrockTest(t)
			g.AgentId, g.ActionGroupId = aws.String(testAgentID), aws.String("AG00000099")
			fakeBedrockAgent(srv).AddAgentActionGroup(g)
			before := srv.State()
			res := mustRun(t, act(b, ActionDisableAgentActionGroup), bedrockInput("disable-tool", actionGroupArgsMap("AG00000099")))
			if got, want := stateChanges(before, srv.State()), []string{"bedrock-agent/agent-action-group/" + testAgentID + "/DRAFT/AG00000099 actionGroupState"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("changes after disable = %v, want only %v", got, want)
			}
			mustUndo(t, srv, bedrockUndos(b), res)
			if got := stateChanges(before, srv.State()); len(got) != 0 {
				t.Fatalf("after undo the account differs from before in %v", got)
			}
		})
	}
}

func TestDisableAgentActionGroupAlreadyDisabledHasNoUndo(t *testing.T) {
	srv, b := newBedrockTest(t)
	fakeBedrockAgent(srv).AddAgentActionGroup(agenttypes.AgentActionGroup{AgentId: aws.String(testAgentID), ActionGroupId: aws.String("AGOFF00001"), ActionGroupName: aws.String("old"),
		ActionGroupState: agenttypes.ActionGroupStateDisabled, ActionGroupExecutor: &agenttypes.ActionGroupExecutorMemberLambda{Value: "arn:aws:lambda:us-east-1:123456789012:function:old"}})
	res, err := act(b, ActionDisableAgentActionGroup)(context.Background(), bedrockInput("disable-tool", actionGroupArgsMap("AGOFF00001")))
	// Rollback must not enable a tool that was off before the incident.
	if err != nil || res.Changed || res.Undo != nil || len(srv.MutatingCalls()) != 0 || !strings.Contains(res.Summary, "already DISABLED") {
		t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
	}
}

func TestDisableAgentActionGroupDryRunAccessDeniedPublishedVersion(t *testing.T) {
	ctx := context.Background()
	t.Run("dry run", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		res, err := act(b, ActionDisableAgentActionGroup)(ctx, dryRun(bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID))))
		if err != nil || !res.Changed || !res.DryRun || res.Undo != nil || !strings.HasPrefix(res.Summary, "would set action group "+testActionGroupID+" (refunds)") || len(srv.MutatingCalls()) != 0 {
			t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		srv.InjectFault(awsfake.Fault{Operation: "UpdateAgentActionGroup", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionDisableAgentActionGroup)(ctx, bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID)))
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:UpdateAgentActionGroup")
		if n := countCalls(srv, "UpdateAgentActionGroup"); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
	t.Run("published version", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		args := actionGroupArgsMap(testActionGroupID)
		args["agent_version"] = "3"
		_, err := act(b, ActionDisableAgentActionGroup)(ctx, bedrockInput("disable-tool", args))
		assertNonRetryable(t, err, action.ErrInvalidArgument, "agent_version", "DRAFT")
		if n := len(srv.Calls()); n != 0 {
			t.Fatalf("%d AWS calls for a version that cannot change", n)
		}
	})
}

// A retried attempt must undo to what the first attempt saw, not to its own change.
func TestDisableAgentActionGroupRetryKeepsFirstAttemptsPrior(t *testing.T) {
	srv, b := newBedrockTest(t)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(act(b, ActionDisableAgentActionGroup), activityOptions(ActionDisableAgentActionGroup))
	// The first attempt wrote DISABLED and died before preparing the agent.
	if _, err := act(b, ActionDisableAgentActionGroup)(context.Background(), bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID))); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	in := bedrockInput("disable-tool", actionGroupArgsMap(testActionGroupID))
	in.Checkpoint = json.RawMessage(`"ENABLED"`)
	val, err := env.ExecuteActivity(ActionDisableAgentActionGroup, in)
	if err != nil {
		t.Fatal(err)
	}
	var res contract.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Undo == nil || res.Undo.Action != ActionEnableAgentActionGroup {
		t.Fatalf("retry result = %+v", res)
	}
	if n := countCalls(srv, "UpdateAgentActionGroup"); n != 0 {
		t.Fatalf("retry wrote again (%d UpdateAgentActionGroup calls)", n)
	}
}

func TestActionGroupUpdateRefusesWhatItCannotResend(t *testing.T) {
	g := &agenttypes.AgentActionGroup{ActionGroupName: aws.String("future"), ActionGroupState: agenttypes.ActionGroupStateEnabled,
		ActionGroupExecutor: &agenttypes.UnknownUnionMember{Tag: "mcpServer", Value: []byte(`"x"`)}}
	_, err := actionGroupUpdate(g, agenttypes.ActionGroupStateDisabled)
	if err == nil || !strings.Contains(err.Error(), "actionGroupExecutor") || !strings.Contains(err.Error(), "mcpServer") {
		t.Fatalf("err = %v, want a refusal naming the unknown executor", err)
	}
}
