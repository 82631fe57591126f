package runbooks

import (
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/quenchhq/quench/internal/tmpl"
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

// engine compiles runbook expressions; they see params, incident and steps.
var engine = tmpl.New(costLimit,
	cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
	cel.Variable("incident", cel.MapType(cel.StringType, cel.DynType)),
	cel.Variable("steps", cel.MapType(cel.StringType, cel.DynType)),
)

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

// EvalBool evaluates a when: expression.
func EvalBool(expr string, v Vars) (bool, error) {
	return engine.EvalBool(expr, v.activation())
}

// Render resolves ${{ expr }} templates in a value, walking maps and lists.
// A string that is exactly one template becomes the expression's typed
// value (string, int, float64, bool, nil, []any or map[string]any); a
// template with text around it is interpolated as text. Other values are
// returned as they are. The input is not modified.
func Render(value any, v Vars) (any, error) {
	return engine.Render(value, v.activation())
}

// InterpolatedText formats a value the way ${{ }} interpolation writes it
// into text: scalars as themselves, null as nothing, lists and maps as JSON.
// Route templates in internal/alerts read alike: both use internal/tmpl.
func InterpolatedText(v any) string { return tmpl.Text(v) }
