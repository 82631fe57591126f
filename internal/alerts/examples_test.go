package alerts

import (
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/quenchhq/quench/runbooks"
)

// The secrets examples/routes.yaml names, as the senders hold them.
const exampleEventBridgeToken = "example-eventbridge-token"

var (
	builtinOnce sync.Once
	builtinLib  *runbooks.Library
	builtinErr  error
)

// builtinCatalog accepts every action the built-in runbooks name, with the
// arguments they pass. This package must not import the activities that
// own the real catalog; what is checked here is routing and params, which
// the real catalog does not change.
type builtinCatalog map[string]runbooks.ActionSpec

func (c builtinCatalog) Action(name string) (runbooks.ActionSpec, bool) {
	s, ok := c[name]
	return s, ok
}

func loadBuiltinCatalog() (builtinCatalog, error) {
	files, err := filepath.Glob(filepath.Join("..", "..", "runbooks", "builtin", "*.yaml"))
	if err != nil {
		return nil, err
	}
	cat := builtinCatalog{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rb, err := runbooks.Parse(f, data)
		if err != nil {
			return nil, err
		}
		for _, st := range rb.Steps {
			if st.Action == "" {
				continue
			}
			spec := cat[st.Action]
			spec.Name = st.Action
			for _, k := range slices.Sorted(maps.Keys(st.With)) {
				if !slices.ContainsFunc(spec.Args, func(a runbooks.ArgSpec) bool { return a.Name == k }) {
					spec.Args = append(spec.Args, runbooks.ArgSpec{Name: k, Type: "any"})
				}
			}
			cat[st.Action] = spec
		}
	}
	return cat, nil
}

// exampleServer serves examples/routes.yaml with the built-in runbooks, as
// an operator deploys it, with the test SNS PKI and clock.
func exampleServer(t *testing.T) *testServer {
	t.Helper()
	builtinOnce.Do(func() {
		cat, err := loadBuiltinCatalog()
		if err != nil {
			builtinErr = err
			return
		}
		builtinLib, builtinErr = runbooks.NewLibrary(cat)
		if builtinErr == nil && len(builtinLib.Problems()) > 0 {
			builtinErr = builtinLib.Problems()[0]
		}
	})
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
	routes, err := LoadRoutes(filepath.Join("..", "..", "examples", "routes.yaml"), builtinLib)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"QUENCH_EVENTBRIDGE_TOKEN": exampleEventBridgeToken}
	return newTestServer(t, func(c *Config) {
		c.Routes, c.Library = routes, builtinLib
		c.Getenv = func(k string) string { return env[k] }
	})
}

// exampleKnownGoodLogging is the known-good logging configuration
// examples/routes.yaml gives ai-controls-tampered.
const exampleKnownGoodLogging = `{"s3Config": {"bucketName": "bedrock-invocation-logs-123456789012", "keyPrefix": "AWSLogs/"}, "textDataDeliveryEnabled": true, "imageDataDeliveryEnabled": true, "embeddingDataDeliveryEnabled": true}`

