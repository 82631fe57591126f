package contract

// Names shared by the workflow, the worker, the CLI and the HTTP endpoints.
const (
	// DefaultTaskQueue is where workers poll unless QUENCH_TASK_QUEUE says otherwise.
	DefaultTaskQueue = "quench"
	// IncidentWorkflow is the registered name of the Incident workflow.
	IncidentWorkflow = "Incident"

	// Updates.
	UpdateApprove = "approve"
	UpdateDeny    = "deny"
	UpdateResolve = "resolve"
	UpdateCancel  = "cancel"

	// Signals.
	SignalAlert = "alert"
	// SignalRejectedDecision records an approval attempt the validator
	// refused: validators cannot write history, so the caller reports it.
	SignalRejectedDecision = "rejected_decision"

	// Queries.
	QueryStatus   = "status"
	QueryTimeline = "timeline"

	// Search attributes (Keyword).
	SearchAttrRunbook  = "QuenchRunbook"
	SearchAttrSeverity = "QuenchSeverity"
	SearchAttrState    = "QuenchState"
)

// SearchAttributes lists the custom search attributes a namespace needs, all Keyword.
var SearchAttributes = []string{SearchAttrRunbook, SearchAttrSeverity, SearchAttrState}

// Application error types the workflow's update validators return.
const (
	ErrTypeApprovalRejected = "ApprovalRejected"
	ErrTypeInvalidRequest   = "InvalidRequest"
)

// Target leases (see leases.go).
const (
	// TargetWorkflow is the registered name of the per-target lease workflow.
	TargetWorkflow = "TargetLease"

	// Updates and the query of the target workflow.
	UpdateTargetAcquire = "acquire"
	UpdateTargetRecord  = "record"
	UpdateTargetRelease = "release"
	QueryTarget         = "target"

	// ActivityTargetRelease releases an incident's lease (the Incident
	// workflow calls it at resolve and cancel).
	ActivityTargetRelease = "quench.target.release"
)

// Activity names of the notification activities the Incident workflow calls.
// They are implemented by the Notifier (Slack when configured, log-only otherwise).
const (
	ActivityRequestApproval = "notify.request_approval"
	ActivityApprovalDecided = "notify.approval_decided"
	ActivityPostUpdate      = "notify.post_update"
)
