package runbooks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const header = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: demo
  severity: high
`

func TestLoadReportsProblemsWithPositions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every error line, in order
	}{
		{
			name: "unknown step field suggests the right one",
			yaml: header + `steps:
  - id: first
    acton: core.log
`,
			want: []string{
				`x.yaml:7:5: step "first" needs exactly one of action, approval, notify or wait`,
				`x.yaml:8:5: unknown field "acton" in step "first" (did you mean "action"?)`,
			},
		},
		{
			name: "unknown top-level field",
			yaml: header + `stepz: []
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{`x.yaml:6:1: unknown field "stepz" in runbook (did you mean "steps"?)`},
		},
		{
			name: "wrong type",
			yaml: `apiVersion: quench/v1
kind: Runbook
metadata:
  name: [demo]
  severity: high
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{`x.yaml:4:9: "name" must be a string, got a list`},
		},
		{
			name: "bad duration",
			yaml: header + `approvals:
  approvers: {cli_users: [alice]}
  timeout: 15 minutes
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{`x.yaml:8:12: "timeout": invalid duration "15 minutes" (use e.g. "30s", "15m", "1h30m")`},
		},
		{
			name: "duration given as a number",
			yaml: header + `steps:
  - id: a
    wait: {duration: 900}
`,
			want: []string{`x.yaml:8:22: "duration" must be a duration such as "30s", "15m" or "1h", got the integer 900`},
		},
		{
			name: "duplicate key",
			yaml: header + `steps:
  - id: a
    action: core.log
    action: core.fail
    with: {message: hi}
`,
			want: []string{`x.yaml:9:5: duplicate field "action" in step "a" (first set at line 8)`},
		},
		{
			name: "duplicate step id",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: one}
  - id: a
    action: core.log
    with: {message: two}
`,
			want: []string{`x.yaml:10:9: duplicate step id "a" (first used by step 1 at line 7)`},
		},
		{
			name: "unknown action",
			yaml: header + `steps:
  - id: a
    action: iam.revoke_everything
`,
			want: []string{`x.yaml:8:13: unknown action "iam.revoke_everything"`},
		},
		{
			name: "undo-only action may not be named",
			yaml: header + `steps:
  - id: a
    action: core.unrecord
    with: {key: k}
`,
			want: []string{`x.yaml:8:13: unknown action "core.unrecord"`},
		},
		{
			name: "unknown argument",
			yaml: header + `steps:
  - id: a
    action: core.log
    with:
      mesage: hi
`,
			want: []string{
				`x.yaml:8:13: action core.log needs argument "message"`,
				`x.yaml:10:7: action core.log has no argument "mesage" (did you mean "message"?) (it takes message)`,
			},
		},
		{
			name: "missing required argument",
			yaml: header + `steps:
  - id: a
    action: core.record
    with: {key: k}
`,
			want: []string{`x.yaml:8:13: action core.record needs argument "value"`},
		},
		{
			name: "literal argument of the wrong type, bad duration and enum",
			yaml: header + `steps:
  - id: a
    action: fake.limit_concurrency
    with:
      function_name: fn
      concurrency: lots
      hold: 10 minutes
  - id: b
    action: fake.deny_role_actions
    with: {role_name: r, actions: 'bedrock:*', mode: block}
`,
			want: []string{
				`x.yaml:11:20: action fake.limit_concurrency: argument "concurrency" must be an integer, got the string "lots"`,
				`x.yaml:12:13: action fake.limit_concurrency: argument "hold": invalid duration "10 minutes" (use e.g. "30s", "15m", "1h")`,
				`x.yaml:15:35: action fake.deny_role_actions: argument "actions" must be a list, got the string "bedrock:*"`,
				`x.yaml:15:54: action fake.deny_role_actions: argument "mode" must be one of deny, audit, got "block"`,
			},
		},
		{
			name: "reference to a later step",
			yaml: header + `steps:
  - id: first
    action: core.log
    when: steps.second.changed
    with: {message: hi}
  - id: second
    action: core.log
    with: {message: 'after ${{ steps.first.output.x }}'}
