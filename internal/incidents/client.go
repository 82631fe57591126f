// Package incidents is the client side of the Incident workflow: starting
// incidents, folding alerts into them, deciding approvals, resolving,
// cancelling, and reading status and timelines. The CLI, the Slack
// interaction handler and the alert server all go through it, so each
// operation is written once.
package incidents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/workflows/contract"
)

// Client wraps a Temporal client for incident operations.
type Client struct {
	c         client.Client
	taskQueue string
	namespace string
	identity  string
}

// New returns a Client that starts incidents on taskQueue.
func New(c client.Client, taskQueue string) *Client {
	if taskQueue == "" {
		taskQueue = contract.DefaultTaskQueue
	}
	return &Client{c: c, taskQueue: taskQueue, namespace: "default", identity: "quench"}
}

// WithNamespace sets the namespace used by raw service calls.
func (c *Client) WithNamespace(ns string) *Client {
	if ns != "" {
		c.namespace = ns
	}
	return c
}

// Temporal returns the underlying Temporal client.
func (c *Client) Temporal() client.Client { return c.c }

// NotFoundError says no incident has that id.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("incident %s not found", e.ID) }

// RejectedError says the workflow refused an approve/deny/resolve request;
// Reason is the validator's words (not an approver, already voted, ...).
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "rejected: " + e.Reason }

// RejectionReason lets callers that cannot import this package (the Slack
// handler's interface) read the reason.
func (e *RejectedError) RejectionReason() string { return e.Reason }

// AlreadyExistsError says an incident with that id is already running.
type AlreadyExistsError struct{ ID string }

func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("incident %s is already running (use another --incident id, or resolve it first)", e.ID)
}

func (c *Client) startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             c.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// Start starts an incident. An incident with the same id that is still
// open is an *AlreadyExistsError.
func (c *Client) Start(ctx context.Context, in contract.IncidentInput) (runID string, err error) {
	opts := c.startOptions(in.ID)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	run, err := c.c.ExecuteWorkflow(ctx, opts, contract.IncidentWorkflow, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return "", &AlreadyExistsError{ID: in.ID}
		}
		return "", fmt.Errorf("start incident %s: %w", in.ID, err)
	}
	return run.GetRunID(), nil
}

// FoldAlert starts the incident with the alert, or folds the alert into the
// open incident with the same id, atomically (SignalWithStart): a storm of
// identical alerts yields one incident. started reports which happened.
func (c *Client) FoldAlert(ctx context.Context, in contract.IncidentInput, sig contract.AlertSignal) (started bool, runID string, err error) {
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(in)
	if err != nil {
		return false, "", fmt.Errorf("encode incident input: %w", err)
	}
	signal, err := dc.ToPayloads(sig)
	if err != nil {
		return false, "", fmt.Errorf("encode alert: %w", err)
	}
	// The raw call is used because its response says whether a new
	// execution started; the SDK's SignalWithStartWorkflow hides that.
	resp, err := c.c.WorkflowService().SignalWithStartWorkflowExecution(ctx, &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace:                c.namespace,
		WorkflowId:               in.ID,
		WorkflowType:             &commonpb.WorkflowType{Name: contract.IncidentWorkflow},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: c.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    input,
		SignalName:               contract.SignalAlert,
		SignalInput:              signal,
		Identity:                 c.identity,
		RequestId:                uuid.NewString(),
		WorkflowIdReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	})
	if err != nil {
		return false, "", fmt.Errorf("fold alert into incident %s: %w", in.ID, err)
	}
	return resp.GetStarted(), resp.GetRunId(), nil
}

// Decide sends an approve or deny decision (kind is contract.UpdateApprove
// or contract.UpdateDeny) and waits for its outcome. A decision the
// workflow's validator refuses is recorded in the incident's timeline and
// returned as *RejectedError.
func (c *Client) Decide(ctx context.Context, id, kind string, d contract.Decision) (contract.DecisionResult, error) {
	if kind != contract.UpdateApprove && kind != contract.UpdateDeny {
		return contract.DecisionResult{}, fmt.Errorf("decide on incident %s: unknown decision %q", id, kind)
	}
	var res contract.DecisionResult
	err := c.update(ctx, id, kind, d, &res)
	var rej *RejectedError
	if errors.As(err, &rej) {
		// Validators cannot write history, so the audit record of a refused
		// attempt is sent as a signal. If that fails the refusal still stands.
		sigErr := c.c.SignalWorkflow(ctx, id, "", contract.SignalRejectedDecision, contract.RejectedDecision{Decision: d, Kind: kind, Reason: rej.Reason})
		if sigErr != nil {
			return res, fmt.Errorf("%w (and recording it in the timeline failed: %v)", err, sigErr)
		}
	}
	return res, err
}

