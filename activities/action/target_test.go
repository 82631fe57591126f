package action_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

var leasedSpec = runbooks.ActionSpec{Name: "test.limit", Mutating: true,
	Target: &runbooks.TargetSpec{Service: "lambda", Resource: "function/{function_name}", Attribute: "reserved-concurrency"},
	Args:   []runbooks.ArgSpec{{Name: "function_name", Type: "string", Required: true}}}

func TestTargetKeyNamesServiceAccountRegionResourceAndAttribute(t *testing.T) {
	args := map[string]any{"function_name": "chat-backend"}
	for _, tc := range []struct {
		name string
		spec runbooks.ActionSpec
		ref  contract.IncidentRef
		args map[string]any
		want string
		err  string
	}{
		{name: "incident role and region", spec: leasedSpec, args: args,
			ref:  contract.IncidentRef{RoleARN: "arn:aws:iam::123456789012:role/quench", Region: "eu-west-1"},
			want: "lambda:123456789012:eu-west-1:function/chat-backend#reserved-concurrency"},
		{name: "worker's own credentials and region", spec: leasedSpec, args: args,
			want: "lambda:-:-:function/chat-backend#reserved-concurrency"},
		{name: "two arguments", args: map[string]any{"agent_id": "AGENT00001", "alias_id": "ALIAS00001"},
			spec: runbooks.ActionSpec{Name: "b", Target: &runbooks.TargetSpec{Service: "bedrock-agent", Resource: "agent/{agent_id}/alias/{alias_id}", Attribute: "invocation-state"}},
			want: "bedrock-agent:-:-:agent/AGENT00001/alias/ALIAS00001#invocation-state"},
		{name: "no declared target", spec: runbooks.ActionSpec{Name: "core.record"}, args: args, want: ""},
		{name: "missing argument", spec: leasedSpec, args: map[string]any{}, err: "target of action test.limit: argument function_name names the target and is not a string"},
		{name: "unclosed placeholder", args: args,
			spec: runbooks.ActionSpec{Name: "x", Target: &runbooks.TargetSpec{Service: "s", Resource: "function/{function_name", Attribute: "a"}},
			err:  `resource "function/{function_name": unclosed {`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := action.TargetKey(tc.spec, contract.ActionInput{Incident: tc.ref, Args: tc.args})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("TargetKey = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// fakeLeaser records the lease calls in order, with the action's own.
type fakeLeaser struct {
	mu    sync.Mutex
	calls []string
	recs  []contract.TargetRecord
}

func (f *fakeLeaser) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeLeaser) Acquire(_ context.Context, req contract.TargetAcquire) (contract.TargetAcquired, error) {
	f.log("acquire " + req.Key + " " + req.Incident + "/" + req.Step)
	return contract.TargetAcquired{}, nil
}

func (f *fakeLeaser) Record(_ context.Context, req contract.TargetRecord) error {
	f.log("record")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, req)
	return nil
}

func (f *fakeLeaser) Release(context.Context, contract.TargetRelease) (contract.TargetReleased, error) {
	return contract.TargetReleased{}, nil
}

// The registry takes the lease before the action touches anything and
// records its outcome after: the undo of a change, a drop for a final
// failure or a dry run, nothing for a failure the next attempt retries.
func TestRegistryLeasesTheTargetAroundTheAction(t *testing.T) {
	undo := &contract.UndoRecord{Action: "test.restore", Args: map[string]any{"prior": 50}}
	for _, tc := range []struct {
		name   string
		res    contract.ActionResult
		err    error
		dryRun bool
		cancel bool // the incident cancels the attempt while it runs
		calls  string
		rec    *contract.TargetRecord
		target string
	}{
		{name: "a change records its undo", res: contract.ActionResult{Changed: true, Undo: undo},
			calls: "acquire K inc-1/limit; run; record", rec: &contract.TargetRecord{Undo: undo}, target: "K"},
		{name: "found contained: holds with no undo", res: contract.ActionResult{},
			calls: "acquire K inc-1/limit; run; record", rec: &contract.TargetRecord{}, target: "K"},
		{name: "a retryable failure stays in flight", err: errors.New("throttled"),
			calls: "acquire K inc-1/limit; run"},
		{name: "a final failure drops the step", err: action.NonRetryable(action.ErrAccessDenied, errors.New("denied")),
			calls: "acquire K inc-1/limit; run; record", rec: &contract.TargetRecord{Drop: true}},
		{name: "a forced dry run drops the step", res: contract.ActionResult{DryRun: true, Undo: undo},
			calls: "acquire K inc-1/limit; run; record", rec: &contract.TargetRecord{Drop: true}},
		{name: "an attempt the incident cancelled withdraws the step", cancel: true, err: context.Canceled,
			calls: "acquire K inc-1/limit; run; record", rec: &contract.TargetRecord{Drop: true}},
		{name: "an incident's dry run takes no lease", dryRun: true, res: contract.ActionResult{DryRun: true},
			calls: "run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeLeaser{}
			reg := action.NewRegistry()
			reg.SetLeaser(l)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reg.Register(action.Action{Spec: leasedSpec, Run: func(context.Context, contract.ActionInput) (contract.ActionResult, error) {
				l.log("run")
				if tc.cancel {
					cancel()
				}
				return tc.res, tc.err
			}})
			run, _ := reg.Activity("test.limit")
			res, err := run(ctx, contract.ActionInput{Incident: contract.IncidentRef{ID: "inc-1"}, Step: "limit",
				Args: map[string]any{"function_name": "chat-backend"}, DryRun: tc.dryRun})
			if (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			key := "lambda:-:-:function/chat-backend#reserved-concurrency"
			if got := strings.ReplaceAll(strings.Join(l.calls, "; "), key, "K"); got != tc.calls {
				t.Errorf("calls = %s, want %s", got, tc.calls)
			}
			if tc.rec != nil {
				if len(l.recs) != 1 {
					t.Fatalf("records = %+v, want one", l.recs)
				}
				got := l.recs[0]
				if got.Key != key || got.Incident != "inc-1" || got.Step != "limit" || got.Drop != tc.rec.Drop || (got.Undo == nil) != (tc.rec.Undo == nil) {
					t.Errorf("record = %+v, want %+v for %s inc-1/limit", got, *tc.rec, key)
				}
			}
			if want := strings.ReplaceAll(tc.target, "K", key); res.Target != want {
				t.Errorf("result target = %q, want %q", res.Target, want)
			}
		})
	}
}
