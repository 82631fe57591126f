package aws

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

var containedAt = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

func newTestIAM(t *testing.T) (*awsfake.Server, *awsfake.IAM, *IAMActions, map[string]action.Func) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewIAMActions(p)
	a.poll = testPoll
	a.now = func() time.Time { return containedAt }
	undo := map[string]action.Func{
		ActionRestoreRolePolicy:    act(a, ActionRestoreRolePolicy),
		ActionReactivateAccessKeys: act(a, ActionReactivateAccessKeys),
	}
	return srv, fakeIAM(srv), a, undo
}

const revokePolicyName = "quench-revoke-sessions-inc-42"

func TestRevokeRoleSessionsContainsIdempotentlyAndUndoes(t *testing.T) {
	otherPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	for _, tc := range []struct {
		name  string
		prior string // existing policy of the same name; "" = none
	}{
		{name: "no policy of that name before"},
		{name: "a policy of that name existed", prior: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:ListFoundationModels","Resource":"*"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestIAM(t)
			fake.AddRole("app", 7200)
			fake.SetRolePolicy("app", "keep-me", otherPolicy)
			if tc.prior != "" {
				fake.SetRolePolicy("app", revokePolicyName, tc.prior)
			}
			before := fake.RolePolicies("app")

			res := mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
			if !res.Changed || res.Undo == nil {
				t.Fatalf("first run: changed=%v undo=%v, want a change with an undo record", res.Changed, res.Undo)
			}
			doc, ok := fake.RolePolicy("app", revokePolicyName)
			if !ok {
				t.Fatal("no revoke policy on the role after containment")
			}
			want := `{"Version":"2012-10-17","Statement":[{"Sid":"QuenchRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-28T21:00:00Z"}}}]}`
			if !samePolicy(doc, want) {
				t.Errorf("policy on the role =\n%s\nwant\n%s", doc, want)
			}
			if got := fake.RolePolicies("app")["keep-me"]; got != otherPolicy {
				t.Errorf("another inline policy was changed: %s", got)
			}
			if res.Output["cutoff"] != "2026-11-28T21:00:00Z" || !strings.Contains(res.Summary, "app") {
				t.Errorf("output %v summary %q", res.Output, res.Summary)
			}
			if res.Prior["max_session_duration"] != int32(7200) || res.Prior["policy_exists"] != (tc.prior != "") {
				t.Errorf("prior = %v", res.Prior)
			}

			srv.ResetCalls()
			again := mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
			if again.Changed || again.Undo != nil {
				t.Errorf("second run: changed=%v undo=%v, want no change", again.Changed, again.Undo)
			}
			if m := mutatingOps(srv); len(m) != 0 {
				t.Errorf("second run made mutating calls %v", m)
			}

			mustUndo(t, srv, undo, res)
			after := fake.RolePolicies("app")
			if len(after) != len(before) {
				t.Fatalf("policies after undo = %v, want %v", after, before)
			}
			for name, doc := range before {
				if after[name] != doc {
					t.Errorf("policy %s after undo = %q, want %q", name, after[name], doc)
				}
			}
		})
	}
}

func TestRevokeRoleSessionsDryRunMakesNoChange(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	res := mustRun(t, act(a, ActionRevokeRoleSessions), dryRun(actionInput(map[string]any{"role_name": "app"})))
	if !res.DryRun || !res.Changed || res.Undo != nil || !strings.HasPrefix(res.Summary, "would ") {
		t.Errorf("dry run result = %+v", res)
	}
	if m := mutatingOps(srv); len(m) != 0 {
		t.Errorf("dry run made mutating calls %v", m)
	}
	if len(fake.RolePolicies("app")) != 0 {
		t.Error("dry run changed the role")
	}
}

func TestRevokeRoleSessionsRidesOutThrottling(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	srv.InjectFault(awsfake.Fault{Operation: "PutRolePolicy", Code: "Throttling", Status: 400, Message: "Rate exceeded", Times: 3})
	res := mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
	if !res.Changed {
		t.Error("not changed after throttling")
	}
	if _, ok := fake.RolePolicy("app", revokePolicyName); !ok {
		t.Error("policy not written after three throttles")
	}
	if n := countCalls(srv, "PutRolePolicy"); n != 4 {
		t.Errorf("PutRolePolicy calls = %d, want 3 throttled + 1", n)
	}
}

func TestRevokeRoleSessionsAccessDeniedFailsAtOnce(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	srv.InjectFault(awsfake.Fault{Operation: "PutRolePolicy", Code: "AccessDenied", Status: 403,
		Message: "User: arn:aws:sts::123456789012:assumed-role/quench-worker/x is not authorized to perform: iam:PutRolePolicy", Times: 5})
	_, err := act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(map[string]any{"role_name": "app"}))
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:PutRolePolicy", "arn:aws:iam::123456789012:role/app")
	if n := countCalls(srv, "PutRolePolicy"); n != 1 {
		t.Errorf("PutRolePolicy calls = %d, want 1 (no retries on access denied)", n)
	}
}

func TestRevokeRoleSessionsRefusesServiceLinkedRoles(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRoleAtPath("AWSServiceRoleForBedrock", "/aws-service-role/bedrock.amazonaws.com/", 3600)
	_, err := act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(map[string]any{"role_name": "AWSServiceRoleForBedrock"}))
	assertNonRetryable(t, err, action.ErrValidation, "service-linked", "AWSServiceRoleForBedrock")
	if m := mutatingOps(srv); len(m) != 0 {
		t.Errorf("mutating calls %v on a service-linked role", m)
	}
}

