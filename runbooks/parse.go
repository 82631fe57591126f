package runbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quenchhq/quench/internal/strictyaml"
)

// Limits on one runbook. The runbook is the Incident workflow's input and
// Temporal refuses a payload over 2 MiB, so the parser refuses anything
// that could approach it before anything runs. The file size is checked
// before decoding: a 17 MB, 200,000-step file is refused in under a
// millisecond instead of seconds and ~900 MB of memory.
//
// Measured (TestLimitsKeepWorkflowInputSmall): JSON is about as large as
// plain YAML. 500 steps of plain text just under 1 MiB (1,027,973 bytes)
// are 1,041,984 bytes of JSON; 500 minimal steps are 33,984. Only escaping
// grows it: JSON writes each <, > and & as \u003c, six bytes, so 184,514
// bytes of YAML holding 180 KiB of '<' are 1,106,250 bytes of JSON, and
// 1 MiB of them would be ~6 MiB. MaxJSONBytes refuses that, so a runbook
// takes at most 1.25 MiB of the workflow input, leaving over 700 KiB of
// Temporal's 2 MiB for params, labels and alerts.
const (
	// MaxFileBytes is the largest runbook file accepted.
	MaxFileBytes = 1 << 20
	// MaxSteps is the most steps a runbook may have.
	MaxSteps = 500
	// MaxStringBytes is the longest string value (a message, an argument,
	// a description) a runbook may hold.
	MaxStringBytes = 64 << 10
	// MaxJSONBytes is the largest a runbook may be as JSON, the form the
	// workflow receives it in.
	MaxJSONBytes = 1<<20 + 1<<18
)

// Parse decodes one runbook from YAML, strictly: unknown fields, wrong
// types, duplicate keys, bad durations, extra documents and runbooks over
// the limits above are errors. It fills in defaults (on_resolve rollback,
// on_error fail, on_deny stop) but does not check actions or expressions;
// Load does both.
//
// The error is an Errors value (use errors.As) listing every problem found,
// each "source:line:col: message".
func Parse(source string, data []byte) (*Runbook, error) {
	rb, _, errs := parse(source, data)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return rb, nil
}

// FileKind peeks at the top-level kind of a quench YAML file. It is ""
// when there is none, or when the file is over MaxFileBytes: decoding a
// huge file just to read its kind would cost what the limit saves, and
// Load then reports the size.
func FileKind(data []byte) string {
	if len(data) > MaxFileBytes {
		return ""
	}
	var head struct {
		Kind string `yaml:"kind"`
	}
	_ = yaml.Unmarshal(data, &head)
	return head.Kind
}

type pos = strictyaml.Pos

// positions maps a path in the runbook ("steps[2].with.role", built by
// strictyaml.Join and Index) to where its value was written, so the
// validator can point at it.
type positions = map[string]pos

type parser struct {
	*strictyaml.Reader
}

func parse(source string, data []byte) (rb *Runbook, ps positions, errs Errors) {
	p := &parser{&strictyaml.Reader{Source: source, Kind: "runbook", MaxString: MaxStringBytes, Pos: positions{}}}
	if len(data) > MaxFileBytes {
		line, col := lineCol(data, MaxFileBytes)
		p.Add(line, col, "runbook file is %d bytes; a runbook may be at most %s (the limit is reached here)", len(data), strictyaml.Bytes(MaxFileBytes))
		return nil, p.Pos, p.Errs
	}
	root := p.Document(data, "empty runbook: expected a mapping with apiVersion, kind, metadata and steps")
	if root == nil {
		return nil, p.Pos, p.Errs
	}
	rb = &Runbook{Source: source}
	p.runbook(root, rb)
	p.jsonSize(rb)
	return rb, p.Pos, p.Errs
}

// lineCol is the 1-based line and column of byte offset off.
func lineCol(data []byte, off int) (line, col int) {
	before := data[:off]
	return bytes.Count(before, []byte("\n")) + 1, off - bytes.LastIndexByte(before, '\n')
}

// jsonSize refuses a runbook too large as JSON, pointing at the step where
// the limit is reached.
func (p *parser) jsonSize(rb *Runbook) {
	b, err := json.Marshal(rb)
	if err != nil {
		p.Add(0, 0, "runbook cannot be passed to the workflow as JSON: %v", err)
		return
	}
	if len(b) <= MaxJSONBytes {
		return
	}
	line, total := 1, len(b)
	for _, s := range rb.Steps {
		sb, _ := json.Marshal(s)
		total -= len(sb)
	}
	for _, s := range rb.Steps { // total is now the size without steps
		sb, _ := json.Marshal(s)
		if total += len(sb); total > MaxJSONBytes {
			line = s.Line
			break
		}
	}
	p.Add(line, 0, "runbook is %d bytes as JSON (each <, > and & takes 6); a runbook may be at most %s as JSON, the form the workflow receives", len(b), strictyaml.Bytes(MaxJSONBytes))
}

