package runbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Parse decodes one runbook from YAML, strictly: unknown fields, wrong
// types, duplicate keys, bad durations and extra documents are errors. It
// fills in defaults (on_resolve rollback, on_error fail, on_deny stop) but
// does not check actions or expressions; Load does both.
//
// The error is an Errors value (use errors.As) listing every problem found,
// each "source:line:col: message".
func Parse(source string, data []byte) (*Runbook, error) {
	rb, _, errs := parse(source, data)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return rb, nil
}

// pos is a 1-based position in the source.
type pos struct{ line, col int }

// positions maps a path in the runbook ("steps[2].with.role", built by
// join and index) to where its value was written, so the validator can
// point at it.
type positions map[string]pos

// keySuffix marks the position of a mapping key rather than its value
// ("steps[0].with.role#key"), for errors about the key itself.
const keySuffix = "#key"

type parser struct {
	source string
	errs   Errors
	pos    positions
}

func parse(source string, data []byte) (rb *Runbook, ps positions, errs Errors) {
	p := &parser{source: source, pos: positions{}}
	root, err := p.document(data)
	if err != nil {
		return nil, p.pos, p.errs
	}
	rb = &Runbook{Source: source}
	p.runbook(root, rb)
	return rb, p.pos, p.errs
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document reads exactly one YAML document and returns its root node.
func (p *parser) document(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on malformed input before; a runbook file must
	// never take the CLI or worker down with it.
	defer func() {
		if r := recover(); r != nil {
			p.add(0, 0, "invalid YAML: %v", r)
			root, err = nil, errors.New("yaml panic")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(1, 1, "empty runbook: expected a mapping with apiVersion, kind, metadata and steps")
		} else {
			p.yamlError(err)
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(err)
		return nil, err
	default:
		p.add(extra.Line, extra.Column, "a runbook file holds one YAML document; found a second one (remove the \"---\" separator or split the file)")
		return nil, errors.New("multiple documents")
	}
	if len(doc.Content) != 1 {
		p.add(1, 1, "empty runbook: expected a mapping with apiVersion, kind, metadata and steps")
		return nil, errors.New("empty")
	}
	return doc.Content[0], nil
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(line, 0, "invalid YAML: %s", m[2])
		return
	}
	p.add(0, 0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (p *parser) add(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Source: p.source, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.add(n.Line, n.Column, format, args...)
}

// field is one known key of a mapping and how to decode its value.
type field struct {
	name   string
	decode func(v *yaml.Node, path string)
}

// mapping decodes the known fields of a mapping node, reporting unknown and
// duplicate keys. what names the mapping in messages ("step", "metadata").
// It returns the key nodes seen, by name. A null node counts as empty.
func (p *parser) mapping(n *yaml.Node, path, what string, fields []field) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if isNull(n) {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, got %s", what, describe(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := p.key(k, what)
		if !ok {
			continue
		}
		if first, dup := seen[name]; dup {
			p.errorf(k, "duplicate field %q in %s (first set at line %d)", name, what, first.Line)
			continue
		}
		seen[name] = k
		var f *field
		for j := range fields {
			if fields[j].name == name {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			p.errorf(k, "unknown field %q in %s%s", name, what, suggest(name, names))
			continue
		}
		child := join(path, name)
		p.pos[child] = pos{v.Line, v.Column}
		if v.Kind == yaml.AliasNode {
			p.errorf(v, "YAML aliases (*%s) are not supported in runbooks; write the value out", v.Value)
			continue
		}
		f.decode(v, child)
	}
	return seen
}

// key reads a mapping key, which must be a plain string.
func (p *parser) key(k *yaml.Node, what string) (string, bool) {
	if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
		p.errorf(k, "unsupported key in %s: keys must be plain names", what)
		return "", false
	}
	return k.Value, true
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node holds, for "got ..." messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "no value"
	case "!!timestamp":
		return "the timestamp " + n.Value
	}
	return fmt.Sprintf("a value tagged %s", n.ShortTag())
}

func last(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (p *parser) str(n *yaml.Node, path string, into *string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, "%q must be a string, got %s", last(path), describe(n))
		return
	}
	*into = n.Value
}

func (p *parser) integer(n *yaml.Node, path string, into *int) {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, "%q must be an integer, got %s", last(path), describe(n))
		return
	}
	*into = v
}

// atLeastOne reads an integer that must be 1 or more: 0 would silently mean
// "unset" (min_approvals) or "unlimited" (max_attempts), so it is refused.
func (p *parser) atLeastOne(n *yaml.Node, path string, into *int) {
	var v int
	p.integer(n, path, &v)
	if v < 1 && n.ShortTag() == "!!int" {
		p.errorf(n, "%q must be at least 1, got %s", last(path), n.Value)
		return
	}
	*into = v
}

