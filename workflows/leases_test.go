package workflows_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/workflows"
	"github.com/quenchhq/quench/workflows/contract"
)

const leaseKey = "lambda:-:-:function/chat-backend#reserved-concurrency"

func setTo(n int) *contract.UndoRecord {
	return &contract.UndoRecord{Action: "lambda.restore_concurrency", Args: map[string]any{"function_name": "chat-backend", "prior": n}}
}

// leaseStep is one update sent to a target workflow at a point in workflow time.
type leaseStep struct {
	at   time.Duration
	name string
	arg  any
	// check sees the update's answer (nil for record) and error.
	check func(t *testing.T, v any, err error)
}

// runTarget runs the TargetLease workflow with steps and returns its final state.
func runTarget(t *testing.T, steps []leaseStep, lastAt time.Duration) contract.TargetState {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 30 * time.Second})
	env.RegisterWorkflowWithOptions(workflows.TargetLease, workflow.RegisterOptions{Name: contract.TargetWorkflow})
	done := make([]bool, len(steps))
	for i, s := range steps {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(s.name, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { t.Errorf("step %d (%s) rejected: %v", i, s.name, err) },
				OnComplete: func(v any, err error) {
					done[i] = true
					if s.check != nil {
						s.check(t, v, err)
					} else if err != nil {
						t.Errorf("step %d (%s): %v", i, s.name, err)
					}
				},
			}, s.arg)
		}, s.at)
	}
	var final contract.TargetState
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(contract.QueryTarget)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		if err := v.Get(&final); err != nil {
			t.Fatal(err)
		}
	}, lastAt)
	env.ExecuteWorkflow(contract.TargetWorkflow, contract.TargetInput{Key: leaseKey})
	if !env.IsWorkflowCompleted() {
		t.Fatal("target workflow did not complete after its last holder left")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("target workflow: %v", err)
	}
	for i, d := range done {
		if !d {
			t.Errorf("step %d (%s) never completed", i, steps[i].name)
		}
	}
	return final
}

// asJSON compares values the way they travel: through JSON.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func acquire(at time.Duration, inc, step string) leaseStep {
	return leaseStep{at: at, name: contract.UpdateTargetAcquire, arg: contract.TargetAcquire{Key: leaseKey, Incident: inc, Step: step}}
}

func record(at time.Duration, inc, step string, undo *contract.UndoRecord) leaseStep {
	return leaseStep{at: at, name: contract.UpdateTargetRecord, arg: contract.TargetRecord{Key: leaseKey, Incident: inc, Step: step, Undo: undo}}
}

func release(at time.Duration, inc string, keep bool, want contract.TargetReleased) leaseStep {
	return leaseStep{at: at, name: contract.UpdateTargetRelease, arg: contract.TargetRelease{Key: leaseKey, Incident: inc, Keep: keep},
		check: func(t *testing.T, v any, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("release %s: %v", inc, err)
			}
			if g, w := asJSON(t, v), asJSON(t, want); g != w {
				t.Errorf("release %s at %s:\n got %s\nwant %s", inc, at, g, w)
			}
		}}
}

