package runbooks

import (
	"slices"
	"strings"
	"time"
)

// APIVersion and Kind are the only accepted header values in v1.
const (
	APIVersion = "quench/v1"
	Kind       = "Runbook"
)

// Severity levels, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// Runbook is one parsed and validated runbook. It is passed to the Incident
// workflow as input, so it must stay JSON-serialisable and backwards
// compatible: add fields, never rename them.
type Runbook struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Metadata   Metadata             `json:"metadata"`
	Params     map[string]ParamSpec `json:"params,omitempty"`
	// ParamOrder keeps the order params were declared in, for help output.
	ParamOrder []string        `json:"paramOrder,omitempty"`
	Approvals  *ApprovalPolicy `json:"approvals,omitempty"`
	Slack      *SlackSettings  `json:"slack,omitempty"`
	AWS        *AWSSettings    `json:"aws,omitempty"`
	Steps      []Step          `json:"steps"`
	OnResolve  string          `json:"on_resolve,omitempty"` // rollback | keep | ask (default rollback)
	// Watch is how held containment is re-verified (drift watch); nil
	// means the defaults: every DefaultWatchInterval, DefaultOnDrift.
	Watch *WatchSettings `json:"watch,omitempty"`
	// Source is where the runbook came from (embedded:NAME.yaml or a path).
	Source string `json:"source,omitempty"`
}

// Metadata names and describes a runbook.
type Metadata struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity"`
}

