package runbooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// Vars are what runbook expressions can see.
//
// Steps maps a step id to a map with the keys output (map[string]any),
// approved (bool), changed (bool) and state (string).
type Vars struct {
	Params   map[string]any
	Incident map[string]any
	Steps    map[string]any
}

// costLimit bounds one evaluation, so a runaway comprehension cannot stall
// a workflow task.
const costLimit = 1_000_000

// maxExprLen bounds an expression's length; runbook expressions are one-liners.
const maxExprLen = 4096

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	vars := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.CustomTypeAdapter(sortedAdapter{}),
		cel.Variable("params", vars),
		cel.Variable("incident", vars),
		cel.Variable("steps", vars),
		ext.Strings(),
		cel.CrossTypeNumericComparisons(true),
	)
})

// compiled is a cached expression: its checked AST and program, or why it failed.
type compiled struct {
	ast *cel.Ast
	prg cel.Program
	err error
}

// programs caches compiled expressions by their text: creating CEL
// programs is slow and the same expressions run in every incident.
var programs sync.Map // string -> *compiled

// compile parses, type-checks and plans an expression, once per text.
func compile(expr string) *compiled {
	if c, ok := programs.Load(expr); ok {
		return c.(*compiled)
	}
	c := &compiled{}
	c.ast, c.prg, c.err = build(expr)
	actual, _ := programs.LoadOrStore(expr, c)
	return actual.(*compiled)
}

func build(expr string) (*cel.Ast, cel.Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil, errors.New("empty expression")
	}
	if len(expr) > maxExprLen {
		return nil, nil, fmt.Errorf("expression is longer than %d characters", maxExprLen)
	}
	env, err := celEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("create expression environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss != nil && len(iss.Errors()) > 0 {
		return nil, nil, issueError(iss)
	}
	prg, err := env.Program(checked, cel.CostLimit(costLimit))
	if err != nil {
		return nil, nil, fmt.Errorf("plan expression: %w", err)
	}
	return checked, prg, nil
}

// issueError keeps CEL's messages but drops its multi-line caret display.
func issueError(iss *cel.Issues) error {
	msgs := make([]string, 0, len(iss.Errors()))
	for _, e := range iss.Errors() {
		m := e.Message
		if col := e.Location.Column(); col >= 0 {
			m = fmt.Sprintf("%s (at column %d)", m, col+1)
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// reference is a params.<name>, steps.<id> or incident.<field> an expression uses.
type reference struct {
	root string // params | steps | incident
	name string
}

// references lists the params, steps and incident fields an expression
// names by constant key (params.x, steps.y, params["x"]). Dynamic keys
// cannot be checked.
func references(a *cel.Ast) []reference {
	var refs []reference
	root := func(e ast.Expr) string {
		if e.Kind() == ast.IdentKind && (e.AsIdent() == "params" || e.AsIdent() == "steps" || e.AsIdent() == "incident") {
			return e.AsIdent()
		}
		return ""
	}
	ast.PreOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			if r := root(sel.Operand()); r != "" {
				refs = append(refs, reference{r, sel.FieldName()})
			}
		case ast.CallKind:
			call := e.AsCall()
			if (call.FunctionName() == operators.Index || call.FunctionName() == operators.OptIndex) && len(call.Args()) == 2 {
				key := call.Args()[1]
				if r := root(call.Args()[0]); r != "" && key.Kind() == ast.LiteralKind {
					if s, ok := key.AsLiteral().(types.String); ok {
						refs = append(refs, reference{r, string(s)})
					}
				}
			}
		}
	}))
	return refs
}

func (v Vars) activation() map[string]any {
	orEmpty := func(m map[string]any) map[string]any {
		if m == nil {
			return map[string]any{}
		}
		return m
	}
	return map[string]any{
		"params":   orEmpty(v.Params),
		"incident": orEmpty(v.Incident),
		"steps":    orEmpty(v.Steps),
	}
}

// eval runs one expression and returns its CEL value.
func eval(expr string, v Vars) (ref.Val, error) {
	c := compile(expr)
	if c.err != nil {
		return nil, fmt.Errorf("compile %q: %w", expr, c.err)
	}
	out, _, err := c.prg.Eval(v.activation())
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", expr, err)
	}
	return out, nil
}

// EvalBool evaluates a when: expression.
func EvalBool(expr string, v Vars) (bool, error) {
	out, err := eval(expr, v)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: got %s, want a bool", expr, out.Type().TypeName())
	}
	return bool(b), nil
}

