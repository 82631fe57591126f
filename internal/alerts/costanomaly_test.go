package alerts

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// snsMessage parses the Message of a testdata SNS envelope, as the server
// does once the signature is verified.
func snsMessage(t *testing.T, file string, mutate func(*SNSEnvelope)) ([]Alert, error) {
	t.Helper()
	var env SNSEnvelope
	if err := json.Unmarshal(readTestdata(t, file), &env); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&env)
	}
	return ParseSNSMessage(&env)
}

// wantLabels reports every label that differs from want, and every label
// not in want.
func wantLabels(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("label %s = %q, want %q", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected label %s = %q", k, got[k])
		}
	}
}

// checkBounded fails for every label value of a over maxLabelValue.
func checkBounded(t *testing.T, a Alert) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		if v := a.Labels[k]; len(v) > maxLabelValue {
			t.Errorf("label %.40s is %d bytes, over %d", k, len(v), maxLabelValue)
		}
	}
}

func TestParseCostAnomalyDocumentedMessage(t *testing.T) {
	alerts, err := snsMessage(t, "sns-cost-anomaly-documented.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Source != SourceSNS || a.Name != AlertNameCostAnomaly || a.Status != StatusFiring ||
		a.Fingerprint != "12345678-abcd-ef12-3456-987654321a12" || !a.StartsAt.Equal(time.Date(2021, 5, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("alert = {source %s name %s status %s fingerprint %s starts %s}", a.Source, a.Name, a.Status, a.Fingerprint, a.StartsAt)
	}
	wantLabels(t, a.Labels, map[string]string{
		"kind": "cost-anomaly", "anomaly_id": "12345678-abcd-ef12-3456-987654321a12",
		"monitor_arn":       "arn:aws:ce::123456789012:anomalymonitor/abcdef12-1234-4ea0-84cc-918a97d736ef",
		"subscription_name": "alertSubscription", "account_id": "123456789012", "dimensional_value": "ServiceName",
		"service": "AnomalousServiceName", "region": "AnomalousRegionName", "linked_account": "AnomalousLinkedAccount",
		"linked_account_name": "AnomalousLinkedAccountName", "usage_type": "AnomalousUsageType",
		"services": "AnomalousServiceName", "usage_types": "AnomalousUsageType", "regions": "AnomalousRegionName",
		"linked_accounts": "AnomalousLinkedAccount", "root_causes": "1",
		"total_impact": "1001", "total_impact_percentage": "333.67", "max_impact": "151",
		"total_actual_spend": "1301", "total_expected_spend": "300", "anomaly_score": "0.47", "anomaly_max_score": "0.47",
		"start_date": "2021-05-25T00:00:00Z", "end_date": "2021-05-25T00:00:00Z",
	})
	if a.Summary != "cost anomaly in AnomalousServiceName: $1001 above expected (333.67%)" {
		t.Errorf("summary %q", a.Summary)
	}
	if !strings.HasPrefix(a.Annotations["details_link"], "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/") {
		t.Errorf("details_link annotation %q", a.Annotations["details_link"])
	}
}

func TestParseCostAnomalyListsEveryRootCauseOnce(t *testing.T) {
	alerts, err := snsMessage(t, "sns-cost-anomaly-bedrock.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	l := alerts[0].Labels
	if l["services"] != "Amazon Bedrock" || l["regions"] != "us-east-1,us-west-2" ||
		l["usage_types"] != "USE1-Claude3.5Sonnet-input-tokens,USW2-Claude3.5Sonnet-output-tokens" ||
		l["root_causes"] != "2" || l["region"] != "us-east-1" {
		t.Errorf("root cause labels = %v", l)
	}
}

func TestParseCostAnomalyBoundsRootCauses(t *testing.T) {
	var causes []string
	for i := range 50 {
		causes = append(causes, `{"service":"svc-`+strings.Repeat("x", 40)+string(rune('a'+i%26))+`","usageType":"`+strings.Repeat("u", 600)+`"}`)
	}
	msg := `{"anomalyId":"a1","rootCauses":[` + strings.Join(causes, ",") + `]}`
	alerts, err := snsMessage(t, "sns-cost-anomaly-bedrock.json", func(e *SNSEnvelope) { e.Message = msg })
	if err != nil {
		t.Fatal(err)
	}
	checkBounded(t, alerts[0])
	if l := alerts[0].Labels; l["root_causes"] != "50" || !strings.Contains(l["services"], "more") {
		t.Errorf("services %q root_causes %q: want the list cut with a count of the rest", l["services"], l["root_causes"])
	}
}

func TestParseCostAnomalyRefusals(t *testing.T) {
	for _, tt := range []struct{ name, msg, reason string }{
		{"impact is not a number", `{"anomalyId":"a1","impact":{"totalImpact":"lots"}}`, "field impact.totalImpact"},
		{"root causes not a list", `{"anomalyId":"a1","rootCauses":{"service":"x"}}`, "field rootCauses"},
		{"trailing comma as printed in the documentation", `{"anomalyId":"a1","rootCauses":[{"impact":{"contribution":601,}}]}`, "malformed sns Message JSON"},
		{"empty anomaly id", `{"anomalyId":"","dimensionalValue":"x"}`, "is not a CloudWatch alarm"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := snsMessage(t, "sns-cost-anomaly-bedrock.json", func(e *SNSEnvelope) { e.Message = tt.msg })
			checkParsed(t, SourceSNS, alerts, err)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one containing %q", err, tt.reason)
			}
		})
	}
}
