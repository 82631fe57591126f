package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

// TestAWSErrorClassifiesRealSDKErrors drives real SDK calls into injected
// faults and checks what Temporal will do with the classified error.
func TestAWSErrorClassifiesRealSDKErrors(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fault         awsfake.Fault
		wantType      string // "" = retryable
		wantInMessage []string
	}{
		{name: "throttling outlasting the SDK's retries stays retryable", fault: awsfake.Fault{Code: "Throttling", Status: 400, Times: 10}, wantInMessage: []string{"throttled"}},
		{name: "server error stays retryable", fault: awsfake.Fault{Code: "ServiceFailure", Status: 500, Times: 10}, wantInMessage: []string{"server error"}},
		{name: "concurrent modification stays retryable", fault: awsfake.Fault{Code: "ConcurrentModification", Status: 409}, wantInMessage: []string{"transient"}},
		{name: "access denied names the permission", fault: awsfake.Fault{Code: "AccessDenied", Status: 403}, wantType: action.ErrAccessDenied, wantInMessage: []string{"iam:GetRole", "role app"}},
		{name: "no such entity is not found", fault: awsfake.Fault{Code: "NoSuchEntity", Status: 404}, wantType: action.ErrNotFound, wantInMessage: []string{"role app"}},
		{name: "invalid input is a validation failure", fault: awsfake.Fault{Code: "InvalidInput", Status: 400}, wantType: action.ErrValidation, wantInMessage: []string{"rejected"}},
		{name: "limit exceeded is a validation failure", fault: awsfake.Fault{Code: "LimitExceeded", Status: 409}, wantType: action.ErrValidation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, p := newTestAWS(t)
			fakeIAM(srv).AddRole("app", 3600)
			tc.fault.Operation = "GetRole"
			srv.InjectFault(tc.fault)
			cfg, err := p.Config(context.Background(), testIncident)
			if err != nil {
				t.Fatal(err)
			}
			_, sdkErr := iam.NewFromConfig(cfg).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")})
			if sdkErr == nil {
				t.Fatal("no error from the faulted call")
			}
			err = AWSError("iam", "GetRole", "role app", sdkErr)
			var ae *temporal.ApplicationError
			isApp := errors.As(err, &ae)
			switch {
			case tc.wantType == "" && isApp && ae.NonRetryable():
				t.Errorf("err = %v is non-retryable, want retryable", err)
			case tc.wantType != "" && (!isApp || !ae.NonRetryable() || ae.Type() != tc.wantType):
				t.Errorf("err = %v, want non-retryable %s", err, tc.wantType)
			}
			for _, w := range tc.wantInMessage {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !errors.Is(err, sdkErr) && !strings.Contains(err.Error(), sdkErr.Error()) {
				t.Errorf("classified error lost the SDK error: %v", err)
			}
		})
	}
}

func TestAWSErrorOnOtherProtocols(t *testing.T) {
	srv, p := newTestAWS(t)
	cfg, _ := p.Config(context.Background(), testIncident)
	_, err := ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/quench/none")})
	assertNonRetryable(t, AWSError("ssm", "GetParameter", "parameter /quench/none", err), action.ErrNotFound, "/quench/none")

	srv.InjectFault(awsfake.Fault{Operation: "GetParameter", Code: "AccessDeniedException", Status: 400})
	_, err = ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/quench/none")})
	assertNonRetryable(t, AWSError("ssm", "GetParameter", "parameter /quench/none", err), action.ErrAccessDenied, "ssm:GetParameter")

	if AWSError("iam", "GetRole", "role x", nil) != nil {
		t.Error("AWSError(nil) != nil")
	}
}

