package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// TestGenAIRunbooks runs each built-in GenAI runbook end to end, as an
// operator meets it: the alert its example route expects arrives over
// HTTP (a CloudWatch alarm through SNS, a GuardDuty finding through
// EventBridge, the generic JSON shape), the incident starts on the
// embedded Temporal server, the automatic steps land in the AWS test
// server, a signed Slack click approves each gated step, `quench resolve
// --rollback` undoes everything, and the AWS account is compared whole
// with its state before the alert. `quench timeline -o md` is compared
// with a golden file (-update rewrites them).
func TestGenAIRunbooks(t *testing.T) {
	runGenAIScenarios(t, genaiScenarios, false)
}

// TestGenAIRunbooksDryRun runs the same flows on a worker whose AWS
// actions are forced to dry runs (quench dev without AWS credentials):
// every approval is asked and granted, the incident ends contained, and
// not one call changes AWS.
func TestGenAIRunbooksDryRun(t *testing.T) {
	runGenAIScenarios(t, genaiScenarios, true)
}

type genaiScenario struct {
	name string
	seed func(t *testing.T, w *genaiWorld)
	// run delivers the alert, drives the incident to contained (checking
	// what landed when it is not a dry run) and returns its id.
	run func(t *testing.T, w *genaiWorld, dryRun bool) string
	// residue is what rollback cannot put back: AWS keeps history that no
	// API call removes. Each entry is "resource path" and is explained
	// where the scenario declares it.
	residue []string
}

func runGenAIScenarios(t *testing.T, scenarios []genaiScenario, dryRun bool) {
	quenchBinary(t) // build the CLI before the clocks of the incidents start
	srv := startServer(t, t.TempDir(), 0)
	t.Cleanup(func() { _ = srv.Stop() })
	c := dial(t, srv.FrontendAddress())
	t.Cleanup(c.Close)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newGenAIWorld(t, c, srv.FrontendAddress(), dryRun)
			sc.seed(t, w)
			w.aws.ResetCalls() // the log holds what the incident called, not the seeding
			before := w.aws.State()
			id := sc.run(t, w, dryRun)

			w.cli(t, "resolve", id, "--rollback")
			w.waitState(t, id, contract.StateRolledBack)
			changes := before.Diff(w.aws.State())
			if dryRun {
				if calls := w.mutatingCalls(); len(calls) != 0 {
					t.Errorf("a dry run made %d mutating AWS calls: %v", len(calls), calls)
				}
				if changes != nil {
					t.Errorf("a dry run changed AWS: %v", changes)
				}
				return
			}
			var got []string
			for _, ch := range changes {
				got = append(got, ch.Resource+" "+ch.Path)
			}
			if !slices.EqualFunc(got, sc.residue, residueMatches) {
				var all []string
				for _, ch := range changes {
					all = append(all, ch.String())
				}
				t.Errorf("after rollback the account differs from before the alert in:\n  %s\nwant only the history AWS keeps:\n  %s",
					strings.Join(all, "\n  "), strings.Join(sc.residue, "\n  "))
			}
			w.checkGolden(t, id, sc.name)
		})
	}
}

const (
	haiku        = "anthropic.claude-3-haiku-20240307-v1:0"
	appRole      = "chat-backend-role"
	agentID      = "AGENT00001"
	aliasID      = "ALIAS00001"
	kbID         = "KB12345678"
	dsID         = "DS12345678"
	guardrail    = "gr1a2b3c4d5e"
	guardrailARN = "arn:aws:bedrock:us-east-1:123456789012:guardrail/" + guardrail
	// guardrailParam is what examples/routes.yaml points unsafe-output at.
	guardrailParam = "/quench/chat/guardrail_version"
)

