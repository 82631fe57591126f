package aws

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
)

func newTestLambda(t *testing.T) (*awsfake.Server, *awsfake.Lambda, *LambdaActions, map[string]action.Func) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewLambdaActions(p)
	a.poll = testPoll
	return srv, fakeLambda(srv), a, map[string]action.Func{ActionRestoreConcurrency: act(a, ActionRestoreConcurrency)}
}

func TestLimitConcurrencyContainsIdempotentlyAndUndoes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prior *int32
	}{
		{name: "unreserved function"},
		{name: "function with reserved concurrency", prior: ptr(int32(50))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestLambda(t)
			fake.AddFunction("chat")
			if tc.prior != nil {
				fake.SetReservedConcurrency("chat", *tc.prior)
			}
			in := actionInput(map[string]any{"function_name": "chat", "reserved": 0})
			res := mustRun(t, act(a, ActionLimitConcurrency), in)
			if n, ok := fake.ReservedConcurrency("chat"); !ok || n != 0 {
				t.Fatalf("reserved = %d, %v after containment; want 0", n, ok)
			}
			if !res.Changed || res.Undo == nil {
				t.Fatalf("result %+v", res)
			}

			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionLimitConcurrency), in); again.Changed || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run changed=%v calls=%v", again.Changed, mutatingOps(srv))
			}

			mustUndo(t, srv, undo, res)
			n, ok := fake.ReservedConcurrency("chat")
			switch {
			case tc.prior == nil && ok:
				t.Errorf("after undo reserved = %d, want unreserved (DeleteFunctionConcurrency)", n)
			case tc.prior != nil && (!ok || n != *tc.prior):
				t.Errorf("after undo reserved = %d, %v; want %d", n, ok, *tc.prior)
			}
		})
	}
}

func TestLimitConcurrencyDryRunThrottleAccessDeniedAndBadArgs(t *testing.T) {
	srv, fake, a, _ := newTestLambda(t)
	fake.AddFunction("chat")
	in := actionInput(map[string]any{"function_name": "chat", "reserved": 2})

	res := mustRun(t, act(a, ActionLimitConcurrency), dryRun(in))
	if !res.Changed || !strings.HasPrefix(res.Summary, "would set") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "PutFunctionConcurrency", Code: "AccessDeniedException", Status: 403})
	_, err := act(a, ActionLimitConcurrency)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "lambda:PutFunctionConcurrency", "chat")

	srv.InjectFault(awsfake.Fault{Operation: "PutFunctionConcurrency", Code: "TooManyRequestsException", Status: 429, Times: 3})
	if res := mustRun(t, act(a, ActionLimitConcurrency), in); !res.Changed {
		t.Error("not limited after three throttles")
	}
	if n, _ := fake.ReservedConcurrency("chat"); n != 2 {
		t.Errorf("reserved = %d, want 2", n)
	}

	_, err = act(a, ActionLimitConcurrency)(context.Background(), actionInput(map[string]any{"function_name": "chat", "reserved": -1}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, `argument "reserved" must be 0 or more, got -1`)
	_, err = act(a, ActionLimitConcurrency)(context.Background(), actionInput(map[string]any{"function_name": "chat"}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, `missing argument "reserved"`)
	_, err = act(a, ActionLimitConcurrency)(context.Background(), actionInput(map[string]any{"function_name": "gone", "reserved": 0}))
	assertNonRetryable(t, err, action.ErrNotFound, "gone")
}

func ptr[T any](v T) *T { return &v }

// crashingLambda is the Lambda client of a worker that is killed right
// after its PutFunctionConcurrency call landed: nothing after the write
// happens until the test has looked at what the server holds.
type crashingLambda struct {
	LambdaAPI
	wrote, dead chan struct{}
}

func (c crashingLambda) PutFunctionConcurrency(ctx context.Context, in *lambda.PutFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error) {
	if _, err := c.LambdaAPI.PutFunctionConcurrency(ctx, in, opts...); err != nil {
		return nil, err
	}
	close(c.wrote)
	<-c.dead
	return nil, errors.New("worker killed")
}

// Concurrency 50 is limited to 1 and the worker dies right after the
// write. The server keeps the attempt's last heartbeat, which the workflow
// hands to the next attempt: that attempt writes nothing, and its undo
// restores 50, not its predecessor's 1.
func TestLimitConcurrencyRetriedAfterTheWorkerDiedUndoesToTheOriginalValue(t *testing.T) {
	srv, fake, a, undo := newTestLambda(t)
	fake.AddFunction("chat")
	fake.SetReservedConcurrency("chat", 50)
	in := actionInput(map[string]any{"function_name": "chat", "reserved": 1})

	// Attempt 1, on a worker that dies after the write.
	real := a.clients
	crash := crashingLambda{wrote: make(chan struct{}), dead: make(chan struct{})}
	a.clients = func(ctx context.Context, ref contract.IncidentRef) (LambdaAPI, error) {
		c, err := real(ctx, ref)
		crash.LambdaAPI = c
		return crash, err
	}
	var mu sync.Mutex
	var held []byte // the heartbeat details the server holds
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var cp contract.AttemptCheckpoint
		if details.Get(&cp) == nil {
			mu.Lock()
			held = cp.Checkpoint
			mu.Unlock()
		}
	})
	env.RegisterActivityWithOptions(act(a, ActionLimitConcurrency), activityOptions(ActionLimitConcurrency))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = env.ExecuteActivity(ActionLimitConcurrency, in)
	}()
	<-crash.wrote
	mu.Lock()
	checkpoint := append([]byte(nil), held...)
	mu.Unlock()
	close(crash.dead)
	<-done
	if n, _ := fake.ReservedConcurrency("chat"); n != 1 {
		t.Fatalf("reserved = %d after attempt 1, want its write (1)", n)
	}
	if string(checkpoint) != `{"reserved":50}` {
		t.Fatalf("the server holds checkpoint %q when the worker dies, want the prior 50", checkpoint)
	}

	// Without the hand-over, a retry takes its predecessor's 1 for the prior state.
	a.clients = real
	if res := mustRun(t, act(a, ActionLimitConcurrency), in); res.Changed || res.Undo != nil {
		t.Fatalf("control: a retry without the checkpoint = %+v; the test no longer shows the problem", res)
	}

	// Attempt 2, handed the checkpoint by the workflow.
	in.Checkpoint = checkpoint
	res := mustRun(t, act(a, ActionLimitConcurrency), in)
	if !res.Changed || res.Undo == nil || res.Undo.Args["prior"] != 50 || !strings.Contains(res.Summary, "was 50 reserved") {
		t.Fatalf("attempt 2 = %+v; want a change whose undo restores 50", res)
	}
	if n := countCalls(srv, "PutFunctionConcurrency"); n != 1 {
		t.Errorf("PutFunctionConcurrency calls = %d, want 1: the retry must not write again", n)
	}
	mustUndo(t, srv, undo, res)
	if n, _ := fake.ReservedConcurrency("chat"); n != 50 {
		t.Errorf("reserved = %d after undo, want the original 50", n)
	}
}

