package activities

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/workflows/contract"
)

// Targets talks to the TargetLease workflows (one per target) through the
// worker's Temporal client. It is the action registry's Leaser, and its
// Release is the activity the Incident workflow releases a lease with.
type Targets struct {
	c         client.Client
	taskQueue string
}

// NewTargets returns Targets that start lease workflows on taskQueue.
func NewTargets(c client.Client, taskQueue string) *Targets {
	if taskQueue == "" {
		taskQueue = contract.DefaultTaskQueue
	}
	return &Targets{c: c, taskQueue: taskQueue}
}

// Acquire starts the target's workflow if none runs and takes a lease for
// the step, in one call (UpdateWithStart), so a lease never exists without
// the workflow that keeps it.
func (t *Targets) Acquire(ctx context.Context, req contract.TargetAcquire) (contract.TargetAcquired, error) {
	start := t.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       contract.TargetWorkflowID(t.taskQueue, req.Key),
		TaskQueue:                t.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, contract.TargetWorkflow, contract.TargetInput{Key: req.Key})
	h, err := t.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: contract.UpdateTargetAcquire, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var res contract.TargetAcquired
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return res, fmt.Errorf("acquire target %s for incident %s: %w", req.Key, req.Incident, err)
	}
	return res, nil
}

// Record records a step's outcome on its target.
func (t *Targets) Record(ctx context.Context, req contract.TargetRecord) error {
	if err := t.update(ctx, req.Key, contract.UpdateTargetRecord, req, nil); err != nil {
		return fmt.Errorf("record step %s of incident %s on target %s: %w", req.Step, req.Incident, req.Key, err)
	}
	return nil
}

// Release is the ActivityTargetRelease activity. A target whose workflow
// is gone holds nothing: the answer says NotHeld.
func (t *Targets) Release(ctx context.Context, req contract.TargetRelease) (contract.TargetReleased, error) {
	var res contract.TargetReleased
	err := t.update(ctx, req.Key, contract.UpdateTargetRelease, req, &res)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return contract.TargetReleased{NotHeld: true}, nil
	}
	if err != nil {
		return res, fmt.Errorf("release target %s for incident %s: %w", req.Key, req.Incident, err)
	}
	return res, nil
}

func (t *Targets) update(ctx context.Context, key, name string, arg, result any) error {
	h, err := t.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: contract.TargetWorkflowID(t.taskQueue, key), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, result)
}
