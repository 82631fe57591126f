package alerts

import (
	"strings"
	"testing"
)

func TestParseSNSAnomalyDetectionAlarmTakesDimensionsFromTheMetricStat(t *testing.T) {
	alerts, err := snsMessage(t, "sns-cloudwatch-anomaly-detection.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	if a.Name != "bedrock-claude-sonnet-token-spike" || a.Status != StatusFiring {
		t.Errorf("alert %s status %s", a.Name, a.Status)
	}
	wantLabels(t, a.Labels, map[string]string{
		"ModelId": "anthropic.claude-3-5-sonnet-20240620-v1:0", "namespace": "AWS/Bedrock", "metric_name": "InputTokenCount",
		"expression": "ANOMALY_DETECTION_BAND(m1, 2)", "alarm_name": "bedrock-claude-sonnet-token-spike",
		"account_id": "123456789012", "region": "us-east-1",
	})
}

func TestParseSNSMetricMathAlarmBoundsAndOrder(t *testing.T) {
	// Two metric stats name ModelId: the first wins, as Trigger.Dimensions
	// would name one; a huge dimension is cut.
	msg := `{"AlarmName":"bedrock-x-token-spike","NewStateValue":"ALARM","Trigger":{"Metrics":[
		{"Id":"e1","Expression":"m1+m2","ReturnData":true},
		{"Id":"m1","MetricStat":{"Metric":{"Namespace":"AWS/Bedrock","MetricName":"InputTokenCount","Dimensions":[{"name":"ModelId","value":"first"},{"name":"Big","value":"` + strings.Repeat("v", 5000) + `"}]}},"ReturnData":false},
		{"Id":"m2","MetricStat":{"Metric":{"Namespace":"AWS/Bedrock","MetricName":"OutputTokenCount","Dimensions":[{"name":"ModelId","value":"second"}]}},"ReturnData":false}]}}`
	alerts, err := snsMessage(t, "sns-cloudwatch-anomaly-detection.json", func(e *SNSEnvelope) { e.Message = msg })
	if err != nil {
		t.Fatal(err)
	}
	l := alerts[0].Labels
	if l["ModelId"] != "first" || l["metric_name"] != "InputTokenCount" || l["expression"] != "m1+m2" || len(l["Big"]) > maxLabelValue {
		t.Errorf("labels ModelId %q metric_name %q expression %q Big %d bytes", l["ModelId"], l["metric_name"], l["expression"], len(l["Big"]))
	}
}

func TestParseSNSMetricMathAlarmRefusesBadMetrics(t *testing.T) {
	msg := `{"AlarmName":"a","NewStateValue":"ALARM","Trigger":{"Metrics":{"Id":"m1"}}}`
	alerts, err := snsMessage(t, "sns-cloudwatch-anomaly-detection.json", func(e *SNSEnvelope) { e.Message = msg })
	checkParsed(t, SourceSNS, alerts, err)
	if err == nil || !strings.Contains(err.Error(), "field Trigger.Metrics") {
		t.Errorf("error %v, want one naming Trigger.Metrics", err)
	}
}
