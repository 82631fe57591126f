package aws

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// fakeRegistrars add services to every server newTestAWS starts. Test files
// for other services append to it in an init function:
//
//	func init() { fakeRegistrars = append(fakeRegistrars, func(s *awsfake.Server) { awsfake.RegisterBedrockAgent(s) }) }
var fakeRegistrars = []func(*awsfake.Server){
	func(s *awsfake.Server) {
		awsfake.RegisterIAM(s)
		awsfake.RegisterSTS(s)
		awsfake.RegisterSSM(s)
		awsfake.RegisterLambda(s)
		awsfake.RegisterAPIGateway(s)
	},
}

// testPoll keeps verification polling fast in tests.
var testPoll = PollConfig{Interval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Timeout: 5 * time.Second}

// newTestAWS starts a fake AWS with every registered service and returns a
// provider whose real SDK clients talk to it. The SDK retries as in
// production (standard mode, awsMaxAttempts attempts) with millisecond
// backoff. When the test ends, every call the server received (ResetCalls
// does not hide any) is checked against deploy/iam-policy.json, so the
// failure names the test whose calls the policy does not allow; TestMain
// (policy_test.go) then checks the policy allows nothing no test needed.
func newTestAWS(t *testing.T) (*awsfake.Server, *Provider) {
	t.Helper()
	srv := awsfake.New()
	for _, reg := range fakeRegistrars {
		reg(srv)
	}
	var mu sync.Mutex
	var calls []awsfake.Call
	srv.OnCall(func(c awsfake.Call) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, c)
	})
	t.Cleanup(func() {
		srv.Close() // waits for requests in flight, so every call is recorded
		mu.Lock()
		defer mu.Unlock()
		recordCalled(calls)
		checkCallsAllowed(t, calls)
	})
	cfg := srv.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = awsMaxAttempts
			o.Backoff = retry.NewExponentialJitterBackoff(2 * time.Millisecond)
			o.RateLimiter = ratelimit.None
		})
	}
	return srv, NewProvider(cfg)
}

func fakeIAM(srv *awsfake.Server) *awsfake.IAM { return srv.Handler("iam").(*awsfake.IAM) }
func fakeSTS(srv *awsfake.Server) *awsfake.STS { return srv.Handler("sts").(*awsfake.STS) }
func fakeSSM(srv *awsfake.Server) *awsfake.SSM { return srv.Handler("ssm").(*awsfake.SSM) }
func fakeLambda(srv *awsfake.Server) *awsfake.Lambda {
	return srv.Handler("lambda").(*awsfake.Lambda)
}
func fakeAPIGateway(srv *awsfake.Server) *awsfake.APIGateway {
	return srv.Handler("apigateway").(*awsfake.APIGateway)
}

// mutatingOps lists the operations of the mutating calls, in order.
func mutatingOps(srv *awsfake.Server) []string {
	var ops []string
	for _, c := range srv.MutatingCalls() {
		ops = append(ops, c.Operation)
	}
	return ops
}

// testIncident is the incident every AWS action test acts for.
var testIncident = contract.IncidentRef{ID: "inc-42", Runbook: "test", Severity: "high"}

func actionInput(args map[string]any) contract.ActionInput {
	return contract.ActionInput{Incident: testIncident, Step: "contain", Args: args}
}

func dryRun(in contract.ActionInput) contract.ActionInput {
	in.DryRun = true
	return in
}

// catalog is a registry of every AWS action acting through p.
func catalog(p *Provider) *action.Registry {
	reg := action.NewRegistry()
	reg.Register(Actions(p)...)
	return reg
}

// act returns the activity Temporal runs for the named action of p: the
// arguments are checked against the action's spec before it runs, and a
// heartbeat keeper runs with it.
func act(p interface{ Actions() []action.Action }, name string) action.Func {
	reg := action.NewRegistry()
	reg.Register(p.Actions()...)
	fn, ok := reg.Activity(name)
	if !ok {
		panic("no action " + name)
	}
	return fn
}

// mustRun runs an action and fails the test on error.
func mustRun(t *testing.T, fn action.Func, in contract.ActionInput) contract.ActionResult {
	t.Helper()
	res, err := fn(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: %v", in.Step, err)
	}
	return res
}

// mustUndo runs a result's undo record with the action of that name in
// undo, then runs it again and checks the repeat changes nothing (a
// rollback step may be retried).
func mustUndo(t *testing.T, srv *awsfake.Server, undo map[string]action.Func, res contract.ActionResult) contract.ActionResult {
	t.Helper()
	if res.Undo == nil {
		t.Fatal("result has no undo record")
	}
	fn, ok := undo[res.Undo.Action]
	if !ok {
		t.Fatalf("no undo action %s", res.Undo.Action)
	}
	// Undo args travel through workflow history as JSON.
	b, err := json.Marshal(res.Undo.Args)
	if err != nil {
		t.Fatal(err)
	}
	var args map[string]any
	if err := json.Unmarshal(b, &args); err != nil {
		t.Fatal(err)
	}
	in := contract.ActionInput{Incident: testIncident, Step: "undo", Args: args}
	first := mustRun(t, fn, in)
	if !first.Changed {
		t.Errorf("undo %s changed nothing: %s", res.Undo.Action, first.Summary)
	}
	before := len(srv.MutatingCalls())
	again := mustRun(t, fn, in)
	if again.Changed || len(srv.MutatingCalls()) != before {
		t.Errorf("repeated undo %s: changed=%v, mutating calls %v", res.Undo.Action, again.Changed, srv.MutatingCalls()[before:])
	}
	return first
}

// assertNonRetryable checks err is a non-retryable application error of
// type typ whose message contains every want.
func assertNonRetryable(t *testing.T, err error, typ string, want ...string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want a non-retryable %s application error", err, typ)
	}
	if !ae.NonRetryable() || ae.Type() != typ {
		t.Errorf("err type %s non-retryable=%v, want %s non-retryable: %v", ae.Type(), ae.NonRetryable(), typ, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err.Error(), w)
		}
	}
}

// countCalls counts the calls of op (faulted ones included).
func countCalls(srv *awsfake.Server, op string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Operation == op {
			n++
		}
	}
	return n
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}