func (p *parser) float(n *yaml.Node, path string, into *float64) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil {
		p.errorf(n, "%q must be a number, got %s", last(path), describe(n))
		return
	}
	*into = v
}

func (p *parser) boolean(n *yaml.Node, path string, into *bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.errorf(n, "%q must be true or false, got %s", last(path), describe(n))
		return
	}
	*into = v
}

func (p *parser) duration(n *yaml.Node, path string, into *Duration) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, "%q must be a duration such as \"30s\", \"15m\" or \"1h\", got %s", last(path), describe(n))
		return
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, "%q: invalid duration %q (use e.g. \"30s\", \"15m\", \"1h30m\")", last(path), n.Value)
		return
	}
	if d <= 0 {
		p.errorf(n, "%q must be greater than zero, got %q", last(path), n.Value)
		return
	}
	*into = Duration(d)
}

func (p *parser) strList(n *yaml.Node, path string, into *[]string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%q must be a list of strings, got %s", last(path), describe(n))
		return
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.ShortTag() != "!!str" {
			p.errorf(item, "%q must be a list of strings; item %d is %s", last(path), i+1, describe(item))
			continue
		}
		out = append(out, item.Value)
	}
	*into = out
}

// value decodes any YAML value into plain Go: string, int, float64, bool,
// nil, []any, map[string]any. Timestamps stay strings.
func (p *parser) value(n *yaml.Node, path string) (any, bool) {
	switch n.Kind {
	case yaml.AliasNode:
		p.errorf(n, "YAML aliases (*%s) are not supported in runbooks; write the value out", n.Value)
		return nil, false
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, item := range n.Content {
			p.pos[index(path, i)] = pos{item.Line, item.Column}
			v, itemOK := p.value(item, index(path, i))
			ok = ok && itemOK
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		ok := true
		lines := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, keyOK := p.key(k, fmt.Sprintf("%q", last(path)))
			if !keyOK {
				ok = false
				continue
			}
			if first, dup := lines[name]; dup {
				p.errorf(k, "duplicate key %q (first set at line %d)", name, first)
				ok = false
				continue
			}
			lines[name] = k.Line
			child := join(path, name)
			p.pos[child] = pos{v.Line, v.Column}
			p.pos[child+keySuffix] = pos{k.Line, k.Column}
			val, valOK := p.value(v, child)
			ok = ok && valOK
			out[name] = val
		}
		return out, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return n.Value, true
		case "!!null":
			return nil, true
		case "!!int":
			var v int
			if err := n.Decode(&v); err != nil {
				p.errorf(n, "%q: integer %s out of range", last(path), n.Value)
				return nil, false
			}
			return v, true
		case "!!float":
			var v float64
			if err := n.Decode(&v); err != nil {
				p.errorf(n, "%q: invalid number %s", last(path), n.Value)
				return nil, false
			}
			return v, true
		case "!!bool":
			var v bool
			if err := n.Decode(&v); err != nil {
				p.errorf(n, "%q: invalid boolean %s", last(path), n.Value)
				return nil, false
			}
			return v, true
		}
	}
	p.errorf(n, "%q: unsupported value %s", last(path), describe(n))
	return nil, false
}

func (p *parser) runbook(n *yaml.Node, rb *Runbook) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "a runbook must be a mapping with apiVersion, kind, metadata and steps, got %s", describe(n))
		return
	}
	seen := p.mapping(n, "", "runbook", []field{
		{"apiVersion", func(v *yaml.Node, path string) { p.str(v, path, &rb.APIVersion) }},
		{"kind", func(v *yaml.Node, path string) { p.str(v, path, &rb.Kind) }},
		{"metadata", func(v *yaml.Node, path string) { p.metadata(v, path, &rb.Metadata) }},
		{"params", func(v *yaml.Node, path string) { p.params(v, path, rb) }},
		{"approvals", func(v *yaml.Node, path string) {
			rb.Approvals = &ApprovalPolicy{}
			p.policy(v, path, rb.Approvals)
		}},
		{"slack", func(v *yaml.Node, path string) {
			rb.Slack = &SlackSettings{}
			p.mapping(v, path, "slack", []field{
				{"channel", func(v *yaml.Node, path string) { p.str(v, path, &rb.Slack.Channel) }},
			})
		}},
		{"aws", func(v *yaml.Node, path string) {
			rb.AWS = &AWSSettings{}
			p.mapping(v, path, "aws", []field{
				{"role_arn", func(v *yaml.Node, path string) { p.str(v, path, &rb.AWS.RoleARN) }},
				{"region", func(v *yaml.Node, path string) { p.str(v, path, &rb.AWS.Region) }},
			})
		}},
		{"steps", func(v *yaml.Node, path string) { p.steps(v, path, rb) }},
		{"on_resolve", func(v *yaml.Node, path string) { p.str(v, path, &rb.OnResolve) }},
	})
	for _, required := range []string{"apiVersion", "kind", "metadata", "steps"} {
		if _, ok := seen[required]; !ok {
			p.errorf(n, "missing required field %q", required)
		}
	}
	if rb.OnResolve == "" {
		rb.OnResolve = "rollback"
	}
}

