package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventBridge detail-types quench understands.
const (
	DetailTypeAlarmStateChange = "CloudWatch Alarm State Change"
	DetailTypeGuardDuty        = "GuardDuty Finding"
)

// eventBridgeEvent is the EventBridge event envelope.
type eventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// alarmStateChange is the detail of a "CloudWatch Alarm State Change" event.
type alarmStateChange struct {
	AlarmName     string     `json:"alarmName"`
	State         alarmState `json:"state"`
	PreviousState alarmState `json:"previousState"`
	Configuration struct {
		Description string `json:"description"`
		Metrics     []struct {
			ID         string `json:"id"`
			Expression string `json:"expression"`
			MetricStat *struct {
				Metric struct {
					Namespace  string            `json:"namespace"`
					Name       string            `json:"name"`
					Dimensions map[string]string `json:"dimensions"`
				} `json:"metric"`
				Period int    `json:"period"`
				Stat   string `json:"stat"`
			} `json:"metricStat"`
		} `json:"metrics"`
	} `json:"configuration"`
}

type alarmState struct {
	Value     string `json:"value"`
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// guardDutyFinding is the detail of a "GuardDuty Finding" event (schema 2.0).
type guardDutyFinding struct {
	SchemaVersion string  `json:"schemaVersion"`
	AccountID     string  `json:"accountId"`
	Region        string  `json:"region"`
	ID            string  `json:"id"`
	Arn           string  `json:"arn"`
	Type          string  `json:"type"`
	Severity      float64 `json:"severity"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	Title         string  `json:"title"`
	Description   string  `json:"description"`
	Resource      struct {
		ResourceType     string `json:"resourceType"`
		AccessKeyDetails *struct {
			AccessKeyID string `json:"accessKeyId"`
			PrincipalID string `json:"principalId"`
			UserType    string `json:"userType"`
			UserName    string `json:"userName"`
		} `json:"accessKeyDetails"`
	} `json:"resource"`
	Service struct {
		Archived       bool   `json:"archived"`
		EventFirstSeen string `json:"eventFirstSeen"`
		Count          int    `json:"count"`
	} `json:"service"`
}

// ParseEventBridge parses an EventBridge event: a CloudWatch alarm state
// change or a GuardDuty finding. Other detail-types are refused by name.
func ParseEventBridge(body []byte) ([]Alert, error) {
	var ev eventBridgeEvent
	if err := decodeJSON(body, &ev, false, "eventbridge"); err != nil {
		return nil, err
	}
	a, err := alertFromEvent(ev, body)
	if err != nil {
		return nil, err
	}
	return []Alert{a}, nil
}

func alertFromEvent(ev eventBridgeEvent, raw []byte) (Alert, error) {
	if len(ev.Detail) == 0 {
		return Alert{}, badRequest("eventbridge event has no detail")
	}
	switch ev.DetailType {
	case DetailTypeAlarmStateChange:
		return alertFromAlarmEvent(ev, raw)
	case DetailTypeGuardDuty:
		return alertFromGuardDuty(ev, raw)
	case "":
		return Alert{}, badRequest("eventbridge event has no detail-type")
	}
	return Alert{}, badRequest("eventbridge detail-type %q is not supported (want %q or %q)", ev.DetailType, DetailTypeAlarmStateChange, DetailTypeGuardDuty)
}

func alertFromAlarmEvent(ev eventBridgeEvent, raw []byte) (Alert, error) {
	var d alarmStateChange
	if err := decodeJSON(ev.Detail, &d, false, "eventbridge detail"); err != nil {
		return Alert{}, err
	}
	if d.AlarmName == "" {
		return Alert{}, badRequest("eventbridge alarm event has no detail.alarmName")
	}
	labels := map[string]string{}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat == nil {
			continue
		}
		for k, v := range m.MetricStat.Metric.Dimensions {
			labels[k] = v
		}
		setDefault(labels, "namespace", m.MetricStat.Metric.Namespace)
		setDefault(labels, "metric_name", m.MetricStat.Metric.Name)
	}
	setDefault(labels, "alarm_name", d.AlarmName)
	setDefault(labels, "region", ev.Region)
	setDefault(labels, "account_id", ev.Account)
	fingerprint := ""
	if len(ev.Resources) > 0 {
		fingerprint = ev.Resources[0] // the alarm ARN
	}
	return Alert{
		Source:      SourceEventBridge,
		Name:        d.AlarmName,
		Status:      alarmStatus(d.State.Value),
		Fingerprint: fingerprint,
		Labels:      labels,
		Annotations: nonEmpty(map[string]string{"description": d.Configuration.Description, "reason": d.State.Reason}),
		Summary:     firstNonEmpty(d.State.Reason, d.Configuration.Description),
		StartsAt:    firstTime(cloudWatchTime(d.State.Timestamp), ev.Time),
		Raw:         raw,
	}, nil
}

func alertFromGuardDuty(ev eventBridgeEvent, raw []byte) (Alert, error) {
	var f guardDutyFinding
	if err := decodeJSON(ev.Detail, &f, false, "guardduty finding"); err != nil {
		return Alert{}, err
	}
	if f.Type == "" {
		return Alert{}, badRequest("guardduty finding has no detail.type")
	}
	labels := map[string]string{
		"finding_type":  f.Type,
		"finding_id":    f.ID,
		"severity":      fmt.Sprint(f.Severity),
		"resource_type": f.Resource.ResourceType,
		"region":        firstNonEmpty(f.Region, ev.Region),
		"account_id":    firstNonEmpty(f.AccountID, ev.Account),
	}
	if k := f.Resource.AccessKeyDetails; k != nil {
		labels["access_key_id"] = k.AccessKeyID
		labels["principal_id"] = k.PrincipalID
		labels["user_type"] = k.UserType
		labels["user_name"] = k.UserName
	}
	status := StatusFiring
	if f.Service.Archived {
		status = StatusResolved // an archived finding has been dealt with
	}
	return Alert{
		Source:      SourceEventBridge,
		Name:        f.Type,
		Status:      status,
		Fingerprint: firstNonEmpty(f.ID, ev.ID),
		FindingType: f.Type,
		Labels:      nonEmpty(labels),
		Annotations: nonEmpty(map[string]string{"title": f.Title, "description": f.Description, "arn": f.Arn}),
		Summary:     firstNonEmpty(f.Title, f.Description),
		StartsAt:    firstTime(cloudWatchTime(f.Service.EventFirstSeen), cloudWatchTime(f.CreatedAt), ev.Time),
		Raw:         raw,
	}, nil
}

// alarmStatus maps a CloudWatch alarm state to an alert status.
func alarmStatus(state string) string {
	switch strings.ToUpper(state) {
	case "ALARM":
		return StatusFiring
	case "OK":
		return StatusResolved
	}
	return StatusUnknown
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok && v != "" {
		m[k] = v
	}
}

// nonEmpty drops empty values so labels stay small and readable.
func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Time{}
}
