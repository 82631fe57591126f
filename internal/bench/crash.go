package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/workflows/contract"
)

// CrashResult: a worker killed (SIGKILL) in the middle of a step, another
// started at once; how long until the step is done.
type CrashResult struct {
	Crashes int
	// Done is kill → the step finished (the incident's status).
	Done []time.Duration
	// Retried is kill → the step's next attempt was scheduled (history):
	// how long the server took to notice the worker was gone.
	Retried []time.Duration
	// StepTime is what the step itself takes (core.sleep 3s).
	StepTime time.Duration
	Command  string
}

const crashQueue = "bench-crash"

func (h *harness) crash(ctx context.Context, startTarget starter) (*CrashResult, error) {
	t, err := startTarget(ctx, "crash")
	if err != nil {
		return nil, err
	}
	defer t.close()
	rb, err := parseRunbook(crashRunbook, crashYAML)
	if err != nil {
		return nil, err
	}
	dir := t.dir
	worker := procSpec{name: "quench-worker", bin: h.cfg.Quench, dir: dir,
		args: []string{"worker", "--address", t.temporal, "--task-queue", crashQueue, "--runbooks", h.rbDir,
			"--records-file", filepath.Join(dir, "worker-records.json"), "--log-level", "warn"}}
	first := worker
	first.probe = pollersOn(t.c, crashQueue)
	w, _, _, err := start(ctx, first)
	if err != nil {
		return nil, err
	}
	defer func() { w.kill() }()
	res := &CrashResult{Crashes: h.cfg.Crashes, StepTime: 3 * time.Second, Command: t.command + " + " + worker.command() + " (killed with SIGKILL mid-step, started again)"}
	for i := range h.cfg.Crashes {
		id := fmt.Sprintf("crash-%d", i)
		in := contract.IncidentInput{ID: id, Runbook: rb, Params: map[string]any{"target": id}, Source: "cli", Requester: "bench"}
		if _, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: crashQueue}, contract.IncidentWorkflow, in); err != nil {
			return nil, fmt.Errorf("start %s: %w", id, err)
		}
		if _, err := waitStep(ctx, t, id, contract.StepRunning); err != nil {
			return nil, err
		}
		time.Sleep(time.Second) // well inside the 3 s step
		w.kill()
		killed := time.Now()
		// A new worker, started at once; its start-up is part of the figure.
		next := worker
		next.noWait = true
		if w, _, _, err = start(ctx, next); err != nil {
			return nil, err
		}
		st, err := waitStep(ctx, t, id, contract.StepSucceeded)
		if err != nil {
			return nil, err
		}
		res.Done = append(res.Done, st.Steps[0].Finished.Sub(killed))
		events, err := history(ctx, t.c, id)
		if err != nil {
			return nil, err
		}
		var scheduled []time.Time
		for _, e := range events {
			if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
				e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == rb.Steps[0].Action {
				scheduled = append(scheduled, e.GetEventTime().AsTime())
			}
		}
		if len(scheduled) < 2 {
			return nil, fmt.Errorf("%s: the killed step was not retried (%d attempts in history)", id, len(scheduled))
		}
		res.Retried = append(res.Retried, scheduled[len(scheduled)-1].Sub(killed))
	}
	return res, nil
}

// waitStep polls an incident until its first step reaches state (or a
// later one), for at most two minutes.
func waitStep(ctx context.Context, t *target, id, state string) (contract.Status, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := status(ctx, t.c, id)
		if err == nil && len(st.Steps) > 0 {
			s := st.Steps[0].State
			if s == state || (state == contract.StepRunning && s == contract.StepSucceeded) {
				if s == contract.StepSucceeded && st.Steps[0].Finished == nil {
					return st, fmt.Errorf("%s: step %s succeeded without a finish time", id, st.Steps[0].ID)
				}
				return st, nil
			}
			if s == contract.StepFailed {
				return st, fmt.Errorf("%s: step %s failed: %s", id, st.Steps[0].ID, st.Steps[0].Error)
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%s: step not %s after 2 minutes (%v)", id, state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
