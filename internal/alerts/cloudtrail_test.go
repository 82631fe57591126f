package alerts

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseCloudTrailCallerAndRequest(t *testing.T) {
	tests := []struct {
		file string
		name string
		want map[string]string
	}{
		{"eventbridge-cloudtrail-delete-guardrail.json", "DeleteGuardrail", map[string]string{
			"kind": "cloudtrail", "event_name": "DeleteGuardrail", "event_source": "bedrock.amazonaws.com",
			"event_id": "6e4a2c0b-8f9d-4b7a-a5c3-1e2f3a4b5c6d", "region": "us-east-1", "account_id": "123456789012",
			"source_ip":  "198.51.100.23",
			"user_agent": "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 cfg/retry-mode#standard md/command#bedrock.delete-guardrail",
			"user_type":  "AssumedRole", "user_arn": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
			"principal_id": "AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
			"session_issuer_type": "Role", "session_issuer_arn": "arn:aws:iam::123456789012:role/RoleToBeAssumed",
			"session_issuer_user_name": "RoleToBeAssumed",
			"principal_type":           PrincipalAssumedRole, "role_name": "RoleToBeAssumed", "session_name": "AssumedRoleSessionName",
			"request_guardrailIdentifier": "gr1a2b3c4d5e",
		}},
		{"eventbridge-cloudtrail-delete-invocation-logging.json", "DeleteModelInvocationLoggingConfiguration", map[string]string{
			"kind": "cloudtrail", "event_name": "DeleteModelInvocationLoggingConfiguration", "event_source": "bedrock.amazonaws.com",
			"event_id": "9b1d3f5a-7c9e-4b1d-8f5a-7c9e1b3d5f7a", "region": "us-east-1", "account_id": "123456789012",
			"source_ip":  "198.51.100.23",
			"user_agent": "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 cfg/retry-mode#standard md/command#bedrock.delete-guardrail",
			"user_type":  "IAMUser", "user_arn": "arn:aws:iam::123456789012:user/Alice", "principal_id": "AIDAJ45Q7YFFAREXAMPLE",
			"access_key_id": "AKIAIOSFODNN7EXAMPLE", "user_name": "Alice", "principal_type": PrincipalIAMUser, "iam_user_name": "Alice",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := ParseEventBridge(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			a := alerts[0]
			if a.Name != tt.name || a.Status != StatusFiring || a.Fingerprint != tt.want["event_id"] || a.FindingType != "" || a.StartsAt.IsZero() {
				t.Errorf("alert = {name %s status %s fingerprint %s finding_type %q starts %s}", a.Name, a.Status, a.Fingerprint, a.FindingType, a.StartsAt)
			}
			wantLabels(t, a.Labels, tt.want)
		})
	}
}

func TestParseCloudTrailPutRolePolicyBoundsTheRequest(t *testing.T) {
	alerts, err := ParseEventBridge(readTestdata(t, "eventbridge-cloudtrail-put-role-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := alerts[0].Labels
	if l["event_name"] != "PutRolePolicy" || l["request_roleName"] != "chat-backend-role" || l["request_policyName"] != "allow-all-bedrock" ||
		!strings.Contains(l["request_policyDocument"], `"bedrock:*"`) || !alerts[0].StartsAt.Equal(time.Date(2026, 11, 28, 20, 11, 14, 0, time.UTC)) {
		t.Errorf("labels %v starts %s", l, alerts[0].StartsAt)
	}

	// A request a caller controls: many keys, huge values, nested objects.
	// In key order b and n come first, then x00..x13 fill the 16.
	var params []string
	for i := range 40 {
		params = append(params, fmt.Sprintf(`"x%02d":%q`, i, strings.Repeat("v", 4000)))
	}
	params = append(params, `"nested":{"a":"b"}`, `"list":[1,2]`, `"`+strings.Repeat("k", 100)+`":"long key"`, `"n":12.5`, `"b":true`, `"z":null`)
	body := `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"PutRolePolicy","requestParameters":{` + strings.Join(params, ",") + `}}}`
	alerts, err = ParseEventBridge([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for k, v := range alerts[0].Labels {
		if strings.HasPrefix(k, "request_") {
			n++
		}
		if len(v) > maxLabelValue || len(k) > len("request_")+maxRequestParamKey {
			t.Errorf("label %.40s… (%d bytes) = %d bytes: over the bounds", k, len(k), len(v))
		}
	}
	l = alerts[0].Labels
	if n != maxRequestParams || l["request_b"] != "true" || l["request_n"] != "12.5" || l["request_nested"] != "" || l["request_list"] != "" {
		t.Errorf("%d request labels (want %d); b %q n %q nested %q list %q", n, maxRequestParams, l["request_b"], l["request_n"], l["request_nested"], l["request_list"])
	}
}

func TestParseCloudTrailRefusals(t *testing.T) {
	for _, tt := range []struct{ name, detail, reason string }{
		{"no event name", `{"eventSource":"bedrock.amazonaws.com"}`, "has no detail.eventName"},
		{"request parameters not an object", `{"eventName":"DeleteGuardrail","requestParameters":"gr1"}`, "requestParameters is not a JSON object"},
		{"user identity not an object", `{"eventName":"DeleteGuardrail","userIdentity":"root"}`, "field userIdentity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := ParseEventBridge([]byte(`{"detail-type":"AWS API Call via CloudTrail","detail":` + tt.detail + `}`))
			checkParsed(t, SourceEventBridge, alerts, err)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one containing %q", err, tt.reason)
			}
		})
	}
}

// A CloudTrail event no route takes (an UpdateAgent: see the note in
// examples/routes.yaml) is answered and starts nothing.
func TestExampleRoutesLeaveUpdateAgentUnrouted(t *testing.T) {
	ts := exampleServer(t)
	body := []byte(strings.Replace(string(readTestdata(t, "eventbridge-cloudtrail-delete-guardrail.json")), `"DeleteGuardrail"`, `"UpdateAgent"`, 1))
	code, resp, _ := ts.post(t, "/alerts/eventbridge", body, bearer(exampleEventBridgeToken))
	if code != http.StatusAccepted || resp["routed"] != false || ts.starter.calls() != 0 {
		t.Errorf("status %d routed %v, %d starts: want 202, unrouted, nothing started", code, resp["routed"], ts.starter.calls())
	}
}
