package runbooks

import (
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/quenchhq/quench/internal/strictyaml"
	"github.com/quenchhq/quench/internal/tmpl"
)

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9-]+$`)
	paramPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Allowed values of the runbook's enumerated fields.
var (
	paramTypes   = []string{"string", "int", "bool", "list"}
	argTypes     = []string{"string", "int", "number", "bool", "duration", "list", "map", "any"}
	onErrors     = []string{"fail", "continue", "escalate"}
	onDenies     = []string{"stop", "continue"}
	onResolves   = []string{"rollback", "keep", "ask"}
	onTimeouts   = []string{"escalate", "deny"}
	onDrifts     = []string{"reapply", "ask", "record"}
	maxStepIDLen = 64
	// maxNameLen keeps runbook names short enough for workflow ids and search attributes.
	maxNameLen = 64
)

// Default approval policy values, used where neither the runbook nor the step sets them.
const (
	DefaultMinApprovals = 1
	DefaultTimeout      = 15 * time.Minute
	DefaultOnTimeout    = "deny"
)

// Load parses and validates a runbook, reporting every problem with its
// position. It is how the CLI, the library and tests read runbooks. A step
// running a read-only action that does not set on_error gets
// ReadOnlyOnError: evidence never blocks containment.
func Load(source string, data []byte, cat Catalog) (*Runbook, error) {
	rb, ps, errs := parse(source, data)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if err := validate(rb, cat, ps).Err(); err != nil {
		return nil, err
	}
	applyActionDefaults(rb, cat, ps)
	return rb, nil
}

// LoadFile loads a runbook from a file; its path is the error source.
func LoadFile(path string, cat Catalog) (*Runbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read runbook %s: %w", path, err)
	}
	return Load(path, data, cat)
}

// Validate checks a parsed runbook against the action catalog: header,
// names, params, steps, action arguments, expressions and their
// references, and approval policies. Without the YAML at hand it can only
// point at a step's line; Load points at the exact field.
//
// A nil catalog knows no actions, so every action step is an error.
func Validate(rb *Runbook, cat Catalog) error {
	return validate(rb, cat, nil).Err()
}

type validator struct {
	rb   *Runbook
	cat  Catalog
	ps   positions
	errs Errors
	// stepIndex maps a step id to its index, for reference checks.
	stepIndex map[string]int
}

func validate(rb *Runbook, cat Catalog, ps positions) Errors {
	v := &validator{rb: rb, cat: cat, ps: ps, stepIndex: map[string]int{}}
	v.header()
	v.params()
	if rb.Approvals != nil {
		v.policyFields(*rb.Approvals, "approvals")
	}
	v.steps()
	if !slices.Contains(onResolves, rb.OnResolve) {
		v.errorf("on_resolve", "on_resolve must be one of %s, got %q", list(onResolves), rb.OnResolve)
	}
	v.watch()
	return v.errs
}

// MinWatchInterval is the shortest drift watch interval: each check reads
// every held change from AWS.
const MinWatchInterval = time.Second

// watch checks the drift watch settings.
func (v *validator) watch() {
	w := v.rb.Watch
	if w == nil {
		return
	}
	if w.Interval != 0 && w.Interval.D() < MinWatchInterval {
		v.errorf("watch.interval", "watch interval %s is shorter than %s; use 0 to turn the watch off", w.Interval.D(), MinWatchInterval)
	}
	if w.OnDrift != "" && !slices.Contains(onDrifts, w.OnDrift) {
		v.errorf("watch.on_drift", "on_drift must be one of %s, got %q", list(onDrifts), w.OnDrift)
	}
	if w.OnDrift == "ask" {
		p := EffectivePolicy(v.rb, Step{Approval: &ApprovalStep{}})
		if len(p.Approvers.SlackUsers)+len(p.Approvers.SlackGroups)+len(p.Approvers.CLIUsers) == 0 {
			v.errorf("watch.on_drift", "on_drift ask asks the runbook's approvers to re-apply a drifted change, but the approvals block lists none")
		}
	}
}

// at finds where a path was written: the path itself, else its nearest
// recorded parent, else the line of the step it is in.
func (v *validator) at(path string) pos {
	for p := path; p != ""; {
		if at, ok := v.ps[p]; ok {
			return at
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	var i int
	if _, err := fmt.Sscanf(path, "steps[%d]", &i); err == nil && i >= 0 && i < len(v.rb.Steps) {
		return pos{Line: v.rb.Steps[i].Line}
	}
	return pos{}
}

func (v *validator) errorf(path, format string, args ...any) {
	at := v.at(path)
	v.errs = append(v.errs, &Error{Source: v.rb.Source, Line: at.Line, Col: at.Col, Msg: fmt.Sprintf(format, args...)})
}

func list(vals []string) string { return strings.Join(vals, ", ") }

// IncidentFields are the keys of Vars.Incident that expressions may use;
// the Incident workflow provides every one of them.
var IncidentFields = []string{"id", "severity", "source", "requester", "runbook", "labels", "alerts", "dry_run"}

func (v *validator) header() {
	rb := v.rb
	if rb.APIVersion != APIVersion {
		v.errorf("apiVersion", "apiVersion must be %q, got %q", APIVersion, rb.APIVersion)
	}
	if rb.Kind != Kind {
		v.errorf("kind", "kind must be %q, got %q", Kind, rb.Kind)
	}
	if !namePattern.MatchString(rb.Metadata.Name) || len(rb.Metadata.Name) > maxNameLen {
		v.errorf("metadata.name", "metadata.name %q must be lower-case letters, digits and dashes (at most %d)", rb.Metadata.Name, maxNameLen)
	}
	if !slices.Contains(Severities, rb.Metadata.Severity) {
		v.errorf("metadata.severity", "severity must be one of %s, got %q", list(Severities), rb.Metadata.Severity)
	}
}

func (v *validator) params() {
	for _, name := range v.paramNames() {
		spec := v.rb.Params[name]
		path := "params." + name
		if !paramPattern.MatchString(name) {
			v.errorf(path, "param name %q must be letters, digits and underscores, starting with a letter, so expressions can say params.%s", name, name)
		}
		if !slices.Contains(paramTypes, spec.Type) {
			v.errorf(path+".type", "param %q: type must be one of %s, got %q", name, list(paramTypes), spec.Type)
			continue
		}
		var re *regexp.Regexp
		if spec.Pattern != "" {
			if spec.Type != "string" && spec.Type != "list" {
				v.errorf(path+".pattern", "param %q: pattern applies only to string and list params", name)
			} else if r, err := regexp.Compile(spec.Pattern); err != nil {
				v.errorf(path+".pattern", "param %q: invalid pattern %q: %v", name, spec.Pattern, err)
			} else {
				re = r
			}
		}
		if len(spec.Enum) > 0 && spec.Type != "string" && spec.Type != "list" {
			v.errorf(path+".enum", "param %q: enum applies only to string and list params", name)
		}
		if spec.Default == nil {
			continue
		}
		if spec.Required {
			v.errorf(path+".required", "param %q is required and has a default; drop one of them", name)
		}
		if _, err := convertTyped(name, spec, spec.Default); err != nil {
			v.errorf(path+".default", "default: %v", err)
		} else if err := checkValue(name, spec, re, spec.Default); err != nil {
			v.errorf(path+".default", "default: %v", err)
		}
	}
}

// paramNames returns the declared params in declaration order (sorted when
// the order is unknown, e.g. after a JSON round trip lost it).
func (v *validator) paramNames() []string {
	if len(v.rb.ParamOrder) == len(v.rb.Params) {
		return v.rb.ParamOrder
	}
	return slices.Sorted(maps.Keys(v.rb.Params))
}

// policyFields checks the values of a policy block on their own; whether a
// step's merged policy is complete is checked per approval step.
func (v *validator) policyFields(p ApprovalPolicy, path string) {
	if p.MinApprovals < 0 {
		v.errorf(path+".min_approvals", "min_approvals must be at least 1")
	}
	if p.OnTimeout != "" && !slices.Contains(onTimeouts, p.OnTimeout) {
		v.errorf(path+".on_timeout", "on_timeout must be one of %s, got %q (an approval is never granted by a clock)", list(onTimeouts), p.OnTimeout)
	}
}

func (v *validator) steps() {
	if len(v.rb.Steps) == 0 {
		v.errorf("steps", "a runbook needs at least one step")
	}
	for i, s := range v.rb.Steps {
		path := strictyaml.Index("steps", i)
		if !namePattern.MatchString(s.ID) || len(s.ID) > maxStepIDLen {
			v.errorf(path+".id", "step id %q must be lower-case letters, digits and dashes (at most %d)", s.ID, maxStepIDLen)
		} else if first, dup := v.stepIndex[s.ID]; dup {
			v.errorf(path+".id", "duplicate step id %q (first used by step %d at line %d)", s.ID, first+1, v.rb.Steps[first].Line)
		} else {
			v.stepIndex[s.ID] = i
		}
	}
	for i, s := range v.rb.Steps {
		path := strictyaml.Index("steps", i)
		if s.When != "" {
			v.expr(s.When, path+".when", i, true)
		}
		switch s.Kind() {
		case "action":
			v.action(s, path, i)
		case "approval":
			v.templates(s.Approval.Message, path+".approval.message", i)
			v.approval(s, path)
		case "notify":
			v.templates(s.Notify.Message, path+".notify.message", i)
		case "wait":
		default:
			v.errorf(path, "step %q needs exactly one of action, approval, notify or wait", s.ID)
		}
		if s.OnError != "" && !slices.Contains(onErrors, s.OnError) {
			v.errorf(path+".on_error", "on_error must be one of %s, got %q", list(onErrors), s.OnError)
		}
		if s.OnError == "escalate" {
			// A failed step escalates to the runbook's default approvers.
			p := EffectivePolicy(v.rb, Step{Approval: &ApprovalStep{}})
			if len(p.Approvers.SlackUsers)+len(p.Approvers.SlackGroups)+len(p.Approvers.CLIUsers) == 0 {
				v.errorf(path+".on_error", "step %q escalates on error, but the runbook's approvals block lists no approvers to escalate to", s.ID)
			}
		}
		if s.OnDeny != "" && !slices.Contains(onDenies, s.OnDeny) {
			v.errorf(path+".on_deny", "on_deny must be one of %s, got %q", list(onDenies), s.OnDeny)
		}
		if r := s.Retry; r != nil {
			if r.BackoffCoefficient != 0 && r.BackoffCoefficient < 1 {
				v.errorf(path+".retry.backoff_coefficient", "backoff_coefficient must be at least 1, got %v", r.BackoffCoefficient)
			}
			if r.MaximumInterval != 0 && r.MaximumInterval < r.InitialInterval {
				v.errorf(path+".retry.maximum_interval", "maximum_interval %s is shorter than initial_interval %s", r.MaximumInterval.D(), r.InitialInterval.D())
			}
		}
	}
}

func (v *validator) action(s Step, path string, i int) {
	if v.cat == nil {
		v.errorf(path+".action", "no action catalog to check action %q against", s.Action)
		return
	}
	spec, ok := v.cat.Action(s.Action)
	if !ok || spec.UndoOnly {
		v.errorf(path+".action", "unknown action %q", s.Action)
		return
	}
	known := make([]string, len(spec.Args))
	for j, a := range spec.Args {
		known[j] = a.Name
	}
	for _, name := range slices.Sorted(maps.Keys(s.With)) {
		if !slices.Contains(known, name) {
			v.errorf(path+".with."+name+strictyaml.KeySuffix, "action %s has no argument %q%s (it takes %s)", s.Action, name, strictyaml.Suggest(name, known), orNone(known))
		}
	}
	for _, a := range spec.Args {
		val, given := s.With[a.Name]
		if !given {
			if a.Required {
				v.errorf(path+".action", "action %s needs argument %q", s.Action, a.Name)
			}
			continue
		}
		if err := checkArg(a, val); err != nil {
			v.errorf(path+".with."+a.Name, "action %s: %v", s.Action, err)
		}
	}
	v.withTemplates(s.With, path+".with", i)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no arguments"
	}
	return list(names)
}

// withTemplates checks every ${{ }} in an action's arguments.
func (v *validator) withTemplates(val any, path string, i int) {
	switch val := val.(type) {
	case string:
		v.templates(val, path, i)
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(val)) {
			v.withTemplates(val[k], path+"."+k, i)
		}
	case []any:
		for j, item := range val {
			v.withTemplates(item, strictyaml.Index(path, j), i)
		}
	}
}

// templates checks the ${{ }} expressions in one string.
func (v *validator) templates(s, path string, i int) {
	if !tmpl.Has(s) {
		return
	}
	parts, err := tmpl.Split(s)
	if err != nil {
		v.errorf(path, "%v", err)
		return
	}
	for _, p := range parts {
		if p.Expr {
			v.expr(p.Text, path, i, false)
		}
	}
}

// expr compiles an expression used by step i and checks what it refers to:
// only declared params and steps that run before step i.
func (v *validator) expr(expr, path string, i int, wantBool bool) {
	if wantBool && tmpl.Has(expr) {
		v.errorf(path, "when: is an expression already; write %q without ${{ }}", strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(expr), tmpl.Open), tmpl.Close)))
		return
	}
	x, err := engine.Compile(expr)
	if err != nil {
		v.errorf(path, "invalid expression %q: %v", expr, err)
		return
	}
	if wantBool {
		if t := x.AST().OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
			v.errorf(path, "when: expression %q is a %s, not a bool", expr, t)
		}
	}
	seen := map[reference]bool{}
	for _, r := range references(x.AST()) {
		if seen[r] {
			continue
		}
		seen[r] = true
		switch r.root {
		case "incident":
			if !slices.Contains(IncidentFields, r.name) {
				v.errorf(path, "expression %q refers to unknown incident field %q%s (incident has %s)", expr, r.name, strictyaml.Suggest(r.name, IncidentFields), list(IncidentFields))
			}
		case "params":
			if _, ok := v.rb.Params[r.name]; !ok {
				v.errorf(path, "expression %q refers to undeclared param %q%s", expr, r.name, strictyaml.Suggest(r.name, v.paramNames()))
			}
		case "steps":
			j, ok := v.stepIndex[r.name]
			switch {
			case !ok:
				v.errorf(path, "expression %q refers to unknown step %q", expr, r.name)
			case j == i:
				v.errorf(path, "expression %q refers to its own step %q; a step can only use steps before it", expr, r.name)
			case j > i:
				v.errorf(path, "expression %q refers to step %q, which runs later (step %d); a step can only use steps before it", expr, r.name, j+1)
			}
		}
	}
}

// approval checks that an approval step's merged policy can be decided.
func (v *validator) approval(s Step, path string) {
	a := s.Approval
	v.policyFields(ApprovalPolicy{MinApprovals: a.MinApprovals, OnTimeout: a.OnTimeout}, path+".approval")
	p := EffectivePolicy(v.rb, s)
	where := path + ".approval"
	people := len(p.Approvers.SlackUsers) + len(p.Approvers.CLIUsers)
	if people+len(p.Approvers.SlackGroups) == 0 {
		v.errorf(where, "approval step %q has no approvers: list slack_users, slack_groups or cli_users under the runbook's approvals or the step's approval", s.ID)
	} else if len(p.Approvers.SlackGroups) == 0 && p.MinApprovals > people {
		v.errorf(where, "approval step %q needs %d approvals but only %d approvers are listed", s.ID, p.MinApprovals, people)
	}
	if p.Timeout <= 0 {
		v.errorf(where, "approval step %q needs a timeout greater than zero", s.ID)
	}
	if !slices.Contains(onTimeouts, p.OnTimeout) {
		return // reported by policyFields
	}
	if p.OnTimeout == "escalate" && p.Escalate == nil {
		v.errorf(where, "approval step %q escalates on timeout but says nowhere whom to: add escalate: {to: ...} (and after: to escalate earlier)", s.ID)
	}
	if e := p.Escalate; e != nil {
		switch {
		case e.After == 0 && p.OnTimeout != "escalate":
			v.errorf(where, "approval step %q escalates but says not when: set escalate.after (before the timeout of %s), or on_timeout: escalate to escalate at the timeout", s.ID, p.Timeout.D())
		case e.After < 0 || e.After >= p.Timeout:
			v.errorf(where, "approval step %q escalates after %s, which is not before its timeout of %s", s.ID, e.After.D(), p.Timeout.D())
		}
		if len(e.To.SlackUsers)+len(e.To.SlackGroups)+len(e.To.CLIUsers) == 0 {
			v.errorf(where, "approval step %q escalates to nobody: list slack_users, slack_groups or cli_users under escalate.to", s.ID)
		}
	}
}

// EffectivePolicy is the approval policy for an approval step: the step's
// own fields over the runbook's approvals block over the defaults
// (min_approvals 1, timeout 15m, on_timeout deny). A step's approvers
// replace the runbook's rather than adding to them. The result shares
// nothing with rb, so callers may change it.
func EffectivePolicy(rb *Runbook, s Step) ApprovalPolicy {
	var p ApprovalPolicy
	if rb != nil && rb.Approvals != nil {
		p = *rb.Approvals
	}
	if a := s.Approval; a != nil {
		if a.Approvers != nil {
			p.Approvers = *a.Approvers
		}
		if a.MinApprovals != 0 {
			p.MinApprovals = a.MinApprovals
		}
		if a.AllowSelfApproval != nil {
			p.AllowSelfApproval = *a.AllowSelfApproval
		}
		if a.Timeout != 0 {
			p.Timeout = a.Timeout
		}
		if a.OnTimeout != "" {
			p.OnTimeout = a.OnTimeout
		}
		if a.Escalate != nil {
			p.Escalate = a.Escalate
		}
	}
	if p.MinApprovals == 0 {
		p.MinApprovals = DefaultMinApprovals
	}
	if p.Timeout == 0 {
		p.Timeout = Duration(DefaultTimeout)
	}
	if p.OnTimeout == "" {
		p.OnTimeout = DefaultOnTimeout
	}
	p.Approvers = p.Approvers.clone()
	if p.Escalate != nil {
		e := *p.Escalate
		e.To = e.To.clone()
		p.Escalate = &e
	}
	return p
}

func (a Approvers) clone() Approvers {
	cp := func(s []string) []string {
		if s == nil {
			return nil
		}
		return append([]string(nil), s...)
	}
	return Approvers{SlackUsers: cp(a.SlackUsers), SlackGroups: cp(a.SlackGroups), CLIUsers: cp(a.CLIUsers)}
}

// CheckArgs checks an action's arguments after rendering, as the validator
// checks literal ones before the run: unknown and missing arguments, blank
// required strings, types, enums and minimums. Numbers that went through
// JSON (float64) count as ints when they are whole. The worker calls it
// before every action runs, so no action repeats these checks by hand.
func CheckArgs(spec ActionSpec, args map[string]any) error {
	var problems []string
	known := make([]string, len(spec.Args))
	for i, a := range spec.Args {
		known[i] = a.Name
	}
	for _, name := range slices.Sorted(maps.Keys(args)) {
		if !slices.Contains(known, name) {
			problems = append(problems, fmt.Sprintf("unknown argument %q%s", name, strictyaml.Suggest(name, known)))
		}
	}
	for _, a := range spec.Args {
		val, ok := args[a.Name]
		if !ok {
			if a.Required {
				problems = append(problems, fmt.Sprintf("missing argument %q", a.Name))
			}
			continue
		}
		if hasTemplateValue(val) {
			problems = append(problems, fmt.Sprintf("argument %q still holds an unrendered ${{ }}", a.Name))
			continue
		}
		if err := checkArg(a, val); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("arguments of action %s: %s", spec.Name, strings.Join(problems, "; "))
	}
	return nil
}

func hasTemplateValue(v any) bool {
	s, ok := v.(string)
	return ok && tmpl.Has(s)
}

// checkArg checks one argument's value against its spec. A string holding
// a ${{ }} template is checked after rendering instead, when its type is known.
func checkArg(a ArgSpec, val any) error {
	if hasTemplateValue(val) {
		return nil
	}
	bad := func(want string) error {
		return fmt.Errorf("argument %q must be %s, got %s", a.Name, want, describeValue(val))
	}
	if s, ok := val.(string); ok && a.Required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("argument %q is required and must not be blank", a.Name)
	}
	switch a.Type {
	case "string":
		s, ok := val.(string)
		if !ok {
			return bad("a string")
		}
		return checkEnum(a, s, "")
	case "int":
		n, ok := asInt(val)
		if !ok {
			return bad("an integer")
		}
		return checkMin(a, float64(n))
	case "number":
		f, ok := asNumber(val)
		if !ok {
			return bad("a number")
		}
		return checkMin(a, f)
	case "bool":
		if _, ok := val.(bool); !ok {
			return bad("true or false")
		}
	case "duration":
		s, ok := val.(string)
		if !ok {
			return bad(`a duration such as "15m"`)
		}
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return fmt.Errorf("argument %q: invalid duration %q (use e.g. \"30s\", \"15m\", \"1h\")", a.Name, s)
		}
	case "list":
		var items []any
		switch l := val.(type) {
		case []any:
			items = l
		case []string:
			for _, s := range l {
				items = append(items, s)
			}
		default:
			return bad("a list")
		}
		if len(a.Enum) == 0 {
			return nil
		}
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("argument %q must be a list of %s; item %d is %s", a.Name, list(a.Enum), i+1, describeValue(item))
			}
			if err := checkEnum(a, s, fmt.Sprintf(" (item %d)", i+1)); err != nil {
				return err
			}
		}
	case "map":
		if _, ok := val.(map[string]any); !ok {
			return bad("a mapping")
		}
	case "any", "":
	default:
		return fmt.Errorf("argument %q has unknown type %q in the action's spec (want one of %s)", a.Name, a.Type, list(argTypes))
	}
	return nil
}

func checkEnum(a ArgSpec, s, where string) error {
	if len(a.Enum) > 0 && !slices.Contains(a.Enum, s) {
		return fmt.Errorf("argument %q%s must be one of %s, got %q", a.Name, where, list(a.Enum), s)
	}
	return nil
}

func checkMin(a ArgSpec, f float64) error {
	if a.Min != nil && f < *a.Min {
		return fmt.Errorf("argument %q must be %s or more, got %s", a.Name, strconv.FormatFloat(*a.Min, 'f', -1, 64), strconv.FormatFloat(f, 'f', -1, 64))
	}
	return nil
}

// asNumber accepts Go numbers and numeric strings (a ${{ }} expression
// over a string param renders a string).
func asNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// asInt accepts Go ints and whole float64s (JSON numbers).
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case int32:
		return int(n), true
	case float64:
		if n == float64(int(n)) && n >= -1<<53 && n <= 1<<53 {
			return int(n), true
		}
	}
	return 0, false
}

// describeValue names a Go value's kind for "got ..." messages.
func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "no value"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case int, int64, int32:
		return fmt.Sprintf("the integer %v", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}