var genaiScenarios = []genaiScenario{
	{
		name: "usage-spike-cloudwatch-alarm",
		seed: seedUsageSpike,
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceSNS, w.sns.notification(t, `ALARM: "bedrock-claude-haiku-token-spike" in US East (N. Virginia)`, tokenSpikeAlarm()))
			w.waitState(t, id, contract.StateAwaitingApproval)
			// The shared entry points wait for a human: a surge that is a
			// launch must not throttle itself.
			if calls := w.mutatingCalls(); len(calls) != 0 {
				t.Fatalf("AWS changed before anyone approved: %v", calls)
			}
			w.approve(t, 1, "2000 invocations", "Throttle the shared entry points", `usage plan "abc123"`)
			st := w.waitState(t, id, contract.StateContained)
			if dryRun {
				return id
			}
			if th := w.apigw.UsagePlanThrottle("abc123"); th == nil || th.RateLimit != 1 || th.BurstLimit != 2 {
				t.Errorf("usage plan throttle while contained = %+v, want 1/2", th)
			}
			if n, _ := w.lambda.ReservedConcurrency("chat-backend"); n != 1 {
				t.Errorf("reserved concurrency while contained = %d, want 1", n)
			}
			for _, step := range []string{"revoke-role-sessions", "deactivate-user-keys", "approve-deny-role", "deny-role-bedrock"} {
				if stepState(st, step) != contract.StepSkipped {
					t.Errorf("step %s is %s for an alarm that names no identity", step, stepState(st, step))
				}
			}
			return id
		},
	},
	{
		name: "usage-spike-guardduty-assumed-role",
		seed: seedUsageSpike,
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, readAlertTestdata(t, "eventbridge-guardduty-assumed-role.json"))
			st := w.waitSteps(t, id, map[string]string{"revoke-role-sessions": contract.StepSucceeded, "approve-deny-role": contract.StepRunning})
			// An assumed-role finding never reaches a user-only action,
			// not even with a user of the role's name in the account.
			for _, step := range []string{"deactivate-user-keys", "revoke-user-sessions"} {
				if stepState(st, step) != contract.StepSkipped {
					t.Errorf("step %s is %s for an assumed-role finding", step, stepState(st, step))
				}
			}
			if calls := w.calledAny(userOnlyOps...); len(calls) != 0 {
				t.Errorf("an assumed-role finding reached IAM user APIs: %v", calls)
			}
			if !dryRun && len(w.iam.RolePolicies(appRole)) != 2 {
				t.Errorf("role policies after the automatic step = %v, want the existing one and the session revoke", keys(w.iam.RolePolicies(appRole)))
			}
			w.approve(t, 1, "assumed-role chat-backend-role is spending", "Deny it Bedrock")
			w.waitState(t, id, contract.StateContained)
			if calls := w.calledAny(userOnlyOps...); len(calls) != 0 {
				t.Errorf("an assumed-role finding reached IAM user APIs: %v", calls)
			}
			if s := w.iam.AccessKeyStatus(appRole, "AKIATRAPUSER00000001"); s != "Active" {
				t.Errorf("the IAM user named like the role has its key %s", s)
			}
			if !dryRun && len(w.iam.RolePolicies(appRole)) != 3 {
				t.Errorf("role policies while contained = %v, want the existing one, the revoke and the Bedrock deny", keys(w.iam.RolePolicies(appRole)))
			}
			return id
		},
	},
	{
		name: "usage-spike-guardduty-iam-user",
		seed: func(t *testing.T, w *genaiWorld) {
			seedUsageSpike(t, w)
			// Evidence never blocks containment: the worker may not read metrics.
			w.aws.InjectFault(awsfake.Fault{Operation: "GetMetricData", Code: "AccessDeniedException", Status: 403,
				Message: "User: arn:aws:sts::123456789012:assumed-role/quench-worker/quench-test is not authorized to perform: cloudwatch:GetMetricData", Times: 100})
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, readAlertTestdata(t, "eventbridge-guardduty-iam-user.json"))
			st := w.waitState(t, id, contract.StateContained)
			if stepState(st, "metrics") != contract.StepFailed {
				t.Errorf("metrics step is %s, want failed (access denied)", stepState(st, "metrics"))
			}
			w.slack.waitEvent(t, id, contract.EventStepFailed, 10*time.Second, func(e contract.Event) bool {
				return e.Step == "metrics" && strings.Contains(e.Detail, "AccessDenied")
			})
			// The finding names the leaked key: only that key goes.
			for step, want := range map[string]string{"deactivate-key": contract.StepSucceeded, "revoke-user-sessions": contract.StepSucceeded,
				"deactivate-user-keys": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s after the failed read, want %s", step, stepState(st, step), want)
				}
			}
			if calls := w.calledAny("PutRolePolicy", "GetRole", "GetRolePolicy"); len(calls) != 0 {
				t.Errorf("an IAM user finding reached role APIs: %v", calls)
			}
			if !dryRun {
				w.checkOnlyKeyContained(t, "Alice", "AKIAIOSFODNN7EXAMPLE")
			}
			return id
		},
	},
	{
		// GuardDuty names only the key (no userType, no userName): quench
		// finds its owner in IAM, deactivates exactly that key and revokes
		// the owner's sessions; nothing reaches a role, not even the role
		// a user of the same name shadows.
		name: "usage-spike-guardduty-access-key",
		seed: func(t *testing.T, w *genaiWorld) {
			seedUsageSpike(t, w)
			w.iam.AddAccessKey("Alice", aliceSecondKey, "Active")
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, accessKeyFinding(t, "AKIAIOSFODNN7EXAMPLE"))
			st := w.waitState(t, id, contract.StateContained)
			for step, want := range map[string]string{"deactivate-key": contract.StepSucceeded, "revoke-user-sessions": contract.StepSucceeded,
				"deactivate-user-keys": contract.StepSkipped, "revoke-role-sessions": contract.StepSkipped,
				"identity-not-contained": contract.StepSkipped, "approve-deny-role": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s for an access-key finding, want %s", step, stepState(st, step), want)
				}
			}
			if calls := w.calledAny("PutRolePolicy", "GetRole", "GetRolePolicy", "DeleteRolePolicy"); len(calls) != 0 {
				t.Errorf("an access-key finding reached role APIs: %v", calls)
			}
			if calls := w.calledAny("ListServiceSpecificCredentials", "UpdateServiceSpecificCredential"); len(calls) != 0 {
				t.Errorf("an access-key finding touched Bedrock API keys: %v", calls)
			}
			if !dryRun {
				w.checkOnlyKeyContained(t, "Alice", "AKIAIOSFODNN7EXAMPLE")
				if s := w.iam.AccessKeyStatus(appRole, "AKIATRAPUSER00000001"); s != "Active" {
					t.Errorf("the IAM user named like the role has its key %s", s)
				}
			}
			return id
		},
	},
	{
		// The enforcement that does not depend on the application, started
		// from the CLI (the GuardDuty route names no application role):
		// after its own approval IAM refuses the application role's model
		// calls that do not carry the tightened guardrail version; the
		// alias pause is a second approval.
		name: "unsafe-output-enforce-guardrail",
		seed: func(t *testing.T, w *genaiWorld) {
			seedUnsafeOutput(t, w)
			w.iam.AddRole(appRole, 3600)
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := "unsafe-output-enforce-guardrail" // one per Temporal server: each test starts its own
			w.cli(t, "--task-queue", w.taskQueue, "run", "unsafe-output", "--incident", id,
				"-p", "guardrail_id="+guardrail, "-p", "guardrail_version_parameter="+guardrailParam,
				"-p", "agent_id="+agentID, "-p", "alias_id="+aliasID,
				"-p", "app_role_name="+appRole, "-p", "guardrail_arn="+guardrailARN)
			if dryRun {
				// A dry run publishes no version, so there is none to enforce:
				// only the alias pause is asked.
				w.approvePause(t, id, 1, dryRun, "Pause agent "+agentID)
				return id
			}
			w.waitSteps(t, id, map[string]string{"tighten": contract.StepSucceeded, "approve-enforce-guardrail": contract.StepRunning})
			if len(w.iam.RolePolicies(appRole)) != 0 {
				t.Errorf("role policies before the approval = %v, want none", keys(w.iam.RolePolicies(appRole)))
			}
			w.approve(t, 1, "Require guardrail "+guardrailARN+" version 2", "role "+appRole, "loses the model")
			w.waitSteps(t, id, map[string]string{"enforce-guardrail": contract.StepSucceeded, "approve-pause": contract.StepRunning})
			w.checkAlias(t, agenttypes.AliasInvocationStateAcceptInvocations, "after only the enforcement approval")
			pols := w.iam.RolePolicies(appRole)
			doc, ok := pols["quench-require-guardrail-"+id]
			if len(pols) != 1 || !ok {
				t.Fatalf("role policies while enforced = %v, want quench-require-guardrail-%s", keys(pols), id)
			}
			var got struct {
				Statement []struct {
					Effect    string
					Action    []string
					Resource  any
					Condition map[string]map[string]any
				}
			}
			if err := json.Unmarshal([]byte(doc), &got); err != nil || len(got.Statement) != 1 {
				t.Fatalf("enforcement policy %s: %v", doc, err)
			}
			st := got.Statement[0]
			if st.Effect != "Deny" || !slices.Equal(st.Action, []string{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}) ||
				st.Condition["StringNotEquals"]["bedrock:GuardrailIdentifier"] != guardrailARN+":2" {
				t.Errorf("enforcement statement = %+v, want Deny InvokeModel[WithResponseStream] unless bedrock:GuardrailIdentifier is %s:2", st, guardrailARN)
			}
			w.approvePause(t, id, 2, dryRun, "Role "+appRole+" is held to it by IAM", "Pause agent "+agentID)
			return id
		},
		residue: []string{
			aliasHistory, aliasUpdated,
			"bedrock/guardrail/" + guardrail + " client_tokens.",
			"bedrock/guardrail/" + guardrail + " draft.UpdatedAt",
			"bedrock/guardrail/" + guardrail + " versions.2",
			"ssm/parameter/quench/chat/guardrail_version last_modified",
			"ssm/parameter/quench/chat/guardrail_version version",
		},
	},
	{
		name: "compromised-data-source-generic",
		seed: seedDataSource,
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			body := []byte(`{"name": "agent-kb-exfiltration", "status": "firing",
				"labels": {"env": "prod", "knowledge_base_id": "` + kbID + `", "data_source_id": "` + dsID + `", "agent_id": "` + agentID + `", "alias_id": "` + aliasID + `", "app_role_name": "` + appRole + `"},
				"summary": "retrievals from ` + kbID + ` at 40x baseline from one session"}`)
			id := w.postAlert(t, alerts.SourceGeneric, body)
			w.waitSteps(t, id, map[string]string{"stop-ingestion": contract.StepSucceeded, "deny-source-read": contract.StepSucceeded,
				"approve-retrieval-deny": contract.StepRunning})
			if !dryRun {
				if jobs := w.agents.IngestionJobs(kbID, dsID); jobs[0].Status != agenttypes.IngestionJobStatusStopped {
					t.Errorf("ingestion job is %s, want STOPPED at once", jobs[0].Status)
				}
				if len(w.iam.RolePolicies("kb-docs-role")) != 1 {
					t.Errorf("KB role policies = %v, want the source bucket deny", keys(w.iam.RolePolicies("kb-docs-role")))
				}
				w.checkAlias(t, agenttypes.AliasInvocationStateAcceptInvocations, "before any approval")
			}
			w.approve(t, 1, "Deny bedrock:Retrieve* on this knowledge base", "keeps answering")
			w.waitSteps(t, id, map[string]string{"deny-agent-retrieve": contract.StepSucceeded, "deny-app-retrieve": contract.StepSucceeded,
				"disable-kb-in-draft": contract.StepSucceeded, "approve-pause": contract.StepRunning})
			if !dryRun {
				w.checkAlias(t, agenttypes.AliasInvocationStateAcceptInvocations, "after only the retrieval approval")
				for _, role := range []string{"support-agent-role", appRole} {
					if len(w.iam.RolePolicies(role)) == 0 {
						t.Errorf("role %s has no Retrieve deny after approval 1", role)
					}
				}
			}
			w.approvePause(t, id, 2, dryRun, "Pause alias "+aliasID, "offline")
			return id
		},
		residue: []string{
			// The KB association is ENABLED again; AWS stamps the update.
			"bedrock-agent/agent-knowledge-base/" + agentID + "/DRAFT/" + kbID + " UpdatedAt",
			// UpdateAgentKnowledgeBase and PrepareAgent stamp the agent.
			"bedrock-agent/agent/" + agentID + " PreparedAt",
			"bedrock-agent/agent/" + agentID + " UpdatedAt",
			aliasHistory, aliasUpdated,
			// A stopped ingestion job cannot be resumed; a clean source is re-synced by hand.
			"bedrock-agent/ingestion-jobs/" + kbID + "/" + dsID + " [0].Status",
			"bedrock-agent/ingestion-jobs/" + kbID + "/" + dsID + " [0].UpdatedAt",
		},
	},
	{
		name: "unsafe-output-guardduty-prompt-injection",
		seed: seedUnsafeOutput,
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, readAlertTestdata(t, "eventbridge-guardduty-prompt-injection.json"))
			w.waitSteps(t, id, map[string]string{"tighten": contract.StepSucceeded, "approve-pause": contract.StepRunning})
			if !dryRun {
				g, _ := w.bedrock.Guardrail(guardrail)
				for _, f := range g.ContentPolicy.Filters {
					if f.InputStrength != brtypes.GuardrailFilterStrengthHigh {
						t.Errorf("filter %s input strength %s, want HIGH at once", f.Type, f.InputStrength)
					}
				}
				if v, _, _, _ := w.ssm.Parameter(guardrailParam); v != "2" {
					t.Errorf("the application's guardrail version parameter = %q, want the new version 2", v)
				}
				w.checkAlias(t, agenttypes.AliasInvocationStateAcceptInvocations, "before the approval")
			}
			w.approvePause(t, id, 1, dryRun, "guardrail gr1a2b3c4d5e is tightened", "do not read that parameter", "Pause agent "+agentID)
			return id
		},
		residue: []string{
			aliasHistory, aliasUpdated,
			// Published guardrail versions are immutable: version 2 stays;
			// the DRAFT's content is back, with a new update time.
			"bedrock/guardrail/" + guardrail + " client_tokens.",
			"bedrock/guardrail/" + guardrail + " draft.UpdatedAt",
			"bedrock/guardrail/" + guardrail + " versions.2",
			// Parameter Store keeps every version: the old value is back as a new one.
			"ssm/parameter/quench/chat/guardrail_version last_modified",
			"ssm/parameter/quench/chat/guardrail_version version",
		},
	},
}