// Roles IAM Identity Center provisions for permission sets are refused by
// every role-editing action, naming the route that does work: the
// permission set and the user's sessions in Identity Center. A role named
// AWSReservedSSO_* is refused before any call; one found under Identity
// Center's path when read, before any write.
func TestRoleActionsRefuseRolesIdentityCenterManages(t *testing.T) {
	const ssoPath = "/aws-reserved/sso.amazonaws.com/"
	for _, tc := range []struct {
		name, role, path, act string
		args                  map[string]any
		noCalls               bool
	}{
		{name: "revoke, by name", role: "AWSReservedSSO_AdministratorAccess_0123456789abcdef", path: ssoPath, act: ActionRevokeRoleSessions, noCalls: true},
		{name: "deny, by name", role: "AWSReservedSSO_BedrockUsers_0123456789abcdef", path: ssoPath, act: ActionDenyRoleActions, noCalls: true},
		{name: "restore, by name", role: "AWSReservedSSO_BedrockUsers_0123456789abcdef", path: ssoPath, act: ActionRestoreRolePolicy, noCalls: true,
			args: map[string]any{"policy_name": "quench-deny-inc-42", "prior_document": ""}},
		{name: "revoke, by path", role: "bedrock-users", path: ssoPath + "eu-west-1/", act: ActionRevokeRoleSessions},
		{name: "deny, by path", role: "bedrock-users", path: ssoPath, act: ActionDenyRoleActions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestIAM(t)
			fake.AddRoleAtPath(tc.role, tc.path, 3600)
			before := srv.State()
			args := map[string]any{"role_name": tc.role}
			for k, v := range tc.args {
				args[k] = v
			}
			fn := act(a, tc.act)
			if f, ok := undo[tc.act]; ok {
				fn = f
			}
			_, err := fn(context.Background(), actionInput(args))
			assertNonRetryable(t, err, action.ErrValidation, tc.role, "managed by IAM Identity Center", "edit the permission set", "revoke the user's active sessions")
			if tc.noCalls && len(srv.Calls()) != 0 {
				t.Errorf("calls %v, want none", srv.Calls())
			}
			if m := mutatingOps(srv); len(m) != 0 {
				t.Errorf("mutating calls %v", m)
			}
			if d := before.Diff(srv.State()); d != nil {
				t.Errorf("state changed: %v", d)
			}
		})
	}
}

func TestRevokeRoleSessionsWaitsForIAMToShowThePolicy(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	fake.SetConsistencyLag(3)
	mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
	// one read before the write, three stale reads, one that sees it
	if n := countCalls(srv, "GetRolePolicy"); n != 5 {
		t.Errorf("GetRolePolicy calls = %d, want 5 (verification polls past stale reads)", n)
	}
}

func TestRevokeRoleSessionsRejectsBadArguments(t *testing.T) {
	_, _, a, _ := newTestIAM(t)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, `missing argument "role_name"`},
		{map[string]any{"role_name": ""}, `argument "role_name" is required and must not be blank`},
		{map[string]any{"role_name": "app", "actions": []any{"s3:*"}}, `unknown argument "actions"`},
		{map[string]any{"role_name": "app", "policy_name": "has space"}, `policy_name "has space"`},
		{map[string]any{"role_name": "app", "rolename": "x"}, "rolename"},
	} {
		_, err := act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(tc.args))
		assertNonRetryable(t, err, action.ErrInvalidArgument, tc.want)
	}
}

func TestRestoreRolePolicyWarnsWhileOldSessionsMayLive(t *testing.T) {
	srv, fake, a, undo := newTestIAM(t)
	fake.AddRole("app", 7200)
	res := mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))

	a.now = func() time.Time { return containedAt.Add(time.Hour) }
	early := mustUndo(t, srv, undo, res)
	if len(early.Warnings) != 1 || !strings.Contains(early.Warnings[0], "2026-11-28T23:00:00Z") {
		t.Errorf("undo an hour after a revoke of a 2h-session role: warnings = %v, want one naming 23:00", early.Warnings)
	}

	res = mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
	a.now = func() time.Time { return containedAt.Add(3 * time.Hour) }
	if late := mustUndo(t, srv, undo, res); len(late.Warnings) != 0 {
		t.Errorf("undo after every old session expired: warnings = %v", late.Warnings)
	}
}

// A retried attempt whose first attempt wrote the policy must still undo
// to what was there before the first attempt: the prior state is
// checkpointed, here in the activity's heartbeat details (Temporal retried
// the activity itself).
func TestRevokeRoleSessionsRetryKeepsTheFirstAttemptsPrior(t *testing.T) {
	_, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	fake.SetRolePolicy("app", revokePolicyName, revokeSessionsDocument(containedAt)) // written by attempt 1

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(act(a, ActionRevokeRoleSessions), activityOptions(ActionRevokeRoleSessions))
	env.SetHeartbeatDetails(contract.AttemptCheckpoint{Checkpoint: json.RawMessage(`{"exists":false}`)}) // attempt 1 saw no policy
	val, err := env.ExecuteActivity(ActionRevokeRoleSessions, actionInput(map[string]any{"role_name": "app"}))
	if err != nil {
		t.Fatal(err)
	}
	var res contract.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Undo == nil || res.Undo.Args["prior_document"] != "" {
		t.Errorf("retried attempt: changed=%v undo=%v, want the undo to delete the policy", res.Changed, res.Undo)
	}
}

func TestDenyRoleActionsContainsIdempotentlyAndUndoes(t *testing.T) {
	prior := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
	for _, tc := range []struct {
		name, prior string
	}{
		{name: "no policy of that name before"},
		{name: "a policy of that name existed", prior: prior},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestIAM(t)
			fake.AddRole("kb-role", 3600)
			if tc.prior != "" {
				fake.SetRolePolicy("kb-role", "quench-deny-inc-42", tc.prior)
			}
			in := actionInput(map[string]any{"role_name": "kb-role", "actions": []any{"bedrock:Retrieve*", "s3:GetObject"}, "resources": []any{"arn:aws:s3:::docs/*"}})
			res := mustRun(t, act(a, ActionDenyRoleActions), in)
			doc, ok := fake.RolePolicy("kb-role", "quench-deny-inc-42")
			want := `{"Version":"2012-10-17","Statement":[{"Sid":"QuenchDenyActions","Effect":"Deny","Action":["bedrock:Retrieve*","s3:GetObject"],"Resource":["arn:aws:s3:::docs/*"]}]}`
			if !ok || !samePolicy(doc, want) {
				t.Fatalf("policy = %s, want %s", doc, want)
			}
			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionDenyRoleActions), in); again.Changed || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run changed=%v calls=%v, want nothing", again.Changed, mutatingOps(srv))
			}
			mustUndo(t, srv, undo, res)
			got, ok := fake.RolePolicy("kb-role", "quench-deny-inc-42")
			if tc.prior == "" && ok {
				t.Errorf("policy still there after undo: %s", got)
			}
			if tc.prior != "" && got != tc.prior {
				t.Errorf("policy after undo = %s, want the prior %s", got, tc.prior)
			}
		})
	}
}