// Resolve closes a contained incident, keeping or rolling back its changes,
// and waits until the workflow accepted the request.
func (c *Client) Resolve(ctx context.Context, id string, req contract.ResolveRequest) error {
	return c.update(ctx, id, contract.UpdateResolve, req, nil)
}

// Cancel stops a running incident without rolling back.
func (c *Client) Cancel(ctx context.Context, id string, req contract.CancelRequest) error {
	return c.update(ctx, id, contract.UpdateCancel, req, nil)
}

func (c *Client) update(ctx context.Context, id, name string, arg, result any) error {
	h, err := c.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, result)
	}
	return c.classify(id, name, err)
}

// classify turns Temporal errors into the errors callers act on.
func (c *Client) classify(id, op string, err error) error {
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &NotFoundError{ID: id}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case contract.ErrTypeApprovalRejected, contract.ErrTypeInvalidRequest:
			return &RejectedError{Reason: appErr.Message()}
		}
	}
	return fmt.Errorf("%s incident %s: %w", op, id, err)
}

// Status queries an incident's current status; it works for closed incidents too.
func (c *Client) Status(ctx context.Context, id string) (contract.Status, error) {
	var st contract.Status
	return st, c.query(ctx, id, contract.QueryStatus, &st)
}

// Timeline queries an incident's ordered events.
func (c *Client) Timeline(ctx context.Context, id string) ([]contract.Event, error) {
	var ev []contract.Event
	return ev, c.query(ctx, id, contract.QueryTimeline, &ev)
}

func (c *Client) query(ctx context.Context, id, name string, into any) error {
	v, err := c.c.QueryWorkflow(ctx, id, "", name)
	if err != nil {
		return c.classify(id, "query "+name+" of", err)
	}
	if err := v.Get(into); err != nil {
		return fmt.Errorf("decode %s of incident %s: %w", name, id, err)
	}
	return nil
}

// Summary is one row of `quench list`.
type Summary struct {
	ID       string    `json:"id"`
	Runbook  string    `json:"runbook"`
	Severity string    `json:"severity"`
	State    string    `json:"state"`
	Started  time.Time `json:"started"`
}

// List filter values.
const (
	FilterAll       = ""
	FilterOpen      = "open"
	FilterContained = "contained"
	FilterClosed    = "closed"
)

// List lists incidents, newest first. filter is "", open, contained or closed.
func (c *Client) List(ctx context.Context, filter string) ([]Summary, error) {
	query := fmt.Sprintf("WorkflowType = '%s'", contract.IncidentWorkflow)
	switch filter {
	case FilterAll:
	case FilterOpen:
		query += " AND ExecutionStatus = 'Running'"
	case FilterContained:
		query += fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s = '%s'", contract.SearchAttrState, contract.StateContained)
	case FilterClosed:
		query += " AND ExecutionStatus != 'Running'"
	default:
		return nil, fmt.Errorf("list incidents: unknown state filter %q (want open, contained or closed)", filter)
	}
	var out []Summary
	var token []byte
	for {
		resp, err := c.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.namespace, Query: query, NextPageToken: token, PageSize: 200,
		})
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			s := Summary{ID: e.GetExecution().GetWorkflowId(), Started: e.GetStartTime().AsTime().UTC()}
			fields := e.GetSearchAttributes().GetIndexedFields()
			s.Runbook = keyword(fields[contract.SearchAttrRunbook])
			s.Severity = keyword(fields[contract.SearchAttrSeverity])
			s.State = keyword(fields[contract.SearchAttrState])
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && !closedState(s.State) {
				// The workflow ended without recording a final state (terminated, timed out).
				s.State = closedStatusState(e.GetStatus())
			}
			out = append(out, s)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func keyword(p *commonpb.Payload) string {
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

func closedState(s string) bool {
	switch s {
	case contract.StateClosed, contract.StateFailed, contract.StateCancelled, contract.StateRolledBack:
		return true
	}
	return false
}

func closedStatusState(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return contract.StateClosed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return contract.StateCancelled
	default:
		return contract.StateFailed
	}
}