// residueMatches is true when a changed "resource path" is the residue
// entry, or lies under an entry that ends in "." (a map whose keys are
// generated, such as idempotency tokens).
func residueMatches(got, entry string) bool {
	return got == entry || strings.HasSuffix(entry, ".") && strings.HasPrefix(got, entry)
}

// checkAlias checks the production alias's invocation state.
func (w *genaiWorld) checkAlias(t *testing.T, want agenttypes.AliasInvocationState, when string) {
	t.Helper()
	if a, _ := w.agents.Alias(agentID, aliasID); a.AliasInvocationState != want {
		t.Errorf("alias is %s %s, want %s", a.AliasInvocationState, when, want)
	}
}

// approvePause approves the n-th request, the alias pause, and checks the
// incident ends contained with the alias rejecting invocations.
func (w *genaiWorld) approvePause(t *testing.T, id string, n int, dryRun bool, wantText ...string) {
	t.Helper()
	w.approve(t, n, wantText...)
	w.waitState(t, id, contract.StateContained)
	if !dryRun {
		w.checkAlias(t, agenttypes.AliasInvocationStateRejectInvocations, "after its approval")
	}
}

// aliceSecondKey is a second active key of the leaked key's user, which
// must stay active.
const aliceSecondKey = "AKIAALICESECOND00001"