// An access-denied step tells the operator reading the timeline what
// deploy/iam-policy.json grants the permission on: the opt-in tag for a
// write it scopes by tag, the named buckets or the /quench/ prefix, and
// nothing more for a permission it grants everywhere.
func TestAccessDeniedSaysWhereThePolicyGrantsThePermission(t *testing.T) {
	const tagged = "grants only on resources tagged quench:containable=true"
	t.Run("a containment step on an untagged role", func(t *testing.T) {
		srv, fake, a, _ := newTestIAM(t)
		fake.AddRole("app", 3600)
		srv.InjectFault(awsfake.Fault{Operation: "PutRolePolicy", Code: "AccessDenied", Status: 403, Times: 5,
			Message: "User: arn:aws:sts::123456789012:assumed-role/quench-worker/x is not authorized to perform: iam:PutRolePolicy"})
		_, err := act(a, ActionRevokeRoleSessions)(context.Background(), actionInput(map[string]any{"role_name": "app"}))
		assertNonRetryable(t, err, action.ErrAccessDenied, "iam:PutRolePolicy on inline policy", "which deploy/iam-policy.json "+tagged+": tag the role if quench may change it")
	})

	srv, p := newTestAWS(t)
	srv.InjectFault(awsfake.Fault{Operation: "GetParameter", Code: "AccessDeniedException", Status: 400})
	cfg, err := p.Config(context.Background(), testIncident)
	if err != nil {
		t.Fatal(err)
	}
	_, denied := ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/quench/x")})
	if denied == nil {
		t.Fatal("no error from the faulted call")
	}
	for _, tc := range []struct {
		op, permission, want string // want "" = no scope named
	}{
		{"PutFunctionConcurrency", "lambda:PutFunctionConcurrency", tagged},
		{"PATCH", "apigateway:PATCH", tagged},
		{"UpdateGuardrail", "bedrock:UpdateGuardrail", tagged},
		{"UpdateAccessKey", "iam:UpdateAccessKey", tagged},
		{"PutBucketPolicy", "s3:PutBucketPolicy", "grants only on the S3 buckets it names"},
		{"CopyObject", "s3:GetObjectVersion and s3:PutObject", "grants only on the S3 buckets it names"},
		{"PutParameter", "ssm:PutParameter", "grants only on parameters under /quench/"},
		{"GetRole", "iam:GetRole", ""},
		{"PutModelInvocationLoggingConfiguration", "bedrock:PutModelInvocationLoggingConfiguration", ""},
	} {
		msg := awsError(tc.op, tc.permission, "thing x", denied).Error()
		if !strings.Contains(msg, "needs permission "+tc.permission+" on thing x") {
			t.Errorf("%s: %q does not name the permission and resource", tc.permission, msg)
		}
		if tc.want == "" && strings.Contains(msg, "deploy/iam-policy.json") {
			t.Errorf("%s: %q names a scope, but the policy grants it everywhere", tc.permission, msg)
		}
		if tc.want != "" && !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q does not say %q", tc.permission, msg, tc.want)
		}
	}
}

func TestActionsAssumeTheIncidentsRole(t *testing.T) {
	srv, p := newTestAWS(t)
	fakeSSM(srv).SetParameter(killSwitch, "off", "String")
	a := NewSSMActions(p)
	a.poll = testPoll
	in := actionInput(map[string]any{"name": killSwitch, "value": "on"})
	in.Incident.RoleARN = "arn:aws:iam::210987654321:role/quench-containment"
	in.Incident.Region = "eu-west-1"
	mustRun(t, act(a, ActionSetParameter), in)
	mustRun(t, act(a, ActionSetParameter), in)
	if got := fakeSTS(srv).AssumedRoles(); len(got) != 1 || got[0] != in.Incident.RoleARN {
		t.Errorf("assumed roles = %v, want the incident's role once (credentials are cached)", got)
	}
}

func TestAssumeRoleDeniedNamesSTSPermission(t *testing.T) {
	srv, p := newTestAWS(t)
	a := NewSSMActions(p)
	a.poll = testPoll
	srv.InjectFault(awsfake.Fault{Operation: "AssumeRole", Code: "AccessDenied", Status: 403, Times: 5})
	in := actionInput(map[string]any{"name": killSwitch, "value": "on"})
	in.Incident.RoleARN = "arn:aws:iam::210987654321:role/quench-containment"
	_, err := act(a, ActionSetParameter)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "sts:AssumeRole", "arn:aws:iam::210987654321:role/quench-containment")
}

