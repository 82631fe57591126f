package alerts

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// The GuardDuty payloads in testdata follow AWS's documentation:
//   - the EventBridge envelope of a finding ("detail-type": "GuardDuty
//     Finding", "source": "aws.guardduty", the finding as "detail"):
//     https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html
//   - the finding's fields (Finding, Resource, AccessKeyDetails, ModelDetail,
//     BedrockGuardrailDetails, BedrockGuardrail):
//     https://docs.aws.amazon.com/guardduty/latest/APIReference/API_Finding.html
//   - the AI Protection finding types, which of them carry
//     resource.modelDetails (AnomalousModelInvocation, CostHarvesting) and
//     resource.bedrockGuardrailDetails (PromptInjection.Direct):
//     https://docs.aws.amazon.com/guardduty/latest/ug/findings-ai-protection.html
//   - principal ids and user types as CloudTrail's userIdentity shows them
//     (AROA…:session for an assumed role, AIDA… for an IAM user, and the
//     documentation's example ids):
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
//
// AWS publishes the envelope and each field, not one complete AI finding,
// so each file puts the documented pieces together.

func TestGuardDutyPrincipalAndAILabels(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string
		// absent are labels that must not be set: above all, a role is never
		// named where a user is expected.
		absent []string
	}{
		{
			file: "eventbridge-guardduty-assumed-role.json",
			want: map[string]string{
				"finding_type": "Impact:IAMUser/CostHarvesting", "finding_id": "a4c9b1f0e2d34b5f8e7a6c5d4e3f2a1b",
				"severity": "8", "resource_type": "AccessKey", "region": "us-east-1", "account_id": "111122223333",
				"principal_type": PrincipalAssumedRole, "user_type": "AssumedRole", "user_name": "chat-backend-role",
				"role_name": "chat-backend-role", "session_name": "chat-backend-session",
				"principal_id": "AROAIDPPEZS35WEXAMPLE:chat-backend-session", "access_key_id": "ASIAIOSFODNN7EXAMPLE",
				"model_id": "anthropic.claude-3-haiku-20240307-v1:0",
				"api":      "InvokeModel", "api_service": "bedrock.amazonaws.com",
				"caller_type": "Remote IP", "remote_ip": "198.51.100.23", "remote_country": "Unknown",
			},
			absent: []string{"iam_user_name", "model_ids", "guardrail_id"},
		},
		{
			file: "eventbridge-guardduty-iam-user.json",
			want: map[string]string{
				"finding_type": "Impact:IAMUser/AnomalousModelInvocation", "finding_id": "e7f6a5b4c3d24e1f9a8b7c6d5e4f3a2b",
				"severity": "5", "resource_type": "AccessKey", "region": "us-east-1", "account_id": "111122223333",
				"principal_type": PrincipalIAMUser, "user_type": "IAMUser", "user_name": "Alice", "iam_user_name": "Alice",
				"principal_id": "AIDAJ45Q7YFFAREXAMPLE", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
				"model_id":  "anthropic.claude-3-5-sonnet-20240620-v1:0",
				"model_ids": "anthropic.claude-3-5-sonnet-20240620-v1:0,amazon.titan-text-express-v1",
				"api":       "InvokeModelWithResponseStream", "api_service": "bedrock.amazonaws.com",
				"caller_type": "Remote IP", "remote_ip": "203.0.113.77", "remote_country": "Unknown",
			},
			absent: []string{"role_name", "session_name", "guardrail_id"},
		},
		{
			file: "eventbridge-guardduty-prompt-injection.json",
			want: map[string]string{
				"finding_type": "Impact:IAMUser/PromptInjection.Direct", "finding_id": "b2c3d4e5f6a74b8c9d0e1f2a3b4c5d6e",
				"severity": "5", "resource_type": "AccessKey", "region": "us-east-1", "account_id": "111122223333",
				"principal_type": PrincipalAssumedRole, "user_type": "AssumedRole", "user_name": "chat-backend-role",
				"role_name": "chat-backend-role", "session_name": "chat-backend-session",
				"principal_id": "AROAIDPPEZS35WEXAMPLE:chat-backend-session", "access_key_id": "ASIAIOSFODNN7EXAMPLE",
				"guardrail_arn": "arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1a2b3c4d5e", "guardrail_id": "gr1a2b3c4d5e",
				"guardrail_version": "1", "guardrail_action": "GUARDRAIL_INTERVENED", "guardrail_source": "INPUT",
				"api": "Converse", "api_service": "bedrock.amazonaws.com",
				"caller_type": "Remote IP", "remote_ip": "198.51.100.23", "remote_country": "Unknown",
			},
			absent: []string{"iam_user_name", "model_id", "guardrail_ids", "guardrail_filters"},
		},
		{
			file: "eventbridge-guardduty-prompt-injection-filters.json",
			want: map[string]string{
				"finding_type": "Impact:IAMUser/PromptInjection.Direct", "finding_id": "c3d4e5f6a7b84c9d0e1f2a3b4c5d6e7f",
				"severity": "5", "resource_type": "AccessKey", "region": "us-east-1", "account_id": "111122223333",
				"principal_type": PrincipalAssumedRole, "user_type": "AssumedRole", "user_name": "chat-backend-role",
				"role_name": "chat-backend-role", "session_name": "chat-backend-session",
				"principal_id": "AROAIDPPEZS35WEXAMPLE:chat-backend-session", "access_key_id": "ASIAIOSFODNN7EXAMPLE",
				"guardrail_arn": "arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1a2b3c4d5e", "guardrail_id": "gr1a2b3c4d5e",
				"guardrail_version": "1", "guardrail_ids": "gr1a2b3c4d5e,gr9z8y7x6w5v",
				"guardrail_action": "GUARDRAIL_INTERVENED", "guardrail_source": "INPUT",
				"guardrail_filters": "PROMPT_ATTACK:BLOCKED,JAILBREAK:BLOCKED",
				"api":               "Converse", "api_service": "bedrock.amazonaws.com",
				"caller_type": "Remote IP", "remote_ip": "198.51.100.23", "remote_country": "Unknown",
			},
			absent: []string{"iam_user_name", "model_id"},
		},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			alerts, err := ParseEventBridge(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(alerts))
			}
			a := alerts[0]
			if a.Source != SourceEventBridge || a.Status != StatusFiring || a.FindingType != tt.want["finding_type"] || a.Fingerprint != tt.want["finding_id"] {
				t.Errorf("alert = {source %s status %s finding_type %s fingerprint %s}", a.Source, a.Status, a.FindingType, a.Fingerprint)
			}
			if !maps.Equal(a.Labels, tt.want) {
				for _, k := range slices.Sorted(maps.Keys(tt.want)) {
					if a.Labels[k] != tt.want[k] {
						t.Errorf("label %s = %q, want %q", k, a.Labels[k], tt.want[k])
					}
				}
				for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
					if _, ok := tt.want[k]; !ok {
						t.Errorf("unexpected label %s = %q", k, a.Labels[k])
					}
				}
			}
			for _, k := range tt.absent {
				if v, ok := a.Labels[k]; ok {
					t.Errorf("label %s = %q must not be set", k, v)
				}
			}
		})
	}
}