// deniedByDoc reports whether the Deny statement of doc matches iamAction
// as IAM matches action patterns.
func deniedByDoc(t *testing.T, doc, iamAction string) bool {
	t.Helper()
	var d struct{ Statement []workerStatement }
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Statement {
		for _, a := range s.Action {
			if s.Effect == "Deny" && iamPattern(a).MatchString(iamAction) {
				return true
			}
		}
	}
	return false
}

// The default deny covers every IAM action behind a Bedrock call that
// spends money (Converse and ConverseStream are authorised by InvokeModel
// and InvokeModelWithResponseStream; StartAsyncInvoke by InvokeModel), the
// bedrock-mantle endpoint included; knowledge-base reads only with
// include_retrieve, which adds to given actions too.
func TestDenyRoleActionsDefaultCoversEveryPathThatSpends(t *testing.T) {
	spending := []string{
		"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:InvokeModelWithBidirectionalStream",
		"bedrock:StartAsyncInvoke", "bedrock:InvokeAgent", "bedrock:InvokeInlineAgent", "bedrock:InvokeFlow",
		"bedrock:CreateModelInvocationJob", "bedrock:CreateProvisionedModelThroughput", "bedrock:CallWithBearerToken",
		"bedrock-mantle:CreateInference", "bedrock-mantle:CallWithBearerToken",
	}
	retrieve := []string{"bedrock:Retrieve", "bedrock:RetrieveAndGenerate", "bedrock:RetrieveAndGenerateStream"}
	for _, tc := range []struct {
		name    string
		args    map[string]any
		denied  []string
		allowed []string
	}{
		{name: "default", args: map[string]any{}, denied: spending, allowed: append([]string{"bedrock:ListFoundationModels", "bedrock:GetGuardrail"}, retrieve...)},
		{name: "default with include_retrieve", args: map[string]any{"include_retrieve": true}, denied: append(append([]string{}, spending...), retrieve...)},
		{name: "given actions with include_retrieve", args: map[string]any{"actions": []any{"s3:GetObject"}, "include_retrieve": true},
			denied: append([]string{"s3:GetObject"}, retrieve...), allowed: []string{"bedrock:InvokeModel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fake, a, _ := newTestIAM(t)
			fake.AddRole("app", 3600)
			tc.args["role_name"] = "app"
			res := mustRun(t, act(a, ActionDenyRoleActions), actionInput(tc.args))
			doc, _ := fake.RolePolicy("app", "quench-deny-inc-42")
			for _, a := range tc.denied {
				if !deniedByDoc(t, doc, a) {
					t.Errorf("%s is not denied by %s", a, doc)
				}
			}
			for _, a := range tc.allowed {
				if deniedByDoc(t, doc, a) {
					t.Errorf("%s is denied by %s", a, doc)
				}
			}
			for _, a := range res.Output["actions"].([]string) {
				if !strings.Contains(res.Summary, a) {
					t.Errorf("summary %q does not name denied action %s", res.Summary, a)
				}
			}
		})
	}
}

// A deny scoped to resources and conditions (here: every model call that
// does not carry the incident's guardrail) lands exactly as asked, is
// idempotent, and its undo leaves the account byte-identical.
func TestDenyRoleActionsScopedToResourcesAndConditions(t *testing.T) {
	srv, fake, a, undo := newTestIAM(t)
	fake.AddRole("app", 3600)
	fake.SetRolePolicy("app", "keep-me", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}`)
	before := srv.State()
	guardrail := "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123:2"
	in := actionInput(map[string]any{
		"role_name": "app",
		"actions":   []any{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"},
		"resources": []any{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/*"},
		"conditions": map[string]any{
			"StringNotEquals":        map[string]any{"bedrock:GuardrailIdentifier": guardrail},
			"ForAnyValue:StringLike": map[string]any{"aws:CalledVia": []any{"bedrock.amazonaws.com"}},
		},
	})
	res := mustRun(t, act(a, ActionDenyRoleActions), in)
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"QuenchDenyActions","Effect":"Deny",` +
		`"Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],` +
		`"Resource":["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0","arn:aws:bedrock:us-east-1:123456789012:inference-profile/*"],` +
		`"Condition":{"ForAnyValue:StringLike":{"aws:CalledVia":["bedrock.amazonaws.com"]},"StringNotEquals":{"bedrock:GuardrailIdentifier":"` + guardrail + `"}}}]}`
	if doc, _ := fake.RolePolicy("app", "quench-deny-inc-42"); !samePolicy(doc, want) {
		t.Fatalf("policy =\n%s\nwant\n%s", doc, want)
	}
	if !strings.Contains(res.Summary, "bedrock:GuardrailIdentifier") || res.Output["conditions"] == nil {
		t.Errorf("summary %q / output %v do not show the condition", res.Summary, res.Output)
	}
	srv.ResetCalls()
	if again := mustRun(t, act(a, ActionDenyRoleActions), in); again.Changed || len(mutatingOps(srv)) != 0 {
		t.Errorf("second run changed=%v calls=%v", again.Changed, mutatingOps(srv))
	}
	mustUndo(t, srv, undo, res)
	if d := before.Diff(srv.State()); d != nil {
		t.Errorf("after undo: %v", d)
	}
}