// field is one known key of a mapping and how to read its value.
func field(name string, read func(v *yaml.Node, path string)) strictyaml.Field {
	return strictyaml.Field{Name: name, Read: read}
}

func (p *parser) duration(n *yaml.Node, path string, into *Duration) {
	p.Duration(n, path, (*time.Duration)(into))
}

func (p *parser) runbook(n *yaml.Node, rb *Runbook) {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "a runbook must be a mapping with apiVersion, kind, metadata and steps, got %s", strictyaml.Describe(n))
		return
	}
	seen := p.Mapping(n, "", "runbook", []strictyaml.Field{
		field("apiVersion", func(v *yaml.Node, path string) { p.Str(v, path, &rb.APIVersion) }),
		field("kind", func(v *yaml.Node, path string) { p.Str(v, path, &rb.Kind) }),
		field("metadata", func(v *yaml.Node, path string) { p.metadata(v, path, &rb.Metadata) }),
		field("params", func(v *yaml.Node, path string) { p.params(v, path, rb) }),
		field("approvals", func(v *yaml.Node, path string) {
			rb.Approvals = &ApprovalPolicy{}
			p.policy(v, path, rb.Approvals)
		}),
		field("slack", func(v *yaml.Node, path string) {
			rb.Slack = &SlackSettings{}
			p.Mapping(v, path, "slack", []strictyaml.Field{
				field("channel", func(v *yaml.Node, path string) { p.Str(v, path, &rb.Slack.Channel) }),
			})
		}),
		field("aws", func(v *yaml.Node, path string) {
			rb.AWS = &AWSSettings{}
			p.Mapping(v, path, "aws", []strictyaml.Field{
				field("role_arn", func(v *yaml.Node, path string) { p.Str(v, path, &rb.AWS.RoleARN) }),
				field("region", func(v *yaml.Node, path string) { p.Str(v, path, &rb.AWS.Region) }),
			})
		}),
		field("steps", func(v *yaml.Node, path string) { p.steps(v, path, rb) }),
		field("on_resolve", func(v *yaml.Node, path string) { p.Str(v, path, &rb.OnResolve) }),
		field("watch", func(v *yaml.Node, path string) { rb.Watch = p.watch(v, path) }),
	})
	for _, required := range []string{"apiVersion", "kind", "metadata", "steps"} {
		if _, ok := seen[required]; !ok {
			p.Errorf(n, "missing required field %q", required)
		}
	}
	if rb.OnResolve == "" {
		rb.OnResolve = "rollback"
	}
}

// watch reads the drift watch: an interval ("10m", or 0 to turn it off)
// or a mapping {interval, on_drift}.
func (p *parser) watch(n *yaml.Node, path string) *WatchSettings {
	w := &WatchSettings{Interval: Duration(DefaultWatchInterval)}
	if n.Kind == yaml.ScalarNode {
		p.watchInterval(n, path, &w.Interval)
		return w
	}
	p.Mapping(n, path, "watch", []strictyaml.Field{
		field("interval", func(v *yaml.Node, path string) { p.watchInterval(v, path, &w.Interval) }),
		field("on_drift", func(v *yaml.Node, path string) { p.Str(v, path, &w.OnDrift) }),
	})
	return w
}

// watchInterval reads a duration where 0 (written 0 or "0s") means off.
func (p *parser) watchInterval(n *yaml.Node, path string, into *Duration) {
	if n.Kind == yaml.ScalarNode && (n.Value == "0" || n.Value == "0s") {
		*into = 0
		return
	}
	p.duration(n, path, into)
}

func (p *parser) metadata(n *yaml.Node, path string, m *Metadata) {
	seen := p.Mapping(n, path, "metadata", []strictyaml.Field{
		field("name", func(v *yaml.Node, path string) { p.Str(v, path, &m.Name) }),
		field("title", func(v *yaml.Node, path string) { p.Str(v, path, &m.Title) }),
		field("description", func(v *yaml.Node, path string) { p.Str(v, path, &m.Description) }),
		field("severity", func(v *yaml.Node, path string) { p.Str(v, path, &m.Severity) }),
	})
	if n.Kind == yaml.MappingNode {
		for _, required := range []string{"name", "severity"} {
			if _, ok := seen[required]; !ok {
				p.Errorf(n, "missing required field %q in metadata", required)
			}
		}
	}
}

