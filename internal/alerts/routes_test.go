package alerts

import (
	"os"
	"strings"
	"testing"
)

const routesHeader = `apiVersion: quench/v1
kind: Routes
sources:
  alertmanager: {bearer_token_env: AM_TOKEN}
  sns: {topic_arns: ["arn:aws:sns:us-east-1:123456789012:bedrock-alarms"]}
`

func TestRoutesFileErrorsHavePositions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level field", routesHeader + "routes: []\nroute: []\n",
			[]string{`routes.yaml:7:1: unknown field "route" in routing file`}},
		{"unknown field in a route", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x}\n    severty: high\n",
			[]string{`routes.yaml:10:5: unknown field "severty" in route`}},
		{"unknown field in match", routesHeader + "routes:\n  - name: a\n    match: {alarm: x}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:8:13: unknown field "alarm" in route "a" match`}},
		{"unknown runbook", routesHeader + "routes:\n  - name: a\n    runbook: usage-spkie\n",
			[]string{`routes.yaml:8:14: route "a": unknown runbook "usage-spkie"`}},
		{"missing runbook", routesHeader + "routes:\n  - name: a\n    match: {source: sns}\n",
			[]string{`routes.yaml:7:5: missing route "a" runbook`}},
		{"bad regex", routesHeader + "routes:\n  - name: a\n    match: {alarm_name: '/bedrock-(/'}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:8:25: route "a" match.alarm_name: bad regex /bedrock-(/`}},
		{"bad CEL", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: '${{ alert.labels.ModelId + }}'}\n",
			[]string{`routes.yaml:9:24: route "a" param model_id: compile "alert.labels.ModelId +": Syntax error`}},
		{"unterminated template", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x}\n    dedup_key: '${{ alert.name'\n",
			[]string{`routes.yaml:10:16: route "a" dedup_key: unterminated ${{`}},
		{"param the runbook does not take", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x, modle: y}\n",
			[]string{`routes.yaml:9:27: route "a": runbook usage-spike has no param "modle"`}},
		{"required param not mapped", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n",
			[]string{`routes.yaml:7:5: route "a": runbook usage-spike needs param "model_id"`}},
		{"unconfigured source", routesHeader + "routes:\n  - name: a\n    match: {source: generic}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:8:21: route "a": source "generic" is not configured under sources`}},
		{"bad severity and duplicate name", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x}\n    severity: urgent\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:10:15: route "a": severity "urgent" is not one of low, medium, high, critical`, `routes.yaml:11:5: route name "a" is already used on line 7`}},
		{"source with no auth", "apiVersion: quench/v1\nkind: Routes\nsources:\n  generic: {}\nroutes: []\n",
			[]string{`routes.yaml:4:12: source generic needs exactly one of bearer_token_env or hmac_secret_env`}},
		{"sns without topics", "apiVersion: quench/v1\nkind: Routes\nsources:\n  sns: {bearer_token_env: X}\nroutes: []\n",
			[]string{`source sns needs topic_arns`, `source sns is authenticated by its message signature`}},
		{"secret written instead of env name", "apiVersion: quench/v1\nkind: Routes\nsources:\n  generic: {hmac_secret_env: 's3cr3t!value'}\nroutes: []\n",
			[]string{`routes.yaml:4:30: "s3cr3t!value" is not an environment variable name`}},
		{"replay protection without hmac", "apiVersion: quench/v1\nkind: Routes\nsources:\n  generic: {bearer_token_env: X, reject_replays: true}\nroutes: []\n",
			[]string{`routes.yaml:4:50: source generic reject_replays needs hmac_secret_env`}},
		{"replay protection not a bool", "apiVersion: quench/v1\nkind: Routes\nsources:\n  generic: {hmac_secret_env: X, reject_replays: sometimes}\nroutes: []\n",
			[]string{`routes.yaml:4:49: source generic reject_replays must be true or false`}},
		{"empty except", routesHeader + "routes:\n  - name: a\n    except: {}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:8:13: route "a" except needs at least one of source, alarm_name, finding_type, labels`}},
		{"bad pattern in except", routesHeader + "routes:\n  - name: a\n    except: {labels: {role_name: '/(/'}}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`route "a" except.labels.role_name: bad regex /(/`}},
		{"unknown field in except", routesHeader + "routes:\n  - name: a\n    except: {role: x}\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`unknown field "role" in route "a" except`}},
		{"wrong kind", "apiVersion: quench/v1\nkind: Runbook\nsources: {}\nroutes: []\n",
			[]string{`routes.yaml:2:7: kind "Runbook" is not Routes`}},
		{"misspelt field gets a suggestion", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: x}\n    severty: high\n",
			[]string{`routes.yaml:10:5: unknown field "severty" in route (did you mean "severity"?)`}},
		{"duplicate field", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    runbook: usage-spike\n    params: {model_id: x}\n",
			[]string{`routes.yaml:9:5: duplicate field "runbook" in route (first set at line 8)`}},
		{"second document", routesHeader + "routes: []\n---\nkind: Routes\n",
			[]string{`routes.yaml:7:1: a route file holds one YAML document; found a second one`}},
		{"alias", routesHeader + "routes:\n  - name: a\n    runbook: usage-spike\n    params: {model_id: &m x, other: *m}\n",
			[]string{`routes.yaml:9:37: YAML aliases (*m) are not supported in routes`}},
		{"invalid yaml", "apiVersion: quench/v1\nkind: Routes\nroutes: [\n",
			[]string{`routes.yaml:3: invalid YAML: did not find expected node content`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoutes("routes.yaml", []byte(tt.yaml), testLibrary(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestRoutesMatching(t *testing.T) {
	rs := testRoutes(t)
	tests := []struct {
		name  string
		alert Alert
		route string
	}{
		{"exact name and label", Alert{Source: SourceAlertmanager, Name: "BedrockTokenSpike", Labels: map[string]string{"env": "prod"}}, "prom-token-spike"},
		{"label differs", Alert{Source: SourceAlertmanager, Name: "BedrockTokenSpike", Labels: map[string]string{"env": "staging"}}, ""},
		{"label missing", Alert{Source: SourceAlertmanager, Name: "BedrockTokenSpike"}, ""},
		{"glob", Alert{Source: SourceSNS, Name: "bedrock-claude-token-spike"}, "bedrock-token-spike"},
		{"glob needs the whole name", Alert{Source: SourceSNS, Name: "bedrock-claude-token-spike-2"}, ""},
		{"source must match", Alert{Source: SourceGeneric, Name: "bedrock-claude-token-spike"}, ""},
		{"regex", Alert{Source: SourceEventBridge, Name: "bedrock-x-token-spike"}, "eventbridge-token-spike"},
		{"finding type glob", Alert{Source: SourceEventBridge, Name: "Impact:IAMUser/AnomalousBehavior", FindingType: "Impact:IAMUser/AnomalousBehavior"}, "guardduty-anomalous-iam"},
		{"finding type needs a finding", Alert{Source: SourceEventBridge, Name: "Impact:IAMUser/AnomalousBehavior"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if r := rs.Find(tt.alert); r != nil {
				got = r.Name
			}
			if got != tt.route {
				t.Errorf("route %q, want %q", got, tt.route)
			}
		})
	}
}

func TestExampleRoutesFileIsValid(t *testing.T) {
	data, err := os.ReadFile("../../examples/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Without a library: the example names built-in runbooks another
	// package provides; shape, patterns and expressions are checked here.
	if _, err := ParseRoutes("examples/routes.yaml", data, nil); err != nil {
		t.Fatal(err)
	}
}

func TestIncidentIDIsReadableAndStable(t *testing.T) {
	a, b := IncidentID("usage-spike", "m1"), IncidentID("usage-spike", "m1")
	if a != b || !strings.HasPrefix(a, "usage-spike-") || len(a) != len("usage-spike-")+12 {
		t.Errorf("IncidentID = %q, %q", a, b)
	}
	if IncidentID("usage-spike", "m2") == a {
		t.Error("different dedup keys gave the same id")
	}
}
