package e2e

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// TestLeakedCredentials runs the leaked-credentials runbook end to end: a
// GuardDuty credential-exfiltration finding about an instance role's
// session arrives over HTTP (examples/routes.yaml's
// guardduty-credential-exfiltration route), the key's CloudTrail history
// is read, the role's sessions are revoked at once, a signed Slack click
// approves the Bedrock deny and another the region sweep, and `quench
// resolve --rollback` leaves the account as it was.
func TestLeakedCredentials(t *testing.T) {
	runGenAIScenarios(t, leakedScenarios, false)
}

// TestLeakedCredentialsDryRun is the same flow on a worker forced to dry
// runs: both approvals are asked and granted, and nothing changes AWS.
func TestLeakedCredentialsDryRun(t *testing.T) {
	runGenAIScenarios(t, leakedScenarios, true)
}

const (
	leakedKey     = "ASIAIOSFODNN7EXAMPLE" // the session key eventbridge-guardduty-assumed-role.json names
	attackerIP    = "198.51.100.23"
	regionsPolicy = "quench-deny-bedrock-regions-"
	denyPolicy    = "quench-deny-bedrock-"
)

var leakedScenarios = []genaiScenario{
	{
		name: "leaked-credentials-guardduty-exfiltration",
		seed: func(t *testing.T, w *genaiWorld) {
			seedUsageSpike(t, w)
			// What the stolen session did: Bedrock calls from the
			// attacker's address, and one from the instance itself. Times
			// are fixed before now so the golden timeline's summary does
			// not depend on when the test runs (only on the event count).
			now := time.Now().Add(-30 * time.Minute)
			ct := awsfake.RegisterCloudTrail(w.aws)
			for i, name := range []string{"ListFoundationModels", "InvokeModel", "InvokeModel", "InvokeModelWithResponseStream"} {
				ct.AddEvents(awsfake.TrailEvent{Name: name, Source: "bedrock.amazonaws.com", Time: now.Add(time.Duration(i) * time.Minute),
					SourceIP: attackerIP, UserAgent: "python-requests/2.31", AccessKeyID: leakedKey, Username: "chat-backend-session",
					IdentityType: "AssumedRole", PrincipalARN: "arn:aws:sts::" + awsfake.AccountID + ":assumed-role/" + appRole + "/chat-backend-session"})
			}
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := w.postAlert(t, alerts.SourceEventBridge, exfiltrationFinding(t))
			st := w.waitSteps(t, id, map[string]string{"trail": contract.StepSucceeded, "revoke-role-sessions": contract.StepSucceeded,
				"approve-deny-role": contract.StepRunning})
			for step, want := range map[string]string{"metrics": contract.StepSkipped, "deactivate-key": contract.StepSkipped,
				"deactivate-user-keys": contract.StepSkipped, "revoke-user-sessions": contract.StepSkipped, "identity-not-contained": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s for an assumed-role finding, want %s", step, stepState(st, step), want)
				}
			}
			if !dryRun {
				if pols := w.iam.RolePolicies(appRole); len(pols) != 2 {
					t.Errorf("role policies before any approval = %v, want the existing one and the session revoke", keys(pols))
				}
			}
			w.approve(t, 1, "Credentials of assumed-role "+appRole, "Deny it every Bedrock path")
			w.waitSteps(t, id, map[string]string{"deny-role-bedrock": contract.StepSucceeded, "approve-region-sweep": contract.StepRunning})
			if !dryRun {
				if _, ok := w.iam.RolePolicies(appRole)[denyPolicy+id]; !ok {
					t.Errorf("role policies after approval 1 = %v, want %s%s", keys(w.iam.RolePolicies(appRole)), denyPolicy, id)
				}
				if _, ok := w.iam.RolePolicies(appRole)[regionsPolicy+id]; ok {
					t.Errorf("the region sweep landed before its own approval")
				}
			}
			w.approve(t, 2, "Region sweep: deny "+appRole+" Bedrock in every region except us-east-1")
			w.waitState(t, id, contract.StateContained)
			// An assumed-role finding never reaches a user-only action, not
			// even with a user of the role's name in the account.
			if calls := w.calledAny(userOnlyOps...); len(calls) != 0 {
				t.Errorf("an assumed-role finding reached IAM user APIs: %v", calls)
			}
			if calls := w.calledAny("LookupEvents"); len(calls) == 0 && !dryRun {
				t.Errorf("no CloudTrail lookup was made")
			}
			if dryRun {
				return id
			}
			if s := w.iam.AccessKeyStatus(appRole, "AKIATRAPUSER00000001"); s != "Active" {
				t.Errorf("the IAM user named like the role has its key %s", s)
			}
			checkRegionSweep(t, w.iam.RolePolicies(appRole)[regionsPolicy+id])
			return id
		},
		// Inline role policies are put and deleted with no trace IAM keeps.
		residue: nil,
	},
	{
		// Started by hand (no example route names a long-term key for this
		// runbook): the key's history is read, that key alone is
		// deactivated and its owner's sessions revoked, with no approval;
		// nothing reaches a role and the region sweep, role-only, is skipped.
		name: "leaked-credentials-access-key",
		seed: func(t *testing.T, w *genaiWorld) {
			seedUsageSpike(t, w)
			w.iam.AddAccessKey("Alice", aliceSecondKey, "Active")
			awsfake.RegisterCloudTrail(w.aws).AddEvents(awsfake.TrailEvent{Name: "InvokeModel", Source: "bedrock.amazonaws.com",
				Time: time.Now().Add(-20 * time.Minute), SourceIP: attackerIP, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Username: "Alice", IdentityType: "IAMUser"})
		},
		run: func(t *testing.T, w *genaiWorld, dryRun bool) string {
			id := "leaked-credentials-access-key"
			w.cli(t, "--task-queue", w.taskQueue, "run", "leaked-credentials", "--incident", id,
				"-p", "principal_type=access-key", "-p", "access_key_id=AKIAIOSFODNN7EXAMPLE", "-p", "used_regions=us-east-1")
			st := w.waitState(t, id, contract.StateContained)
			for step, want := range map[string]string{"trail": contract.StepSucceeded, "deactivate-key": contract.StepSucceeded,
				"revoke-user-sessions": contract.StepSucceeded, "deactivate-user-keys": contract.StepSkipped, "revoke-role-sessions": contract.StepSkipped,
				"identity-not-contained": contract.StepSkipped, "approve-deny-role": contract.StepSkipped, "approve-region-sweep": contract.StepSkipped,
				"deny-role-other-regions": contract.StepSkipped} {
				if stepState(st, step) != want {
					t.Errorf("step %s is %s for a leaked access key, want %s", step, stepState(st, step), want)
				}
			}
			if calls := w.calledAny("PutRolePolicy", "GetRole", "GetRolePolicy", "DeleteRolePolicy"); len(calls) != 0 {
				t.Errorf("an access-key incident reached role APIs: %v", calls)
			}
			if !dryRun {
				w.checkOnlyKeyContained(t, "Alice", "AKIAIOSFODNN7EXAMPLE")
			}
			return id
		},
	},
}