func (p *parser) metadata(n *yaml.Node, path string, m *Metadata) {
	seen := p.mapping(n, path, "metadata", []field{
		{"name", func(v *yaml.Node, path string) { p.str(v, path, &m.Name) }},
		{"title", func(v *yaml.Node, path string) { p.str(v, path, &m.Title) }},
		{"description", func(v *yaml.Node, path string) { p.str(v, path, &m.Description) }},
		{"severity", func(v *yaml.Node, path string) { p.str(v, path, &m.Severity) }},
	})
	if n.Kind == yaml.MappingNode {
		for _, required := range []string{"name", "severity"} {
			if _, ok := seen[required]; !ok {
				p.errorf(n, "missing required field %q in metadata", required)
			}
		}
	}
}

func (p *parser) params(n *yaml.Node, path string, rb *Runbook) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "params must be a mapping of name to spec, got %s", describe(n))
		return
	}
	rb.Params = map[string]ParamSpec{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := p.key(k, "params")
		if !ok {
			continue
		}
		if _, dup := rb.Params[name]; dup {
			p.errorf(k, "duplicate param %q", name)
			continue
		}
		child := join(path, name)
		p.pos[child] = pos{k.Line, k.Column}
		var spec ParamSpec
		seen := p.mapping(v, child, fmt.Sprintf("param %q", name), []field{
			{"type", func(v *yaml.Node, path string) { p.str(v, path, &spec.Type) }},
			{"required", func(v *yaml.Node, path string) { p.boolean(v, path, &spec.Required) }},
			{"default", func(v *yaml.Node, path string) { spec.Default, _ = p.value(v, path) }},
			{"pattern", func(v *yaml.Node, path string) { p.str(v, path, &spec.Pattern) }},
			{"enum", func(v *yaml.Node, path string) { p.strList(v, path, &spec.Enum) }},
			{"description", func(v *yaml.Node, path string) { p.str(v, path, &spec.Description) }},
		})
		if _, ok := seen["type"]; !ok && v.Kind == yaml.MappingNode {
			p.errorf(k, "param %q needs a type (string, int, bool or list)", name)
		}
		rb.Params[name] = spec
		rb.ParamOrder = append(rb.ParamOrder, name)
	}
}

func (p *parser) approvers(n *yaml.Node, path string, a *Approvers) {
	p.mapping(n, path, "approvers", []field{
		{"slack_users", func(v *yaml.Node, path string) { p.strList(v, path, &a.SlackUsers) }},
		{"slack_groups", func(v *yaml.Node, path string) { p.strList(v, path, &a.SlackGroups) }},
		{"cli_users", func(v *yaml.Node, path string) { p.strList(v, path, &a.CLIUsers) }},
	})
}

func (p *parser) escalation(n *yaml.Node, path string) *Escalation {
	e := &Escalation{}
	seen := p.mapping(n, path, "escalate", []field{
		{"after", func(v *yaml.Node, path string) { p.duration(v, path, &e.After) }},
		{"to", func(v *yaml.Node, path string) { p.approvers(v, path, &e.To) }},
	})
	if n.Kind == yaml.MappingNode {
		for _, required := range []string{"after", "to"} {
			if _, ok := seen[required]; !ok {
				p.errorf(n, "missing required field %q in escalate", required)
			}
		}
	}
	return e
}

func (p *parser) policy(n *yaml.Node, path string, a *ApprovalPolicy) {
	p.mapping(n, path, "approvals", []field{
		{"approvers", func(v *yaml.Node, path string) { p.approvers(v, path, &a.Approvers) }},
		{"min_approvals", func(v *yaml.Node, path string) { p.atLeastOne(v, path, &a.MinApprovals) }},
		{"allow_self_approval", func(v *yaml.Node, path string) { p.boolean(v, path, &a.AllowSelfApproval) }},
		{"timeout", func(v *yaml.Node, path string) { p.duration(v, path, &a.Timeout) }},
		{"on_timeout", func(v *yaml.Node, path string) { p.str(v, path, &a.OnTimeout) }},
		{"escalate", func(v *yaml.Node, path string) { a.Escalate = p.escalation(v, path) }},
	})
}

