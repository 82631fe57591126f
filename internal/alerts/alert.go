package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

// Sources, as used in URLs (/alerts/<source>), routes.yaml and IncidentInput.Source.
const (
	SourceAlertmanager = "alertmanager"
	SourceSNS          = "sns"
	SourceEventBridge  = "eventbridge"
	SourceGeneric      = "generic"
)

// Sources lists every source, in the order endpoints are documented.
var Sources = []string{SourceAlertmanager, SourceSNS, SourceEventBridge, SourceGeneric}

// Alert statuses. A CloudWatch alarm in INSUFFICIENT_DATA has StatusUnknown
// and is answered but never routed: missing data is not an incident.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	StatusUnknown  = "unknown"
)

// Alert is one alert, normalized from any source.
type Alert struct {
	Source string `json:"source"`
	// Name is the alert name: Alertmanager's alertname label, the CloudWatch
	// AlarmName, the GuardDuty finding type, or the generic shape's name.
	Name   string `json:"name"`
	Status string `json:"status"`
	// Fingerprint identifies the alert at its source (Alertmanager
	// fingerprint, alarm ARN, GuardDuty finding id).
	Fingerprint string `json:"fingerprint,omitempty"`
	// FindingType is set for GuardDuty findings (e.g. Impact:IAMUser/AnomalousBehavior).
	FindingType string            `json:"finding_type,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	StartsAt    time.Time         `json:"starts_at,omitzero"`
	// Raw is the part of the payload this alert came from, for evidence.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Signal builds the signal that folds a into an incident, bounded
// (contract.AlertSignal.Bounded): what is signalled lands in history.
func (a Alert) Signal(receivedAt time.Time) contract.AlertSignal {
	return contract.AlertSignal{
		Source:      a.Source,
		Name:        a.Name,
		Status:      a.Status,
		Fingerprint: a.Fingerprint,
		Labels:      a.Labels,
		Summary:     a.Summary,
		ReceivedAt:  receivedAt,
	}.Bounded()
}

// celValue is the alert as the `alert` variable of route expressions.
func (a Alert) celValue() map[string]any {
	startsAt := ""
	if !a.StartsAt.IsZero() {
		startsAt = a.StartsAt.UTC().Format(time.RFC3339)
	}
	return map[string]any{
		"source":       a.Source,
		"name":         a.Name,
		"status":       a.Status,
		"fingerprint":  a.Fingerprint,
		"finding_type": a.FindingType,
		"labels":       nonNil(a.Labels),
		"annotations":  nonNil(a.Annotations),
		"summary":      a.Summary,
		"starts_at":    startsAt,
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// IncidentID derives the incident (workflow) id from a runbook and a dedup
// key: readable (the runbook name first) and stable, so every alert with the
// same key lands on the same incident.
func IncidentID(runbook, dedupKey string) string {
	sum := sha256.Sum256([]byte(dedupKey))
	return runbook + "-" + hex.EncodeToString(sum[:])[:12]
}
