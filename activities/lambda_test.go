package activities

import (
	"context"
	"strings"
	"testing"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func newTestLambda(t *testing.T) (*awsfake.Server, *awsfake.Lambda, *LambdaActions, map[string]ActionFunc) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewLambdaActions(p)
	a.poll = testPoll
	return srv, fakeLambda(srv), a, map[string]ActionFunc{ActionRestoreConcurrency: a.RestoreConcurrency}
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
			res := mustRun(t, a.LimitConcurrency, in)
			if n, ok := fake.ReservedConcurrency("chat"); !ok || n != 0 {
				t.Fatalf("reserved = %d, %v after containment; want 0", n, ok)
			}
			if !res.Changed || res.Undo == nil {
				t.Fatalf("result %+v", res)
			}

			srv.ResetCalls()
			if again := mustRun(t, a.LimitConcurrency, in); again.Changed || len(mutatingOps(srv)) != 0 {
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

	res := mustRun(t, a.LimitConcurrency, dryRun(in))
	if !res.Changed || !strings.HasPrefix(res.Summary, "would set") || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "PutFunctionConcurrency", Code: "AccessDeniedException", Status: 403})
	_, err := a.LimitConcurrency(context.Background(), in)
	assertNonRetryable(t, err, ErrAccessDenied, "lambda:PutFunctionConcurrency", "chat")

	srv.InjectFault(awsfake.Fault{Operation: "PutFunctionConcurrency", Code: "TooManyRequestsException", Status: 429, Times: 3})
	if res := mustRun(t, a.LimitConcurrency, in); !res.Changed {
		t.Error("not limited after three throttles")
	}
	if n, _ := fake.ReservedConcurrency("chat"); n != 2 {
		t.Errorf("reserved = %d, want 2", n)
	}

	_, err = a.LimitConcurrency(context.Background(), actionInput(map[string]any{"function_name": "chat", "reserved": -1}))
	assertNonRetryable(t, err, ErrInvalidArgument, "reserved")
	_, err = a.LimitConcurrency(context.Background(), actionInput(map[string]any{"function_name": "chat"}))
	assertNonRetryable(t, err, ErrInvalidArgument, "reserved is required")
	_, err = a.LimitConcurrency(context.Background(), actionInput(map[string]any{"function_name": "gone", "reserved": 0}))
	assertNonRetryable(t, err, ErrNotFound, "gone")
}

func ptr[T any](v T) *T { return &v }