// Render resolves ${{ expr }} templates in a value, walking maps and lists.
// A string that is exactly one template becomes the expression's typed
// value (string, int, float64, bool, nil, []any or map[string]any); a
// template with text around it is interpolated as text. Other values are
// returned as they are. The input is not modified.
func Render(value any, v Vars) (any, error) {
	switch val := value.(type) {
	case string:
		return renderString(val, v)
	case map[string]any:
		out := make(map[string]any, len(val))
		for _, k := range sortedKeys(val) {
			r, err := Render(val[k], v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(val))
		for i, item := range val {
			r, err := Render(item, v)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return value, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func renderString(s string, v Vars) (any, error) {
	parts, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	if len(parts) == 1 && parts[0].expr {
		out, err := eval(parts[0].text, v)
		if err != nil {
			return nil, err
		}
		return toGo(out)
	}
	var b strings.Builder
	for _, p := range parts {
		if !p.expr {
			b.WriteString(p.text)
			continue
		}
		out, err := eval(p.text, v)
		if err != nil {
			return nil, err
		}
		g, err := toGo(out)
		if err != nil {
			return nil, fmt.Errorf("evaluate %q: %w", p.text, err)
		}
		b.WriteString(InterpolatedText(g))
	}
	return b.String(), nil
}

// InterpolatedText formats a value the way ${{ }} interpolation writes it
// into text: scalars as themselves, null as nothing, lists and maps as JSON.
// Route templates in internal/alerts use it too, so both read alike.
func InterpolatedText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// part is literal text or an expression in a template string.
type part struct {
	text string
	expr bool
}

const (
	openTmpl  = "${{"
	closeTmpl = "}}"
)

// hasTemplate reports whether s contains a ${{ expression.
func hasTemplate(s string) bool { return strings.Contains(s, openTmpl) }

// splitTemplate cuts a string into text and ${{ expr }} parts. An
// expression ends at the first "}}".
func splitTemplate(s string) ([]part, error) {
	var parts []part
	rest := s
	for {
		i := strings.Index(rest, openTmpl)
		if i < 0 {
			if rest != "" || len(parts) == 0 {
				parts = append(parts, part{text: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, part{text: rest[:i]})
		}
		rest = rest[i+len(openTmpl):]
		j := strings.Index(rest, closeTmpl)
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${{ in %q: add the closing }}", s)
		}
		expr := strings.TrimSpace(rest[:j])
		if expr == "" {
			return nil, fmt.Errorf("empty ${{ }} in %q", s)
		}
		parts = append(parts, part{text: expr, expr: true})
		rest = rest[j+len(closeTmpl):]
	}
}

// toGo converts a CEL value into plain Go values.
func toGo(v ref.Val) (any, error) {
	switch v := v.(type) {
	case *types.Err:
		return nil, v
	case types.String:
		return string(v), nil
	case types.Int:
		return int(v), nil
	case types.Uint:
		if uint64(v) > math.MaxInt64 {
			return nil, fmt.Errorf("unsigned value %d does not fit an int", uint64(v))
		}
		return int(v), nil
	case types.Double:
		return float64(v), nil
	case types.Bool:
		return bool(v), nil
	case types.Null:
		return nil, nil
	case types.Duration:
		return v.Duration.String(), nil
	case types.Timestamp:
		return v.Time.UTC().Format(time.RFC3339Nano), nil
	case traits.Lister:
		n, ok := v.Size().(types.Int)
		if !ok {
			return nil, fmt.Errorf("list has no size")
		}
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			item, err := toGo(v.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, item)
		}
		return out, nil
	case traits.Mapper:
		out := map[string]any{}
		it := v.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k.Value())
			}
			item, err := toGo(v.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = item
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %s", v.Type().TypeName())
}

// sortedAdapter turns Go maps into CEL maps that iterate in key order, so
// macros over maps (map, filter) give the same result on every replay of a
// workflow; Go map order is random. It also reads whole float64s as ints.
type sortedAdapter struct{}

func (a sortedAdapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case map[string]any:
		return sortedMap{types.NewStringInterfaceMap(a, v)}
	case map[string]string:
		return sortedMap{types.NewStringStringMap(a, v)}
	case []any:
		return types.NewDynamicList(a, v)
	case []map[string]any:
		return types.NewDynamicList(a, v)
	case int:
		return types.Int(v)
	case float64:
		// Params and step outputs reach the workflow through JSON, which
		// turns every int into a float64; whole numbers are ints again so
		// params.limit * 2 and steps.x.output.count + 1 work.
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return types.Int(int64(v))
		}
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// sortedMap is a CEL map whose iterator yields string keys in order.
type sortedMap struct{ traits.Mapper }

func (m sortedMap) Iterator() traits.Iterator {
	var keys []string
	it := m.Mapper.Iterator()
	for it.HasNext() == types.True {
		if s, ok := it.Next().(types.String); ok {
			keys = append(keys, string(s))
		}
	}
	sort.Strings(keys)
	return types.NewStringList(sortedAdapter{}, keys).Iterator()
}
