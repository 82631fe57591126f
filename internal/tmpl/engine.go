package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// MaxExprLen bounds an expression's length; template expressions are one-liners.
const MaxExprLen = 4096

// Engine compiles and evaluates expressions and templates in one CEL
// environment. It is safe for concurrent use.
type Engine struct {
	env       func() (*cel.Env, error)
	costLimit uint64
	exprs     sync.Map // expression text -> *compiled
}

// New returns an engine whose expressions see what vars declares
// (cel.Variable, ...). Every engine also has the string extensions,
// comparisons across int, uint and double, and maps that iterate in key
// order. costLimit bounds one evaluation, so a runaway comprehension
// cannot stall the caller.
func New(costLimit uint64, vars ...cel.EnvOption) *Engine {
	opts := append([]cel.EnvOption{
		cel.CustomTypeAdapter(sortedAdapter{}),
		ext.Strings(),
		cel.CrossTypeNumericComparisons(true),
	}, vars...)
	return &Engine{costLimit: costLimit, env: sync.OnceValues(func() (*cel.Env, error) { return cel.NewEnv(opts...) })}
}

// Expr is a compiled expression.
type Expr struct {
	text string
	ast  *cel.Ast
	prg  cel.Program
}

// AST is the checked expression, for callers that inspect what it refers to.
func (x *Expr) AST() *cel.Ast { return x.ast }

// compiled is a cached expression or why it failed.
type compiled struct {
	x   *Expr
	err error
}

// Compile parses, type-checks and plans an expression, once per text:
// creating CEL programs is slow and the same expressions run again and again.
func (e *Engine) Compile(expr string) (*Expr, error) {
	if c, ok := e.exprs.Load(expr); ok {
		return c.(*compiled).x, c.(*compiled).err
	}
	x, err := e.build(expr)
	c, _ := e.exprs.LoadOrStore(expr, &compiled{x, err})
	return c.(*compiled).x, c.(*compiled).err
}

func (e *Engine) build(expr string) (*Expr, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty expression")
	}
	if len(expr) > MaxExprLen {
		return nil, fmt.Errorf("expression is longer than %d characters", MaxExprLen)
	}
	env, err := e.env()
	if err != nil {
		return nil, fmt.Errorf("create expression environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, issueError(iss)
	}
	prg, err := env.Program(checked, cel.CostLimit(e.costLimit))
	if err != nil {
		return nil, fmt.Errorf("plan expression: %w", err)
	}
	return &Expr{text: expr, ast: checked, prg: prg}, nil
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

func (x *Expr) eval(vars map[string]any) (ref.Val, error) {
	out, _, err := x.prg.Eval(vars)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", x.text, err)
	}
	return out, nil
}

// Eval evaluates the expression to plain Go (see the package doc).
func (x *Expr) Eval(vars map[string]any) (any, error) {
	out, err := x.eval(vars)
	if err != nil {
		return nil, err
	}
	v, err := toGo(out)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", x.text, err)
	}
	return v, nil
}

// EvalBool compiles (once) and evaluates a condition, which must give a bool.
func (e *Engine) EvalBool(expr string, vars map[string]any) (bool, error) {
	x, err := e.Compile(expr)
	if err != nil {
		return false, fmt.Errorf("compile %q: %w", expr, err)
	}
	out, err := x.eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: got %s, want a bool", expr, out.Type().TypeName())
	}
	return bool(b), nil
}