// ParamSpec declares one runbook parameter.
type ParamSpec struct {
	Type        string   `json:"type"` // string | int | bool | list
	Required    bool     `json:"required,omitempty"`
	Default     any      `json:"default,omitempty"`
	Pattern     string   `json:"pattern,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Approvers lists who may decide an approval step.
type Approvers struct {
	SlackUsers  []string `json:"slack_users,omitempty"`
	SlackGroups []string `json:"slack_groups,omitempty"`
	CLIUsers    []string `json:"cli_users,omitempty"`
}

// Describe lists the approvers as channel:name, for messages and status.
func (a Approvers) Describe() []string {
	var out []string
	for _, u := range a.SlackUsers {
		out = append(out, "slack:"+u)
	}
	for _, g := range a.SlackGroups {
		out = append(out, "slack-group:"+g)
	}
	for _, u := range a.CLIUsers {
		out = append(out, "cli:"+u)
	}
	return out
}

// Union returns everyone in a or b, each once, in first-seen order.
func (a Approvers) Union(b Approvers) Approvers {
	return Approvers{
		SlackUsers:  appendNew(slices.Clone(a.SlackUsers), b.SlackUsers),
		SlackGroups: appendNew(slices.Clone(a.SlackGroups), b.SlackGroups),
		CLIUsers:    appendNew(slices.Clone(a.CLIUsers), b.CLIUsers),
	}
}

func appendNew(list, more []string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// Escalation says whom to call in when an approval is still pending after After.
type Escalation struct {
	After Duration  `json:"after"`
	To    Approvers `json:"to"`
}

// ApprovalPolicy is the default policy for approval steps; a step may
// override any field.
type ApprovalPolicy struct {
	Approvers         Approvers `json:"approvers"`
	MinApprovals      int       `json:"min_approvals,omitempty"`
	AllowSelfApproval bool      `json:"allow_self_approval,omitempty"`
	Timeout           Duration  `json:"timeout,omitempty"`
	// OnTimeout is what happens when Timeout passes without a decision:
	// deny, or escalate — if nobody was escalated to yet, escalate now and
	// give the escalation list one more Timeout before denying. A clock
	// never approves.
	OnTimeout string      `json:"on_timeout,omitempty"`
	Escalate  *Escalation `json:"escalate,omitempty"`
}

// SlackSettings says where the incident's Slack messages go.
type SlackSettings struct {
	Channel string `json:"channel,omitempty"`
}

// DefaultWatchInterval is how often held changes are re-verified when the
// runbook does not say.
const DefaultWatchInterval = 5 * time.Minute

// WatchSettings is the runbook's drift watch: while the incident is
// contained (or waits for an approval after automatic steps), every held
// change is re-verified each Interval with a dry run of its action.
type WatchSettings struct {
	// Interval 0 turns the watch off.
	Interval Duration `json:"interval"`
	// OnDrift is reapply | ask | record; "" is DefaultOnDrift per action.
	OnDrift string `json:"on_drift,omitempty"`
}

// DefaultOnDrift is what drift on a change made by action leads to when
// the runbook sets no on_drift: identity containment (iam.*) is put back at
// once, since a re-enabled key or a removed deny is an attacker's first
// move; anything else is recorded, since a person may have changed it on
// purpose.
func DefaultOnDrift(action string) string {
	if strings.HasPrefix(action, "iam.") {
		return "reapply"
	}
	return "record"
}

// WatchInterval is how often held changes are re-verified (0: never).
func (rb *Runbook) WatchInterval() time.Duration {
	if rb.Watch == nil {
		return DefaultWatchInterval
	}
	return rb.Watch.Interval.D()
}

// AWSSettings lets a runbook contain resources in another account or region.
type AWSSettings struct {
	RoleARN string `json:"role_arn,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Step is one runbook step. Exactly one of Action, Approval, Notify or Wait is set.
type Step struct {
	ID       string         `json:"id"`
	Name     string         `json:"name,omitempty"`
	Action   string         `json:"action,omitempty"`
	With     map[string]any `json:"with,omitempty"`
	Approval *ApprovalStep  `json:"approval,omitempty"`
	Notify   *NotifyStep    `json:"notify,omitempty"`
	Wait     *WaitStep      `json:"wait,omitempty"`
	When     string         `json:"when,omitempty"`
	Retry    *RetryPolicy   `json:"retry,omitempty"`
	Timeout  Duration       `json:"timeout,omitempty"`
	OnError  string         `json:"on_error,omitempty"` // fail | continue | escalate
	OnDeny   string         `json:"on_deny,omitempty"`  // stop | continue (approval steps)
	// Line is the step's line in its source file, for error messages.
	Line int `json:"line,omitempty"`
}

// Kind reports which kind of step this is.
func (s Step) Kind() string {
	switch {
	case s.Action != "":
		return "action"
	case s.Approval != nil:
		return "approval"
	case s.Notify != nil:
		return "notify"
	case s.Wait != nil:
		return "wait"
	}
	return ""
}

// ApprovalStep asks humans to approve the steps after it. Unset policy
// fields fall back to the runbook's approvals block.
type ApprovalStep struct {
	Message           string      `json:"message"`
	Approvers         *Approvers  `json:"approvers,omitempty"`
	MinApprovals      int         `json:"min_approvals,omitempty"`
	AllowSelfApproval *bool       `json:"allow_self_approval,omitempty"`
	Timeout           Duration    `json:"timeout,omitempty"`
	OnTimeout         string      `json:"on_timeout,omitempty"`
	Escalate          *Escalation `json:"escalate,omitempty"`
}

// NotifyStep posts a message into the incident's thread (or logs it when
// Slack is not configured).
type NotifyStep struct {
	Message string `json:"message"`
}

// WaitStep pauses the runbook.
type WaitStep struct {
	Duration Duration `json:"duration"`
}

// RetryPolicy bounds retries of an action step.
type RetryPolicy struct {
	MaxAttempts        int      `json:"max_attempts,omitempty"`
	InitialInterval    Duration `json:"initial_interval,omitempty"`
	BackoffCoefficient float64  `json:"backoff_coefficient,omitempty"`
	MaximumInterval    Duration `json:"maximum_interval,omitempty"`
}

// Duration is a time.Duration that reads and writes as "15m", "30s".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes the duration as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go duration text ("90s", "15m", "1h30m").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ArgSpec declares one argument of an action. The validator checks
// literal arguments against it before a run, and the worker checks the
// rendered arguments against it (CheckArgs) before the action runs, so an
// action's code starts from arguments that match its spec.
type ArgSpec struct {
	Name string `json:"name"`
	// Type is string | int | number | bool | duration | list | map | any.
	// A number may be fractional and may be given as a numeric string; an
	// int must be whole.
	Type string `json:"type"`
	// Required arguments must be given; a required string must not be blank.
	Required bool `json:"required,omitempty"`
	// Enum lists the allowed values of a string, or of each item of a list.
	Enum []string `json:"enum,omitempty"`
	// Min is the smallest allowed value of an int or number.
	Min         *float64 `json:"min,omitempty"`
	Description string   `json:"description"`
}

// AtLeast is a Min for an ArgSpec: `Min: runbooks.AtLeast(0)`.
func AtLeast(n float64) *float64 { return &n }

// ActionSpec describes an action a runbook step may name: its argument
// schema and whether it changes anything (mutating actions return undo records).
type ActionSpec struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Args        []ArgSpec `json:"args"`
	Mutating    bool      `json:"mutating"`
	// UndoOnly actions exist to undo another action; runbooks cannot name them.
	UndoOnly bool `json:"undo_only,omitempty"`
	// KeptOnRollback mutating actions are not undone when the incident is
	// rolled back, by design (a restore of a control the incident found
	// broken): they return no undo record, and their description says why.
	KeptOnRollback bool `json:"kept_on_rollback,omitempty"`
	// Target, on a mutating action, names the shared thing it changes, so
	// concurrent incidents lease it instead of undoing each other.
	Target *TargetSpec `json:"target,omitempty"`
}

// TargetSpec says which arguments identify an action's target. Resource is
// a path with {arg} placeholders ("function/{function_name}"); the
// incident's account and region complete the key.
type TargetSpec struct {
	Service   string `json:"service"`
	Resource  string `json:"resource"`
	Attribute string `json:"attribute"`
}

// Catalog resolves action names for the validator. The activities package's
// registry implements it.
type Catalog interface {
	Action(name string) (ActionSpec, bool)
}