func TestLoadAWSProviderHonoursEnvironment(t *testing.T) {
	srv, _ := newTestAWS(t)
	fakeSSM(srv).SetParameter(killSwitch, "off", "String")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: only the service override may be used
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)

	p, err := LoadProvider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasCredentials(context.Background()) {
		t.Error("HasCredentials = false with keys in the environment")
	}
	if p.base.Region != "eu-central-1" || p.base.RetryMaxAttempts != awsMaxAttempts {
		t.Errorf("region %q, max attempts %d; want eu-central-1 and %d", p.base.Region, p.base.RetryMaxAttempts, awsMaxAttempts)
	}
	a := NewSSMActions(p)
	a.poll = testPoll
	res := mustRun(t, act(a, ActionSetParameter), actionInput(map[string]any{"name": killSwitch, "value": "on"}))
	if !res.Changed {
		t.Error("parameter not set through AWS_ENDPOINT_URL_SSM")
	}
}

func TestHasCredentialsWithoutAny(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	p, err := LoadProvider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.HasCredentials(context.Background()) {
		t.Error("HasCredentials = true with no credentials anywhere")
	}
	var nilProvider *Provider
	if nilProvider.HasCredentials(context.Background()) {
		t.Error("nil provider has credentials")
	}
}

func TestActionsDeclaresEveryAWSActionWithItsUndo(t *testing.T) {
	_, p := newTestAWS(t)
	reg := catalog(p)
	undoOf := map[string]string{
		ActionRevokeRoleSessions: ActionRestoreRolePolicy, ActionDenyRoleActions: ActionRestoreRolePolicy, ActionRevokeUserSessions: ActionRestoreUserPolicy,
		ActionDeactivateAccessKeys: ActionReactivateAccessKeys, ActionLimitConcurrency: ActionRestoreConcurrency,
		ActionThrottleUsagePlan: ActionRestoreUsagePlanThrottle, ActionSetParameter: ActionRestoreParameter, ActionDisableAPIKey: ActionEnableAPIKey,
		ActionPauseAgentAlias: ActionRestoreAgentAlias, ActionDisableAgentKnowledgeBase: ActionEnableAgentKnowledgeBase,
		ActionStopIngestionJobs: ActionStartIngestionJob, ActionApplyGuardrailPolicy: ActionRestoreGuardrail,
	}
	for name, undo := range undoOf {
		spec, ok := reg.Action(name)
		if !ok || !spec.Mutating || spec.UndoOnly {
			t.Errorf("%s: registered=%v spec=%+v", name, ok, spec)
		}
		if u, ok := reg.Action(undo); !ok || !u.UndoOnly || !u.Mutating {
			t.Errorf("undo action %s of %s: registered=%v undoOnly=%v", undo, name, ok, u.UndoOnly)
		}
	}
	for _, ro := range []string{ActionBedrockSnapshot, ActionCaptureMetrics} {
		if a, ok := reg.Action(ro); !ok || a.Mutating {
			t.Errorf("%s: registered=%v mutating=%v, want a read-only action", ro, ok, a.Mutating)
		}
	}
	for _, spec := range reg.Specs() {
		if spec.Description == "" {
			t.Errorf("%s has no description", spec.Name)
		}
		for _, a := range spec.Args {
			if a.Description == "" || strings.ToLower(a.Name) != a.Name {
				t.Errorf("%s argument %q: want a snake_case name and a description", spec.Name, a.Name)
			}
		}
	}
}

func TestLoadAWSProviderKeepsConfiguredMaxAttempts(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_MAX_ATTEMPTS", "9")
	p, err := LoadProvider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.base.RetryMaxAttempts != 9 {
		t.Errorf("RetryMaxAttempts = %d, want AWS_MAX_ATTEMPTS=9", p.base.RetryMaxAttempts)
	}
}
