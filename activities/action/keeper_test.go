package action_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

type registrarFunc func(a any, name string)

func (f registrarFunc) RegisterActivityWithOptions(a interface{}, o activity.RegisterOptions) {
	f(a, o.Name)
}

// heartbeats records every heartbeat an activity records, before the SDK
// batches them (the test environment sends at most one per 30s).
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	got []heartbeat
}

type heartbeat struct {
	at         time.Time
	details    int
	checkpoint string
}

func (h *heartbeats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &hbInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

type hbInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *heartbeats
}

func (i *hbInbound) Init(out interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&hbOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, h: i.h})
}

type hbOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	h *heartbeats
}

func (o *hbOutbound) RecordHeartbeat(ctx context.Context, details ...interface{}) {
	hb := heartbeat{at: time.Now(), details: len(details)}
	if len(details) == 1 {
		if cp, ok := details[0].(contract.AttemptCheckpoint); ok {
			hb.checkpoint = string(cp.Checkpoint)
		}
	}
	o.h.mu.Lock()
	o.h.got = append(o.h.got, hb)
	o.h.mu.Unlock()
	o.Next.RecordHeartbeat(ctx, details...)
}

func (h *heartbeats) list() []heartbeat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]heartbeat(nil), h.got...)
}

// newEnv is an activity test environment running reg's actions, with
// heartbeats recorded by hb.
func newEnv(reg *action.Registry, hb *heartbeats) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{hb}})
	reg.RegisterActivities(env)
	return env
}

type state struct {
	Reserved int `json:"reserved"`
}

var pollSpec = runbooks.ActionSpec{Name: "test.poll", Mutating: true, Args: []runbooks.ArgSpec{{Name: "wait", Type: "duration"}}}

type pollArgs struct {
	Wait runbooks.Duration `json:"wait"`
}

// A verify poll can take minutes (IAM, agent preparation); the keeper
// heartbeats all along, every time with the checkpoint.
func TestEveryActionHeartbeatsTheCheckpointThroughALongPoll(t *testing.T) {
	reg := action.NewRegistry()
	reg.SetHeartbeatInterval(20 * time.Millisecond)
	reg.Register(action.New(pollSpec, func(ctx context.Context, in contract.ActionInput, args pollArgs) (contract.ActionResult, error) {
		action.Checkpoint(ctx, state{Reserved: 50})
		time.Sleep(args.Wait.D()) // a poll that never heartbeats itself
		return contract.ActionResult{}, nil
	}))
	hb := &heartbeats{}
	env := newEnv(reg, hb)
	if _, err := env.ExecuteActivity("test.poll", contract.ActionInput{Args: map[string]any{"wait": "400ms"}}); err != nil {
		t.Fatal(err)
	}
	got := hb.list()
	if len(got) < 10 {
		t.Fatalf("%d heartbeats in a 400ms poll with a 20ms interval, want at least 10", len(got))
	}
	carried := false
	for i, h := range got {
		if h.details != 1 {
			t.Fatalf("heartbeat %d has %d details, want one AttemptCheckpoint", i, h.details)
		}
		switch {
		case h.checkpoint == `{"reserved":50}`:
			carried = true
		case carried:
			t.Fatalf("heartbeat %d = %q after the checkpoint: a heartbeat replaces the details, so every one must carry it", i, h.checkpoint)
		}
	}
	if !carried {
		t.Fatal("no heartbeat carried the checkpoint")
	}
	for i := 1; i < len(got); i++ {
		if gap := got[i].at.Sub(got[i-1].at); gap > 200*time.Millisecond {
			t.Errorf("no heartbeat for %s between heartbeats %d and %d", gap, i-1, i)
		}
	}
}

