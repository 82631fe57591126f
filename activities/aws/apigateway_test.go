package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func newTestAPIGateway(t *testing.T) (*awsfake.Server, *awsfake.APIGateway, *APIGatewayActions, map[string]action.Func) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewAPIGatewayActions(p)
	a.poll = testPoll
	return srv, fakeAPIGateway(srv), a, map[string]action.Func{ActionRestoreUsagePlanThrottle: act(a, ActionRestoreUsagePlanThrottle)}
}

func TestThrottleUsagePlanContainsIdempotentlyAndUndoes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		prior         *awsfake.Throttle
		rejectReplace bool
	}{
		{name: "plan with a throttle", prior: &awsfake.Throttle{RateLimit: 100, BurstLimit: 200}},
		{name: "plan without a throttle"},
		{name: "plan without a throttle where replace is refused", rejectReplace: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestAPIGateway(t)
			fake.AddUsagePlan("plan1", "gold", tc.prior)
			fake.RejectReplaceWithoutThrottle(tc.rejectReplace)
			in := actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": 0.5, "burst_limit": 1})

			res := mustRun(t, act(a, ActionThrottleUsagePlan), in)
			if got := fake.UsagePlanThrottle("plan1"); got == nil || *got != (awsfake.Throttle{RateLimit: 0.5, BurstLimit: 1}) {
				t.Fatalf("throttle after containment = %+v", got)
			}
			if !res.Changed || res.Undo == nil {
				t.Fatalf("result %+v", res)
			}
			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionThrottleUsagePlan), in); again.Changed || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run changed=%v calls=%v", again.Changed, mutatingOps(srv))
			}
			mustUndo(t, srv, undo, res)
			got := fake.UsagePlanThrottle("plan1")
			switch {
			case tc.prior == nil && got != nil:
				t.Errorf("after undo throttle = %+v, want none", got)
			case tc.prior != nil && (got == nil || *got != *tc.prior):
				t.Errorf("after undo throttle = %+v, want %+v", got, tc.prior)
			}
		})
	}
}

func TestThrottleUsagePlanDryRunThrottleAccessDeniedAndBadArgs(t *testing.T) {
	srv, fake, a, _ := newTestAPIGateway(t)
	fake.AddUsagePlan("plan1", "gold", nil)
	in := actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": 2, "burst_limit": 4})

	res := mustRun(t, act(a, ActionThrottleUsagePlan), dryRun(in))
	if !res.Changed || !strings.Contains(res.Summary, "would throttle usage plan plan1 to 2 req/s, burst 4 (now no throttle)") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "UpdateUsagePlan", Code: "AccessDeniedException", Status: 403})
	_, err := act(a, ActionThrottleUsagePlan)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "apigateway:PATCH", "/usageplans/plan1")

	srv.InjectFault(awsfake.Fault{Operation: "UpdateUsagePlan", Code: "TooManyRequestsException", Status: 429, Times: 3})
	if res := mustRun(t, act(a, ActionThrottleUsagePlan), in); !res.Changed || fake.UsagePlanThrottle("plan1") == nil {
		t.Error("not throttled after three throttles")
	}

	_, err = act(a, ActionThrottleUsagePlan)(context.Background(), actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": "fast", "burst_limit": 4}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, "rate_limit")
	if res := mustRun(t, act(a, ActionThrottleUsagePlan), actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": "0.25", "burst_limit": 4})); !res.Changed {
		t.Error("a numeric string rate_limit was not applied")
	}
	if got := fake.UsagePlanThrottle("plan1"); got == nil || got.RateLimit != 0.25 {
		t.Errorf("throttle = %+v, want rate 0.25", got)
	}
	_, err = act(a, ActionThrottleUsagePlan)(context.Background(), actionInput(map[string]any{"usage_plan_id": "nope", "rate_limit": 1, "burst_limit": 1}))
	assertNonRetryable(t, err, action.ErrNotFound, "/usageplans/nope")
}

func TestDisableAPIKeyContainsIdempotentlyAndUndoes(t *testing.T) {
	srv, fake, a, undo := newTestAPIGateway(t)
	undo[ActionEnableAPIKey] = act(a, ActionEnableAPIKey)
	fake.AddAPIKey("key1", "partner", true)
	fake.AddAPIKey("key2", "old", false)
	in := actionInput(map[string]any{"api_key_id": "key1"})

	if res := mustRun(t, act(a, ActionDisableAPIKey), dryRun(in)); !res.Changed || res.Summary != "would disable api key key1" || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}
	res := mustRun(t, act(a, ActionDisableAPIKey), in)
	if fake.APIKeyEnabled("key1") || !res.Changed || res.Undo == nil {
		t.Fatalf("after disable: enabled=%v result %+v", fake.APIKeyEnabled("key1"), res)
	}
	before := len(srv.MutatingCalls())
	if again := mustRun(t, act(a, ActionDisableAPIKey), in); again.Changed || len(srv.MutatingCalls()) != before {
		t.Errorf("second run changed=%v", again.Changed)
	}
	mustUndo(t, srv, undo, res)
	if !fake.APIKeyEnabled("key1") {
		t.Error("key not enabled again after undo")
	}

	// A key that was already disabled stays disabled: no undo record.
	if res := mustRun(t, act(a, ActionDisableAPIKey), actionInput(map[string]any{"api_key_id": "key2"})); res.Changed || res.Undo != nil {
		t.Errorf("already disabled key: %+v", res)
	}
}

