package incidents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
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
	dc        converter.DataConverter // encodes what raw service calls send
	// eagerSlots, set by WithEagerStart, bounds the eager starts in
	// flight (see maxEagerStarts); open remembers incidents seen open.
	// Both are nil without it.
	eagerSlots chan struct{}
	open       *openIncidents
}

// maxEagerStarts is how many eager starts may be in flight at once; past
// it, FoldAlert starts incidents with SignalWithStart. Measured with quench
// bench on 2 cores: eager starts take alert → first step from p50 37–45 ms
// to 30–34 ms one alert at a time, but in a burst of 1,000 distinct alerts
// every incident then runs at once instead of queueing in matching, and
// the burst took 51.5 s against 45.6–49.3 s (posting 24–26 s against 11 s).
const maxEagerStarts = 4

// eager is true when a worker for the task queue runs on the same client
// in this process (WithEagerStart).
func (c *Client) eager() bool { return c.eagerSlots != nil }

// New returns a Client that starts incidents on taskQueue.
func New(c client.Client, taskQueue string) *Client {
	if taskQueue == "" {
		taskQueue = contract.DefaultTaskQueue
	}
	return &Client{c: c, taskQueue: taskQueue, namespace: "default", identity: "quench", dc: converter.GetDefaultDataConverter()}
}

// WithDataConverter sets the converter raw service calls (FoldAlert)
// encode with; it must be the one c was dialled with, or an encrypting
// client would write an alert into history in clear.
func (c *Client) WithDataConverter(dc converter.DataConverter) *Client {
	if dc != nil {
		c.dc = dc
	}
	return c
}

// WithEagerStart says a worker for the client's task queue runs on the
// same Temporal client in this process. FoldAlert then starts a new
// incident with its first alert in the input and asks for eager
// execution: the server hands the first workflow task back in the start
// response and the local worker runs it at once, without a trip through
// matching and a separate "task started" write. Under load (more than
// maxEagerStarts starts in flight) incidents start as without it. Only for one binary
// running both sides (quench dev): a worker of an older release would not
// know the alert in the input.
func (c *Client) WithEagerStart() *Client {
	c.open = newOpenIncidents(openIncidentsSize)
	c.eagerSlots = make(chan struct{}, maxEagerStarts)
	return c
}

// WithNamespace sets the namespace used by raw service calls.
func (c *Client) WithNamespace(ns string) *Client {
	if ns != "" {
		c.namespace = ns
	}
	return c
}

// Namespace is the namespace raw service calls use.
func (c *Client) Namespace() string { return c.namespace }

// Temporal returns the underlying Temporal client.
func (c *Client) Temporal() client.Client { return c.c }

// MaxIDLength bounds an incident id (and a run id given with --run).
const MaxIDLength = 200

// InvalidIDError says an id cannot name an incident: it is empty, longer
// than MaxIDLength, or has a character other than printable ASCII without
// spaces. Such an id never reaches Temporal (it travels in gRPC headers,
// where a newline or non-ASCII byte fails with an unreadable error).
type InvalidIDError struct {
	What, ID, Problem string
}

func (e *InvalidIDError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s (use 1 to %d printable ASCII characters, no spaces)", e.What, e.ID, e.Problem, MaxIDLength)
}

// ValidateID checks an incident id before anything is sent to Temporal.
func ValidateID(id string) error { return validateID("incident id", id) }

// ValidateRunID checks a run id (status --run) the same way.
func ValidateRunID(runID string) error { return validateID("run id", runID) }

func validateID(what, id string) error {
	switch {
	case id == "":
		return &InvalidIDError{What: what, ID: id, Problem: "it is empty"}
	case len(id) > MaxIDLength:
		return &InvalidIDError{What: what, ID: id[:20] + "…", Problem: fmt.Sprintf("it is %d bytes long", len(id))}
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b > '~' {
			r, _ := utf8.DecodeRuneInString(id[i:])
			return &InvalidIDError{What: what, ID: id, Problem: fmt.Sprintf("character %q at byte %d is not allowed", r, i)}
		}
	}
	return nil
}

// NotFoundError says no incident ever had that id (or, with RunID, that
// the incident has no such run).
type NotFoundError struct{ ID, RunID string }

func (e *NotFoundError) Error() string {
	if e.RunID != "" {
		return fmt.Sprintf("incident %s has no run %s", e.ID, e.RunID)
	}
	return fmt.Sprintf("incident %s not found", e.ID)
}