// checkOnlyKeyContained checks that, of user's credentials, key alone is
// Inactive (the seeded inactive key stays so) and the user's sessions
// are revoked.
func (w *genaiWorld) checkOnlyKeyContained(t *testing.T, user, key string) {
	t.Helper()
	if s := w.iam.AccessKeyStatus(user, key); s != "Inactive" {
		t.Errorf("the leaked key %s is %s while contained", key, s)
	}
	if s := w.iam.AccessKeyStatus(user, aliceSecondKey); s != "" && s != "Active" {
		t.Errorf("the user's other key %s is %s, want Active (only the named key is contained)", aliceSecondKey, s)
	}
	if s := w.iam.ServiceSpecificCredentialStatus(user, "ACCABEDROCKKEY000001"); s != "Active" {
		t.Errorf("the user's Bedrock API key is %s, want Active (only the named key is contained)", s)
	}
	if len(w.iam.UserPolicies(user)) != 1 {
		t.Errorf("user policies while contained = %v, want the session revoke", keys(w.iam.UserPolicies(user)))
	}
}

// accessKeyFinding is the IAM-user GuardDuty finding as GuardDuty reports
// a call it can tie to an access key but not to a user: accessKeyDetails
// with the key and principal id, no userType or userName (the parser's
// access-key principal). It has its own finding id, so its own incident.
func accessKeyFinding(t *testing.T, key string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readAlertTestdata(t, "eventbridge-guardduty-iam-user.json"), &ev); err != nil {
		t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	detail["id"] = "a1c2e3a4b5c6d7e8f9a0b1c2d3e4f5a6"
	detail["type"] = "Impact:IAMUser/CostHarvesting"
	detail["title"] = "Cost harvesting with access key " + key + "."
	detail["resource"].(map[string]any)["accessKeyDetails"] = map[string]any{"accessKeyId": key, "principalId": "AIDAJ45Q7YFFAREXAMPLE"}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What an alias pause and its undo leave: AWS keeps an alias's routing
// history and stamps every update.
var (
	aliasHistory = "bedrock-agent/alias/" + agentID + "/" + aliasID + " AgentAliasHistoryEvents"
	aliasUpdated = "bedrock-agent/alias/" + agentID + "/" + aliasID + " UpdatedAt"
)

// userOnlyOps are the IAM calls only user containment makes.
var userOnlyOps = []string{"GetAccessKeyLastUsed", "ListAccessKeys", "UpdateAccessKey", "ListServiceSpecificCredentials", "UpdateServiceSpecificCredential",
	"GetUser", "GetUserPolicy", "PutUserPolicy", "DeleteUserPolicy"}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func readAlertTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "alerts", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedUsageSpike is an account with a public API (usage plan abc123 in
// front of the chat-backend Lambda), the application's role, an IAM user
// with a leaked key, and a user named like the role (a trap: nothing may
// touch it when the finding is about the role).
func seedUsageSpike(t *testing.T, w *genaiWorld) {
	w.apigw.AddUsagePlan("abc123", "public-api", &awsfake.Throttle{RateLimit: 100, BurstLimit: 200})
	w.lambda.AddFunction("chat-backend")
	w.lambda.SetReservedConcurrency("chat-backend", 50)
	w.iam.AddRole(appRole, 3600)
	w.iam.SetRolePolicy(appRole, "existing-inline", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}`)
	w.iam.AddUser(appRole)
	w.iam.AddAccessKey(appRole, "AKIATRAPUSER00000001", "Active")
	w.iam.AddUser("Alice")
	w.iam.AddAccessKey("Alice", "AKIAIOSFODNN7EXAMPLE", "Active")
	w.iam.AddAccessKey("Alice", "AKIAI44QH8DHBEXAMPLE", "Inactive")
	w.iam.AddServiceSpecificCredential("Alice", "bedrock.amazonaws.com", "ACCABEDROCKKEY000001", "Active")
	now := time.Now()
	dims := map[string]string{"ModelId": haiku}
	for metric, vals := range map[string][2]float64{"Invocations": {900, 1100}, "InputTokenCount": {1.8e6, 2.4e6}, "OutputTokenCount": {3e5, 4e5}} {
		w.cw.AddDatapoints("AWS/Bedrock", metric, dims,
			awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: vals[0]}, awsfake.MetricPoint{At: now.Add(-5 * time.Minute), Value: vals[1]})
	}
}

// tokenSpikeAlarm is the Message of a CloudWatch alarm notification
// (documented in AWS-ACTIONS.md; the shape of testdata/sns-cloudwatch-alarm.json).
func tokenSpikeAlarm() map[string]any {
	return map[string]any{
		"AlarmName": "bedrock-claude-haiku-token-spike", "AlarmDescription": "InputTokenCount for claude-3-haiku above 1M per 5 minutes",
		"AWSAccountId": "123456789012", "NewStateValue": "ALARM", "OldStateValue": "OK",
		"NewStateReason":  "Threshold Crossed: 1 out of the last 1 datapoints [2400000.0] was greater than the threshold (1000000.0).",
		"StateChangeTime": time.Now().UTC().Format("2006-01-02T15:04:05.000-0700"), "Region": "US East (N. Virginia)",
		"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:bedrock-claude-haiku-token-spike",
		"Trigger": map[string]any{
			"MetricName": "InputTokenCount", "Namespace": "AWS/Bedrock", "Statistic": "SUM", "Period": 300, "EvaluationPeriods": 1,
			"ComparisonOperator": "GreaterThanThreshold", "Threshold": 1e6,
			"Dimensions": []map[string]string{{"name": "ModelId", "value": haiku}},
		},
	}
}

// seedAgent is a support agent with a production alias.
func seedAgent(w *genaiWorld) {
	w.iam.AddRole("support-agent-role", 3600)
	w.agents.AddAgent(agenttypes.Agent{AgentId: aws.String(agentID), AgentName: aws.String("support"),
		AgentResourceRoleArn: aws.String(awsfake.RoleARN("support-agent-role", "/")), FoundationModel: aws.String(haiku),
		GuardrailConfiguration: &agenttypes.GuardrailConfiguration{GuardrailIdentifier: aws.String(guardrail), GuardrailVersion: aws.String("1")}})
	w.agents.AddAlias(agenttypes.AgentAlias{AgentId: aws.String(agentID), AgentAliasId: aws.String(aliasID), AgentAliasName: aws.String("live"),
		Description:          aws.String("production traffic"),
		RoutingConfiguration: []agenttypes.AgentAliasRoutingConfigurationListItem{{AgentVersion: aws.String("3")}}})
}

// seedDataSource is a knowledge base fed from an S3 bucket, syncing now,
// used by the agent and by the application's role directly.
func seedDataSource(t *testing.T, w *genaiWorld) {
	seedAgent(w)
	w.iam.AddRole("kb-docs-role", 3600)
	w.iam.AddRole(appRole, 3600)
	w.agents.AddAgentKnowledgeBase(agenttypes.AgentKnowledgeBase{AgentId: aws.String(agentID), KnowledgeBaseId: aws.String(kbID), Description: aws.String("product docs")})
	w.agents.AddKnowledgeBase(agenttypes.KnowledgeBase{KnowledgeBaseId: aws.String(kbID), Name: aws.String("docs"), RoleArn: aws.String(awsfake.RoleARN("kb-docs-role", "/"))})
	w.agents.AddDataSource(agenttypes.DataSource{KnowledgeBaseId: aws.String(kbID), DataSourceId: aws.String(dsID), Name: aws.String("docs-bucket"),
		DataDeletionPolicy: agenttypes.DataDeletionPolicyRetain,
		DataSourceConfiguration: &agenttypes.DataSourceConfiguration{Type: agenttypes.DataSourceTypeS3,
			S3Configuration: &agenttypes.S3DataSourceConfiguration{BucketArn: aws.String("arn:aws:s3:::docs-bucket")}}})
	w.agents.AddIngestionJob(agenttypes.IngestionJob{KnowledgeBaseId: aws.String(kbID), DataSourceId: aws.String(dsID),
		IngestionJobId: aws.String("JOB0000001"), Status: agenttypes.IngestionJobStatusInProgress, StartedAt: aws.Time(time.Now().Add(-3 * time.Minute))})
}

// seedUnsafeOutput is the agent's guardrail with published version 1, the
// parameter the application reads its version from, and the agent.
func seedUnsafeOutput(t *testing.T, w *genaiWorld) {
	seedAgent(w)
	w.bedrock.AddGuardrail(bedrock.GetGuardrailOutput{GuardrailId: aws.String(guardrail), Name: aws.String("support-app"),
		BlockedInputMessaging: aws.String("Sorry, I can't help with that."), BlockedOutputsMessaging: aws.String("Sorry, I can't answer that."),
		ContentPolicy: &brtypes.GuardrailContentPolicy{Filters: []brtypes.GuardrailContentFilter{
			{Type: "HATE", InputStrength: "MEDIUM", OutputStrength: "MEDIUM"},
			{Type: "VIOLENCE", InputStrength: "LOW", OutputStrength: "LOW"},
			{Type: "PROMPT_ATTACK", InputStrength: "LOW", OutputStrength: "NONE"},
		}},
		TopicPolicy: &brtypes.GuardrailTopicPolicy{Topics: []brtypes.GuardrailTopic{{
			Name: aws.String("investment-advice"), Definition: aws.String("Recommendations about investments."), Type: "DENY"}}},
	})
	if _, err := bedrock.NewFromConfig(w.aws.Config()).CreateGuardrailVersion(context.Background(),
		&bedrock.CreateGuardrailVersionInput{GuardrailIdentifier: aws.String(guardrail), Description: aws.String("launch")}); err != nil {
		t.Fatal(err)
	}
	w.ssm.SetParameter(guardrailParam, "1", "String")
}
