package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// TestTamperedControls runs the ai-controls-tampered runbook end to end: a
// CloudTrail DeleteModelInvocationLoggingConfiguration event by an assumed
// role arrives over HTTP (examples/routes.yaml's
// cloudtrail-bedrock-controls-deleted route), the caller's CloudTrail
// history and the Bedrock configuration are recorded, the logging is put
// back to the route's known-good configuration at once, a signed Slack
// click approves the control-plane deny, and `quench resolve --rollback`
// removes the deny while the logging stays restored.
func TestTamperedControls(t *testing.T) {
	runGenAIScenarios(t, tamperedScenarios, false)
}

// TestTamperedControlsDryRun is the same flow on a worker forced to dry
// runs: the approval is asked and granted, and nothing changes AWS.
func TestTamperedControlsDryRun(t *testing.T) {
	runGenAIScenarios(t, tamperedScenarios, true)
}

const (
	tamperRole    = "ml-admin"
	tamperSession = "mallory"
	controlsDeny  = "quench-deny-bedrock-controls-"
)

// routeKnownGoodLogging is the known-good configuration examples/routes.yaml
// gives the runbook, as the fake stores it after the restore.
var routeKnownGoodLogging = &brtypes.LoggingConfig{
	S3Config:                &brtypes.S3Config{BucketName: aws.String("bedrock-invocation-logs-123456789012"), KeyPrefix: aws.String("AWSLogs/")},
	TextDataDeliveryEnabled: aws.Bool(true), ImageDataDeliveryEnabled: aws.Bool(true), EmbeddingDataDeliveryEnabled: aws.Bool(true),
}

