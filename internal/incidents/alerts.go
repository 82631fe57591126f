package incidents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/quenchhq/quench/workflows/contract"
)

// Alerts reach incidents only through FoldAlert and SignalAlert. Both bound
// the alert (contract.AlertSignal.Bounded) before it is sent: the signal's
// payload is written into the incident's history as it is, so a 1 MB label
// would cost 1 MB of history however little the workflow keeps of it.

// ErrNoOpenIncident says an alert that must not start an incident (a
// resolved one) found no open incident to be recorded on.
var ErrNoOpenIncident = errors.New("no open incident")

// FoldAlert starts the incident with the alert, or folds the alert into the
// open incident with the same id, atomically (SignalWithStart): a storm of
// identical alerts yields one incident. started reports which happened.
// It returns once Temporal has durably recorded the alert. With
// WithEagerStart, an incident not known to be open is first started with
// the alert in its input (startWithAlert), unless maxEagerStarts are in
// flight; if it is open after all, that start writes nothing and the alert
// is folded as a signal.
func (c *Client) FoldAlert(ctx context.Context, in contract.IncidentInput, sig contract.AlertSignal) (started bool, runID string, err error) {
	in.Labels = boundLabels(in.Labels)
	in.Revision = contract.CurrentRevision
	if c.eager() && !c.open.has(in.ID) && c.takeEagerSlot() {
		runID, err := c.startWithAlert(ctx, in, sig)
		<-c.eagerSlots
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case err == nil:
			c.open.add(in.ID)
			return true, runID, nil
		case !errors.As(err, &exists):
			return false, "", fmt.Errorf("start incident %s with its alert: %w", in.ID, c.searchAttributeHint(err))
		}
		// Open already: fold as a signal below.
	}
	started, runID, err = c.signalWithStart(ctx, in, sig)
	if err == nil && c.eager() {
		c.open.add(in.ID)
	}
	return started, runID, err
}

// takeEagerSlot reserves one of the maxEagerStarts eager starts, if one
// is free.
func (c *Client) takeEagerSlot() bool {
	select {
	case c.eagerSlots <- struct{}{}:
		return true
	default:
		return false
	}
}

// startWithAlert starts a new incident with sig as its first alert,
// eagerly; it fails with *serviceerror.WorkflowExecutionAlreadyStarted,
// writing nothing, when the incident is open. The SDK retries transient
// failures with the same request id, so a start is never doubled; an
// error after a start that did land makes the sender retry, and the retry
// folds the alert into the open incident: counted twice, never lost.
func (c *Client) startWithAlert(ctx context.Context, in contract.IncidentInput, sig contract.AlertSignal) (string, error) {
	bounded := sig.Bounded()
	in.Alert = &bounded
	opts := c.startOptions(in.ID)
	opts.TypedSearchAttributes = startSearchAttributes(in)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	opts.EnableEagerStart = true
	run, err := c.c.ExecuteWorkflow(ctx, opts, contract.IncidentWorkflow, in)
	if err != nil {
		return "", err
	}
	return run.GetRunID(), nil
}

// signalWithStart folds sig into the open incident, or starts it with sig
// as its first signal, atomically.
func (c *Client) signalWithStart(ctx context.Context, in contract.IncidentInput, sig contract.AlertSignal) (started bool, runID string, err error) {
	input, err := c.dc.ToPayloads(in)
	if err != nil {
		return false, "", fmt.Errorf("encode incident input: %w", err)
	}
	signal, err := c.dc.ToPayloads(sig.Bounded())
	if err != nil {
		return false, "", fmt.Errorf("encode alert: %w", err)
	}
	attrs, err := searchAttributePayloads(in)
	if err != nil {
		return false, "", err
	}
	req := &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace:                c.namespace,
		WorkflowId:               in.ID,
		WorkflowType:             &commonpb.WorkflowType{Name: contract.IncidentWorkflow},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: c.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    input,
		SignalName:               contract.SignalAlert,
		SignalInput:              signal,
		SearchAttributes:         attrs,
		Identity:                 c.identity,
		RequestId:                uuid.NewString(),
		WorkflowIdReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}
	// The raw call is used because its response says whether a new
	// execution started; the SDK's SignalWithStartWorkflow hides that. The
	// SDK retries only its own calls, so this one retries here.
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		resp, err := c.c.WorkflowService().SignalWithStartWorkflowExecution(ctx, req)
		if err == nil {
			return resp.GetStarted(), resp.GetRunId(), nil
		}
		if !transient(err) {
			return false, "", fmt.Errorf("fold alert into incident %s: %w", in.ID, c.searchAttributeHint(err))
		}
		select {
		case <-ctx.Done():
			return false, "", fmt.Errorf("fold alert into incident %s: %w (gave up: %w)", in.ID, err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// transient is true for refusals that pass: the incident is between two
// runs (continue-as-new: "workflow is closing"), the server is busy or
// briefly unavailable. The request id stays the same across attempts, so
// Temporal recognises a retry of an attempt that did succeed: it neither
// starts a second incident nor records the signal twice.
func transient(err error) bool {
	var busy *serviceerror.ResourceExhausted
	var unavailable *serviceerror.Unavailable
	return errors.As(err, &busy) || errors.As(err, &unavailable)
}

// SignalAlert records an alert on the open incident id without ever
// starting one (a resolved alert must not open an incident). It returns an
// error wrapping ErrNoOpenIncident when no incident with that id is open.
func (c *Client) SignalAlert(ctx context.Context, id string, sig contract.AlertSignal) error {
	err := c.c.SignalWorkflow(ctx, id, "", contract.SignalAlert, sig.Bounded())
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("signal incident %s: %w", id, ErrNoOpenIncident)
	}
	if err != nil {
		return fmt.Errorf("signal incident %s: %w", id, err)
	}
	return nil
}

// boundLabels applies an alert's label bounds to the labels an incident
// starts with, which every continued run carries in its input.
func boundLabels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	return contract.AlertSignal{Labels: labels}.Bounded().Labels
}
