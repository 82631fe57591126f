package alerts

import (
	"strings"
	"testing"
	"time"
)

func TestParseBudgetNotification(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string
	}{
		{"sns-budget-actual.json", map[string]string{
			"kind": "budget", "budget_name": "bedrock-monthly", "budget_type": "Cost", "account_id": "123456789012",
			"alert_type": "ACTUAL", "alert_threshold": "> $800.00", "threshold_comparison": ">", "threshold": "800.00",
			"budgeted_amount": "1000.00", "actual_amount": "1215.40",
		}},
		{"sns-budget-forecasted.json", map[string]string{
			"kind": "budget", "budget_name": "bedrock-monthly", "budget_type": "Cost", "account_id": "123456789012",
			"alert_type": "FORECASTED", "alert_threshold": "> $1,000.00", "threshold_comparison": ">", "threshold": "1000.00",
			"budgeted_amount": "1000.00", "forecasted_amount": "3480.10",
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			alerts, err := snsMessage(t, tt.file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(alerts))
			}
			a := alerts[0]
			if a.Source != SourceSNS || a.Name != "bedrock-monthly" || a.Status != StatusFiring || a.StartsAt.IsZero() ||
				a.StartsAt.After(time.Date(2026, 11, 28, 20, 15, 0, 0, time.UTC)) {
				t.Errorf("alert = {source %s name %s status %s starts %s}", a.Source, a.Name, a.Status, a.StartsAt)
			}
			wantLabels(t, a.Labels, tt.want)
			if !strings.Contains(a.Summary, "bedrock-monthly") || !strings.HasPrefix(a.Annotations["subject"], "AWS Budgets: bedrock-monthly") ||
				!strings.HasPrefix(a.Annotations["description"], "You requested that we alert you") {
				t.Errorf("summary %q annotations %v", a.Summary, a.Annotations)
			}
		})
	}
	a, _ := snsMessage(t, "sns-budget-actual.json", nil)
	f, _ := snsMessage(t, "sns-budget-forecasted.json", nil)
	if a[0].Fingerprint == f[0].Fingerprint {
		t.Errorf("actual and forecasted alerts share fingerprint %q", a[0].Fingerprint)
	}
}

func TestParseBudgetNotificationRefusals(t *testing.T) {
	for _, tt := range []struct{ name, msg, reason string }{
		{"plain text that is not a budget", "Hello from a test topic", "not JSON and not an AWS Budgets notification"},
		{"no budget name", "AWS Budget Notification November 28, 2026\nAlert Type: ACTUAL\n", `no "Budget Name:" line`},
		{"no alert type", "AWS Budget Notification November 28, 2026\nBudget Name: b\n", `no "Alert Type:" line`},
		{"unknown alert type", "AWS Budget Notification\nBudget Name: b\nAlert Type: GUESSED\n", `Alert Type "GUESSED"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := snsMessage(t, "sns-budget-actual.json", func(e *SNSEnvelope) { e.Message = tt.msg })
			checkParsed(t, SourceSNS, alerts, err)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one containing %q", err, tt.reason)
			}
		})
	}
}

func TestParseBudgetNotificationBoundsLabels(t *testing.T) {
	msg := "AWS Budget Notification\nAWS Account " + strings.Repeat("9", 5000) + "\nBudget Name: " + strings.Repeat("b", 5000) +
		"\nAlert Type: ACTUAL\nACTUAL Amount: $" + strings.Repeat("1", 5000) + "\n"
	alerts, err := snsMessage(t, "sns-budget-actual.json", func(e *SNSEnvelope) { e.Message = msg })
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	checkBounded(t, a)
	if len(a.Name) > maxLabelValue || len(a.Fingerprint) > maxLabelValue || len(a.Summary) > maxLabelValue {
		t.Errorf("name %d, fingerprint %d, summary %d bytes: want each within %d", len(a.Name), len(a.Fingerprint), len(a.Summary), maxLabelValue)
	}
}
