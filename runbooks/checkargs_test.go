package runbooks

import (
	"strings"
	"testing"
)

// The worker runs CheckArgs before every action, so each rule here is one
// an action no longer checks by hand.
func TestCheckArgsSpecRules(t *testing.T) {
	spec, _ := newTestCatalog().Action("fake.throttle")
	ok := map[string]any{"plan": "p1", "rate": 0.5, "note": "x"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range ok {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		args map[string]any
		want string // "" for no error
	}{
		{"valid", ok, ""},
		{"a number may be fractional, whole or a numeric string", with("rate", "2.5"), ""},
		{"an int given as a whole JSON number", with("burst", float64(3)), ""},
		{"blank required string", with("plan", "  "), `argument "plan" is required and must not be blank`},
		{"blank required any", with("note", ""), `argument "note" is required and must not be blank`},
		{"missing required", with("plan", nil), `missing argument "plan"`},
		{"number below its minimum", with("rate", -1), `argument "rate" must be 0 or more, got -1`},
		{"int below its minimum", with("burst", -2), `argument "burst" must be 0 or more, got -2`},
		{"not a number", with("rate", "fast"), `argument "rate" must be a number, got the string "fast"`},
		{"list items outside the enum", with("filters", []any{"HATE", "hate"}), `argument "filters" (item 2) must be one of HATE, VIOLENCE, got "hate"`},
		{"list items must be strings when there is an enum", with("filters", []any{1}), `argument "filters" must be a list of HATE, VIOLENCE; item 1 is the integer 1`},
		{"list items in the enum", with("filters", []string{"VIOLENCE"}), ""},
		{"unknown argument suggests the known one", with("rates", 1), `unknown argument "rates" (did you mean "rate"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckArgs(spec, tt.args)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// The validator applies the same rules to literal arguments, with positions.
func TestValidatorChecksMinimumsEnumsAndBlankRequiredArguments(t *testing.T) {
	_, err := Load("x.yaml", []byte(header+`steps:
  - id: t
    action: fake.throttle
    with: {plan: " ", rate: -1, filters: [HATE, SEXUAL], note: n}
`), newTestCatalog())
	if err == nil {
		t.Fatal("runbook with a blank plan, a negative rate and an unknown filter validated")
	}
	for _, want := range []string{
		`x.yaml:9:`, `argument "plan" is required and must not be blank`,
		`argument "rate" must be 0 or more, got -1`,
		`argument "filters" (item 2) must be one of HATE, VIOLENCE, got "SEXUAL"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