func TestDenyRoleActionsRejectsMalformedConditions(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	for _, tc := range []struct {
		conditions any
		want       string
	}{
		{map[string]any{"StringEqual": map[string]any{"aws:SourceIp": "x"}}, `conditions: "StringEqual" is not an IAM condition operator`},
		{map[string]any{"ForAllValues:Strings": map[string]any{"aws:TagKeys": "x"}}, `"ForAllValues:Strings" is not an IAM condition operator`},
		{map[string]any{"NullIfExists": map[string]any{"aws:TokenIssueTime": "true"}}, `"NullIfExists" is not an IAM condition operator`},
		{map[string]any{"StringEquals": "bedrock:GuardrailIdentifier"}, `conditions.StringEquals: want a mapping of condition keys to values`},
		{map[string]any{"StringEquals": map[string]any{}}, `conditions.StringEquals: want a mapping`},
		{map[string]any{"StringEquals": map[string]any{"": "x"}}, `conditions.StringEquals: key "" is not a condition key`},
		{map[string]any{"StringEquals": map[string]any{"GuardrailIdentifier": "x"}}, `key "GuardrailIdentifier" is not a condition key (want prefix:name`},
		{map[string]any{"Bool": map[string]any{"aws:SecureTransport": false}}, `conditions.Bool.aws:SecureTransport: want a string or a list of strings (quote numbers and booleans), got false (bool)`},
		{map[string]any{"NumericLessThan": map[string]any{"aws:MultiFactorAuthAge": 3600}}, `got 3600 (float64)`},
		{map[string]any{"StringLike": map[string]any{"aws:CalledVia": []any{"a", 1}}}, `conditions.StringLike.aws:CalledVia: item 2 is 1 (float64)`},
		{map[string]any{"StringLike": map[string]any{"aws:CalledVia": []any{}}}, `conditions.StringLike.aws:CalledVia: empty list`},
		{map[string]any{"StringLike": map[string]any{"aws:CalledVia": map[string]any{"a": "b"}}}, `got a mapping`},
		{"StringEquals", `argument "conditions" must be a mapping`},
	} {
		_, err := act(a, ActionDenyRoleActions)(context.Background(), actionInput(map[string]any{"role_name": "app", "conditions": tc.conditions}))
		if err == nil {
			t.Errorf("conditions %v accepted", tc.conditions)
			continue
		}
		assertNonRetryable(t, err, action.ErrInvalidArgument, tc.want)
	}
	if len(srv.Calls()) != 0 {
		t.Errorf("bad conditions reached AWS: %v", srv.Calls())
	}
}

func TestDenyRoleActionsDryRunThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	in := actionInput(map[string]any{"role_name": "app"})

	if res := mustRun(t, act(a, ActionDenyRoleActions), dryRun(in)); !res.Changed || !strings.HasPrefix(res.Summary, "would deny") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run: %+v, mutating calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "PutRolePolicy", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionDenyRoleActions)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:PutRolePolicy")

	srv.InjectFault(awsfake.Fault{Operation: "GetRolePolicy", Code: "Throttling", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionDenyRoleActions), in); !res.Changed {
		t.Error("not contained after three throttles")
	}
}

func TestDeactivateAccessKeysContainsIdempotentlyAndUndoes(t *testing.T) {
	srv, fake, a, undo := newTestIAM(t)
	fake.AddUser("ci-bot")
	fake.AddAccessKey("ci-bot", "AKIAACTIVE", "Active")
	fake.AddAccessKey("ci-bot", "AKIAOLD", "Inactive")
	fake.AddServiceSpecificCredential("ci-bot", "bedrock.amazonaws.com", "ACCABEDROCK", "Active")
	fake.AddServiceSpecificCredential("ci-bot", "codecommit.amazonaws.com", "ACCAGIT", "Active")
	in := actionInput(map[string]any{"user_name": "ci-bot"})

	res := mustRun(t, act(a, ActionDeactivateAccessKeys), in)
	for id, want := range map[string]string{"AKIAACTIVE": "Inactive", "AKIAOLD": "Inactive"} {
		if got := fake.AccessKeyStatus("ci-bot", id); got != want {
			t.Errorf("%s = %s, want %s", id, got, want)
		}
	}
	if got := fake.ServiceSpecificCredentialStatus("ci-bot", "ACCABEDROCK"); got != "Inactive" {
		t.Errorf("Bedrock API key = %s, want Inactive", got)
	}
	if got := fake.ServiceSpecificCredentialStatus("ci-bot", "ACCAGIT"); got != "Active" {
		t.Errorf("a non-Bedrock credential was changed: %s", got)
	}
	if len(res.Warnings) == 0 {
		t.Error("no warning that issued sessions stay valid")
	}

	srv.ResetCalls()
	if again := mustRun(t, act(a, ActionDeactivateAccessKeys), in); again.Changed || len(mutatingOps(srv)) != 0 {
		t.Errorf("second run changed=%v calls=%v", again.Changed, mutatingOps(srv))
	}

	mustUndo(t, srv, undo, res)
	for id, want := range map[string]string{"AKIAACTIVE": "Active", "AKIAOLD": "Inactive"} {
		if got := fake.AccessKeyStatus("ci-bot", id); got != want {
			t.Errorf("after undo %s = %s, want %s (only keys that were Active come back)", id, got, want)
		}
	}
	if got := fake.ServiceSpecificCredentialStatus("ci-bot", "ACCABEDROCK"); got != "Active" {
		t.Errorf("after undo Bedrock API key = %s, want Active", got)
	}
}

func TestDeactivateAccessKeysWithoutBedrockCredentials(t *testing.T) {
	_, fake, a, _ := newTestIAM(t)
	fake.AddUser("u")
	fake.AddAccessKey("u", "AKIA1", "Active")
	fake.AddServiceSpecificCredential("u", "bedrock.amazonaws.com", "ACCA1", "Active")
	mustRun(t, act(a, ActionDeactivateAccessKeys), actionInput(map[string]any{"user_name": "u", "include_bedrock_credentials": false}))
	if fake.AccessKeyStatus("u", "AKIA1") != "Inactive" || fake.ServiceSpecificCredentialStatus("u", "ACCA1") != "Active" {
		t.Error("include_bedrock_credentials=false must leave Bedrock API keys alone")
	}
}

