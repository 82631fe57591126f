package tmpl

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Template markers: ${{ expr }}.
const (
	Open  = "${{"
	Close = "}}"
)

// Has reports whether s contains a ${{ template.
func Has(s string) bool { return strings.Contains(s, Open) }

// Part is literal text or an expression in a template string.
type Part struct {
	Text string
	Expr bool
}

// Split cuts a string into text and ${{ expr }} parts. An expression ends
// at the first "}}".
func Split(s string) ([]Part, error) {
	var parts []Part
	rest := s
	for {
		i := strings.Index(rest, Open)
		if i < 0 {
			if rest != "" || len(parts) == 0 {
				parts = append(parts, Part{Text: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, Part{Text: rest[:i]})
		}
		rest = rest[i+len(Open):]
		j := strings.Index(rest, Close)
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${{ in %q: add the closing }}", s)
		}
		expr := strings.TrimSpace(rest[:j])
		if expr == "" {
			return nil, fmt.Errorf("empty ${{ }} in %q", s)
		}
		parts = append(parts, Part{Text: expr, Expr: true})
		rest = rest[j+len(Close):]
	}
}

// Template is a string with its ${{ }} expressions compiled.
type Template struct {
	parts []part
}

type part struct {
	text string
	x    *Expr // nil for literal text
}

// Parse compiles every expression in a template string.
func (e *Engine) Parse(s string) (*Template, error) {
	parts, err := Split(s)
	if err != nil {
		return nil, err
	}
	t := &Template{parts: make([]part, len(parts))}
	for i, p := range parts {
		t.parts[i].text = p.Text
		if p.Expr {
			if t.parts[i].x, err = e.Compile(p.Text); err != nil {
				return nil, fmt.Errorf("compile %q: %w", p.Text, err)
			}
		}
	}
	return t, nil
}

// Render evaluates the template. A template that is exactly one
// expression gives the expression's value as plain Go; one with text
// around it, or several expressions, gives text (see Text).
func (t *Template) Render(vars map[string]any) (any, error) {
	if len(t.parts) == 1 && t.parts[0].x != nil {
		return t.parts[0].x.Eval(vars)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.x == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.x.Eval(vars)
		if err != nil {
			return nil, err
		}
		b.WriteString(Text(v))
	}
	return b.String(), nil
}

// Text formats a value the way interpolation writes it into text:
// scalars as themselves, null as nothing, lists and maps as JSON.
func Text(v any) string {
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

// CompileValue returns v with every string that holds a ${{ template
// replaced by its *Template, walking maps and lists, so a configuration is
// checked once when it is loaded. Other values are kept as they are.
func (e *Engine) CompileValue(v any) (any, error) {
	return walk(v, func(leaf any) (any, error) {
		if s, ok := leaf.(string); ok && Has(s) {
			return e.Parse(s)
		}
		return leaf, nil
	})
}

// RenderValue evaluates the templates in a value CompileValue returned.
func RenderValue(v any, vars map[string]any) (any, error) {
	return walk(v, func(leaf any) (any, error) {
		if t, ok := leaf.(*Template); ok {
			return t.Render(vars)
		}
		return leaf, nil
	})
}

// Render resolves the templates in a value at once: CompileValue, then
// RenderValue. The input is not modified.
func (e *Engine) Render(v any, vars map[string]any) (any, error) {
	c, err := e.CompileValue(v)
	if err != nil {
		return nil, err
	}
	return RenderValue(c, vars)
}

// walk copies maps and lists, applying leaf to everything else. Errors
// say where: "args: [1]: ...".
func walk(v any, leaf func(any) (any, error)) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) { // the first error is the same every time
			r, err := walk(v[k], leaf)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			r, err := walk(item, leaf)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return leaf(v)
}
