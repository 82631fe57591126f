package alerts

import (
	"strings"
	"testing"
	"time"
)

func TestParseSecurityHubDocumentedFinding(t *testing.T) {
	alerts, err := ParseEventBridge(readTestdata(t, "eventbridge-securityhub-documented.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Source != SourceEventBridge || a.Name != "S3.13 S3 buckets should have lifecycle policies configured" || a.Status != StatusFiring ||
		a.Fingerprint != "us-west-2/111111111111/98aebb2207407c87f51e89943f12b1ef" ||
		a.FindingType != "Software and Configuration Checks/Vulnerabilities/CVE" ||
		!a.StartsAt.Equal(time.Date(2017, 3, 22, 13, 22, 13, 933e6, time.UTC)) {
		t.Errorf("alert = {source %s name %q status %s fingerprint %s finding_type %s starts %s}", a.Source, a.Name, a.Status, a.Fingerprint, a.FindingType, a.StartsAt)
	}
	wantLabels(t, a.Labels, map[string]string{
		"kind": "securityhub", "finding_id": "us-west-2/111111111111/98aebb2207407c87f51e89943f12b1ef",
		"product_arn":  "arn:aws:securityhub:us-west-2:222222222222:product/generico/secure-pro",
		"generator_id": "acme-vuln-9ab348", "account_id": "111111111111", "region": "us-west-2", "severity": "CRITICAL",
		"type": "Software and Configuration Checks/Vulnerabilities/CVE", "types": "Software and Configuration Checks/Vulnerabilities/CVE",
		"resource_type": "AwsEc2Instance", "resource_id": "arn:aws:ec2:us-west-2:111122223333:instance/i-1234567890abcdef0",
		"resource_types": "AwsEc2Instance",
	})
}

func TestParseSecurityHubGuardDutyFindingNamesThePrincipal(t *testing.T) {
	alerts, err := ParseEventBridge(readTestdata(t, "eventbridge-securityhub-guardduty-bedrock.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	wantLabels(t, a.Labels, map[string]string{
		"kind": "securityhub", "finding_id": "arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/a4c9b1f0e2d34b5f8e7a6c5d4e3f2a1b",
		"guardduty_finding_id": "a4c9b1f0e2d34b5f8e7a6c5d4e3f2a1b",
		"product_arn":          "arn:aws:securityhub:us-east-1::product/aws/guardduty", "product_name": "GuardDuty", "company_name": "Amazon",
		"generator_id": "arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0",
		"account_id":   "111122223333", "region": "us-east-1", "severity": "HIGH", "severity_normalized": "80",
		"type": "TTPs/Impact/Impact:IAMUser-CostHarvesting", "types": "TTPs/Impact/Impact:IAMUser-CostHarvesting",
		"resource_type": "AwsIamAccessKey", "resource_id": "AWS::IAM::AccessKey:ASIAIOSFODNN7EXAMPLE", "resource_types": "AwsIamAccessKey",
		"record_state": "ACTIVE", "workflow_status": "NEW",
		"principal_type": PrincipalAssumedRole, "user_type": "AssumedRole", "user_name": "chat-backend-role", "role_name": "chat-backend-role",
		"session_name": "chat-backend-session", "principal_id": "AROAIDPPEZS35WEXAMPLE:chat-backend-session", "access_key_id": "ASIAIOSFODNN7EXAMPLE",
	})
}

func TestParseSecurityHubOneAlertPerFinding(t *testing.T) {
	body := []byte(`{"detail-type":"Security Hub Findings - Imported","account":"111122223333","region":"eu-west-1","detail":{"findings":[
		{"Id":"f1","Title":"one","Types":["Effects/Data Exposure"],"RecordState":"ACTIVE"},
		{"Id":"f2","Title":"two","RecordState":"ARCHIVED"},
		{"Id":"f3","Title":"three","Compliance":{"Status":"PASSED"}},
		{"Id":"f4","Title":"four","Workflow":{"Status":"SUPPRESSED"}}]}}`)
	alerts, err := ParseEventBridge(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, status string }{{"one", StatusFiring}, {"two", StatusResolved}, {"three", StatusResolved}, {"four", StatusResolved}}
	if len(alerts) != len(want) {
		t.Fatalf("%d alerts, want %d", len(alerts), len(want))
	}
	for i, w := range want {
		if alerts[i].Name != w.name || alerts[i].Status != w.status || alerts[i].Labels["account_id"] != "111122223333" {
			t.Errorf("alert %d = {%s %s account %s}, want {%s %s 111122223333}", i, alerts[i].Name, alerts[i].Status, alerts[i].Labels["account_id"], w.name, w.status)
		}
	}
}

func TestParseSecurityHubRefusals(t *testing.T) {
	many := strings.Repeat(`{"Id":"f"},`, maxFindingsPerEvent) + `{"Id":"f"}`
	for _, tt := range []struct{ name, detail, reason string }{
		{"no findings", `{"findings":[]}`, "has no detail.findings"},
		{"findings not a list", `{"findings":{"Id":"f1"}}`, "field findings"},
		{"too many findings", `{"findings":[` + many + `]}`, "at most 100 per event"},
		{"finding without id", `{"findings":[{"Id":"f1"},{"Title":"x"}]}`, "detail.findings[1] has no Id"},
		{"types not a list", `{"findings":[{"Id":"f1","Types":"TTPs"}]}`, "detail.findings[0] JSON field Types"},
		{"severity label not a string", `{"findings":[{"Id":"f1","Severity":{"Label":5}}]}`, "field Severity.Label"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := ParseEventBridge([]byte(`{"detail-type":"Security Hub Findings - Imported","detail":` + tt.detail + `}`))
			checkParsed(t, SourceEventBridge, alerts, err)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one containing %q", err, tt.reason)
			}
		})
	}
}

func TestParseSecurityHubBoundsLabels(t *testing.T) {
	long := strings.Repeat("x", 5000)
	var types []string
	for range 40 {
		types = append(types, `"`+long+`"`)
	}
	body := []byte(`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"` + long + `","Title":"` + long +
		`","Types":[` + strings.Join(types, ",") + `],"Resources":[{"Type":"` + long + `","Id":"` + long + `"}]}]}}`)
	alerts, err := ParseEventBridge(body)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	checkBounded(t, a)
	if len(a.Name) > maxLabelValue || len(a.Fingerprint) > maxLabelValue || len(a.FindingType) > maxLabelValue {
		t.Errorf("name %d fingerprint %d finding_type %d bytes", len(a.Name), len(a.Fingerprint), len(a.FindingType))
	}
}
