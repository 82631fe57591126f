package runbooks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func testVars() Vars {
	return Vars{
		Params: map[string]any{"role": "chatbot-exec", "limit": 5, "regions": []any{"us-east-1", "eu-west-1"}, "dry": false},
		Incident: map[string]any{
			"id": "inc-42", "severity": "high", "source": "alertmanager",
			"labels": map[string]string{"team": "ml", "env": "prod", "app": "chat"},
		},
		Steps: map[string]any{
			"deny": map[string]any{
				"output":   map[string]any{"policy": "quench-inc-42", "count": 3, "ratio": 0.5, "keys": []any{"a", "b"}},
				"approved": false, "changed": true, "state": "succeeded",
			},
			"gate": map[string]any{"output": map[string]any{}, "approved": true, "changed": false, "state": "approved"},
		},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"plain text is untouched", "no templates here", "no templates here"},
		{"whole template keeps a string", "${{ params.role }}", "chatbot-exec"},
		{"whole template keeps an int", "${{ params.limit * 2 }}", 10},
		{"whole template keeps a bool", "${{ steps.gate.approved }}", true},
		{"whole template keeps a float", "${{ steps.deny.output.ratio }}", 0.5},
		{"whole template keeps a list", "${{ params.regions }}", []any{"us-east-1", "eu-west-1"}},
		{"whole template keeps a map", "${{ {'a': params.limit} }}", map[string]any{"a": 5}},
		{"null becomes nil", "${{ null }}", nil},
		{"interpolation gives text", "role ${{ params.role }} x${{ params.limit }}", "role chatbot-exec x5"},
		{"interpolated lists are JSON", "regions=${{ params.regions }}", `regions=["us-east-1","eu-west-1"]`},
		{"interpolated null is empty", "[${{ null }}]", "[]"},
		{"space around a template makes it text", " ${{ params.limit }}", " 5"},
		{"two templates are text", "${{ params.limit }}${{ params.limit }}", "55"},
		{"ints from step outputs", "${{ steps.deny.output.count + 1 }}", 4},
		{"map macros iterate in key order", "${{ incident.labels.map(k, k) }}", []any{"app", "env", "team"}},
		{"string extensions", "${{ params.role.upperAscii() }}", "CHATBOT-EXEC"},
		{
			"maps and lists are walked",
			map[string]any{"role_name": "${{ params.role }}", "n": 1, "actions": []any{"bedrock:${{ 'Invoke' }}*", true}},
			map[string]any{"role_name": "chatbot-exec", "n": 1, "actions": []any{"bedrock:Invoke*", true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.in, testVars())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRenderDoesNotModifyItsInput(t *testing.T) {
	in := map[string]any{"k": "${{ params.limit }}"}
	if _, err := Render(in, testVars()); err != nil {
		t.Fatal(err)
	}
	if in["k"] != "${{ params.limit }}" {
		t.Fatalf("input changed to %v", in)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"missing output key", "${{ steps.deny.output.missing }}", `evaluate "steps.deny.output.missing": no such key: missing`},
		{"missing step", "x ${{ steps.nope.approved }}", `evaluate "steps.nope.approved": no such key: nope`},
		{"missing param", "${{ params.nope }}", `no such key: nope`},
		{"where in a map", map[string]any{"args": []any{"ok", "${{ params.nope }}"}}, `args: [1]: evaluate "params.nope"`},
		{"syntax", "${{ params. }}", `compile "params."`},
		{"unterminated", "${{ params.role", `unterminated ${{`},
		{"empty", "${{ }}", `empty ${{ }}`},
		{"runtime type error", "${{ params.role + 1 }}", `evaluate "params.role + 1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.in, testVars())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %#v, %v; want error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	tests := []struct {
		expr    string
		want    bool
		wantErr string
	}{
		{`params.role != ""`, true, ""},
		{`steps.gate.approved && steps.deny.changed`, true, ""},
		{`steps.deny.state == "succeeded" && params.limit > 10`, false, ""},
		{`"prod" in incident.labels.map(k, incident.labels[k])`, true, ""},
		{`incident.severity in ["high", "critical"]`, true, ""},
		{`has(steps.deny.output.policy)`, true, ""},
		{`params.limit`, false, `got int, want a bool`},
		{`steps.deny.output.nope == 1`, false, `no such key: nope`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := EvalBool(tt.expr, testVars())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// The workflow gets params and step outputs back from JSON, with every
// number a float64; expressions must work on them as on the originals.
func TestExpressionsAfterJSON(t *testing.T) {
	var v Vars
	b, err := json.Marshal(testVars())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if _, isFloat := v.Params["limit"].(float64); !isFloat {
		t.Fatalf("test premise: limit is %T after JSON", v.Params["limit"])
	}
	got, err := Render(map[string]any{
		"double": "${{ params.limit * 2 }}",
		"next":   "${{ steps.deny.output.count + 1 }}",
		"ratio":  "${{ steps.deny.output.ratio * 2.0 }}",
		"text":   "n=${{ params.limit }}",
	}, v)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"double": 10, "next": 4, "ratio": 1.0, "text": "n=5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	ok, err := EvalBool("steps.deny.output.ratio < 1 && params.limit == 5", v)
	if err != nil || !ok {
		t.Fatalf("EvalBool = %v, %v", ok, err)
	}
}

func TestEvalWithEmptyVars(t *testing.T) {
	got, err := EvalBool(`size(params) == 0 && size(steps) == 0`, Vars{})
	if err != nil || !got {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMapIterationIsDeterministic(t *testing.T) {
	labels := map[string]any{}
	for i := 0; i < 50; i++ {
		labels[fmt.Sprintf("k%02d", i)] = i
	}
	v := Vars{Incident: map[string]any{"labels": labels}}
	first, err := Render("${{ incident.labels.map(k, k).join(',') }}", v)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		again, _ := Render("${{ incident.labels.map(k, k).join(',') }}", v)
		if again != first {
			t.Fatalf("run %d gave %v, first gave %v", i, again, first)
		}
	}
	if !strings.HasPrefix(first.(string), "k00,k01,k02") {
		t.Fatalf("keys not in order: %v", first)
	}
}

func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			expr := fmt.Sprintf("${{ params.limit + %d }}", i%3)
			got, err := Render(expr, testVars())
			if err != nil || got != 5+i%3 {
				t.Errorf("%s = %v, %v", expr, got, err)
			}
		}(i)
	}
	wg.Wait()
}

func BenchmarkRender(b *testing.B) {
	args := map[string]any{
		"role_name": "${{ params.role }}",
		"actions":   []any{"bedrock:Invoke*", "bedrock:Retrieve*"},
		"note":      "incident ${{ incident.id }} (${{ incident.severity }}) policy ${{ steps.deny.output.policy }}",
		"limit":     "${{ params.limit * 2 }}",
	}
	v := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(args, v); err != nil {
			b.Fatal(err)
		}
	}
}