func TestDeactivateAccessKeysDryRunThrottleAccessDeniedNotFound(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddUser("u")
	fake.AddAccessKey("u", "AKIA1", "Active")
	in := actionInput(map[string]any{"user_name": "u"})

	if res := mustRun(t, act(a, ActionDeactivateAccessKeys), dryRun(in)); !res.Changed || !strings.Contains(res.Summary, "would deactivate") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}
	if fake.AccessKeyStatus("u", "AKIA1") != "Active" {
		t.Error("dry run deactivated a key")
	}

	srv.InjectFault(awsfake.Fault{Operation: "UpdateAccessKey", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionDeactivateAccessKeys)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:UpdateAccessKey", "AKIA1")

	srv.InjectFault(awsfake.Fault{Operation: "UpdateAccessKey", Code: "Throttling", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionDeactivateAccessKeys), in); !res.Changed || fake.AccessKeyStatus("u", "AKIA1") != "Inactive" {
		t.Error("not deactivated after three throttles")
	}

	_, err = act(a, ActionDeactivateAccessKeys)(context.Background(), actionInput(map[string]any{"user_name": "ghost"}))
	assertNonRetryable(t, err, action.ErrNotFound, "ghost")
}

func TestDeactivateAccessKeysFollowsPagination(t *testing.T) {
	_, fake, a, _ := newTestIAM(t)
	fake.AddUser("u")
	for _, id := range []string{"AKIA1", "AKIA2", "AKIA3"} {
		fake.AddAccessKey("u", id, "Active")
	}
	fake.AddServiceSpecificCredential("u", "bedrock.amazonaws.com", "ACCA1", "Active")
	fake.AddServiceSpecificCredential("u", "bedrock.amazonaws.com", "ACCA2", "Active")
	fake.SetPageSize(1)
	res := mustRun(t, act(a, ActionDeactivateAccessKeys), actionInput(map[string]any{"user_name": "u"}))
	for _, id := range []string{"AKIA1", "AKIA2", "AKIA3"} {
		if fake.AccessKeyStatus("u", id) != "Inactive" {
			t.Errorf("%s on a later page was not deactivated", id)
		}
	}
	for _, id := range []string{"ACCA1", "ACCA2"} {
		if fake.ServiceSpecificCredentialStatus("u", id) != "Inactive" {
			t.Errorf("%s on a later page was not deactivated", id)
		}
	}
	if keys, _ := res.Undo.Args["access_key_ids"].([]string); len(keys) != 3 {
		t.Errorf("undo reactivates %v, want all three keys", res.Undo.Args["access_key_ids"])
	}
}

func TestDenyRoleActionsReportsTheInlinePolicyQuota(t *testing.T) {
	_, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	fake.SetRolePolicy("app", "huge", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"`+strings.Repeat("x", 10200)+`"}]}`)
	_, err := act(a, ActionDenyRoleActions)(context.Background(), actionInput(map[string]any{"role_name": "app"}))
	assertNonRetryable(t, err, action.ErrValidation, "LimitExceeded", "quench-deny-inc-42")
}

func TestUndoActionsDryRunMakeNoChange(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	fake.AddUser("u")
	fake.AddAccessKey("u", "AKIA1", "Active")
	revoke := mustRun(t, act(a, ActionRevokeRoleSessions), actionInput(map[string]any{"role_name": "app"}))
	keys := mustRun(t, act(a, ActionDeactivateAccessKeys), actionInput(map[string]any{"user_name": "u"}))
	before := len(srv.MutatingCalls())

	for _, tc := range []struct {
		fn  action.Func
		res contract.ActionResult
	}{{act(a, ActionRestoreRolePolicy), revoke}, {act(a, ActionReactivateAccessKeys), keys}} {
		b, _ := json.Marshal(tc.res.Undo.Args)
		var args map[string]any
		_ = json.Unmarshal(b, &args)
		res := mustRun(t, tc.fn, dryRun(actionInput(args)))
		if !res.Changed || !strings.HasPrefix(res.Summary, "would ") {
			t.Errorf("dry-run undo %s: %+v", tc.res.Undo.Action, res)
		}
	}
	if len(srv.MutatingCalls()) != before {
		t.Errorf("dry-run undo made mutating calls %v", srv.MutatingCalls()[before:])
	}
	if _, ok := fake.RolePolicy("app", revokePolicyName); !ok || fake.AccessKeyStatus("u", "AKIA1") != "Inactive" {
		t.Error("dry-run undo changed state")
	}
}

func TestRevokeUserSessionsContainsIdempotentlyAndUndoes(t *testing.T) {
	for _, prior := range []string{"", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`} {
		t.Run(map[bool]string{true: "no prior policy", false: "prior policy of that name"}[prior == ""], func(t *testing.T) {
			srv, fake, a, undo := newTestIAM(t)
			undo[ActionRestoreUserPolicy] = act(a, ActionRestoreUserPolicy)
			fake.AddUser("ci-bot")
			if prior != "" {
				fake.SetUserPolicy("ci-bot", revokePolicyName, prior)
			}
			in := actionInput(map[string]any{"user_name": "ci-bot"})
			res := mustRun(t, act(a, ActionRevokeUserSessions), in)
			doc := fake.UserPolicies("ci-bot")[revokePolicyName]
			if cutoff, ok := revokeCutoff(doc); !ok || !cutoff.Equal(containedAt) {
				t.Fatalf("user policy = %q, want a revoke of sessions issued before %s", doc, containedAt)
			}
			if res.Undo == nil || res.Undo.Action != ActionRestoreUserPolicy || res.Undo.Args["max_session_seconds"] != int32(userMaxSessionSeconds) {
				t.Fatalf("undo = %+v", res.Undo)
			}
			if res.Output["user_arn"] != "arn:aws:iam::123456789012:user/ci-bot" {
				t.Errorf("output = %v", res.Output)
			}
			before := len(srv.MutatingCalls())
			if again := mustRun(t, act(a, ActionRevokeUserSessions), in); again.Changed || len(srv.MutatingCalls()) != before {
				t.Errorf("second run changed=%v", again.Changed)
			}
			a.now = func() time.Time { return containedAt.Add(time.Hour) }
			undone := mustUndo(t, srv, undo, res)
			if len(undone.Warnings) == 0 {
				t.Error("no warning when lifting a user revoke an hour after it (sessions last up to 36h)")
			}
			got, ok := fake.UserPolicies("ci-bot")[revokePolicyName]
			if (prior == "") == ok || got != prior {
				t.Errorf("after undo policy = %q (exists %v), want %q", got, ok, prior)
			}
		})
	}
}