func (p *parser) steps(n *yaml.Node, path string, rb *Runbook) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "steps must be a list, got %s", describe(n))
		return
	}
	for i, item := range n.Content {
		child := index(path, i)
		p.pos[child] = pos{item.Line, item.Column}
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
				what = fmt.Sprintf("step %q", n.Content[i+1].Value)
			}
		}
	}
	seen := p.mapping(n, path, what, []field{
		{"id", func(v *yaml.Node, path string) { p.str(v, path, &s.ID) }},
		{"name", func(v *yaml.Node, path string) { p.str(v, path, &s.Name) }},
		{"action", func(v *yaml.Node, path string) { p.str(v, path, &s.Action) }},
		{"with", func(v *yaml.Node, path string) {
			if isNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				p.errorf(v, "\"with\" must be a mapping of argument names to values, got %s", describe(v))
				return
			}
			w, _ := p.value(v, path)
			s.With, _ = w.(map[string]any)
		}},
		{"approval", func(v *yaml.Node, path string) { s.Approval = p.approvalStep(v, path) }},
		{"notify", func(v *yaml.Node, path string) {
			s.Notify = &NotifyStep{}
			seen := p.mapping(v, path, "notify", []field{
				{"message", func(v *yaml.Node, path string) { p.str(v, path, &s.Notify.Message) }},
			})
			if _, ok := seen["message"]; !ok {
				p.errorf(v, "notify needs a message")
			}
		}},
		{"wait", func(v *yaml.Node, path string) {
			s.Wait = &WaitStep{}
			seen := p.mapping(v, path, "wait", []field{
				{"duration", func(v *yaml.Node, path string) { p.duration(v, path, &s.Wait.Duration) }},
			})
			if _, ok := seen["duration"]; !ok {
				p.errorf(v, "wait needs a duration")
			}
		}},
		{"when", func(v *yaml.Node, path string) { p.str(v, path, &s.When) }},
		{"retry", func(v *yaml.Node, path string) {
			s.Retry = &RetryPolicy{}
			p.mapping(v, path, "retry", []field{
				{"max_attempts", func(v *yaml.Node, path string) { p.atLeastOne(v, path, &s.Retry.MaxAttempts) }},
				{"initial_interval", func(v *yaml.Node, path string) { p.duration(v, path, &s.Retry.InitialInterval) }},
				{"backoff_coefficient", func(v *yaml.Node, path string) { p.float(v, path, &s.Retry.BackoffCoefficient) }},
				{"maximum_interval", func(v *yaml.Node, path string) { p.duration(v, path, &s.Retry.MaximumInterval) }},
			})
		}},
		{"timeout", func(v *yaml.Node, path string) { p.duration(v, path, &s.Timeout) }},
		{"on_error", func(v *yaml.Node, path string) { p.str(v, path, &s.OnError) }},
		{"on_deny", func(v *yaml.Node, path string) { p.str(v, path, &s.OnDeny) }},
	})
	if n.Kind != yaml.MappingNode {
		return s
	}
	if _, ok := seen["id"]; !ok {
		p.errorf(n, "step needs an id")
	}
	var kinds []string
	for _, k := range stepKinds {
		if _, ok := seen[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		p.errorf(n, "%s needs exactly one of action, approval, notify or wait", what)
	case 1:
	default:
		p.errorf(seen[kinds[1]], "%s has both %s and %s; a step does exactly one of action, approval, notify or wait", what, kinds[0], kinds[1])
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
		if !ok || kind == "" || contains(onlyFor[f], kind) {
			continue
		}
		hint := ""
		if f == "timeout" && kind == "approval" {
			hint = " (set approval.timeout instead)"
		}
		p.errorf(k, "%q does not apply to %s steps%s", f, kind, hint)
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
	p.mapping(n, path, "approval", []field{
		{"message", func(v *yaml.Node, path string) { p.str(v, path, &a.Message) }},
		{"approvers", func(v *yaml.Node, path string) {
			a.Approvers = &Approvers{}
			p.approvers(v, path, a.Approvers)
		}},
		{"min_approvals", func(v *yaml.Node, path string) { p.atLeastOne(v, path, &a.MinApprovals) }},
		{"allow_self_approval", func(v *yaml.Node, path string) {
			var b bool
			p.boolean(v, path, &b)
			a.AllowSelfApproval = &b
		}},
		{"timeout", func(v *yaml.Node, path string) { p.duration(v, path, &a.Timeout) }},
		{"on_timeout", func(v *yaml.Node, path string) { p.str(v, path, &a.OnTimeout) }},
		{"escalate", func(v *yaml.Node, path string) { a.Escalate = p.escalation(v, path) }},
	})
	return a
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest known name, if any is close.
func suggest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if d <= max(1, len(k)/3) && (bestD < 0 || d < bestD) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
