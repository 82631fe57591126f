package aws

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

func newTestSSM(t *testing.T) (*awsfake.Server, *awsfake.SSM, *SSMActions, map[string]action.Func) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewSSMActions(p)
	a.poll = testPoll
	return srv, fakeSSM(srv), a, map[string]action.Func{ActionRestoreParameter: act(a, ActionRestoreParameter)}
}

const killSwitch = "/quench/chat/kill_switch"

func TestSetParameterContainsIdempotentlyAndUndoes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prior      string // "" = parameter did not exist
		priorType  string
		wantExists bool
	}{
		{name: "parameter did not exist"},
		{name: "parameter had a value", prior: "off", priorType: "String", wantExists: true},
		{name: "parameter was a StringList", prior: "a,b", priorType: "StringList", wantExists: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestSSM(t)
			if tc.prior != "" {
				fake.SetParameter(killSwitch, tc.prior, tc.priorType)
			}
			in := actionInput(map[string]any{"name": killSwitch, "value": "on"})
			res := mustRun(t, act(a, ActionSetParameter), in)
			if v, typ, _, ok := fake.Parameter(killSwitch); !ok || v != "on" || typ != "String" {
				t.Fatalf("parameter = %q %s %v after containment", v, typ, ok)
			}
			if !res.Changed || res.Undo == nil {
				t.Fatalf("result %+v", res)
			}
			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionSetParameter), in); again.Changed || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run changed=%v calls=%v", again.Changed, mutatingOps(srv))
			}
			mustUndo(t, srv, undo, res)
			v, typ, _, ok := fake.Parameter(killSwitch)
			if ok != tc.wantExists || v != tc.prior || typ != tc.priorType {
				t.Errorf("after undo: %q %s exists=%v; want %q %s exists=%v", v, typ, ok, tc.prior, tc.priorType, tc.wantExists)
			}
		})
	}
}

func TestSetParameterRefusesSecureStrings(t *testing.T) {
	srv, fake, a, _ := newTestSSM(t)
	fake.SetParameter("/quench/secret", "hunter2", "SecureString")
	res, err := act(a, ActionSetParameter)(context.Background(), actionInput(map[string]any{"name": "/quench/secret", "value": "x"}))
	assertNonRetryable(t, err, action.ErrValidation, "SecureString", "/quench/secret")
	if strings.Contains(err.Error(), "hunter2") || res.Prior != nil {
		t.Error("the secret value leaked into the result")
	}
	if len(mutatingOps(srv)) != 0 {
		t.Error("a SecureString was written")
	}
	_, err = act(a, ActionSetParameter)(context.Background(), actionInput(map[string]any{"name": "/quench/x", "value": "x", "type": "SecureString"}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, "SecureString")
}

func TestSetParameterDryRunThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a, _ := newTestSSM(t)
	fake.SetParameter(killSwitch, "off", "String")
	in := actionInput(map[string]any{"name": killSwitch, "value": "on"})

	res := mustRun(t, act(a, ActionSetParameter), dryRun(in))
	if !res.Changed || res.Summary != `would set parameter /quench/chat/kill_switch to "on" (was "off")` || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "PutParameter", Code: "AccessDeniedException", Status: 400})
	_, err := act(a, ActionSetParameter)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "ssm:PutParameter", killSwitch)

	srv.InjectFault(awsfake.Fault{Operation: "PutParameter", Code: "ThrottlingException", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionSetParameter), in); !res.Changed {
		t.Error("not set after three throttles")
	}
	if v, _, _, _ := fake.Parameter(killSwitch); v != "on" {
		t.Errorf("value = %q, want on", v)
	}
}

func TestThrottleUndoActionsDryRunMakeNoChange(t *testing.T) {
	srv, p := newTestAWS(t)
	fakeSSM(srv).SetParameter(killSwitch, "off", "String")
	fakeLambda(srv).AddFunction("chat")
	fakeAPIGateway(srv).AddUsagePlan("plan1", "gold", nil)
	s, l, g := NewSSMActions(p), NewLambdaActions(p), NewAPIGatewayActions(p)
	s.poll, l.poll, g.poll = testPoll, testPoll, testPoll
	contained := []struct {
		undo action.Func
		res  contract.ActionResult
	}{
		{act(s, ActionRestoreParameter), mustRun(t, act(s, ActionSetParameter), actionInput(map[string]any{"name": killSwitch, "value": "on"}))},
		{act(l, ActionRestoreConcurrency), mustRun(t, act(l, ActionLimitConcurrency), actionInput(map[string]any{"function_name": "chat", "reserved": 0}))},
		{act(g, ActionRestoreUsagePlanThrottle), mustRun(t, act(g, ActionThrottleUsagePlan), actionInput(map[string]any{"usage_plan_id": "plan1", "rate_limit": 1, "burst_limit": 1}))},
	}
	before := len(srv.MutatingCalls())
	for _, c := range contained {
		b, _ := json.Marshal(c.res.Undo.Args)
		var args map[string]any
		_ = json.Unmarshal(b, &args)
		res := mustRun(t, c.undo, dryRun(actionInput(args)))
		if !res.Changed || !strings.HasPrefix(res.Summary, "would ") {
			t.Errorf("dry-run undo %s: %+v", c.res.Undo.Action, res)
		}
	}
	if len(srv.MutatingCalls()) != before {
		t.Errorf("dry-run undo made mutating calls %v", srv.MutatingCalls()[before:])
	}
}

func TestSetParameterStoresNumbersAsText(t *testing.T) {
	_, fake, a, _ := newTestSSM(t)
	// ${{ steps.tighten.output.version }} may yield a number.
	mustRun(t, act(a, ActionSetParameter), actionInput(map[string]any{"name": "/quench/chat/guardrail_version", "value": 3}))
	if v, _, _, _ := fake.Parameter("/quench/chat/guardrail_version"); v != "3" {
		t.Errorf("value = %q, want 3", v)
	}
	_, err := act(a, ActionSetParameter)(context.Background(), actionInput(map[string]any{"name": "/quench/x", "value": []any{"a"}}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, "value")
}
