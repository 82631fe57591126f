package alerts

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// budgetMarker opens every AWS Budgets notification; a plain-text SNS
// message without it is refused rather than guessed at.
const budgetMarker = "AWS Budget Notification"

// parseBudgetNotification turns the plain-text message AWS Budgets
// publishes to an SNS topic into an alert named after the budget. AWS
// documents the notification's fields (ACTUAL or FORECASTED, the
// comparison and the threshold) in
// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Notification.html
// but prints no delivered message; testdata/README.md says where the
// layout read here comes from. Labels (each value bounded):
//
//	kind               budget
//	budget_name, budget_type (Cost, Usage, ...), account_id
//	alert_type         ACTUAL or FORECASTED
//	alert_threshold    as written ("> $0.75")
//	threshold          its amount (0.75); threshold_comparison its operator (>)
//	budgeted_amount    the budget (5.00)
//	actual_amount      for ACTUAL alerts (1.70)
//	forecasted_amount  for FORECASTED alerts
//
// Amounts drop the currency sign and thousands separators when what is
// left is a number, and stay as written otherwise (usage budgets).
func parseBudgetNotification(env *SNSEnvelope) (Alert, error) {
	if !strings.HasPrefix(strings.TrimSpace(env.Message), budgetMarker) {
		return Alert{}, badRequest("sns Message is not JSON and not an AWS Budgets notification (it does not start with %q)", budgetMarker)
	}
	fields := map[string]string{}
	var account, sentence string
	sc := bufio.NewScanner(strings.NewReader(env.Message))
	sc.Buffer(make([]byte, 0, 4096), len(env.Message)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if a, ok := strings.CutPrefix(line, "AWS Account "); ok && account == "" {
			account = strings.TrimSpace(a)
			continue
		}
		if sentence == "" && strings.HasPrefix(line, "You requested that we alert you") {
			sentence = line
			continue
		}
		if k, v, ok := strings.Cut(line, ": "); ok && len(k) <= 40 {
			if _, dup := fields[k]; !dup {
				fields[k] = strings.TrimSpace(v)
			}
		}
	}
	name := fields["Budget Name"]
	if name == "" {
		return Alert{}, badRequest("sns AWS Budgets notification has no \"Budget Name:\" line")
	}
	alertType := strings.ToUpper(fields["Alert Type"])
	labels := map[string]string{
		"kind":            "budget",
		"budget_name":     clip(name),
		"budget_type":     clip(fields["Budget Type"]),
		"account_id":      clip(account),
		"alert_type":      clip(alertType),
		"alert_threshold": clip(fields["Alert Threshold"]),
		"budgeted_amount": clip(amount(fields["Budgeted Amount"])),
	}
	if op, value, ok := strings.Cut(fields["Alert Threshold"], " "); ok {
		labels["threshold_comparison"] = clip(op)
		labels["threshold"] = clip(amount(value))
	}
	switch alertType {
	case "ACTUAL", "FORECASTED":
		labels[strings.ToLower(alertType)+"_amount"] = clip(amount(fields[alertType+" Amount"]))
	case "":
		return Alert{}, badRequest("sns AWS Budgets notification %q has no \"Alert Type:\" line", clip(name))
	default:
		return Alert{}, badRequest("sns AWS Budgets notification %q: Alert Type %q is not ACTUAL or FORECASTED", clip(name), clip(alertType))
	}
	labels = nonEmpty(labels)
	subject := ""
	if env.Subject != nil {
		subject = *env.Subject
	}
	summary := fmt.Sprintf("budget %s: %s cost %s, alert threshold %s", labels["budget_name"], strings.ToLower(alertType),
		firstNonEmpty(fields[alertType+" Amount"], "unknown"), firstNonEmpty(fields["Alert Threshold"], "unknown"))
	return Alert{
		Source: SourceSNS,
		Name:   labels["budget_name"],
		Status: StatusFiring, // Budgets sends no "back under" message
		// One budget alert per budget, kind and threshold; a repeat the
		// next day is the same alert.
		Fingerprint: clip("budget/" + account + "/" + name + "/" + alertType + "/" + fields["Alert Threshold"]),
		Labels:      labels,
		Annotations: nonEmpty(map[string]string{"subject": clip(subject), "description": clip(sentence)}),
		Summary:     clip(summary),
		StartsAt:    cloudWatchTime(env.Timestamp),
		Raw:         mustJSON(env.Message),
	}, nil
}

// amount reads "$1,234.50" as 1234.50; anything else stays as written.
func amount(s string) string {
	n := strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "$"), ",", "")
	if _, err := strconv.ParseFloat(n, 64); err == nil {
		return n
	}
	return s
}

// mustJSON encodes a string as JSON, for Raw: a text message is kept as a
// JSON string so evidence stays one format.
func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