// ClosedError says the incident exists but is closed: it can be read
// (status, timeline) but no longer approved, denied, resolved or cancelled.
type ClosedError struct {
	ID       string
	RunID    string
	ClosedAt time.Time
	State    string // closed | rolled_back | failed | cancelled
	// Hint, when set, says what to do instead.
	Hint string
}

func (e *ClosedError) Error() string {
	msg := fmt.Sprintf("incident %s is closed (closed at %s, state %s)", e.ID, e.ClosedAt.UTC().Format(time.RFC3339), e.State)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// RejectionReason lets the Slack handler tell the clicker why nothing happened.
func (e *ClosedError) RejectionReason() string { return e.Error() }

// RejectedError says the workflow refused an approve/deny/resolve request;
// Reason is the validator's words (not an approver, already voted, ...).
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "rejected: " + e.Reason }

// RejectionReason lets callers that cannot import this package (the Slack
// handler's interface) read the reason.
func (e *RejectedError) RejectionReason() string { return e.Reason }

// AlreadyOpenError says an incident with that id is still open.
type AlreadyOpenError struct {
	ID      string
	Started time.Time
}

func (e *AlreadyOpenError) Error() string {
	return fmt.Sprintf("incident %s is already open (started %s); use a new id or resolve it", e.ID, e.Started.UTC().Format(time.RFC3339))
}

func (c *Client) startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             c.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// Start starts an incident. An id is used once: an incident with the same
// id that is still open is an *AlreadyOpenError, one that is closed a
// *ClosedError. (Alert-started incidents may reuse the id of a closed one,
// see FoldAlert; the runs are told apart by run id.)
func (c *Client) Start(ctx context.Context, in contract.IncidentInput) (runID string, err error) {
	if err := ValidateID(in.ID); err != nil {
		return "", err
	}
	in.Revision = contract.CurrentRevision
	opts := c.startOptions(in.ID)
	opts.TypedSearchAttributes = startSearchAttributes(in)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	// Without this the SDK hands back the running incident as if it had
	// just started, and the new params are silently ignored.
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	run, err := c.c.ExecuteWorkflow(ctx, opts, contract.IncidentWorkflow, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return "", c.explainExisting(ctx, in.ID, err)
		}
		return "", fmt.Errorf("start incident %s: %w", in.ID, c.searchAttributeHint(err))
	}
	return run.GetRunID(), nil
}