// checkRegionSweep checks the sweep policy denies Bedrock's spending
// actions on everything unless the requested region is one the account uses.
func checkRegionSweep(t *testing.T, doc string) {
	t.Helper()
	var got struct {
		Statement []struct {
			Effect    string
			Action    []string
			Resource  any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &got); err != nil || len(got.Statement) != 1 {
		t.Fatalf("region sweep policy %q: %v", doc, err)
	}
	st := got.Statement[0]
	regions := st.Condition["StringNotEquals"]["aws:RequestedRegion"]
	if st.Effect != "Deny" || !slices.Contains(st.Action, "bedrock:Invoke*") ||
		jsonText(regions) != `["us-east-1"]` && jsonText(regions) != `"us-east-1"` {
		t.Errorf("region sweep statement = %+v, want Deny bedrock:Invoke* unless aws:RequestedRegion is us-east-1", st)
	}
}

// exfiltrationFinding is GuardDuty's
// UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS
// finding: an instance role's session credentials used from outside AWS.
// Its resource is the same accessKeyDetails as the assumed-role AI
// Protection finding (testdata), without model details; it has its own id.
func exfiltrationFinding(t *testing.T) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readAlertTestdata(t, "eventbridge-guardduty-assumed-role.json"), &ev); err != nil {
		t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	detail["id"] = "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6"
	detail["type"] = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
	detail["title"] = "Credentials for instance role " + appRole + " used from external IP address " + attackerIP + "."
	delete(detail["resource"].(map[string]any), "modelDetails")
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
