package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/workflows"
	"github.com/quenchhq/quench/workflows/contract"
)

// OverheadResult compares the runbook interpreter with a hand-written
// workflow that runs the same activity the same number of times, on the
// same server and the same worker, runs alternating.
type OverheadResult struct {
	Steps                          int
	Runbook, Handwritten           []time.Duration
	RunbookMedian, HandwrittenMedn time.Duration
	Ratio                          float64 // runbook median / hand-written median
	Command                        string
}

const (
	overheadQueue       = "bench-overhead"
	handwrittenWorkflow = "BenchHandwritten"
	// noopActivity is the activity both variants run: a no-op registered
	// under core.log's name, so the runbook's steps resolve to it.
	noopActivity = "core.log"
)

// handwrittenInput is the hand-written workflow's input.
type handwrittenInput struct {
	Incident contract.IncidentRef `json:"incident"`
	Steps    int                  `json:"steps"`
}

// handwritten is what a Temporal user would write by hand for the same
// runbook: the activity Steps times in a row, with the interpreter's
// activity options (workflows/steps.go actionOptions).
func handwritten(ctx workflow.Context, in handwrittenInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    contract.ActionHeartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	for i := range in.Steps {
		step := fmt.Sprintf("step-%d", i+1)
		args := map[string]any{"message": fmt.Sprintf("step %d", i+1)}
		var res contract.ActionResult
		if err := workflow.ExecuteActivity(ctx, noopActivity, contract.ActionInput{Incident: in.Incident, Step: step, Args: args}).Get(ctx, &res); err != nil {
			return err
		}
	}
	return nil
}

// calls counts no-op activity calls per workflow and says when a workflow
// has made all of its.
type calls struct {
	mu   sync.Mutex
	want int
	n    map[string]int
	done map[string]chan struct{}
}

func (c *calls) wait(id string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.done[id] = ch
	return ch
}

func (c *calls) noop(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	msg, _ := in.Args["message"].(string)
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	c.mu.Lock()
	c.n[id]++
	if c.n[id] == c.want {
		if ch := c.done[id]; ch != nil {
			close(ch)
		}
	}
	c.mu.Unlock()
	return contract.ActionResult{Summary: msg}, nil
}

func (h *harness) overhead(ctx context.Context, startTarget starter) (*OverheadResult, error) {
	t, err := startTarget(ctx, "overhead")
	if err != nil {
		return nil, err
	}
	defer t.close()
	steps := h.cfg.OverheadSteps
	rb, err := parseRunbook(overheadRunbook, overheadYAML(steps))
	if err != nil {
		return nil, err
	}
	c := &calls{want: steps, n: map[string]int{}, done: map[string]chan struct{}{}}
	w := sdkworker.New(t.c, overheadQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: contract.IncidentWorkflow})
	w.RegisterWorkflowWithOptions(handwritten, workflow.RegisterOptions{Name: handwrittenWorkflow})
	w.RegisterActivityWithOptions(c.noop, activity.RegisterOptions{Name: noopActivity})
	notified := func(context.Context, any) (contract.NotifyResult, error) {
		return contract.NotifyResult{Reason: "bench: no notifier"}, nil
	}
	for _, name := range []string{contract.ActivityRequestApproval, contract.ActivityApprovalDecided, contract.ActivityPostUpdate} {
		w.RegisterActivityWithOptions(notified, activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start bench worker: %w", err)
	}
	defer w.Stop()

	res := &OverheadResult{Steps: steps, Command: t.command}
	runRunbook := func(id string) (time.Duration, error) {
		done := c.wait(id)
		in := contract.IncidentInput{ID: id, Runbook: rb, Params: map[string]any{}, Source: "cli", Requester: "bench"}
		if _, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: overheadQueue}, contract.IncidentWorkflow, in); err != nil {
			return 0, fmt.Errorf("start %s: %w", id, err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			return 0, fmt.Errorf("%s: %d steps not run after 5 minutes", id, steps)
		}
		d, err := runTime(ctx, t.c, id, steps)
		_ = t.c.TerminateWorkflow(ctx, id, "", "bench: measured")
		return d, err
	}
	runHandwritten := func(id string) (time.Duration, error) {
		ref := contract.IncidentRef{ID: id, Runbook: overheadRunbook, Severity: "low"}
		run, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: overheadQueue}, handwrittenWorkflow, handwrittenInput{Incident: ref, Steps: steps})
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", id, err)
		}
		if err := run.Get(ctx, nil); err != nil {
			return 0, fmt.Errorf("%s: %w", id, err)
		}
		return runTime(ctx, t.c, id, steps)
	}
	// One warm-up run of each, not counted: the first run pays for
	// connections and caches the others do not.
	if _, err := runRunbook("overhead-warmup-runbook"); err != nil {
		return nil, err
	}
	if _, err := runHandwritten("overhead-warmup-handwritten"); err != nil {
		return nil, err
	}
	for i := range h.cfg.OverheadRuns {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isRunbook := range order {
			if isRunbook {
				d, err := runRunbook(fmt.Sprintf("overhead-runbook-%d", i))
				if err != nil {
					return nil, err
				}
				res.Runbook = append(res.Runbook, d)
			} else {
				d, err := runHandwritten(fmt.Sprintf("overhead-handwritten-%d", i))
				if err != nil {
					return nil, err
				}
				res.Handwritten = append(res.Handwritten, d)
			}
		}
	}
	res.RunbookMedian, res.HandwrittenMedn = median(res.Runbook), median(res.Handwritten)
	res.Ratio = float64(res.RunbookMedian) / float64(res.HandwrittenMedn)
	return res, nil
}

// runTime reads from history how long a workflow took to run its steps:
// from WorkflowExecutionStarted to the workflow task that took in the
// result of the last no-op activity. Both variants are timed this way, by
// the server's clock, so neither pays for how the harness waits.
func runTime(ctx context.Context, c client.Client, id string, steps int) (time.Duration, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		events, err := history(ctx, c, id)
		if err != nil {
			return 0, err
		}
		if d, ok := stepsTime(events, steps); ok {
			return d, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: history has not taken in %d activity results after 30 s", id, steps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stepsTime(events []*historypb.HistoryEvent, steps int) (time.Duration, bool) {
	var start time.Time
	noop := map[int64]bool{} // scheduled event ids of the no-op activity
	completed, last := 0, -1
	for i, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			start = e.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == noopActivity {
				noop[e.GetEventId()] = true
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if noop[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
				completed++
				last = i
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if completed == steps && last >= 0 && i > last {
				return e.GetEventTime().AsTime().Sub(start), true
			}
		}
	}
	return 0, false
}