var tamperedScenarios = []genaiScenario{
	{
		name: "ai-controls-tampered-logging-deleted",
		seed: func(t *testing.T, w *genaiWorld) {
			w.iam.AddRole(tamperRole, 3600)
			w.iam.SetRolePolicy(tamperRole, "existing-inline", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}`)
			w.bedrock.SetLoggingConfig(nil) // what the event did
			// The session's calls around the deletion, at fixed times before
			// now so the golden timeline depends only on the count.
			at := time.Now().Add(-30 * time.Minute)
			ct := awsfake.RegisterCloudTrail(w.aws)
			for i, name := range []string{"GetModelInvocationLoggingConfiguration", "DeleteModelInvocationLoggingConfiguration", "InvokeModel"} {
				ct.AddEvents(awsfake.TrailEvent{Name: name, Source: "bedrock.amazonaws.com", Time: at.Add(time.Duration(i) * time.Minute),
					SourceIP: attackerIP, AccessKeyID: leakedKey, Username: tamperSession, IdentityType: "AssumedRole",
					PrincipalARN: "arn:aws:sts::" + awsfake.AccountID + ":assumed-role/" + tamperRole + "/" + tamperSession})
			}
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, loggingDeletedByRole(t))
			st := w.waitSteps(t, id, map[string]string{"trail": contract.StepSucceeded, "snapshot": contract.StepSucceeded,
				"restore-logging": contract.StepSucceeded, "approve-deny-controls": contract.StepRunning})
			for step, want := range map[string]string{"logging-not-restored": contract.StepSkipped, "guardrail-not-restored": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s, want %s", step, stepState(st, step), want)
				}
			}
			if !dryRun {
				// Logging is back before any approval; no deny yet.
				if got := w.bedrock.LoggingConfig(); !reflect.DeepEqual(got, routeKnownGoodLogging) {
					t.Errorf("logging after the restore = %s, want the route's known-good %s", jsonText(got), jsonText(routeKnownGoodLogging))
				}
				if pols := w.iam.RolePolicies(tamperRole); len(pols) != 1 {
					t.Errorf("role policies before the approval = %v, want only the existing one", keys(pols))
				}
			} else if w.bedrock.LoggingConfig() != nil {
				t.Errorf("a dry run restored the logging")
			}
			w.approve(t, 1, "DeleteModelInvocationLoggingConfiguration by arn:aws:sts::"+awsfake.AccountID+":assumed-role/"+tamperRole+"/"+tamperSession,
				"Deny role "+tamperRole+" changes to Bedrock invocation logging")
			w.waitSteps(t, id, map[string]string{"deny-controls": contract.StepSucceeded})
			if st := w.waitState(t, id, contract.StateContained); stepState(st, "caller-not-contained") != contract.StepSkipped {
				t.Errorf("step caller-not-contained is %s for a role, want skipped", stepState(st, "caller-not-contained"))
			}
			if dryRun {
				return id
			}
			checkControlsDeny(t, w.iam.RolePolicies(tamperRole)[controlsDeny+id])
			// After `resolve --rollback` (next, in runGenAIScenarios): the
			// deny is gone, the existing policy is untouched, and the
			// restore was not undone.
			t.Cleanup(func() {
				pols := w.iam.RolePolicies(tamperRole)
				if _, ok := pols[controlsDeny+id]; ok || len(pols) != 1 {
					t.Errorf("role policies after rollback = %v, want only existing-inline", keys(pols))
				}
				if got := w.bedrock.LoggingConfig(); !reflect.DeepEqual(got, routeKnownGoodLogging) {
					t.Errorf("logging after rollback = %s, want it still restored to %s", jsonText(got), jsonText(routeKnownGoodLogging))
				}
			})
			return id
		},
		// The restore is not undone by design: logging stays on.
		residue: []string{"bedrock/model-invocation-logging "},
	},
	{
		// The documented event as is: an IAM user deleted the logging. It
		// is restored at once; no role to deny, so no approval is asked and
		// the notice says to restrict the user by hand.
		name: "ai-controls-tampered-iam-user",
		seed: func(t *testing.T, w *genaiWorld) {
			w.iam.AddUser("Alice")
			w.iam.AddAccessKey("Alice", "AKIAIOSFODNN7EXAMPLE", "Active")
			w.bedrock.SetLoggingConfig(nil)
			awsfake.RegisterCloudTrail(w.aws).AddEvents(awsfake.TrailEvent{Name: "DeleteModelInvocationLoggingConfiguration", Source: "bedrock.amazonaws.com",
				Time: time.Now().Add(-20 * time.Minute), SourceIP: attackerIP, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Username: "Alice", IdentityType: "IAMUser"})
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, readAlertTestdata(t, "eventbridge-cloudtrail-delete-invocation-logging.json"))
			st := w.waitState(t, id, contract.StateContained)
			for step, want := range map[string]string{"trail": contract.StepSucceeded, "restore-logging": contract.StepSucceeded,
				"caller-not-contained": contract.StepSucceeded, "approve-deny-controls": contract.StepSkipped, "deny-controls": contract.StepSkipped,
				"logging-not-restored": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s for an IAM user, want %s", step, stepState(st, step), want)
				}
			}
			if calls := w.calledAny("PutRolePolicy", "PutUserPolicy", "UpdateAccessKey"); len(calls) != 0 {
				t.Errorf("an IAM user's incident changed IAM: %v", calls)
			}
			if want := routeKnownGoodLogging; !dryRun && !reflect.DeepEqual(w.bedrock.LoggingConfig(), want) {
				t.Errorf("logging = %s, want %s", jsonText(w.bedrock.LoggingConfig()), jsonText(want))
			}
			return id
		},
		residue: []string{"bedrock/model-invocation-logging "},
	},
	{
		// A guardrail weakened by UpdateGuardrail (the alerts testdata
		// event, made now): its DRAFT goes back at once to version 1,
		// published before the call; the deny waits for approval; rollback
		// removes the deny and leaves the guardrail restored.
		name: "ai-controls-tampered-guardrail-weakened",
		seed: func(t *testing.T, w *genaiWorld) {
			w.iam.AddRole(ctRole, 3600)
			w.bedrock.AddGuardrail(knownGoodGuardrail())
			w.bedrock.PublishGuardrailVersion(ctGuardrail)
			w.bedrock.EditGuardrailDraft(ctGuardrail, func(g *bedrock.GetGuardrailOutput) { // what the event did
				g.ContentPolicy = &brtypes.GuardrailContentPolicy{Filters: []brtypes.GuardrailContentFilter{{Type: "HATE", InputStrength: "NONE", OutputStrength: "NONE"}}}
				g.TopicPolicy = nil
			})
			awsfake.RegisterCloudTrail(w.aws)
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, guardrailUpdatedNow(t))
			st := w.waitSteps(t, id, map[string]string{"snapshot": contract.StepSucceeded,
				"restore-guardrail": contract.StepSucceeded, "approve-deny-controls": contract.StepRunning})
			for step, want := range map[string]string{"guardrail-not-restored": contract.StepSkipped, "restore-logging": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s, want %s", step, stepState(st, step), want)
				}
			}
			restored := func() bool {
				g, _ := w.bedrock.Guardrail(ctGuardrail)
				return g.ContentPolicy != nil && len(g.ContentPolicy.Filters) == 2 && g.TopicPolicy != nil
			}
			if restored() == dryRun {
				g, _ := w.bedrock.Guardrail(ctGuardrail)
				t.Errorf("dry run %v: guardrail DRAFT after the restore step = %s", dryRun, jsonText(g.ContentPolicy))
			}
			w.approve(t, 1, "UpdateGuardrail by arn:aws:sts::"+awsfake.AccountID+":assumed-role/"+ctRole+"/MySessionName")
			w.waitSteps(t, id, map[string]string{"deny-controls": contract.StepSucceeded})
			w.waitState(t, id, contract.StateContained)
			if dryRun {
				return id
			}
			checkControlsDeny(t, w.iam.RolePolicies(ctRole)[controlsDeny+id])
			t.Cleanup(func() {
				if pols := w.iam.RolePolicies(ctRole); len(pols) != 0 {
					t.Errorf("role policies after rollback = %v, want none", keys(pols))
				}
				if !restored() {
					t.Errorf("rollback undid the guardrail restore")
				}
			})
			return id
		},
		// The restore is not undone by design: the DRAFT stays as version 1.
		residue: []string{
			"bedrock/guardrail/" + ctGuardrail + " draft.ContentPolicy.Filters[0].InputStrength",
			"bedrock/guardrail/" + ctGuardrail + " draft.ContentPolicy.Filters[0].OutputStrength",
			"bedrock/guardrail/" + ctGuardrail + " draft.ContentPolicy.Filters[1]",
			"bedrock/guardrail/" + ctGuardrail + " draft.TopicPolicy",
			"bedrock/guardrail/" + ctGuardrail + " draft.UpdatedAt",
		},
	},
}

// The caller and guardrail of eventbridge-cloudtrail-update-guardrail.json.
const (
	ctRole      = "RoleToBeAssumed"
	ctGuardrail = "gr1a2b3c4d5e"
)

// knownGoodGuardrail is the guardrail before the tampering: two content
// filters and a denied topic.
func knownGoodGuardrail() bedrock.GetGuardrailOutput {
	return bedrock.GetGuardrailOutput{
		GuardrailId: aws.String(ctGuardrail), Name: aws.String("support-app"),
		BlockedInputMessaging: aws.String("Sorry."), BlockedOutputsMessaging: aws.String("Sorry."),
		ContentPolicy: &brtypes.GuardrailContentPolicy{Filters: []brtypes.GuardrailContentFilter{
			{Type: "HATE", InputStrength: "HIGH", OutputStrength: "HIGH"}, {Type: "PROMPT_ATTACK", InputStrength: "HIGH", OutputStrength: "NONE"}}},
		TopicPolicy: &brtypes.GuardrailTopicPolicy{Topics: []brtypes.GuardrailTopic{{Name: aws.String("investment-advice"),
			Definition: aws.String("Recommendations about investments."), Type: "DENY"}}},
	}
}

// guardrailUpdatedNow is the documented UpdateGuardrail event (alerts
// testdata) with its time moved to now, after version 1 was published.
func guardrailUpdatedNow(t *testing.T) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readAlertTestdata(t, "eventbridge-cloudtrail-update-guardrail.json"), &ev); err != nil {
		t.Fatal(err)
	}
	// CloudTrail's times have whole seconds: the next one is after version 1.
	now := time.Now().UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339)
	ev["time"] = now
	ev["detail"].(map[string]any)["eventTime"] = now
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkControlsDeny checks the deny names the Bedrock control-plane changes
// and nothing that would stop the role's invocations.
func checkControlsDeny(t *testing.T, doc string) {
	t.Helper()
	var got struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(doc), &got); err != nil || len(got.Statement) != 1 {
		t.Fatalf("controls deny policy %q: %v", doc, err)
	}
	st := got.Statement[0]
	for _, a := range []string{"bedrock:PutModelInvocationLoggingConfiguration", "bedrock:DeleteModelInvocationLoggingConfiguration",
		"bedrock:DeleteGuardrail", "bedrock:UpdateGuardrail", "bedrock:CreateGuardrailVersion"} {
		if !slices.Contains(st.Action, a) {
			t.Errorf("controls deny %v lacks %s", st.Action, a)
		}
	}
	if st.Effect != "Deny" || slices.ContainsFunc(st.Action, func(a string) bool { return a == "bedrock:Invoke*" || a == "bedrock:InvokeModel" }) {
		t.Errorf("controls deny statement = %+v, want a Deny of control-plane changes only", st)
	}
}

// loggingDeletedByRole is the documented DeleteModelInvocationLoggingConfiguration
// event (alerts testdata) made by a session of tamperRole instead of an
// IAM user.
func loggingDeletedByRole(t *testing.T) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readAlertTestdata(t, "eventbridge-cloudtrail-delete-invocation-logging.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["userIdentity"] = map[string]any{
		"type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID0001:" + tamperSession,
		"arn":       "arn:aws:sts::" + awsfake.AccountID + ":assumed-role/" + tamperRole + "/" + tamperSession,
		"accountId": awsfake.AccountID, "accessKeyId": leakedKey,
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLEROLEID0001",
			"arn": "arn:aws:iam::" + awsfake.AccountID + ":role/" + tamperRole, "accountId": awsfake.AccountID, "userName": tamperRole}},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