// The SDK sends an attempt's first heartbeat at once and holds later ones
// back for most of the heartbeat timeout: the checkpoint, recorded before
// the first write, must be that first heartbeat.
func TestTheCheckpointIsTheAttemptsFirstHeartbeat(t *testing.T) {
	reg := action.NewRegistry()
	reg.SetHeartbeatInterval(time.Hour)
	reg.Register(action.New(pollSpec, func(ctx context.Context, in contract.ActionInput, args pollArgs) (contract.ActionResult, error) {
		action.Checkpoint(ctx, state{Reserved: 50})
		return contract.ActionResult{}, nil
	}))
	hb := &heartbeats{}
	if _, err := newEnv(reg, hb).ExecuteActivity("test.poll", contract.ActionInput{}); err != nil {
		t.Fatal(err)
	}
	if got := hb.list(); len(got) != 1 || got[0].checkpoint != `{"reserved":50}` {
		t.Fatalf("heartbeats = %+v, want exactly the checkpoint", got)
	}
}

// The previous attempt's checkpoint wins over what this attempt reads, and
// it is the first thing this attempt heartbeats.
func TestHandedOverCheckpointWinsOverAFreshRead(t *testing.T) {
	reg := action.NewRegistry()
	var prior state
	reg.Register(action.New(pollSpec, func(ctx context.Context, in contract.ActionInput, _ pollArgs) (contract.ActionResult, error) {
		prior = action.Checkpoint(ctx, state{Reserved: 1}) // what attempt 1 wrote
		return contract.ActionResult{}, nil
	}))
	hb := &heartbeats{}
	env := newEnv(reg, hb)
	in := contract.ActionInput{Checkpoint: json.RawMessage(`{"reserved":50}`)}
	if _, err := env.ExecuteActivity("test.poll", in); err != nil {
		t.Fatal(err)
	}
	if prior.Reserved != 50 {
		t.Errorf("prior = %+v, want the handed-over 50", prior)
	}
	if got := hb.list(); len(got) == 0 || got[0].checkpoint != `{"reserved":50}` {
		t.Errorf("heartbeats = %+v, want the hand-over first", got)
	}

	// Called directly (no activity), the hand-over still wins.
	run, _ := reg.Activity("test.poll")
	prior = state{}
	if _, err := run(context.Background(), in); err != nil || prior.Reserved != 50 {
		t.Errorf("direct run: prior = %+v, err = %v", prior, err)
	}
}

// When Temporal itself retried the activity, the checkpoint is in the
// activity's heartbeat details.
func TestCheckpointFromThisActivitysHeartbeatDetails(t *testing.T) {
	reg := action.NewRegistry()
	var prior state
	reg.Register(action.New(pollSpec, func(ctx context.Context, in contract.ActionInput, _ pollArgs) (contract.ActionResult, error) {
		prior = action.Checkpoint(ctx, state{Reserved: 1})
		return contract.ActionResult{}, nil
	}))
	env := newEnv(reg, &heartbeats{})
	env.SetHeartbeatDetails(contract.AttemptCheckpoint{Checkpoint: json.RawMessage(`{"reserved":7}`)})
	if _, err := env.ExecuteActivity("test.poll", contract.ActionInput{}); err != nil {
		t.Fatal(err)
	}
	if prior.Reserved != 7 {
		t.Errorf("prior = %+v, want 7 from the heartbeat details", prior)
	}
}