func (p *parser) params(n *yaml.Node, path string, rb *Runbook) {
	entries := p.Entries(n, path, "params")
	if len(entries) == 0 {
		return
	}
	rb.Params = map[string]ParamSpec{}
	for _, e := range entries {
		name, k, v := e.Name, e.Key, e.Value
		child := strictyaml.Join(path, name)
		p.Pos[child] = pos{Line: k.Line, Col: k.Column} // param errors point at the name
		var spec ParamSpec
		seen := p.Mapping(v, child, fmt.Sprintf("param %q", name), []strictyaml.Field{
			field("type", func(v *yaml.Node, path string) { p.Str(v, path, &spec.Type) }),
			field("required", func(v *yaml.Node, path string) { p.Bool(v, path, &spec.Required) }),
			field("default", func(v *yaml.Node, path string) { spec.Default, _ = p.Value(v, path) }),
			field("pattern", func(v *yaml.Node, path string) { p.Str(v, path, &spec.Pattern) }),
			field("enum", func(v *yaml.Node, path string) { p.StrList(v, path, &spec.Enum) }),
			field("description", func(v *yaml.Node, path string) { p.Str(v, path, &spec.Description) }),
		})
		if _, ok := seen["type"]; !ok && v.Kind == yaml.MappingNode {
			p.Errorf(k, "param %q needs a type (string, int, bool or list)", name)
		}
		rb.Params[name] = spec
		rb.ParamOrder = append(rb.ParamOrder, name)
	}
}

func (p *parser) approvers(n *yaml.Node, path string, a *Approvers) {
	p.Mapping(n, path, "approvers", []strictyaml.Field{
		field("slack_users", func(v *yaml.Node, path string) { p.StrList(v, path, &a.SlackUsers) }),
		field("slack_groups", func(v *yaml.Node, path string) { p.StrList(v, path, &a.SlackGroups) }),
		field("cli_users", func(v *yaml.Node, path string) { p.StrList(v, path, &a.CLIUsers) }),
	})
}

func (p *parser) escalation(n *yaml.Node, path string) *Escalation {
	e := &Escalation{}
	seen := p.Mapping(n, path, "escalate", []strictyaml.Field{
		field("after", func(v *yaml.Node, path string) { p.duration(v, path, &e.After) }),
		field("to", func(v *yaml.Node, path string) { p.approvers(v, path, &e.To) }),
	})
	// after may be left out with on_timeout: escalate (escalate at the
	// timeout); the validator checks that combination.
	if _, ok := seen["to"]; n.Kind == yaml.MappingNode && !ok {
		p.Errorf(n, "missing required field %q in escalate", "to")
	}
	return e
}

func (p *parser) policy(n *yaml.Node, path string, a *ApprovalPolicy) {
	p.Mapping(n, path, "approvals", []strictyaml.Field{
		field("approvers", func(v *yaml.Node, path string) { p.approvers(v, path, &a.Approvers) }),
		field("min_approvals", func(v *yaml.Node, path string) { p.AtLeastOne(v, path, &a.MinApprovals) }),
		field("allow_self_approval", func(v *yaml.Node, path string) { p.Bool(v, path, &a.AllowSelfApproval) }),
		field("timeout", func(v *yaml.Node, path string) { p.duration(v, path, &a.Timeout) }),
		field("on_timeout", func(v *yaml.Node, path string) { p.Str(v, path, &a.OnTimeout) }),
		field("escalate", func(v *yaml.Node, path string) { a.Escalate = p.escalation(v, path) }),
	})
}

func (p *parser) steps(n *yaml.Node, path string, rb *Runbook) {
	if strictyaml.IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "steps must be a list, got %s", strictyaml.Describe(n))
		return
	}
	// Counted before any step is decoded, so a huge list costs nothing more.
	if len(n.Content) > MaxSteps {
		p.Errorf(n.Content[MaxSteps], "runbook has %d steps; a runbook may have at most %d (this is step %d)", len(n.Content), MaxSteps, MaxSteps+1)
		return
	}
	for i, item := range n.Content {
		child := strictyaml.Index(path, i)
		p.Pos[child] = pos{Line: item.Line, Col: item.Column}
		rb.Steps = append(rb.Steps, p.step(item, child))
	}
}

var stepKinds = []string{"action", "approval", "notify", "wait"}

