package aws

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

const testGuardrailID = "gr1234567890"

// seedGuardrail adds a guardrail with every kind of policy, so a test
// notices any policy an update would drop.
func seedGuardrail(srv *awsfake.Server) bedrock.GetGuardrailOutput {
	g := bedrock.GetGuardrailOutput{
		GuardrailId: aws.String(testGuardrailID), Name: aws.String("support-app"), Description: aws.String("customer support"),
		BlockedInputMessaging: aws.String("Sorry, I can't help with that."), BlockedOutputsMessaging: aws.String("Sorry, I can't answer that."),
		KmsKeyArn: aws.String("arn:aws:kms:us-east-1:123456789012:key/abc"),
		ContentPolicy: &brtypes.GuardrailContentPolicy{Filters: []brtypes.GuardrailContentFilter{
			{Type: "HATE", InputStrength: "MEDIUM", OutputStrength: "HIGH"},
			{Type: "VIOLENCE", InputStrength: "LOW", OutputStrength: "NONE", InputAction: "NONE", OutputEnabled: aws.Bool(false)},
			{Type: "PROMPT_ATTACK", InputStrength: "LOW", OutputStrength: "NONE"},
		}},
		TopicPolicy: &brtypes.GuardrailTopicPolicy{Topics: []brtypes.GuardrailTopic{{
			Name: aws.String("investment-advice"), Definition: aws.String("Recommendations about investments."), Type: "DENY", Examples: []string{"Which stock should I buy?"},
		}}},
		WordPolicy: &brtypes.GuardrailWordPolicy{
			Words:            []brtypes.GuardrailWord{{Text: aws.String("competitorco")}},
			ManagedWordLists: []brtypes.GuardrailManagedWords{{Type: "PROFANITY"}},
		},
		SensitiveInformationPolicy: &brtypes.GuardrailSensitiveInformationPolicy{
			PiiEntities: []brtypes.GuardrailPiiEntity{{Type: "EMAIL", Action: "ANONYMIZE"}},
			Regexes:     []brtypes.GuardrailRegex{{Name: aws.String("ticket"), Pattern: aws.String(`TCK-\d+`), Action: "BLOCK"}},
		},
		ContextualGroundingPolicy: &brtypes.GuardrailContextualGroundingPolicy{Filters: []brtypes.GuardrailContextualGroundingFilter{{Type: "GROUNDING", Threshold: aws.Float64(0.7)}}},
	}
	fakeBedrock(srv).AddGuardrail(g)
	g2, _ := fakeBedrock(srv).Guardrail(testGuardrailID)
	return g2
}

// policiesOf is everything UpdateGuardrail sets, for comparing DRAFTs.
func policiesOf(g bedrock.GetGuardrailOutput) *bedrock.UpdateGuardrailInput {
	return guardrailUpdateInput(&g)
}

func filterStrengths(g bedrock.GetGuardrailOutput) map[string]string {
	m := map[string]string{}
	for _, f := range g.ContentPolicy.Filters {
		m[string(f.Type)] = string(f.InputStrength) + "/" + string(f.OutputStrength)
	}
	return m
}

func TestApplyGuardrailPolicyContainIdempotentUndo(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	before := seedGuardrail(srv)

	res, err := act(b, ActionApplyGuardrailPolicy)(ctx, bedrockInput("tighten", map[string]any{"guardrail_id": testGuardrailID}))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fakeBedrock(srv).Guardrail(testGuardrailID)
	if after.Status != brtypes.GuardrailStatusReady {
		t.Fatalf("returned while the guardrail was %s", after.Status)
	}
	want := map[string]string{"HATE": "HIGH/HIGH", "VIOLENCE": "HIGH/HIGH", "PROMPT_ATTACK": "HIGH/NONE", "SEXUAL": "HIGH/HIGH", "INSULTS": "HIGH/HIGH", "MISCONDUCT": "HIGH/HIGH"}
	if got := filterStrengths(after); !reflect.DeepEqual(got, want) {
		t.Fatalf("filters = %v, want %v", got, want)
	}
	for _, f := range after.ContentPolicy.Filters {
		if f.Type == "VIOLENCE" && (f.InputAction != "BLOCK" || !aws.ToBool(f.OutputEnabled)) {
			t.Fatalf("VIOLENCE still detect-only or off: %+v", f)
		}
	}
	// Every other policy was resent unchanged.
	b4, now := policiesOf(before), policiesOf(after)
	for name, pair := range map[string][2]any{
		"topics": {b4.TopicPolicyConfig, now.TopicPolicyConfig}, "words": {b4.WordPolicyConfig, now.WordPolicyConfig},
		"sensitive": {b4.SensitiveInformationPolicyConfig, now.SensitiveInformationPolicyConfig},
		"grounding": {b4.ContextualGroundingPolicyConfig, now.ContextualGroundingPolicyConfig},
		"messaging": {[]*string{b4.BlockedInputMessaging, b4.BlockedOutputsMessaging, b4.KmsKeyId, b4.Description}, []*string{now.BlockedInputMessaging, now.BlockedOutputsMessaging, now.KmsKeyId, now.Description}},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s policy changed: %+v → %+v", name, pair[0], pair[1])
		}
	}
	versions := fakeBedrock(srv).GuardrailVersions(testGuardrailID)
	if len(versions) != 1 || res.Output["version"] != "1" || !reflect.DeepEqual(filterStrengths(versions[0]), want) {
		t.Fatalf("output %v, versions %d", res.Output, len(versions))
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"UpdateGuardrail", "CreateGuardrailVersion"}) {
		t.Fatalf("mutating calls = %v", ops)
	}

	srv.ResetCalls()
	again, err := act(b, ActionApplyGuardrailPolicy)(ctx, bedrockInput("tighten", map[string]any{"guardrail_id": testGuardrailID}))
	if err != nil || again.Changed || again.Undo != nil || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("second apply: %+v %v %v", again, err, mutatingOps(srv))
	}

	mustUndo(t, srv, bedrockUndos(b), res)
	restored, _ := fakeBedrock(srv).Guardrail(testGuardrailID)
	if !reflect.DeepEqual(policiesOf(restored), policiesOf(before)) {
		t.Fatalf("DRAFT after undo differs:\n got %+v\nwant %+v", policiesOf(restored), policiesOf(before))
	}
}