// What reaches the workflow when an action fails: one ApplicationError
// with the action's message, type and retryability, and the checkpoint as
// its one detail.
func TestAFailedAttemptCarriesItsCheckpointInItsError(t *testing.T) {
	denied := action.NonRetryable(action.ErrAccessDenied, errors.New("PutFunctionConcurrency function chat: access denied"))
	for _, tc := range []struct {
		name         string
		err          error
		checkpoint   bool
		msg, typ     string
		nonRetryable bool
	}{
		{"application error", denied, true, "PutFunctionConcurrency function chat: access denied", action.ErrAccessDenied, true},
		{"wrapped application error keeps its type and retryability", fmt.Errorf("limit concurrency of function chat: %w", denied), true,
			"limit concurrency of function chat: PutFunctionConcurrency function chat: access denied", action.ErrAccessDenied, true},
		{"plain error", fmt.Errorf("verify concurrency of function chat: %w", context.DeadlineExceeded), true,
			"verify concurrency of function chat: context deadline exceeded", "wrapError", false},
		{"wrapped application error without a checkpoint", fmt.Errorf("limit concurrency of function chat: %w", denied), false,
			"limit concurrency of function chat: PutFunctionConcurrency function chat: access denied", action.ErrAccessDenied, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := action.NewRegistry()
			reg.Register(action.New(pollSpec, func(ctx context.Context, in contract.ActionInput, _ pollArgs) (contract.ActionResult, error) {
				if tc.checkpoint {
					action.Checkpoint(ctx, state{Reserved: 50})
				}
				return contract.ActionResult{}, tc.err
			}))
			env := newEnv(reg, &heartbeats{})
			_, err := env.ExecuteActivity("test.poll", contract.ActionInput{})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) {
				t.Fatalf("err = %v, want an application error", err)
			}
			if app.Message() != tc.msg || app.Type() != tc.typ || app.NonRetryable() != tc.nonRetryable {
				t.Errorf("got message %q type %q non-retryable %v, want %q %q %v", app.Message(), app.Type(), app.NonRetryable(), tc.msg, tc.typ, tc.nonRetryable)
			}
			var cp contract.AttemptCheckpoint
			switch {
			case !tc.checkpoint && app.HasDetails():
				t.Errorf("error without a checkpoint has details")
			case tc.checkpoint && (app.Details(&cp) != nil || string(cp.Checkpoint) != `{"reserved":50}`):
				t.Errorf("error detail = %s, want the checkpoint", cp.Checkpoint)
			}
		})
	}
}

// Activities that are not actions (the notifications) get a keeper too.
func TestHeartbeatingRegistrarKeepsNotificationsAlive(t *testing.T) {
	hb := &heartbeats{}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{hb}})
	slowPost := func(ctx context.Context, u contract.IncidentUpdate) (contract.NotifyResult, error) {
		time.Sleep(contract.ActionHeartbeatInterval + 500*time.Millisecond) // Slack is slow
		return contract.NotifyResult{Delivered: true}, nil
	}
	failingPost := func(ctx context.Context, u contract.IncidentUpdate) error {
		return fmt.Errorf("post update: %w", action.NonRetryable(action.ErrNotFound, errors.New("channel_not_found")))
	}
	notAFunc := struct{}{}
	var names []string
	w := action.Heartbeating(registrarFunc(func(a any, name string) {
		names = append(names, name)
		if name != "struct" {
			env.RegisterActivityWithOptions(a, activity.RegisterOptions{Name: name})
		}
	}))
	w.RegisterActivityWithOptions(slowPost, activity.RegisterOptions{Name: contract.ActivityPostUpdate})
	w.RegisterActivityWithOptions(failingPost, activity.RegisterOptions{Name: "failing"})
	w.RegisterActivityWithOptions(notAFunc, activity.RegisterOptions{Name: "struct"})
	if fmt.Sprint(names) != "[notify.post_update failing struct]" {
		t.Fatalf("registered %v", names)
	}
	val, err := env.ExecuteActivity(contract.ActivityPostUpdate, contract.IncidentUpdate{Text: "contained"})
	if err != nil {
		t.Fatal(err)
	}
	var res contract.NotifyResult
	if err := val.Get(&res); err != nil || !res.Delivered {
		t.Fatalf("result %+v, %v", res, err)
	}
	if got := hb.list(); len(got) == 0 || got[0].details != 1 {
		t.Errorf("heartbeats = %+v, want the keeper's within the slow post", got)
	}
	_, err = env.ExecuteActivity("failing", contract.IncidentUpdate{})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != action.ErrNotFound || !app.NonRetryable() {
		t.Errorf("err = %v, want the wrapped NotFound to stay non-retryable", err)
	}
}