func (p *parser) step(n *yaml.Node, path string) Step {
	s := Step{Line: n.Line}
	what := "step"
	if n.Kind == yaml.MappingNode {
		// Name the step in messages as soon as its id is known.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "id" && n.Content[i+1].Kind == yaml.ScalarNode {
				what = "step " + strictyaml.Quote(n.Content[i+1].Value)
			}
		}
	}
	seen := p.Mapping(n, path, what, []strictyaml.Field{
		field("id", func(v *yaml.Node, path string) { p.Str(v, path, &s.ID) }),
		field("name", func(v *yaml.Node, path string) { p.Str(v, path, &s.Name) }),
		field("action", func(v *yaml.Node, path string) { p.Str(v, path, &s.Action) }),
		field("with", func(v *yaml.Node, path string) {
			if strictyaml.IsNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				p.Errorf(v, "\"with\" must be a mapping of argument names to values, got %s", strictyaml.Describe(v))
				return
			}
			w, _ := p.Value(v, path)
			s.With, _ = w.(map[string]any)
		}),
		field("approval", func(v *yaml.Node, path string) { s.Approval = p.approvalStep(v, path) }),
		field("notify", func(v *yaml.Node, path string) {
			s.Notify = &NotifyStep{}
			seen := p.Mapping(v, path, "notify", []strictyaml.Field{
				field("message", func(v *yaml.Node, path string) { p.Str(v, path, &s.Notify.Message) }),
			})
			if _, ok := seen["message"]; !ok {
				p.Errorf(v, "notify needs a message")
			}
		}),
		field("wait", func(v *yaml.Node, path string) {
			s.Wait = &WaitStep{}
			seen := p.Mapping(v, path, "wait", []strictyaml.Field{
				field("duration", func(v *yaml.Node, path string) { p.duration(v, path, &s.Wait.Duration) }),
			})
			if _, ok := seen["duration"]; !ok {
				p.Errorf(v, "wait needs a duration")
			}
		}),
		field("when", func(v *yaml.Node, path string) { p.Str(v, path, &s.When) }),
		field("retry", func(v *yaml.Node, path string) {
			s.Retry = &RetryPolicy{}
			p.Mapping(v, path, "retry", []strictyaml.Field{
				field("max_attempts", func(v *yaml.Node, path string) { p.AtLeastOne(v, path, &s.Retry.MaxAttempts) }),
				field("initial_interval", func(v *yaml.Node, path string) { p.duration(v, path, &s.Retry.InitialInterval) }),
				field("backoff_coefficient", func(v *yaml.Node, path string) { p.Float(v, path, &s.Retry.BackoffCoefficient) }),
				field("maximum_interval", func(v *yaml.Node, path string) { p.duration(v, path, &s.Retry.MaximumInterval) }),
			})
		}),
		field("timeout", func(v *yaml.Node, path string) { p.duration(v, path, &s.Timeout) }),
		field("on_error", func(v *yaml.Node, path string) { p.Str(v, path, &s.OnError) }),
		field("on_deny", func(v *yaml.Node, path string) { p.Str(v, path, &s.OnDeny) }),
	})
	if n.Kind != yaml.MappingNode {
		return s
	}
	if _, ok := seen["id"]; !ok {
		p.Errorf(n, "step needs an id")
	}
	var kinds []string
	for _, k := range stepKinds {
		if _, ok := seen[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		p.Errorf(n, "%s needs exactly one of action, approval, notify or wait", what)
	case 1:
	default:
		p.Errorf(seen[kinds[1]].Key, "%s has both %s and %s; a step does exactly one of action, approval, notify or wait", what, kinds[0], kinds[1])
	}
	kind := ""
	if len(kinds) == 1 {
		kind = kinds[0]
	}
	// Fields that only mean something for some kinds of step.
	onlyFor := map[string][]string{
		"with":     {"action"},
		"retry":    {"action", "notify"},
		"timeout":  {"action", "notify"},
		"on_error": {"action", "notify"},
		"on_deny":  {"approval"},
	}
	for _, f := range []string{"with", "retry", "timeout", "on_error", "on_deny"} {
		k, ok := seen[f]
		if !ok || kind == "" || slices.Contains(onlyFor[f], kind) {
			continue
		}
		hint := ""
		if f == "timeout" && kind == "approval" {
			hint = " (set approval.timeout instead)"
		}
		p.Errorf(k.Key, "%q does not apply to %s steps%s", f, kind, hint)
	}
	if s.OnError == "" {
		s.OnError = "fail"
	}
	if s.Approval != nil && s.OnDeny == "" {
		s.OnDeny = "stop"
	}
	return s
}

func (p *parser) approvalStep(n *yaml.Node, path string) *ApprovalStep {
	a := &ApprovalStep{}
	p.Mapping(n, path, "approval", []strictyaml.Field{
		field("message", func(v *yaml.Node, path string) { p.Str(v, path, &a.Message) }),
		field("approvers", func(v *yaml.Node, path string) {
			a.Approvers = &Approvers{}
			p.approvers(v, path, a.Approvers)
		}),
		field("min_approvals", func(v *yaml.Node, path string) { p.AtLeastOne(v, path, &a.MinApprovals) }),
		field("allow_self_approval", func(v *yaml.Node, path string) {
			var b bool
			p.Bool(v, path, &b)
			a.AllowSelfApproval = &b
		}),
		field("timeout", func(v *yaml.Node, path string) { p.duration(v, path, &a.Timeout) }),
		field("on_timeout", func(v *yaml.Node, path string) { p.Str(v, path, &a.OnTimeout) }),
		field("escalate", func(v *yaml.Node, path string) { a.Escalate = p.escalation(v, path) }),
	})
	return a
}