func TestApplyGuardrailPolicyNeverLowers(t *testing.T) {
	srv, b := newBedrockTest(t)
	seedGuardrail(srv)
	res, err := act(b, ActionApplyGuardrailPolicy)(context.Background(), bedrockInput("tighten", map[string]any{"guardrail_id": testGuardrailID, "strength": "MEDIUM", "filters": []any{"HATE", "PROMPT_ATTACK"}}))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fakeBedrock(srv).Guardrail(testGuardrailID)
	got := filterStrengths(after)
	// HATE keeps output HIGH, VIOLENCE is not named and stays as it was.
	if got["HATE"] != "MEDIUM/HIGH" || got["PROMPT_ATTACK"] != "MEDIUM/NONE" || got["VIOLENCE"] != "LOW/NONE" || len(got) != 3 {
		t.Fatalf("filters = %v (summary %q)", got, res.Summary)
	}
}

// Filters already at or above the requested strength (and blocking) are
// left as they are: no UpdateGuardrail, no new version, the account's state
// byte-identical, nothing to undo.
func TestApplyGuardrailPolicyAtOrAboveTargetChangesNothing(t *testing.T) {
	for _, strength := range []string{"LOW", "MEDIUM"} {
		t.Run(strength, func(t *testing.T) {
			srv, b := newBedrockTest(t)
			seedGuardrail(srv) // HATE is MEDIUM in, HIGH out, blocking
			before := srv.State()
			in := bedrockInput("tighten", map[string]any{"guardrail_id": testGuardrailID, "strength": strength, "filters": []any{"HATE"}})
			for _, in := range []contract.ActionInput{dryRun(in), in} {
				res := mustRun(t, act(b, ActionApplyGuardrailPolicy), in)
				if res.Changed || res.Undo != nil || !strings.Contains(res.Summary, "already at least "+strength) {
					t.Errorf("dry run %v: %+v, want no change", in.DryRun, res)
				}
			}
			if ops := mutatingOps(srv); len(ops) != 0 {
				t.Errorf("mutating calls %v, want none", ops)
			}
			if d := before.Diff(srv.State()); d != nil {
				t.Errorf("state changed: %v", d)
			}
		})
	}
}

func TestApplyGuardrailPolicyBadArguments(t *testing.T) {
	_, b := newBedrockTest(t)
	for _, args := range []map[string]any{
		{"guardrail_id": testGuardrailID, "strength": "NONE"},
		{"guardrail_id": testGuardrailID, "filters": []any{"SPAM"}},
		{"strength": "HIGH"},
		{"guardrail_id": testGuardrailID, "color": "red"},
	} {
		if _, err := act(b, ActionApplyGuardrailPolicy)(context.Background(), bedrockInput("tighten", args)); err == nil || !strings.Contains(err.Error(), ActionApplyGuardrailPolicy) {
			t.Errorf("args %v: err = %v, want an argument error naming the action", args, err)
		}
	}
}

func TestApplyGuardrailPolicyDryRunThrottleAccessDenied(t *testing.T) {
	ctx := context.Background()
	args := map[string]any{"guardrail_id": testGuardrailID}
	t.Run("dry run", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedGuardrail(srv)
		in := bedrockInput("tighten", args)
		in.DryRun = true
		res, err := act(b, ActionApplyGuardrailPolicy)(ctx, in)
		if err != nil || !res.Changed || !strings.HasPrefix(res.Summary, "would raise") || len(srv.MutatingCalls()) != 0 {
			t.Fatalf("res=%+v err=%v mutating=%v", res, err, mutatingOps(srv))
		}
	})
	t.Run("three throttles then success", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedGuardrail(srv)
		srv.InjectFault(awsfake.Fault{Operation: "CreateGuardrailVersion", Code: "ThrottlingException", Status: 429, Times: 3})
		res, err := act(b, ActionApplyGuardrailPolicy)(ctx, bedrockInput("tighten", args))
		if err != nil || res.Output["version"] != "1" {
			t.Fatalf("res=%+v err=%v", res, err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedGuardrail(srv)
		srv.InjectFault(awsfake.Fault{Operation: "UpdateGuardrail", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionApplyGuardrailPolicy)(ctx, bedrockInput("tighten", args))
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:UpdateGuardrail")
		if n := countCalls(srv, "UpdateGuardrail"); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
}