func TestDisableAPIKeyThrottleAccessDeniedNotFound(t *testing.T) {
	srv, fake, a, _ := newTestAPIGateway(t)
	fake.AddAPIKey("key1", "partner", true)
	in := actionInput(map[string]any{"api_key_id": "key1"})
	srv.InjectFault(awsfake.Fault{Operation: "UpdateApiKey", Code: "AccessDeniedException", Status: 403})
	_, err := act(a, ActionDisableAPIKey)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "apigateway:PATCH", "/apikeys/key1")
	srv.InjectFault(awsfake.Fault{Operation: "UpdateApiKey", Code: "TooManyRequestsException", Status: 429, Times: 3})
	if res := mustRun(t, act(a, ActionDisableAPIKey), in); !res.Changed || fake.APIKeyEnabled("key1") {
		t.Error("not disabled after three throttles")
	}
	_, err = act(a, ActionDisableAPIKey)(context.Background(), actionInput(map[string]any{"api_key_id": "nope"}))
	assertNonRetryable(t, err, action.ErrNotFound, "/apikeys/nope")
}

// Rate and burst are each only ever lowered: the lower of current and
// target is kept per field; a plan at or below both targets is left as it
// is, with no write and nothing to undo; a plan without a throttle gets
// the targets. Undo puts back exactly what was there.
func TestThrottleUsagePlanNeverRaises(t *testing.T) {
	target := map[string]any{"usage_plan_id": "plan1", "rate_limit": 2, "burst_limit": 4}
	for _, tc := range []struct {
		name    string
		prior   *awsfake.Throttle
		want    awsfake.Throttle
		summary string
	}{
		{name: "below both targets", prior: &awsfake.Throttle{RateLimit: 0.5, BurstLimit: 1}, want: awsfake.Throttle{RateLimit: 0.5, BurstLimit: 1},
			summary: "usage plan plan1 already at 0.5 req/s ≤ 2, burst 1 ≤ 4: unchanged"},
		{name: "at both targets", prior: &awsfake.Throttle{RateLimit: 2, BurstLimit: 4}, want: awsfake.Throttle{RateLimit: 2, BurstLimit: 4},
			summary: "usage plan plan1 already at 2 req/s ≤ 2, burst 4 ≤ 4: unchanged"},
		{name: "at zero", prior: &awsfake.Throttle{}, want: awsfake.Throttle{},
			summary: "usage plan plan1 already at 0 req/s ≤ 2, burst 0 ≤ 4: unchanged"},
		{name: "rate above, burst below", prior: &awsfake.Throttle{RateLimit: 100, BurstLimit: 1}, want: awsfake.Throttle{RateLimit: 2, BurstLimit: 1},
			summary: "throttled usage plan plan1 to 2 req/s, burst 1 (was 100 req/s, burst 1)"},
		{name: "rate below, burst above", prior: &awsfake.Throttle{RateLimit: 1, BurstLimit: 200}, want: awsfake.Throttle{RateLimit: 1, BurstLimit: 4},
			summary: "throttled usage plan plan1 to 1 req/s, burst 4 (was 1 req/s, burst 200)"},
		{name: "both above", prior: &awsfake.Throttle{RateLimit: 100, BurstLimit: 200}, want: awsfake.Throttle{RateLimit: 2, BurstLimit: 4},
			summary: "throttled usage plan plan1 to 2 req/s, burst 4 (was 100 req/s, burst 200)"},
		{name: "no throttle", want: awsfake.Throttle{RateLimit: 2, BurstLimit: 4},
			summary: "throttled usage plan plan1 to 2 req/s, burst 4 (was no throttle)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestAPIGateway(t)
			fake.AddUsagePlan("plan1", "gold", tc.prior)
			before := srv.State()
			lowers := tc.prior == nil || *tc.prior != tc.want

			dry := mustRun(t, act(a, ActionThrottleUsagePlan), dryRun(actionInput(target)))
			if dry.Changed != lowers || len(mutatingOps(srv)) != 0 {
				t.Errorf("dry run changed=%v (want %v), mutating calls %v", dry.Changed, lowers, mutatingOps(srv))
			}

			res := mustRun(t, act(a, ActionThrottleUsagePlan), actionInput(target))
			if res.Summary != tc.summary {
				t.Errorf("summary %q, want %q", res.Summary, tc.summary)
			}
			if res.Output["rate_limit"] != tc.want.RateLimit || res.Output["burst_limit"] != int(tc.want.BurstLimit) {
				t.Errorf("output %v, want rate %v burst %d", res.Output, tc.want.RateLimit, tc.want.BurstLimit)
			}
			if got := fake.UsagePlanThrottle("plan1"); got == nil || *got != tc.want {
				t.Fatalf("throttle = %+v, want %+v", got, tc.want)
			}
			if !lowers {
				if res.Changed || res.Undo != nil || len(mutatingOps(srv)) != 0 {
					t.Errorf("changed=%v undo=%v mutating calls %v, want none", res.Changed, res.Undo, mutatingOps(srv))
				}
				if d := before.Diff(srv.State()); d != nil {
					t.Errorf("state changed: %v", d)
				}
				return
			}
			mustUndo(t, srv, undo, res)
			if d := before.Diff(srv.State()); d != nil {
				t.Errorf("after undo the state differs from before: %v", d)
			}
		})
	}
}