func TestRevokeUserSessionsDryRunThrottleAccessDeniedNotFound(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddUser("u")
	in := actionInput(map[string]any{"user_name": "u"})
	if res := mustRun(t, act(a, ActionRevokeUserSessions), dryRun(in)); !res.Changed || !strings.HasPrefix(res.Summary, "would deny every session of user u") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}
	srv.InjectFault(awsfake.Fault{Operation: "PutUserPolicy", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionRevokeUserSessions)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:PutUserPolicy", "arn:aws:iam::123456789012:user/u")
	srv.InjectFault(awsfake.Fault{Operation: "PutUserPolicy", Code: "Throttling", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionRevokeUserSessions), in); !res.Changed {
		t.Error("not revoked after three throttles")
	}
	_, err = act(a, ActionRevokeUserSessions)(context.Background(), actionInput(map[string]any{"user_name": "ghost"}))
	assertNonRetryable(t, err, action.ErrNotFound, "user ghost")
}

func TestIAMActionsRefuseToContainQuenchsOwnIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caller  string // "" = the fake's default, the quench-worker role
		roleARN string
		run     func(a *IAMActions) (contract.ActionResult, error)
	}{
		{name: "revoke the worker role's sessions", run: func(a *IAMActions) (contract.ActionResult, error) {
			return act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(map[string]any{"role_name": "quench-worker"}))
		}},
		{name: "deny actions to the worker role", run: func(a *IAMActions) (contract.ActionResult, error) {
			return act(a, ActionDenyRoleActions)(context.Background(), dryRun(actionInput(map[string]any{"role_name": "quench-worker"})))
		}},
		{name: "deactivate the worker user's keys", caller: "arn:aws:iam::123456789012:user/ops/quench-bot", run: func(a *IAMActions) (contract.ActionResult, error) {
			return act(a, ActionDeactivateAccessKeys)(context.Background(), actionInput(map[string]any{"user_name": "quench-bot"}))
		}},
		{name: "revoke the worker user's sessions", caller: "arn:aws:iam::123456789012:user/ops/quench-bot", run: func(a *IAMActions) (contract.ActionResult, error) {
			return act(a, ActionRevokeUserSessions)(context.Background(), actionInput(map[string]any{"user_name": "quench-bot"}))
		}},
		{name: "revoke the assumed containment role's sessions", roleARN: "arn:aws:iam::210987654321:role/quench-containment", run: func(a *IAMActions) (contract.ActionResult, error) {
			in := actionInput(map[string]any{"role_name": "quench-containment"})
			in.Incident.RoleARN = "arn:aws:iam::210987654321:role/quench-containment"
			return act(a, ActionRevokeRoleSessions)(context.Background(), in)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, _ := newTestIAM(t)
			fake.AddRole("quench-worker", 3600)
			fake.AddRole("quench-containment", 3600)
			fake.AddUser("quench-bot")
			fake.AddAccessKey("quench-bot", "AKIABOT", "Active")
			if tc.caller != "" {
				fakeSTS(srv).SetCallerARN(tc.caller)
			}
			_, err := tc.run(a)
			assertNonRetryable(t, err, action.ErrValidation, "identity quench itself runs as")
			if m := mutatingOps(srv); len(m) != 0 {
				t.Errorf("mutating calls %v against quench's own identity", m)
			}
		})
	}
}

func TestIAMActionsFailClosedWhenTheCallerIsUnknown(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	srv.InjectFault(awsfake.Fault{Operation: "GetCallerIdentity", Code: "InternalFailure", Status: 500, Times: 10})
	_, err := act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(map[string]any{"role_name": "app"}))
	if err == nil || !strings.Contains(err.Error(), "not quench's own identity") {
		t.Fatalf("err = %v, want a failure naming the identity check", err)
	}
	if m := mutatingOps(srv); len(m) != 0 {
		t.Errorf("contained without knowing who quench is: %v", m)
	}
}

func TestCallerPrincipal(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/quench-worker/i-0abc": "role quench-worker",
		"arn:aws:iam::123456789012:user/ops/quench-bot":               "user quench-bot",
		"arn:aws:iam::123456789012:user/alice":                        "user alice",
		"arn:aws:iam::123456789012:root":                              " ",
		"garbage":                                                     " ",
	} {
		kind, name := callerPrincipal(arn)
		if got := kind + " " + name; got != want {
			t.Errorf("callerPrincipal(%q) = %q, want %q", arn, got, want)
		}
	}
}

// step is one action a test workflow runs.
type step struct {
	Action string
	In     contract.ActionInput
}