`,
			want: []string{`x.yaml:9:11: expression "steps.second.changed" refers to step "second", which runs later (step 2); a step can only use steps before it`},
		},
		{
			name: "reference to an unknown step inside a template",
			yaml: header + `steps:
  - id: first
    action: core.log
    with: {message: 'saw ${{ steps.nope.output.count }} calls'}
`,
			want: []string{`x.yaml:9:21: expression "steps.nope.output.count" refers to unknown step "nope"`},
		},
		{
			name: "reference to an undeclared param",
			yaml: header + `params:
  role: {type: string}
steps:
  - id: a
    action: core.log
    with: {message: 'role ${{ params.rol }}'}
`,
			want: []string{`x.yaml:11:21: expression "params.rol" refers to undeclared param "rol" (did you mean "role"?)`},
		},
		{
			name: "bad CEL syntax",
			yaml: header + `steps:
  - id: a
    action: core.log
    when: 'params.x =='
    with: {message: hi}
`,
			want: []string{`x.yaml:9:11: invalid expression "params.x ==": Syntax error: mismatched input '<EOF>' expecting`},
		},
		{
			name: "when that is not a bool",
			yaml: header + `steps:
  - id: a
    action: core.log
    when: '"yes"'
    with: {message: hi}
`,
			want: []string{`x.yaml:9:11: when: expression "\"yes\"" is a string, not a bool`},
		},
		{
			name: "unterminated template",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: 'hi ${{ params.x'}
`,
			want: []string{`x.yaml:9:21: unterminated ${{ in "hi ${{ params.x": add the closing }}`},
		},
		{
			name: "bad pattern and default",
			yaml: header + `params:
  role: {type: string, pattern: '^[a-z+$'}
  count: {type: int, default: many}
  mode: {type: string, enum: [a, b], default: c}
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{
				"x.yaml:7:33: param \"role\": invalid pattern \"^[a-z+$\": error parsing regexp: missing closing ]: `[a-z+$`",
				`x.yaml:8:31: default: param "count" must be an integer, got the string "many"`,
				`x.yaml:9:47: default: param "mode" must be one of a, b, got "c"`,
			},
		},
		{
			name: "header values",
			yaml: `apiVersion: quench/v2
kind: Playbook
metadata: {name: Demo_1, severity: urgent}
steps:
  - {id: Bad_ID, action: core.log, with: {message: hi}}
on_resolve: forget
`,
			want: []string{
				`x.yaml:1:13: apiVersion must be "quench/v1", got "quench/v2"`,
				`x.yaml:2:7: kind must be "Runbook", got "Playbook"`,
				`x.yaml:3:18: metadata.name "Demo_1" must be lower-case letters, digits and dashes (at most 64)`,
				`x.yaml:3:36: severity must be one of low, medium, high, critical, got "urgent"`,
				`x.yaml:5:10: step id "Bad_ID" must be lower-case letters, digits and dashes (at most 64)`,
				`x.yaml:6:13: on_resolve must be one of rollback, keep, ask, got "forget"`,
			},
		},
		{
			name: "two kinds in one step",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: hi}
    wait: {duration: 1m}
`,
			want: []string{`x.yaml:10:5: step "a" has both action and wait; a step does exactly one of action, approval, notify or wait`},
		},
		{
			name: "fields that do not apply to the step kind",
			yaml: header + `approvals:
  approvers: {cli_users: [alice]}
steps:
  - id: a
    approval: {message: 'ok?'}
    timeout: 5m
    with: {x: 1}
`,
			want: []string{
				`x.yaml:11:5: "timeout" does not apply to approval steps (set approval.timeout instead)`,
				`x.yaml:12:5: "with" does not apply to approval steps`,
			},
		},
		{
			name: "second YAML document",
			yaml: header + `steps:
  - {id: a, action: core.log, with: {message: hi}}
---
kind: Runbook
`,
			want: []string{`x.yaml:8:1: a runbook file holds one YAML document; found a second one (remove the "---" separator or split the file)`},
		},
		{
			name: "YAML syntax error",
			yaml: header + `steps:
  - id: a
   action: core.log
`,
			want: []string{`x.yaml:6: invalid YAML: did not find expected '-' indicator`},
		},
		{
			name: "aliases are refused",
			yaml: header + `approvals:
  approvers: &people {cli_users: [alice]}
  escalate: {after: 5m, to: *people}
  on_timeout: escalate
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{`x.yaml:8:29: YAML aliases (*people) are not supported in runbooks; write the value out`},
		},
		{
			name: "missing required sections",
			yaml: `apiVersion: quench/v1
kind: Runbook
`,
			want: []string{
				`x.yaml:1:1: missing required field "metadata"`,
				`x.yaml:1:1: missing required field "steps"`,
			},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{`x.yaml:1:1: empty runbook: expected a mapping with apiVersion, kind, metadata and steps`},
		},
		{
			name: "min_approvals zero is refused, not read as none needed",
			yaml: header + `approvals:
  approvers: {cli_users: [alice]}
  min_approvals: 0
steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: []string{`x.yaml:8:18: "min_approvals" must be at least 1, got 0`},
		},
		{
			name: "bad enumerated step fields",
			yaml: header + `approvals:
  approvers: {cli_users: [alice]}
steps:
  - id: a
    action: core.log
    with: {message: hi}
    on_error: ignore
  - id: b
    approval: {message: 'ok?'}
    on_deny: approve
`,
			want: []string{
				`x.yaml:12:15: on_error must be one of fail, continue, escalate, got "ignore"`,
				`x.yaml:15:14: on_deny must be one of stop, continue, got "approve"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(tt.yaml), newTestCatalog())
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestApprovalPolicies(t *testing.T) {
	tests := []struct {
		name      string
		approvals string // runbook-level block, may be empty
		step      string // the approval step's approval: mapping
		want      string // "" means valid
	}{
		{"runbook default is enough", "approvals:\n  approvers: {cli_users: [alice]}\n", "{message: 'ok?'}", ""},
		{"step supplies approvers", "", "{message: 'ok?', approvers: {slack_groups: [S1]}}", ""},
		{"nobody to approve", "", "{message: 'ok?'}", `x.yaml:8:15: approval step "gate" has no approvers`},
		{"step approvers replace an empty default", "approvals:\n  timeout: 5m\n", "{message: 'ok?', approvers: {cli_users: [bob]}}", ""},
		{"more approvals than people", "approvals:\n  approvers: {cli_users: [alice], slack_users: [U1]}\n", "{message: 'ok?', min_approvals: 3}", `approval step "gate" needs 3 approvals but only 2 approvers are listed`},
		{"groups make the count unknowable", "approvals:\n  approvers: {slack_groups: [S1]}\n  min_approvals: 3\n", "{message: 'ok?'}", ""},
		{"on_timeout approve is refused", "approvals:\n  approvers: {cli_users: [alice]}\n  on_timeout: approve\n", "{message: 'ok?'}", `x.yaml:11:15: on_timeout must be one of escalate, deny, got "approve" (an approval is never granted by a clock)`},
		{"escalate needs somewhere to go", "approvals:\n  approvers: {cli_users: [alice]}\n  on_timeout: escalate\n", "{message: 'ok?'}", `escalates on timeout but says nowhere whom to`},
		{"escalation after the timeout never happens", "approvals:\n  approvers: {cli_users: [alice]}\n  timeout: 10m\n  on_timeout: escalate\n  escalate: {after: 10m, to: {cli_users: [bob]}}\n", "{message: 'ok?'}", `escalates after 10m0s, which is not before its timeout of 10m0s`},
		{"step timeout shortens below the escalation", "approvals:\n  approvers: {cli_users: [alice]}\n  on_timeout: escalate\n  escalate: {after: 10m, to: {cli_users: [bob]}}\n", "{message: 'ok?', timeout: 5m}", `escalates after 10m0s, which is not before its timeout of 5m0s`},
		{"escalation to nobody", "approvals:\n  approvers: {cli_users: [alice]}\n  escalate: {after: 5m, to: {}}\n", "{message: 'ok?'}", `escalates to nobody`},
		{"escalation with no time and deny on timeout", "approvals:\n  approvers: {cli_users: [alice]}\n  escalate: {to: {cli_users: [bob]}}\n", "{message: 'ok?'}", `escalates but says not when`},
		{"escalation at the timeout", "approvals:\n  approvers: {cli_users: [alice]}\n  on_timeout: escalate\n  escalate: {to: {cli_users: [bob]}}\n", "{message: 'ok?'}", ""},
		{"a good escalation", "approvals:\n  approvers: {cli_users: [alice]}\n  on_timeout: escalate\n  escalate: {after: 5m, to: {slack_users: [U2]}}\n", "{message: 'ok?'}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The approvals block goes last so the step stays on line 8.
			doc := header + "steps:\n  - id: gate\n    approval: " + tt.step + "\n" + tt.approvals
			_, err := Load("x.yaml", []byte(doc), newTestCatalog())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v\n%s", err, doc)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q\n%s", err, tt.want, doc)
			}
		})
	}
}

func TestEffectivePolicy(t *testing.T) {
	no := false
	rb := &Runbook{Approvals: &ApprovalPolicy{
		Approvers:         Approvers{CLIUsers: []string{"alice"}},
		AllowSelfApproval: true,
		Timeout:           Duration(20 * time.Minute),
	}}
	t.Run("defaults fill what neither sets", func(t *testing.T) {
		p := EffectivePolicy(rb, Step{ID: "a", Approval: &ApprovalStep{}})
		if p.MinApprovals != 1 || p.OnTimeout != "deny" || p.Timeout.D() != 20*time.Minute || !p.AllowSelfApproval {
			t.Fatalf("got %+v", p)
		}
		if got := EffectivePolicy(&Runbook{}, Step{Approval: &ApprovalStep{}}).Timeout.D(); got != 15*time.Minute {
			t.Fatalf("default timeout %s, want 15m", got)
		}
	})
	t.Run("step overrides the runbook", func(t *testing.T) {
		p := EffectivePolicy(rb, Step{ID: "a", Approval: &ApprovalStep{
			Approvers:         &Approvers{SlackUsers: []string{"U1"}},
			MinApprovals:      2,
			AllowSelfApproval: &no,
			Timeout:           Duration(time.Minute),
			OnTimeout:         "escalate",
		}})
		if len(p.Approvers.CLIUsers) != 0 || p.Approvers.SlackUsers[0] != "U1" || p.MinApprovals != 2 || p.AllowSelfApproval || p.Timeout.D() != time.Minute || p.OnTimeout != "escalate" {
			t.Fatalf("got %+v", p)
		}
	})
	t.Run("result does not alias the runbook", func(t *testing.T) {
		p := EffectivePolicy(rb, Step{Approval: &ApprovalStep{}})
		p.Approvers.CLIUsers[0] = "mallory"
		if rb.Approvals.Approvers.CLIUsers[0] != "alice" {
			t.Fatal("changing the effective policy changed the runbook")
		}
	})
}

func TestParseDefaultsAndOrder(t *testing.T) {
	rb, err := Parse("x.yaml", []byte(header+`params:
  zeta: {type: string}
  alpha: {type: int, default: 3}
approvals:
  approvers: {cli_users: [alice]}
steps:
  - id: log
    action: core.log
    with: {message: hi}
  - id: gate
    approval: {message: 'ok?'}
`))
	if err != nil {
		t.Fatal(err)
	}
	if rb.OnResolve != "rollback" || rb.Steps[0].OnError != "fail" || rb.Steps[1].OnDeny != "stop" || rb.Steps[0].OnDeny != "" {
		t.Fatalf("defaults not applied: on_resolve %q, on_error %q, on_deny %q/%q", rb.OnResolve, rb.Steps[0].OnError, rb.Steps[1].OnDeny, rb.Steps[0].OnDeny)
	}
	if strings.Join(rb.ParamOrder, ",") != "zeta,alpha" {
		t.Fatalf("ParamOrder = %v, want declaration order", rb.ParamOrder)
	}
	if rb.Steps[0].Line != 12 || rb.Steps[1].Line != 15 {
		t.Fatalf("step lines %d, %d; want 12, 15", rb.Steps[0].Line, rb.Steps[1].Line)
	}
	if rb.Params["alpha"].Default != 3 {
		t.Fatalf("default = %#v, want int 3", rb.Params["alpha"].Default)
	}
}

func TestValidateWithoutSourcePointsAtTheStep(t *testing.T) {
	rb, err := Parse("x.yaml", []byte(header+`steps:
  - id: a
    action: core.nope
`))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(rb, newTestCatalog())
	if err == nil || err.Error() != `x.yaml:7: unknown action "core.nope"` {
		t.Fatalf("got %v", err)
	}
}

func TestCheckArgs(t *testing.T) {
	spec, _ := newTestCatalog().Action("fake.limit_concurrency")
	tests := []struct {
		name string
		args map[string]any
		want string
	}{
		{"rendered values of the right types", map[string]any{"function_name": "fn", "concurrency": 0, "hold": "5m", "tags": map[string]any{}}, ""},
		{"json numbers count as ints when whole", map[string]any{"function_name": "fn", "concurrency": float64(3)}, ""},
		{"fractions do not", map[string]any{"function_name": "fn", "concurrency": 2.5}, `argument "concurrency" must be an integer, got the number 2.5`},
		{"missing and unknown", map[string]any{"concurrency": 1, "functon": "x"}, `arguments of action fake.limit_concurrency: unknown argument "functon"; missing argument "function_name"`},
		{"left-over template", map[string]any{"function_name": "${{ params.fn }}", "concurrency": 1}, `argument "function_name" still holds an unrendered ${{ }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckArgs(spec, tt.args)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateMoreRules(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "unknown incident field",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: 'sev ${{ incident.severty }}'}
`,
			want: `x.yaml:9:21: expression "incident.severty" refers to unknown incident field "severty" (did you mean "severity"?) (incident has id, severity, source, requester, runbook, labels, alerts, dry_run)`,
		},
		{
			name: "escalating a failure needs someone to escalate to",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: hi}
    on_error: escalate
`,
			want: `x.yaml:10:15: step "a" escalates on error, but the runbook's approvals block lists no approvers to escalate to`,
		},
		{
			name: "when wrapped in a template",
			yaml: header + `steps:
  - id: a
    action: core.log
    when: '${{ incident.severity == "high" }}'
    with: {message: hi}
`,
			want: `x.yaml:9:11: when: is an expression already; write "incident.severity == \"high\"" without ${{ }}`,
		},
		{
			name: "has() on a later step",
			yaml: header + `steps:
  - id: a
    action: core.log
    when: has(steps.b.output.x)
    with: {message: hi}
  - {id: b, action: core.log, with: {message: hi}}
`,
			want: `x.yaml:9:11: expression "has(steps.b.output.x)" refers to step "b", which runs later (step 2); a step can only use steps before it`,
		},
		{
			name: "nil catalog knows no actions",
			yaml: header + `steps:
  - {id: a, action: core.log, with: {message: hi}}
`,
			want: `x.yaml:7:21: no action catalog to check action "core.log" against`,
		},
		{
			name: "retry bounds",
			yaml: header + `steps:
  - id: a
    action: core.log
    with: {message: hi}
    retry: {max_attempts: 3, initial_interval: 10s, maximum_interval: 1s, backoff_coefficient: 0.5}
`,
			want: "x.yaml:10:71: maximum_interval 1s is shorter than initial_interval 10s\nx.yaml:10:96: backoff_coefficient must be at least 1, got 0.5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cat Catalog = newTestCatalog()
			if strings.HasPrefix(tt.name, "nil catalog") {
				cat = nil
			}
			_, err := Load("x.yaml", []byte(tt.yaml), cat)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
