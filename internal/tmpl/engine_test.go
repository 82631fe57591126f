package tmpl

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

// An engine like the alert routes': one variable.
var testEngine = New(100_000, cel.Variable("alert", cel.MapType(cel.StringType, cel.DynType)))

func alertVars() map[string]any {
	return map[string]any{"alert": map[string]any{
		"name":   "BedrockTokenSpike",
		"labels": map[string]string{"model": "claude", "env": "prod", "app": "chat"},
	}}
}

func TestRenderKeepsTypesAndInterpolatesText(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"plain text", "no templates", "no templates"},
		{"whole template keeps its type", "${{ size(alert.labels) }}", 3},
		{"interpolated text", "model=${{ alert.labels.model }}", "model=claude"},
		{"maps iterate in key order", "${{ alert.labels.map(k, k) }}", []any{"app", "env", "model"}},
		{"whole template can be a map", "${{ {'n': 1} }}", map[string]any{"n": 1}},
		{"durations are text", "${{ duration('90s') }}", "1m30s"},
		{"timestamps are RFC 3339", "${{ timestamp('2026-01-02T03:04:05Z') }}", "2026-01-02T03:04:05Z"},
		{"maps and lists are walked", map[string]any{"a": []any{"${{ alert.name }}", 2}}, map[string]any{"a": []any{"BedrockTokenSpike", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testEngine.CompileValue(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RenderValue(c, alertVars())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestErrorsSayWhatAndWhere(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"syntax", "${{ alert.name + }}", `compile "alert.name +": Syntax error`},
		{"undeclared variable", "${{ params.x }}", `compile "params.x": undeclared reference to 'params'`},
		{"unterminated", "x ${{ alert.name", `unterminated ${{ in "x ${{ alert.name": add the closing }}`},
		{"empty", "${{ }}", `empty ${{ }}`},
		{"path in a value", map[string]any{"k": []any{"ok", "${{ ) }}"}}, `k: [1]: compile ")"`},
		{"uint overflow", "${{ 18446744073709551615u }}", `unsigned value 18446744073709551615 does not fit an int`},
		{"runtime", "${{ alert.labels.nope }}", `evaluate "alert.labels.nope": no such key: nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testEngine.Render(tt.in, alertVars())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %#v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	if ok, err := testEngine.EvalBool(`alert.labels.env == "prod" && size(alert.name) > 1.5`, alertVars()); err != nil || !ok {
		t.Fatalf("got %v, %v", ok, err)
	}
	if _, err := testEngine.EvalBool(`alert.name`, alertVars()); err == nil || !strings.Contains(err.Error(), "got string, want a bool") {
		t.Fatalf("got %v", err)
	}
}

func TestTextWritesValuesLikeInterpolation(t *testing.T) {
	for in, want := range map[any]string{nil: "", "s": "s", 3: "3", 0.5: "0.5", true: "true"} {
		if got := Text(in); got != want {
			t.Errorf("Text(%#v) = %q, want %q", in, got, want)
		}
	}
	if got := Text([]any{"a", 1}); got != `["a",1]` {
		t.Errorf("Text(list) = %q", got)
	}
}

// BenchmarkCompile shows what the cache saves per expression.
func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		if _, err := testEngine.build(`alert.labels.env == "prod" && size(alert.name) > 2`); err != nil {
			b.Fatal(err)
		}
	}
}