func TestGuardDutyPrincipalTypes(t *testing.T) {
	tests := []struct {
		userType, userName, principalID, keyID string
		want                                   map[string]string
	}{
		{"Role", "deploy-role", "AROAEXAMPLEROLEID", "",
			map[string]string{"principal_type": PrincipalRole, "role_name": "deploy-role"}},
		{"AssumedRole", "app-role", "AROAEXAMPLEROLEID", "ASIAEXAMPLE",
			map[string]string{"principal_type": PrincipalAssumedRole, "role_name": "app-role"}}, // no session in the id: none invented
		{"IAMUser", "ci-bot", "AIDAEXAMPLEUSERID", "AKIAEXAMPLE",
			map[string]string{"principal_type": PrincipalIAMUser, "iam_user_name": "ci-bot"}},
		{"Root", "Root", "111122223333", "AKIAROOTKEY",
			map[string]string{"principal_type": PrincipalRoot}},
		{"FederatedUser", "bob", "111122223333:bob", "ASIAFED",
			map[string]string{"principal_type": PrincipalFederatedUser}},
		{"AWSService", "", "", "",
			map[string]string{"principal_type": PrincipalOther}},
		{"", "", "", "AKIAONLYKEY",
			map[string]string{"principal_type": PrincipalAccessKey}},
	}
	for _, tt := range tests {
		t.Run(firstNonEmpty(tt.userType, "no user type"), func(t *testing.T) {
			var f guardDutyFinding
			f.Resource.AccessKeyDetails = &struct {
				AccessKeyID string `json:"accessKeyId"`
				PrincipalID string `json:"principalId"`
				UserType    string `json:"userType"`
				UserName    string `json:"userName"`
			}{tt.keyID, tt.principalID, tt.userType, tt.userName}
			labels := map[string]string{}
			principalLabels(labels, f)
			for _, k := range []string{"principal_type", "role_name", "session_name", "iam_user_name"} {
				if labels[k] != tt.want[k] {
					t.Errorf("%s = %q, want %q", k, labels[k], tt.want[k])
				}
			}
		})
	}
}