// A limit only ever lowers: a function at or below the target (a function
// at 0 included) is left as it is, with no write and nothing to undo; one
// above it, or unreserved, is lowered and its undo puts back exactly what
// was there.
func TestLimitConcurrencyNeverRaises(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prior    *int32
		target   int
		lowered  bool
		summary  string
		reserved any // output.reserved
	}{
		{name: "function at 0, target 1", prior: ptr(int32(0)), target: 1, summary: "function chat already at 0 ≤ 1: unchanged", reserved: 0},
		{name: "function at the target", prior: ptr(int32(3)), target: 3, summary: "function chat already at 3 ≤ 3: unchanged", reserved: 3},
		{name: "function below the target", prior: ptr(int32(2)), target: 10, summary: "function chat already at 2 ≤ 10: unchanged", reserved: 2},
		{name: "function above the target", prior: ptr(int32(50)), target: 1, lowered: true, summary: "set reserved concurrency of function chat to 1 (was 50 reserved)", reserved: 1},
		{name: "unreserved function", target: 1, lowered: true, summary: "set reserved concurrency of function chat to 1 (was unreserved)", reserved: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestLambda(t)
			fake.AddFunction("chat")
			if tc.prior != nil {
				fake.SetReservedConcurrency("chat", *tc.prior)
			}
			before := srv.State()
			in := actionInput(map[string]any{"function_name": "chat", "reserved": tc.target})

			dry := mustRun(t, act(a, ActionLimitConcurrency), dryRun(in))
			if dry.Changed != tc.lowered || len(mutatingOps(srv)) != 0 {
				t.Errorf("dry run changed=%v (want %v), mutating calls %v", dry.Changed, tc.lowered, mutatingOps(srv))
			}

			res := mustRun(t, act(a, ActionLimitConcurrency), in)
			if res.Summary != tc.summary || res.Output["reserved"] != tc.reserved {
				t.Errorf("summary %q output %v, want %q and reserved %v", res.Summary, res.Output, tc.summary, tc.reserved)
			}
			if !tc.lowered {
				if res.Changed || res.Undo != nil || len(mutatingOps(srv)) != 0 {
					t.Errorf("changed=%v undo=%v mutating calls %v, want none", res.Changed, res.Undo, mutatingOps(srv))
				}
				if d := before.Diff(srv.State()); d != nil {
					t.Errorf("state changed: %v", d)
				}
				return
			}
			if n, ok := fake.ReservedConcurrency("chat"); !ok || n != int32(tc.target) {
				t.Fatalf("reserved = %d, %v; want %d", n, ok, tc.target)
			}
			mustUndo(t, srv, undo, res)
			if d := before.Diff(srv.State()); d != nil {
				t.Errorf("after undo the state differs from before: %v", d)
			}
		})
	}
}

// A retry whose predecessor's write landed, and whose function someone
// then lowered further, writes nothing: it never raises 0 back to 1.
func TestLimitConcurrencyRetryKeepsALowerValueSetMeanwhile(t *testing.T) {
	srv, fake, a, undo := newTestLambda(t)
	fake.AddFunction("chat")
	fake.SetReservedConcurrency("chat", 0)
	in := actionInput(map[string]any{"function_name": "chat", "reserved": 1})
	in.Checkpoint = []byte(`{"reserved":50}`) // the first attempt saw 50
	res := mustRun(t, act(a, ActionLimitConcurrency), in)
	if n := countCalls(srv, "PutFunctionConcurrency"); n != 0 {
		t.Errorf("PutFunctionConcurrency calls = %d, want 0", n)
	}
	if n, _ := fake.ReservedConcurrency("chat"); n != 0 {
		t.Errorf("reserved = %d, want the 0 set meanwhile", n)
	}
	if !res.Changed || res.Undo == nil || res.Undo.Args["prior"] != 50 {
		t.Fatalf("result %+v: want a change whose undo restores 50", res)
	}
	mustUndo(t, srv, undo, res)
	if n, _ := fake.ReservedConcurrency("chat"); n != 50 {
		t.Errorf("reserved = %d after undo, want 50", n)
	}
}
