package aws

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

// weakenGuardrail is the tamperer's UpdateGuardrail: content filters off,
// the denied topic and the PII policy removed.
func weakenGuardrail(g *bedrock.GetGuardrailOutput) {
	g.ContentPolicy = &brtypes.GuardrailContentPolicy{Filters: []brtypes.GuardrailContentFilter{
		{Type: "HATE", InputStrength: "NONE", OutputStrength: "NONE"},
	}}
	g.TopicPolicy, g.SensitiveInformationPolicy = nil, nil
	g.BlockedInputMessaging = aws.String("ok")
}

func TestRevertGuardrailDraftToNewestVersion(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	good := seedGuardrail(srv)
	fb := fakeBedrock(srv)
	fb.PublishGuardrailVersion(testGuardrailID)
	fb.EditGuardrailDraft(testGuardrailID, weakenGuardrail)
	in := bedrockInput("restore-guardrail", map[string]any{"guardrail_id": testGuardrailID})

	dry, err := act(b, ActionRevertGuardrailDraft)(ctx, dryRun(in))
	if err != nil || !dry.Changed || !strings.HasPrefix(dry.Summary, "would put the guardrail "+testGuardrailID+" DRAFT back to version 1") || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("dry run: res=%+v err=%v mutating=%v", dry, err, mutatingOps(srv))
	}

	res, err := act(b, ActionRevertGuardrailDraft)(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fb.Guardrail(testGuardrailID)
	if got, want := policiesOf(after), policiesOf(good); !sameGuardrailDraft(got, want) {
		t.Fatalf("DRAFT after revert:\n%+v\nwant the pre-tampering DRAFT:\n%+v", got, want)
	}
	if ops := mutatingOps(srv); !reflect.DeepEqual(ops, []string{"UpdateGuardrail"}) {
		t.Errorf("mutating calls = %v, want one UpdateGuardrail", ops)
	}
	// The tampered DRAFT is the prior (evidence); there is no undo, and the
	// result says why.
	prior, _ := res.Prior["draft"].(map[string]any)
	if prior["BlockedInputMessaging"] != "ok" || res.Undo != nil || res.Output["version"] != "1" ||
		!strings.Contains(strings.Join(res.Warnings, "\n"), "not undone on rollback, by design") {
		t.Fatalf("res = %+v", res)
	}

	again, err := act(b, ActionRevertGuardrailDraft)(ctx, in)
	if err != nil || again.Changed || len(srv.MutatingCalls()) != 1 || !strings.Contains(again.Summary, "nothing to do") {
		t.Fatalf("again: res=%+v err=%v mutating=%v", again, err, mutatingOps(srv))
	}
}

// A tamperer who also published their weakened DRAFT made the newest
// version bad too: published_before (the event's time) skips it.
func TestRevertGuardrailDraftSkipsVersionsPublishedAfterTheEvent(t *testing.T) {
	ctx := context.Background()
	srv, b := newBedrockTest(t)
	good := seedGuardrail(srv)
	fb := fakeBedrock(srv)
	fb.PublishGuardrailVersion(testGuardrailID) // 1: known good
	time.Sleep(5 * time.Millisecond)
	eventTime := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	fb.EditGuardrailDraft(testGuardrailID, weakenGuardrail)
	fb.PublishGuardrailVersion(testGuardrailID) // 2: the tamperer's

	res, err := act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{
		"guardrail_id": testGuardrailID, "published_before": eventTime.Format(time.RFC3339Nano)}))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fb.Guardrail(testGuardrailID)
	if res.Output["version"] != "1" || !sameGuardrailDraft(policiesOf(after), policiesOf(good)) {
		t.Fatalf("reverted to version %v; DRAFT %+v", res.Output["version"], policiesOf(after))
	}

	// Without the time, the newest version (the tamperer's) is taken: the
	// DRAFT already equals it, so nothing is written.
	srv.ResetCalls()
	fb.EditGuardrailDraft(testGuardrailID, weakenGuardrail)
	res, err = act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{"guardrail_id": testGuardrailID}))
	if err != nil || res.Output["version"] != "2" || res.Changed || len(srv.MutatingCalls()) != 0 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestRevertGuardrailDraftRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("no version before the event", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedGuardrail(srv)
		fakeBedrock(srv).PublishGuardrailVersion(testGuardrailID)
		_, err := act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{
			"guardrail_id": testGuardrailID, "published_before": "2020-01-01T00:00:00Z"}))
		assertNonRetryable(t, err, action.ErrNotFound, "no published version before 2020-01-01T00:00:00Z", "by hand")
		if len(srv.MutatingCalls()) != 0 {
			t.Fatalf("mutating calls %v", mutatingOps(srv))
		}
	})
	t.Run("bad time", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		_, err := act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{
			"guardrail_id": testGuardrailID, "published_before": "yesterday"}))
		assertNonRetryable(t, err, action.ErrInvalidArgument, `published_before "yesterday"`)
		if len(srv.Calls()) != 0 {
			t.Fatalf("calls %v", srv.Calls())
		}
	})
	t.Run("throttled then success", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		good := seedGuardrail(srv)
		fakeBedrock(srv).PublishGuardrailVersion(testGuardrailID)
		fakeBedrock(srv).EditGuardrailDraft(testGuardrailID, weakenGuardrail)
		srv.InjectFault(awsfake.Fault{Operation: "ListGuardrails", Code: "ThrottlingException", Status: 429, Times: 2})
		srv.InjectFault(awsfake.Fault{Operation: "UpdateGuardrail", Code: "ThrottlingException", Status: 429, Times: 2})
		if _, err := act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{"guardrail_id": testGuardrailID})); err != nil {
			t.Fatal(err)
		}
		after, _ := fakeBedrock(srv).Guardrail(testGuardrailID)
		if !sameGuardrailDraft(policiesOf(after), policiesOf(good)) {
			t.Fatal("DRAFT not reverted")
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv, b := newBedrockTest(t)
		seedGuardrail(srv)
		fakeBedrock(srv).PublishGuardrailVersion(testGuardrailID)
		fakeBedrock(srv).EditGuardrailDraft(testGuardrailID, weakenGuardrail)
		srv.InjectFault(awsfake.Fault{Operation: "UpdateGuardrail", Code: "AccessDeniedException", Status: 403, Times: 5})
		_, err := act(b, ActionRevertGuardrailDraft)(ctx, bedrockInput("restore-guardrail", map[string]any{"guardrail_id": testGuardrailID}))
		assertNonRetryable(t, err, action.ErrAccessDenied, "bedrock:UpdateGuardrail")
		if n := countCalls(srv, "UpdateGuardrail"); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
}
