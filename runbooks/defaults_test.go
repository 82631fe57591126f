package runbooks

import (
	"encoding/json"
	"testing"
)

func TestReadOnlyActionsContinueOnErrorByDefault(t *testing.T) {
	rb, err := Load("x.yaml", []byte(header+`approvals:
  approvers: {cli_users: [alice]}
steps:
  - {id: evidence, action: core.log, with: {message: read}}
  - {id: must-read, action: core.log, with: {message: read}, on_error: fail}
  - {id: escalating-read, action: core.log, with: {message: read}, on_error: escalate}
  - {id: contain, action: fake.deny_role_actions, with: {role_name: r, actions: ['bedrock:Invoke*']}}
  - {id: contain-anyway, action: fake.deny_role_actions, with: {role_name: r, actions: ['s3:*']}, on_error: continue}
  - {id: gate, approval: {message: 'ok?'}}
  - {id: tell, notify: {message: done}}
`), newTestCatalog())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"evidence":        "continue", // read-only, unset: evidence never blocks containment
		"must-read":       "fail",     // said so
		"escalating-read": "escalate",
		"contain":         "fail", // mutating, unset: a failed containment stops
		"contain-anyway":  "continue",
		"gate":            "fail", // the parser's default; approvals do not fail
		"tell":            "fail",
	}
	for _, s := range rb.Steps {
		if s.OnError != want[s.ID] {
			t.Errorf("step %s: on_error %q, want %q", s.ID, s.OnError, want[s.ID])
		}
	}

	// The workflow receives the runbook as JSON: the default travels with it.
	b, err := json.Marshal(rb)
	if err != nil {
		t.Fatal(err)
	}
	var round Runbook
	if err := json.Unmarshal(b, &round); err != nil {
		t.Fatal(err)
	}
	if round.Steps[0].OnError != ReadOnlyOnError {
		t.Errorf("after a JSON round trip on_error is %q, want %q", round.Steps[0].OnError, ReadOnlyOnError)
	}
}

func TestActionDefaultsWithoutPositions(t *testing.T) {
	rb := &Runbook{Steps: []Step{
		{ID: "read", Action: "core.log"},
		{ID: "read-fail", Action: "core.log", OnError: "fail"},
		{ID: "write", Action: "core.record"},
		{ID: "unknown", Action: "fake.nothing"},
	}}
	applyActionDefaults(rb, newTestCatalog(), nil)
	for i, want := range []string{"continue", "fail", "fail", ""} {
		if got := rb.Steps[i].OnError; got != want {
			t.Errorf("step %s: on_error %q, want %q", rb.Steps[i].ID, got, want)
		}
	}
}