// TestExampleRoutesTakeEachSource posts each documented payload to
// examples/routes.yaml over HTTP and checks the route, runbook and params
// the incident starts with.
func TestExampleRoutesTakeEachSource(t *testing.T) {
	tests := []struct {
		name, path string
		body       func(t *testing.T) []byte
		route      string
		runbook    string
		// params are the ones the route sets (the runbook's defaults fill the rest).
		params map[string]any
		// dedup is the rendered dedup_key the incident id comes from.
		dedup string
	}{
		{
			name: "cost anomaly naming bedrock", path: "/alerts/sns",
			body:  func(t *testing.T) []byte { return snsBody(t, "sns-cost-anomaly-bedrock.json", nil) },
			route: "cost-anomaly-bedrock", runbook: "usage-spike",
			params: map[string]any{"model_id": "", "principal_type": "none", "usage_plan_id": "abc123", "function_name": "chat-backend"},
			dedup:  "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
		},
		{
			name: "budget alert on a bedrock budget", path: "/alerts/sns",
			body:  func(t *testing.T) []byte { return snsBody(t, "sns-budget-forecasted.json", nil) },
			route: "budget-bedrock", runbook: "usage-spike",
			params: map[string]any{"model_id": "", "principal_type": "none", "usage_plan_id": "abc123", "function_name": "chat-backend"},
			dedup:  "bedrock-monthly",
		},
		{
			name: "anomaly-detection alarm through sns", path: "/alerts/sns",
			body:  func(t *testing.T) []byte { return snsBody(t, "sns-cloudwatch-anomaly-detection.json", nil) },
			route: "bedrock-token-spike", runbook: "usage-spike",
			params: map[string]any{"model_id": "anthropic.claude-3-5-sonnet-20240620-v1:0", "usage_plan_id": "abc123", "function_name": "chat-backend"},
			dedup:  "anthropic.claude-3-5-sonnet-20240620-v1:0",
		},
		{
			// The dedup key is the GuardDuty finding id, as guardduty-bedrock-cost's
			// for eventbridge-guardduty-assumed-role.json: the two fold into one incident.
			name: "guardduty finding imported into security hub", path: "/alerts/eventbridge",
			body:  func(t *testing.T) []byte { return readTestdata(t, "eventbridge-securityhub-guardduty-bedrock.json") },
			route: "securityhub-guardduty-bedrock-cost", runbook: "usage-spike",
			params: map[string]any{"model_id": "", "principal_type": "assumed-role", "role_name": "chat-backend-role", "user_name": "",
				"access_key_id": "ASIAIOSFODNN7EXAMPLE"},
			dedup: "a4c9b1f0e2d34b5f8e7a6c5d4e3f2a1b",
		},
		{
			name: "cloudtrail: a guardrail deleted by an assumed role", path: "/alerts/eventbridge",
			body:  func(t *testing.T) []byte { return readTestdata(t, "eventbridge-cloudtrail-delete-guardrail.json") },
			route: "cloudtrail-bedrock-controls-deleted", runbook: "ai-controls-tampered",
			params: map[string]any{"event_name": "DeleteGuardrail", "principal_type": "assumed-role", "role_name": "RoleToBeAssumed",
				"session_name": "AssumedRoleSessionName", "user_name": "", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
				"user_arn": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName", "guardrail_id": "gr1a2b3c4d5e",
				"known_good_logging_config": exampleKnownGoodLogging},
			dedup: "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
		},
		{
			name: "cloudtrail: invocation logging deleted by an IAM user", path: "/alerts/eventbridge",
			body: func(t *testing.T) []byte {
				return readTestdata(t, "eventbridge-cloudtrail-delete-invocation-logging.json")
			},
			route: "cloudtrail-bedrock-controls-deleted", runbook: "ai-controls-tampered",
			params: map[string]any{"event_name": "DeleteModelInvocationLoggingConfiguration", "principal_type": "iam-user", "role_name": "",
				"session_name": "", "user_name": "Alice", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
				"user_arn": "arn:aws:iam::123456789012:user/Alice", "guardrail_id": "",
				"known_good_logging_config": exampleKnownGoodLogging},
			dedup: "arn:aws:iam::123456789012:user/Alice",
		},
		{
			name: "cloudtrail: a guardrail changed by an assumed role", path: "/alerts/eventbridge",
			body:  func(t *testing.T) []byte { return readTestdata(t, "eventbridge-cloudtrail-update-guardrail.json") },
			route: "cloudtrail-bedrock-guardrail-changed", runbook: "ai-controls-tampered",
			params: map[string]any{"event_name": "UpdateGuardrail", "event_time": "2026-11-28T20:13:57Z", "principal_type": "assumed-role",
				"role_name": "RoleToBeAssumed", "session_name": "AssumedRoleSessionName", "guardrail_id": "gr1a2b3c4d5e",
				"user_arn": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName"},
			dedup: "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
		},
		{
			name: "guardduty prompt injection with two guardrails", path: "/alerts/eventbridge",
			body: func(t *testing.T) []byte {
				return readTestdata(t, "eventbridge-guardduty-prompt-injection-filters.json")
			},
			route: "guardduty-prompt-injection", runbook: "unsafe-output",
			params: map[string]any{"guardrail_id": "gr1a2b3c4d5e", "model_id": ""},
			dedup:  "gr1a2b3c4d5e",
		},
		{
			name: "guardduty finding through eventbridge", path: "/alerts/eventbridge",
			body:  func(t *testing.T) []byte { return readTestdata(t, "eventbridge-guardduty-assumed-role.json") },
			route: "guardduty-bedrock-cost", runbook: "usage-spike",
			params: map[string]any{"model_id": "anthropic.claude-3-haiku-20240307-v1:0", "principal_type": "assumed-role",
				"role_name": "chat-backend-role", "user_name": "", "access_key_id": "ASIAIOSFODNN7EXAMPLE"},
			dedup: "a4c9b1f0e2d34b5f8e7a6c5d4e3f2a1b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := exampleServer(t)
			body := tt.body(t)
			var headers map[string]string
			if tt.path == "/alerts/eventbridge" {
				headers = bearer(exampleEventBridgeToken)
			}
			code, resp, _ := ts.post(t, tt.path, body, headers)
			if code != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %v", code, resp)
			}
			incs, _ := resp["incidents"].([]any)
			if len(incs) != 1 || len(ts.starter.inputs) != 1 {
				t.Fatalf("incidents %v (%d started), want one: %v", incs, len(ts.starter.inputs), resp)
			}
			got := incs[0].(map[string]any)
			in := ts.starter.inputs[0]
			if got["route"] != tt.route || in.Runbook.Metadata.Name != tt.runbook {
				t.Errorf("route %v runbook %s, want %s %s", got["route"], in.Runbook.Metadata.Name, tt.route, tt.runbook)
			}
			for _, k := range slices.Sorted(maps.Keys(tt.params)) {
				if !reflect.DeepEqual(in.Params[k], tt.params[k]) {
					t.Errorf("param %s = %#v, want %#v", k, in.Params[k], tt.params[k])
				}
			}
			if id := IncidentID(tt.runbook, tt.runbook+"|"+tt.dedup); in.ID != id {
				t.Errorf("incident %s, want %s (dedup key %q)", in.ID, id, tt.dedup)
			}
		})
	}
}

// TestExampleRoutesTurnAwayQuenchsOwnGuardrailUpdate: the worker's own
// UpdateGuardrail (unsafe-output tightening a guardrail) must not start an
// incident that reverts it.
func TestExampleRoutesTurnAwayQuenchsOwnGuardrailUpdate(t *testing.T) {
	ts := exampleServer(t)
	code, resp, _ := ts.post(t, "/alerts/eventbridge", readTestdata(t, "eventbridge-cloudtrail-update-guardrail-by-quench.json"), bearer(exampleEventBridgeToken))
	if code != http.StatusAccepted || resp["routed"] != false || ts.starter.calls() != 0 {
		t.Fatalf("status %d routed %v, %d starts: want 202, unrouted, nothing started: %v", code, resp["routed"], ts.starter.calls(), resp)
	}
}
