package alerts

import (
	"encoding/json"
	"fmt"
	"time"
)

// AlertNameCostAnomaly names every AWS Cost Anomaly Detection alert; routes
// tell anomalies apart by their labels (services, usage_types, ...).
const AlertNameCostAnomaly = "cost-anomaly"

// costAnomaly is the JSON message AWS Cost Anomaly Detection publishes to
// an SNS topic for individual alerts, as "Getting started with AWS Cost
// Anomaly Detection" shows it (Viewing your detected anomalies, from an
// Amazon SNS topic):
// https://docs.aws.amazon.com/cost-management/latest/userguide/getting-started-ad.html
// The fields mean what the Anomaly API type says:
// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_Anomaly.html
type costAnomaly struct {
	AccountID          string `json:"accountId"`
	AnomalyDetailsLink string `json:"anomalyDetailsLink"`
	AnomalyID          string `json:"anomalyId"`
	AnomalyStartDate   string `json:"anomalyStartDate"`
	AnomalyEndDate     string `json:"anomalyEndDate"`
	AnomalyScore       struct {
		CurrentScore *float64 `json:"currentScore"`
		MaxScore     *float64 `json:"maxScore"`
	} `json:"anomalyScore"`
	// DimensionalValue is the monitored dimension: the service for an
	// AWS services monitor.
	DimensionalValue string `json:"dimensionalValue"`
	Impact           struct {
		MaxImpact             *float64 `json:"maxImpact"`
		TotalActualSpend      *float64 `json:"totalActualSpend"`
		TotalExpectedSpend    *float64 `json:"totalExpectedSpend"`
		TotalImpact           *float64 `json:"totalImpact"`
		TotalImpactPercentage *float64 `json:"totalImpactPercentage"`
	} `json:"impact"`
	MonitorArn  string `json:"monitorArn"`
	MonitorName string `json:"monitorName"`
	// RootCauses are ranked by dollar impact, the first the largest.
	RootCauses []struct {
		LinkedAccount     string `json:"linkedAccount"`
		LinkedAccountName string `json:"linkedAccountName"`
		Region            string `json:"region"`
		Service           string `json:"service"`
		UsageType         string `json:"usageType"`
	} `json:"rootCauses"`
	SubscriptionName string `json:"subscriptionName"`
}

// parseCostAnomaly turns a Cost Anomaly Detection SNS message into an
// alert. Labels (each value bounded, see labels.go):
//
//	kind                   cost-anomaly
//	anomaly_id, monitor_arn, monitor_name, subscription_name, account_id
//	dimensional_value      the monitored dimension (the service, for a service monitor)
//	service, region, linked_account, linked_account_name, usage_type
//	                       the top-ranked root cause
//	services, usage_types, regions, linked_accounts
//	                       every root cause's, distinct, comma-separated (at most 10)
//	root_causes            how many root causes AWS sent
//	total_impact, total_impact_percentage, max_impact,
//	total_actual_spend, total_expected_spend   dollars (percent), as sent
//	anomaly_score, anomaly_max_score, start_date, end_date
func parseCostAnomaly(env *SNSEnvelope, msg []byte) (Alert, error) {
	var m costAnomaly
	if err := decodeJSON(msg, &m, false, "sns cost anomaly Message"); err != nil {
		return Alert{}, err
	}
	if m.AnomalyID == "" {
		return Alert{}, badRequest("sns cost anomaly Message has no anomalyId")
	}
	labels := map[string]string{
		"kind":              AlertNameCostAnomaly,
		"anomaly_id":        clip(m.AnomalyID),
		"monitor_arn":       clip(m.MonitorArn),
		"monitor_name":      clip(m.MonitorName),
		"subscription_name": clip(m.SubscriptionName),
		"account_id":        clip(m.AccountID),
		"dimensional_value": clip(m.DimensionalValue),
		"start_date":        clip(m.AnomalyStartDate),
		"end_date":          clip(m.AnomalyEndDate),
	}
	if n := len(m.RootCauses); n > 0 {
		top := m.RootCauses[0]
		labels["service"] = clip(top.Service)
		labels["region"] = clip(top.Region)
		labels["linked_account"] = clip(top.LinkedAccount)
		labels["linked_account_name"] = clip(top.LinkedAccountName)
		labels["usage_type"] = clip(top.UsageType)
		var services, usageTypes, regions, accounts []string
		for _, c := range m.RootCauses {
			services = append(services, c.Service)
			usageTypes = append(usageTypes, c.UsageType)
			regions = append(regions, c.Region)
			accounts = append(accounts, c.LinkedAccount)
		}
		labels["services"] = joinDistinct(services)
		labels["usage_types"] = joinDistinct(usageTypes)
		labels["regions"] = joinDistinct(regions)
		labels["linked_accounts"] = joinDistinct(accounts)
		labels["root_causes"] = fmt.Sprint(n)
	}
	setNumber(labels, "total_impact", m.Impact.TotalImpact)
	setNumber(labels, "total_impact_percentage", m.Impact.TotalImpactPercentage)
	setNumber(labels, "max_impact", m.Impact.MaxImpact)
	setNumber(labels, "total_actual_spend", m.Impact.TotalActualSpend)
	setNumber(labels, "total_expected_spend", m.Impact.TotalExpectedSpend)
	setNumber(labels, "anomaly_score", m.AnomalyScore.CurrentScore)
	setNumber(labels, "anomaly_max_score", m.AnomalyScore.MaxScore)
	labels = nonEmpty(labels)

	where := firstNonEmpty(labels["services"], m.DimensionalValue, "an AWS account")
	summary := "cost anomaly in " + where
	if v, ok := labels["total_impact"]; ok {
		summary += ": $" + v + " above expected"
		if p, ok := labels["total_impact_percentage"]; ok {
			summary += " (" + p + "%)"
		}
	}
	return Alert{
		Source:      SourceSNS,
		Name:        AlertNameCostAnomaly,
		Status:      StatusFiring, // AWS sends no "anomaly over" message
		Fingerprint: clip(m.AnomalyID),
		Labels:      labels,
		Annotations: nonEmpty(map[string]string{"details_link": clip(m.AnomalyDetailsLink)}),
		Summary:     summary,
		StartsAt:    firstTime(dateTime(m.AnomalyStartDate), cloudWatchTime(env.Timestamp)),
		Raw:         json.RawMessage(msg),
	}, nil
}

// dateTime parses the dates Cost Explorer writes: 2021-05-25 or 2021-05-25T00:00:00Z.
func dateTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