// containThenRollBack runs steps as activities by action name, then their
// undo records in reverse, as the Incident workflow does on resolve.
func containThenRollBack(ctx workflow.Context, steps []step) ([]contract.ActionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 5},
	})
	var results []contract.ActionResult
	var undo []contract.UndoRecord
	for _, s := range steps {
		var res contract.ActionResult
		if err := workflow.ExecuteActivity(ctx, s.Action, s.In).Get(ctx, &res); err != nil {
			return results, err
		}
		results = append(results, res)
		if res.Undo != nil {
			undo = append(undo, *res.Undo)
		}
	}
	for i := len(undo) - 1; i >= 0; i-- {
		var res contract.ActionResult
		in := contract.ActionInput{Incident: testIncident, Step: "undo", Args: undo[i].Args}
		if err := workflow.ExecuteActivity(ctx, undo[i].Action, in).Get(ctx, &res); err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// TestContainAndRollBackThroughTemporal runs the actions as registered
// activities (names, JSON payloads, retries, heartbeat checkpoints) and
// checks rollback leaves every resource as it was. The SSM step's
// verification read is throttled past the SDK's retries after its write
// landed, so the activity is retried and must still undo to the value the
// first attempt saw.
func TestContainAndRollBackThroughTemporal(t *testing.T) {
	srv, p := newTestAWS(t)
	iamFake := fakeIAM(srv)
	iamFake.AddRole("app", 3600)
	iamFake.SetRolePolicy("app", "quench-deny-inc-42", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	iamFake.AddUser("ci-bot")
	iamFake.AddAccessKey("ci-bot", "AKIA1", "Active")
	iamFake.AddAccessKey("ci-bot", "AKIA2", "Inactive")
	fakeSSM(srv).SetParameter(killSwitch, "off", "String")
	fakeLambda(srv).AddFunction("chat")
	fakeLambda(srv).SetReservedConcurrency("chat", 25)
	fakeAPIGateway(srv).AddUsagePlan("plan1", "gold", nil)
	fakeAPIGateway(srv).AddAPIKey("key1", "partner", true)
	before := map[string]any{
		"role policies": iamFake.RolePolicies("app"), "user policies": iamFake.UserPolicies("ci-bot"),
		"keys": iamFake.AccessKeyStatus("ci-bot", "AKIA1") + iamFake.AccessKeyStatus("ci-bot", "AKIA2"),
	}
	srv.InjectFault(awsfake.Fault{Operation: "GetParameter", Code: "ThrottlingException", Status: 400, After: 1, Times: awsMaxAttempts})

	reg := catalog(p)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(containThenRollBack)
	reg.RegisterActivities(env)
	steps := []step{
		{ActionRevokeRoleSessions, actionInput(map[string]any{"role_name": "app"})},
		{ActionDenyRoleActions, actionInput(map[string]any{"role_name": "app"})},
		{ActionRevokeUserSessions, actionInput(map[string]any{"user_name": "ci-bot"})},
		{ActionDeactivateAccessKeys, actionInput(map[string]any{"user_name": "ci-bot"})},
		{ActionSetParameter, actionInput(map[string]any{"name": killSwitch, "value": "on"})},
		{ActionLimitConcurrency, actionInput(map[string]any{"function_name": "chat", "reserved": 0})},
		{ActionThrottleUsagePlan, actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": 1, "burst_limit": 2})},
		{ActionDisableAPIKey, actionInput(map[string]any{"api_key_id": "key1"})},
	}
	env.ExecuteWorkflow(containThenRollBack, steps)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var results []contract.ActionResult
	if err := env.GetWorkflowResult(&results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2*len(steps) {
		t.Fatalf("%d results, want every step contained and undone: %+v", len(results), results)
	}
	if ssmStep := results[4]; !ssmStep.Changed || ssmStep.Undo == nil || ssmStep.Undo.Args["prior_value"] != "off" {
		t.Errorf("retried set_parameter: %+v; want its undo to put back \"off\"", ssmStep)
	}
	faulted := 0
	for _, c := range srv.Calls() {
		if c.Operation == "GetParameter" && c.Faulted {
			faulted++
		}
	}
	if faulted != awsMaxAttempts || countCalls(srv, "PutParameter") != 2 {
		t.Errorf("faulted verification reads = %d, PutParameter calls = %d; want %d (one failed attempt) and 2 (contain once, undo once)",
			faulted, countCalls(srv, "PutParameter"), awsMaxAttempts)
	}

	after := map[string]any{
		"role policies": iamFake.RolePolicies("app"), "user policies": iamFake.UserPolicies("ci-bot"),
		"keys": iamFake.AccessKeyStatus("ci-bot", "AKIA1") + iamFake.AccessKeyStatus("ci-bot", "AKIA2"),
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("IAM after rollback = %v, want %v", after, before)
	}
	if v, _, _, _ := fakeSSM(srv).Parameter(killSwitch); v != "off" {
		t.Errorf("kill switch after rollback = %q, want off", v)
	}
	if n, ok := fakeLambda(srv).ReservedConcurrency("chat"); !ok || n != 25 {
		t.Errorf("reserved concurrency after rollback = %d, %v; want 25", n, ok)
	}
	if fakeAPIGateway(srv).UsagePlanThrottle("plan1") != nil || !fakeAPIGateway(srv).APIKeyEnabled("key1") {
		t.Error("API Gateway not restored by rollback")
	}
}

func TestDenyRoleActionsRejectsMalformedActionsAndResources(t *testing.T) {
	srv, fake, a, _ := newTestIAM(t)
	fake.AddRole("app", 3600)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"role_name": "app", "actions": []any{"InvokeModel"}}, `action "InvokeModel"`},
		{map[string]any{"role_name": "app", "actions": []any{"bedrock:Invoke Model"}}, `action "bedrock:Invoke Model"`},
		{map[string]any{"role_name": "app", "resources": []any{"my-bucket"}}, `resource "my-bucket"`},
		{map[string]any{"role_name": "app", "resources": []any{"arn:aws:bedrock"}}, `resource "arn:aws:bedrock": want "*" or an ARN (arn:partition:service:region:account:resource)`},
		{map[string]any{"role_name": "app", "resources": []any{"arn:aws::us-east-1:123456789012:x"}}, `resource "arn:aws::us-east-1:123456789012:x"`},
	} {
		_, err := act(a, ActionDenyRoleActions)(context.Background(), actionInput(tc.args))
		assertNonRetryable(t, err, action.ErrInvalidArgument, tc.want)
	}
	if len(srv.Calls()) != 0 {
		t.Errorf("bad arguments reached AWS: %v", srv.Calls())
	}
}

const (
	leakedKey = "AKIAALICELEAKED00001"
	otherKey  = "AKIAALICEOTHER000002"
)

// newTestKeys seeds alice with two Active access keys and a Bedrock API
// key, and bob with one key.
func newTestKeys(t *testing.T) (*awsfake.Server, *awsfake.IAM, *IAMActions, map[string]action.Func) {
	t.Helper()
	srv, fake, a, undo := newTestIAM(t)
	fake.AddUser("alice")
	fake.AddAccessKey("alice", leakedKey, "Active")
	fake.AddAccessKey("alice", otherKey, "Active")
	fake.AddServiceSpecificCredential("alice", bedrockServiceName, "ACCABEDROCK0000001", "Active")
	fake.AddUser("bob")
	fake.AddAccessKey("bob", "AKIABOBKEY0000000001", "Active")
	return srv, fake, a, undo
}

// An alert that names only an access key: the owner is found, exactly that
// key is switched off (the user's other key and Bedrock API key keep
// working), the result names the user for iam.revoke_user_sessions, and
// undo leaves the account byte-identical.
func TestDeactivateAccessKeyFindsTheOwnerAndDeactivatesOnlyThatKey(t *testing.T) {
	srv, fake, a, undo := newTestKeys(t)
	before := srv.State()
	in := actionInput(map[string]any{"access_key_id": leakedKey})

	dry := mustRun(t, act(a, ActionDeactivateAccessKey), dryRun(in))
	if !dry.Changed || dry.Summary != "would deactivate access key "+leakedKey+" of user alice" || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v, mutating calls %v", dry, mutatingOps(srv))
	}

	res := mustRun(t, act(a, ActionDeactivateAccessKey), in)
	if fake.AccessKeyStatus("alice", leakedKey) != "Inactive" {
		t.Fatalf("leaked key is %s", fake.AccessKeyStatus("alice", leakedKey))
	}
	if fake.AccessKeyStatus("alice", otherKey) != "Active" || fake.ServiceSpecificCredentialStatus("alice", "ACCABEDROCK0000001") != "Active" ||
		fake.AccessKeyStatus("bob", "AKIABOBKEY0000000001") != "Active" {
		t.Error("a key the alert did not name was deactivated")
	}
	if !res.Changed || res.Output["user_name"] != "alice" || res.Summary != "deactivated access key "+leakedKey+" of user alice" ||
		len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], ActionRevokeUserSessions) {
		t.Errorf("result %+v", res)
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"UpdateAccessKey"}) {
		t.Errorf("mutating calls %v, want one UpdateAccessKey", ops)
	}

	srv.ResetCalls()
	if again := mustRun(t, act(a, ActionDeactivateAccessKey), in); again.Changed || again.Undo != nil || len(mutatingOps(srv)) != 0 ||
		again.Summary != "access key "+leakedKey+" of user alice is already Inactive: unchanged" {
		t.Errorf("second run %+v, mutating calls %v", again, mutatingOps(srv))
	}
	mustUndo(t, srv, undo, res)
	if d := before.Diff(srv.State()); d != nil {
		t.Errorf("after undo: %v", d)
	}
}