// explainExisting says why id cannot be started again: it is open, or closed.
func (c *Client) explainExisting(ctx context.Context, id string, cause error) error {
	info, err := c.describe(ctx, id, "")
	if err != nil {
		return fmt.Errorf("start incident %s: %w (and reading it failed: %v)", id, cause, err)
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return &AlreadyOpenError{ID: id, Started: info.GetStartTime().AsTime()}
	}
	closed := closedError(id, info)
	closed.Hint = "an incident id is used once: start with a new id"
	return closed
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
	if err := ValidateID(id); err != nil {
		return err
	}
	opts := client.UpdateWorkflowOptions{
		UpdateID:     uuid.NewString(),
		WorkflowID:   id,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	for attempt := 1; ; attempt++ {
		h, err := c.c.UpdateWorkflow(ctx, opts)
		if err == nil {
			err = h.Get(ctx, result)
		}
		// WorkflowNotReady: the workflow task that carried the update failed
		// (say, it tried to close the incident while an activity result
		// arrived), and Temporal dropped the update without applying it. It
		// asks callers to retry; the same UpdateID makes a retry of an update
		// that did get through a no-op.
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || attempt == updateAttempts {
			return c.classify(ctx, id, "", name, err)
		}
		select {
		case <-ctx.Done():
			return c.classify(ctx, id, "", name, err)
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// updateAttempts bounds retries of an update Temporal dropped (WorkflowNotReady).
const updateAttempts = 5

// classify turns Temporal errors into the errors callers act on. Temporal
// answers NotFound both for an id it never saw and for an update sent to a
// closed run, so a NotFound is looked up before it is believed.
func (c *Client) classify(ctx context.Context, id, runID, op string, err error) error {
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		info, derr := c.describe(ctx, id, runID)
		var dnf *serviceerror.NotFound
		switch {
		case errors.As(derr, &dnf):
			return &NotFoundError{ID: id, RunID: runID}
		case derr != nil:
			return fmt.Errorf("%s incident %s: %w", op, id, err)
		case info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			return closedError(id, info)
		default:
			// It closed, or moved to a new run, between the call and the
			// look-up: either way nothing was done.
			return &RejectedError{Reason: fmt.Sprintf("incident %s was finishing or moving to a new run and did nothing; check its status and try again", id)}
		}
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

func (c *Client) describe(ctx context.Context, id, runID string) (*workflowpb.WorkflowExecutionInfo, error) {
	d, err := c.c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return nil, err
	}
	return d.GetWorkflowExecutionInfo(), nil
}

func closedError(id string, info *workflowpb.WorkflowExecutionInfo) *ClosedError {
	return &ClosedError{
		ID:       id,
		RunID:    info.GetExecution().GetRunId(),
		ClosedAt: info.GetCloseTime().AsTime(),
		State:    stateOf(info),
	}
}

// Status queries an incident's current status; it works for closed incidents too.
func (c *Client) Status(ctx context.Context, id string) (contract.Status, error) {
	return c.StatusOfRun(ctx, id, "")
}

// StatusOfRun queries the status of one incident of id, named by any of
// its run ids; runID "" is the latest. An id that an alert reused after its
// incident closed names several incidents: `quench list` shows each with
// its run id.
func (c *Client) StatusOfRun(ctx context.Context, id, runID string) (contract.Status, error) {
	var st contract.Status
	return st, c.query(ctx, id, runID, contract.QueryStatus, &st)
}

// Timeline queries an incident's ordered events.
func (c *Client) Timeline(ctx context.Context, id string) ([]contract.Event, error) {
	return c.TimelineOfRun(ctx, id, "")
}

// TimelineOfRun queries the events of one incident of id, named by any of
// its run ids (see StatusOfRun).
func (c *Client) TimelineOfRun(ctx context.Context, id, runID string) ([]contract.Event, error) {
	var ev []contract.Event
	return ev, c.query(ctx, id, runID, contract.QueryTimeline, &ev)
}

func (c *Client) query(ctx context.Context, id, runID, name string, into any) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if runID != "" {
		if err := ValidateRunID(runID); err != nil {
			return err
		}
		var err error
		if runID, err = c.currentRun(ctx, id, runID); err != nil {
			return err
		}
	}
	v, err := c.c.QueryWorkflow(ctx, id, runID, name)
	if err != nil {
		return c.classify(ctx, id, runID, "query "+name+" of", err)
	}
	if err := v.Get(into); err != nil {
		return fmt.Errorf("decode %s of incident %s: %w", name, id, err)
	}
	return nil
}

// maxRunChain bounds how many continue-as-new hops currentRun follows.
const maxRunChain = 10000

// currentRun follows an incident from runID through the runs it continued
// as new into (one incident, several runs) to the run that holds its state
// now, so any run id `quench list` ever showed for it keeps working.
func (c *Client) currentRun(ctx context.Context, id, runID string) (string, error) {
	for range maxRunChain {
		info, err := c.describe(ctx, id, runID)
		if err != nil {
			return "", c.classify(ctx, id, runID, "read run of", err)
		}
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			return runID, nil
		}
		ev, err := c.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT).Next()
		if err != nil {
			return "", fmt.Errorf("follow incident %s from run %s: %w", id, runID, err)
		}
		next := ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		if next == "" {
			return "", fmt.Errorf("follow incident %s from run %s: its close event names no next run", id, runID)
		}
		runID = next
	}
	return "", fmt.Errorf("follow incident %s: more than %d runs", id, maxRunChain)
}

// Summary is one row of `quench list`.
type Summary struct {
	ID string `json:"id"`
	// RunID is the incident's current run. It tells apart incidents that
	// share an id (an alert that fires again after its incident closed);
	// `status --run` and `timeline --run` take it.
	RunID    string    `json:"run_id"`
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
// An incident is one row however often it continued as new: runs that
// handed their state on are left out.
func (c *Client) List(ctx context.Context, filter string) ([]Summary, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", contract.IncidentWorkflow)
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
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continue // a visibility store that ignored the filter
			}
			fields := e.GetSearchAttributes().GetIndexedFields()
			out = append(out, Summary{
				ID:       e.GetExecution().GetWorkflowId(),
				RunID:    e.GetExecution().GetRunId(),
				Runbook:  keyword(fields[contract.SearchAttrRunbook]),
				Severity: keyword(fields[contract.SearchAttrSeverity]),
				State:    stateOf(e),
				Started:  e.GetStartTime().AsTime().UTC(),
			})
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

// stateOf is an incident run's state: what the workflow recorded, or, for
// a run that ended without recording a final state (terminated, timed
// out), what its execution status says.
func stateOf(e *workflowpb.WorkflowExecutionInfo) string {
	st := keyword(e.GetSearchAttributes().GetIndexedFields()[contract.SearchAttrState])
	if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && !closedState(st) {
		return closedStatusState(e.GetStatus())
	}
	return st
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
