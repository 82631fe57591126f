package alerts

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"

	"github.com/quenchhq/quench/runbooks"
)

// Route params and dedup keys are `${{ expr }}` templates over one variable,
// `alert` (source, name, status, fingerprint, finding_type, labels,
// annotations, summary, starts_at). runbooks.Render only knows params,
// incident and steps, so this is a small CEL environment of its own with
// the same template syntax.

const (
	exprCostLimit = 100_000
	maxExprLen    = 4096
	openTmpl      = "${{"
	closeTmpl     = "}}"
)

var alertEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("alert", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
	)
})

// template is a string with zero or more compiled ${{ }} expressions.
type template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	text string
	prg  cel.Program // nil for literal text
}

// compileTemplate parses and type-checks every expression in s.
func compileTemplate(s string) (*template, error) {
	t := &template{src: s}
	rest := s
	for {
		i := strings.Index(rest, openTmpl)
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tmplPart{text: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{text: rest[:i]})
		}
		rest = rest[i+len(openTmpl):]
		j := strings.Index(rest, closeTmpl)
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${{ in %q: add the closing }}", s)
		}
		expr := strings.TrimSpace(rest[:j])
		prg, err := compileExpr(expr)
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, tmplPart{text: expr, prg: prg})
		rest = rest[j+len(closeTmpl):]
	}
}

func compileExpr(expr string) (cel.Program, error) {
	if expr == "" {
		return nil, errors.New("empty ${{ }} expression")
	}
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("expression is longer than %d characters", maxExprLen)
	}
	env, err := alertEnv()
	if err != nil {
		return nil, fmt.Errorf("create expression environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		msgs := make([]string, 0, len(iss.Errors()))
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("%s (at column %d of %q)", e.Message, e.Location.Column()+1, expr))
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	prg, err := env.Program(checked, cel.CostLimit(exprCostLimit))
	if err != nil {
		return nil, fmt.Errorf("plan expression %q: %w", expr, err)
	}
	return prg, nil
}

// eval renders the template for an alert. A template that is exactly one
// expression keeps the expression's type (string, int, float64, bool,
// list); otherwise the parts are joined as text.
func (t *template) eval(alert map[string]any) (any, error) {
	act := map[string]any{"alert": alert}
	if len(t.parts) == 1 && t.parts[0].prg != nil {
		return evalPart(t.parts[0], act)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prg == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := evalPart(p, act)
		if err != nil {
			return nil, err
		}
		b.WriteString(runbooks.InterpolatedText(v))
	}
	return b.String(), nil
}

func evalPart(p tmplPart, act map[string]any) (any, error) {
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", p.text, err)
	}
	v, err := native(out)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", p.text, err)
	}
	return v, nil
}

// native converts a CEL result into the plain Go values runbook params use.
func native(v ref.Val) (any, error) {
	switch v := v.(type) {
	case types.String:
		return string(v), nil
	case types.Int:
		return int(v), nil
	case types.Uint:
		return int(v), nil
	case types.Double:
		return float64(v), nil
	case types.Bool:
		return bool(v), nil
	case types.Null:
		return nil, nil
	}
	if l, ok := v.(traits.Lister); ok {
		n, _ := l.Size().(types.Int)
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			item, err := native(l.Get(i))
			if err != nil {
				return nil, fmt.Errorf("list item %d: %w", i, err)
			}
			out = append(out, item)
		}
		return out, nil
	}
	return nil, fmt.Errorf("result of type %s is not a string, number, bool or list", v.Type().TypeName())
}