// With user_name given the owner is not looked up but checked: a key that
// is not that user's fails before any write.
func TestDeactivateAccessKeyChecksAGivenUser(t *testing.T) {
	srv, fake, a, _ := newTestKeys(t)
	res := mustRun(t, act(a, ActionDeactivateAccessKey), actionInput(map[string]any{"access_key_id": leakedKey, "user_name": "alice"}))
	if !res.Changed || fake.AccessKeyStatus("alice", leakedKey) != "Inactive" || countCalls(srv, "GetAccessKeyLastUsed") != 0 {
		t.Errorf("result %+v, GetAccessKeyLastUsed calls %d", res, countCalls(srv, "GetAccessKeyLastUsed"))
	}
	srv.ResetCalls()
	_, err := act(a, ActionDeactivateAccessKey)(context.Background(), actionInput(map[string]any{"access_key_id": otherKey, "user_name": "bob"}))
	assertNonRetryable(t, err, action.ErrNotFound, "user bob has no access key "+otherKey)
	if len(mutatingOps(srv)) != 0 || fake.AccessKeyStatus("alice", otherKey) != "Active" {
		t.Errorf("a mismatched user_name changed something: %v", mutatingOps(srv))
	}
}

// A key that was already Inactive is left so, and no undo would turn it on.
func TestDeactivateAccessKeyLeavesAnInactiveKey(t *testing.T) {
	srv, fake, a, _ := newTestKeys(t)
	fake.AddAccessKey("bob", "AKIABOBOLDKEY0000002", "Inactive")
	before := srv.State()
	res := mustRun(t, act(a, ActionDeactivateAccessKey), actionInput(map[string]any{"access_key_id": "AKIABOBOLDKEY0000002"}))
	if res.Changed || res.Undo != nil || len(mutatingOps(srv)) != 0 || res.Summary != "access key AKIABOBOLDKEY0000002 of user bob is already Inactive: unchanged" {
		t.Errorf("result %+v, mutating calls %v", res, mutatingOps(srv))
	}
	if d := before.Diff(srv.State()); d != nil {
		t.Errorf("state changed: %v", d)
	}
}

func TestDeactivateAccessKeyRefusesWhatItCannotContain(t *testing.T) {
	for _, tc := range []struct {
		name, key, caller, typ string
		want                   []string
	}{
		{name: "temporary STS key", key: "ASIAFAKE000000000001", typ: action.ErrValidation, want: []string{"temporary key of an STS session", ActionRevokeRoleSessions, ActionRevokeUserSessions}},
		{name: "not a key id", key: "alice", typ: action.ErrInvalidArgument, want: []string{`access_key_id "alice"`}},
		{name: "unknown key", key: "AKIANOSUCHKEY0000001", typ: action.ErrNotFound, want: []string{"GetAccessKeyLastUsed", "AKIANOSUCHKEY0000001"}},
		{name: "quench's own user", key: leakedKey, caller: "arn:aws:iam::123456789012:user/alice", typ: action.ErrValidation, want: []string{"identity quench itself runs as"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, a, _ := newTestKeys(t)
			if tc.caller != "" {
				fakeSTS(srv).SetCallerARN(tc.caller)
			}
			_, err := act(a, ActionDeactivateAccessKey)(context.Background(), actionInput(map[string]any{"access_key_id": tc.key}))
			assertNonRetryable(t, err, tc.typ, tc.want...)
			if len(mutatingOps(srv)) != 0 {
				t.Errorf("mutating calls %v", mutatingOps(srv))
			}
		})
	}
}

func TestDeactivateAccessKeyThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a, _ := newTestKeys(t)
	in := actionInput(map[string]any{"access_key_id": leakedKey})
	srv.InjectFault(awsfake.Fault{Operation: "GetAccessKeyLastUsed", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionDeactivateAccessKey)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:GetAccessKeyLastUsed", "or the key is not in this account")
	srv.InjectFault(awsfake.Fault{Operation: "UpdateAccessKey", Code: "AccessDenied", Status: 403})
	_, err = act(a, ActionDeactivateAccessKey)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "iam:UpdateAccessKey", leakedKey)
	srv.InjectFault(awsfake.Fault{Operation: "UpdateAccessKey", Code: "Throttling", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionDeactivateAccessKey), in); !res.Changed || fake.AccessKeyStatus("alice", leakedKey) != "Inactive" {
		t.Errorf("not deactivated after three throttles: %+v", res)
	}
}