func TestTargetLeaseRestoresTheOriginalOnlyWhenTheLastHolderReleases(t *testing.T) {
	m := time.Minute
	cases := []struct {
		name  string
		steps []leaseStep
	}{
		{
			// The case: A lowers 50 → 1, B finds 1 and changes nothing.
			name: "first changer resolves first: deferred, then the last restores 50",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "B", "limit"), record(4*m, "B", "limit", nil),
				release(5*m, "A", false, contract.TargetReleased{StillHeldBy: []string{"B"}, Original: setTo(50)}),
				release(6*m, "B", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			name: "non-changer resolves first: nothing runs, the changer restores 50",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "B", "limit"), record(4*m, "B", "limit", nil),
				release(5*m, "B", false, contract.TargetReleased{StillHeldBy: []string{"A"}, Original: setTo(50)}),
				release(6*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			// A lowers 50 → 1, B tightens 1 → 0: B's 0 wins while B holds.
			name: "tighter later change released first goes back to the earlier holder's value",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "B", "limit"), record(4*m, "B", "limit", setTo(1)),
				release(5*m, "B", false, contract.TargetReleased{StillHeldBy: []string{"A"}, Restore: setTo(1), Original: setTo(50)}),
				release(6*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			name: "tighter later change stays while its holder holds; the last restores the original",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "B", "limit"), record(4*m, "B", "limit", setTo(1)),
				release(5*m, "A", false, contract.TargetReleased{StillHeldBy: []string{"B"}, Original: setTo(50)}),
				release(6*m, "B", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			// A retried attempt records again and a retried release asks
			// again: one change, one answer.
			name: "retries record once and answer a second release the same",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "A", "limit"), record(4*m, "A", "limit", setTo(1)),
				release(5*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
				release(6*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			name: "keep restores nothing, and the last rollback still restores the original",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
				acquire(3*m, "B", "limit"), record(4*m, "B", "limit", setTo(1)),
				release(5*m, "B", true, contract.TargetReleased{StillHeldBy: []string{"A"}, Original: setTo(50)}),
				release(6*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
			},
		},
		{
			name: "a failed step drops its holder; an unknown incident holds nothing",
			steps: []leaseStep{
				acquire(1*m, "A", "limit"), {at: 2 * m, name: contract.UpdateTargetRecord, arg: contract.TargetRecord{Key: leaseKey, Incident: "A", Step: "limit", Drop: true}},
				release(3*m, "A", false, contract.TargetReleased{NotHeld: true}),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runTarget(t, tc.steps, 6*m+30*time.Second)
		})
	}
}

// A second incident's acquire waits while the first one's change is in
// flight, so it never records its change as the original.
func TestTargetLeaseAcquireWaitsForTheChangeInFlight(t *testing.T) {
	s := time.Second
	steps := []leaseStep{
		acquire(1*s, "A", "limit"),
		{at: 2 * s, name: contract.UpdateTargetAcquire, arg: contract.TargetAcquire{Key: leaseKey, Incident: "B", Step: "limit"},
			check: func(t *testing.T, v any, err error) {
				got, _ := v.(contract.TargetAcquired)
				if err != nil || !got.Waited || got.Stale || !reflect.DeepEqual(got.Holders, []string{"A"}) {
					t.Errorf("B's acquire = %+v, %v; want waited for A", got, err)
				}
			}},
		record(30*s, "A", "limit", setTo(50)),
		record(31*s, "B", "limit", setTo(1)),
		release(40*s, "A", false, contract.TargetReleased{StillHeldBy: []string{"B"}, Original: setTo(50)}),
		release(41*s, "B", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
	}
	final := runTarget(t, steps, 35*s)
	if len(final.Changes) != 2 || final.Changes[0].Incident != "A" || asJSON(t, final.Changes[0].Undo) != asJSON(t, setTo(50)) {
		t.Errorf("changes = %+v; want A's (undo to 50) first, then B's", final.Changes)
	}
}

func TestTargetLeaseAcquireStopsWaitingForAStepThatNeverRecords(t *testing.T) {
	s := time.Second
	steps := []leaseStep{
		acquire(1*s, "A", "limit"),
		{at: 2 * s, name: contract.UpdateTargetAcquire, arg: contract.TargetAcquire{Key: leaseKey, Incident: "B", Step: "limit"},
			check: func(t *testing.T, v any, err error) {
				got, _ := v.(contract.TargetAcquired)
				if err != nil || !got.Waited || !got.Stale {
					t.Errorf("B's acquire = %+v, %v; want it to stop waiting after %s", got, err, contract.TargetInFlightLimit)
				}
			}},
		record(contract.TargetInFlightLimit+10*s, "B", "limit", nil),
		release(contract.TargetInFlightLimit+20*s, "A", false, contract.TargetReleased{StillHeldBy: []string{"B"}}),
		release(contract.TargetInFlightLimit+30*s, "B", false, contract.TargetReleased{Last: true}),
	}
	final := runTarget(t, steps, contract.TargetInFlightLimit+15*s)
	if len(final.Holders) != 2 || final.InFlight != nil {
		t.Errorf("state after B recorded = %+v; want A and B holding, nothing in flight", final)
	}
}

// A step whose acquire was still waiting when its incident stopped it
// (the registry withdraws it with a drop) never becomes a holder, so the
// other incident's release is the last.
func TestTargetLeaseWithdrawnWaitingAcquireNeverHolds(t *testing.T) {
	s := time.Second
	steps := []leaseStep{
		acquire(1*s, "A", "limit"),
		{at: 2 * s, name: contract.UpdateTargetAcquire, arg: contract.TargetAcquire{Key: leaseKey, Incident: "B", Step: "limit"},
			check: func(t *testing.T, v any, err error) {
				if err == nil || !strings.Contains(err.Error(), "withdrew from target") {
					t.Errorf("B's acquire = %+v, %v; want it refused as withdrawn", v, err)
				}
			}},
		{at: 3 * s, name: contract.UpdateTargetRecord, arg: contract.TargetRecord{Key: leaseKey, Incident: "B", Step: "limit", Drop: true}},
		record(10*s, "A", "limit", setTo(50)),
		release(20*s, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
	}
	final := runTarget(t, steps, 15*s)
	if len(final.Holders) != 1 || final.Holders[0].Incident != "A" {
		t.Errorf("holders = %+v, want A alone", final.Holders)
	}
}

// An alert that fires again after its incident closed starts a new
// incident under the same id: it leases the target afresh, and its prior
// is the target as it is then.
func TestTargetLeaseSameIncidentIDCanHoldAgainAfterReleasing(t *testing.T) {
	m := time.Minute
	steps := []leaseStep{
		acquire(1*m, "A", "limit"), record(2*m, "A", "limit", setTo(50)),
		release(3*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(50), Original: setTo(50)}),
		acquire(4*m, "A", "limit"), record(5*m, "A", "limit", setTo(40)),
		release(7*m, "A", false, contract.TargetReleased{Last: true, Restore: setTo(40), Original: setTo(40)}),
	}
	final := runTarget(t, steps, 6*m)
	if len(final.Holders) != 1 || len(final.Changes) != 1 || asJSON(t, final.Changes[0].Undo) != asJSON(t, setTo(40)) {
		t.Errorf("state of the second lease = %+v, want A holding with one change (undo to 40)", final)
	}
}