func TestGuardDutyFindingWithoutAccessKeyDetailsHasNoPrincipal(t *testing.T) {
	body := []byte(`{"detail-type":"GuardDuty Finding","detail":{"type":"Recon:EC2/PortProbeUnprotectedPort","id":"f1","resource":{"resourceType":"Instance"}}}`)
	alerts, err := ParseEventBridge(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"principal_type", "role_name", "iam_user_name", "user_name", "access_key_id", "model_id", "guardrail_id"} {
		if v, ok := alerts[0].Labels[k]; ok {
			t.Errorf("label %s = %q on a finding without accessKeyDetails", k, v)
		}
	}
}

func TestGuardDutyLabelsAreBounded(t *testing.T) {
	long := strings.Repeat("m", 5000)
	var models []string
	for i := range 30 {
		models = append(models, `{"modelId":"`+long+string(rune('a'+i%26))+`"}`)
	}
	body := []byte(`{"detail-type":"GuardDuty Finding","detail":{"type":"Impact:IAMUser/CostHarvesting","id":"` + long + `",
		"resource":{"resourceType":"AccessKey","accessKeyDetails":{"userType":"AssumedRole","userName":"` + long + `","principalId":"x:` + long + `"},
		"modelDetails":[` + strings.Join(models, ",") + `]},
		"service":{"action":{"awsApiCallAction":{"api":"` + long + `","remoteIpDetails":{"ipAddressV4":"` + long + `"}}}}}}`)
	alerts, err := ParseEventBridge(body)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	checkBounded(t, a)
	if len(a.Fingerprint) > maxLabelValue || !strings.Contains(a.Labels["model_ids"], "more") {
		t.Errorf("fingerprint %d bytes, model_ids %q: want bounded, and the list cut with a count", len(a.Fingerprint), a.Labels["model_ids"])
	}
}

func TestGuardDutyDeprecatedGuardrailFields(t *testing.T) {
	body := []byte(`{"detail-type":"GuardDuty Finding","detail":{"type":"Impact:IAMUser/PromptInjection.Direct","id":"f2",
		"resource":{"resourceType":"AccessKey","bedrockGuardrailDetails":{"guardrailArn":"arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123","guardrailVersion":"DRAFT","guardrailAction":"GUARDRAIL_INTERVENED"}}}}`)
	alerts, err := ParseEventBridge(body)
	if err != nil {
		t.Fatal(err)
	}
	l := alerts[0].Labels
	if l["guardrail_id"] != "abc123" || l["guardrail_version"] != "DRAFT" || l["guardrail_action"] != "GUARDRAIL_INTERVENED" {
		t.Errorf("labels from the deprecated guardrailArn/guardrailVersion = %v", l)
	}
}
