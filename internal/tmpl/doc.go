// Package tmpl is quench's one `${{ expr }}` template engine: CEL
// expressions compiled once per text against an environment the caller
// declares (runbooks: params, incident, steps; alert routes: alert), and
// templates that keep an expression's type when they are nothing else
// ("${{ params.limit }}" is an int) and write text when they are
// interpolated ("role ${{ params.role }}").
//
// It owns the template syntax, compiling and caching, cost limits,
// converting CEL values to plain Go (string, int, float64, bool, nil,
// []any, map[string]any), how interpolated values are written as text, and
// map iteration in key order so that a workflow replays the same result.
//
// Which variables exist and what references to them mean belong to the
// caller. It imports only the standard library and cel-go: no Temporal, no
// AWS, no Slack, no YAML.
package tmpl
