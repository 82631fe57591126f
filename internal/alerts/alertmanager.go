package alerts

import (
	"encoding/json"
	"time"
)

// alertmanagerWebhook is Alertmanager's webhook payload, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Unknown fields are allowed: Alertmanager adds fields within version 4.
type alertmanagerWebhook struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []alertmanagerAlert `json:"alerts"`
}

type alertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// ParseAlertmanager parses an Alertmanager webhook (version 4) into one
// Alert per alert in the group.
func ParseAlertmanager(body []byte) ([]Alert, error) {
	var w alertmanagerWebhook
	if err := decodeJSON(body, &w, false, "alertmanager"); err != nil {
		return nil, err
	}
	if w.Version != "4" {
		return nil, badRequest("alertmanager webhook version %q is not supported (want \"4\")", w.Version)
	}
	if len(w.Alerts) == 0 {
		return nil, badRequest("alertmanager webhook has no alerts")
	}
	out := make([]Alert, 0, len(w.Alerts))
	for i, a := range w.Alerts {
		status := a.Status
		if status == "" {
			status = w.Status
		}
		if status != StatusFiring && status != StatusResolved {
			return nil, badRequest("alertmanager alerts[%d]: status %q is not firing or resolved", i, status)
		}
		name := a.Labels["alertname"]
		if name == "" {
			return nil, badRequest("alertmanager alerts[%d]: no alertname label", i)
		}
		raw, _ := json.Marshal(a) // cannot fail: plain strings, maps and times
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = a.Annotations["description"]
		}
		out = append(out, Alert{
			Source:      SourceAlertmanager,
			Name:        name,
			Status:      status,
			Fingerprint: a.Fingerprint,
			Labels:      a.Labels,
			Annotations: a.Annotations,
			Summary:     summary,
			StartsAt:    a.StartsAt.UTC(),
			Raw:         raw,
		})
	}
	return out, nil
}
