package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"time"
)

// GenericAlert is the documented JSON shape POSTed to /alerts/generic, for
// anything that is not Alertmanager, SNS or EventBridge. Unknown fields are
// refused so a typo ("lables") is reported instead of silently dropped.
//
//	{
//	  "name": "bedrock-token-spike",          // required
//	  "status": "firing",                     // firing (default) | resolved
//	  "fingerprint": "model-x-spike",         // optional; default: hash of name and labels
//	  "labels": {"ModelId": "anthropic.claude-3-haiku", "env": "prod"},
//	  "annotations": {"runbook_url": "https://..."},
//	  "summary": "token usage 12x baseline",
//	  "starts_at": "2026-11-28T20:15:00Z"     // RFC 3339; default: when received
//	}
//
// Or a batch: {"alerts": [ {...}, {...} ]}.
type GenericAlert struct {
	Name        string            `json:"name"`
	Status      string            `json:"status,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	StartsAt    *time.Time        `json:"starts_at,omitempty"`
}

// genericBody is either one alert or a batch; decoding into both at once
// keeps the strict unknown-field check for each form.
type genericBody struct {
	GenericAlert
	Alerts []GenericAlert `json:"alerts,omitempty"`
}

// maxGenericBatch bounds a generic batch (the body limit bounds it too).
const maxGenericBatch = 100

// ParseGeneric parses the generic JSON shape (one alert or {"alerts": [...]}).
func ParseGeneric(body []byte) ([]Alert, error) {
	var b genericBody
	if err := decodeJSON(body, &b, true, "generic"); err != nil {
		return nil, err
	}
	batch := b.Alerts
	single := b.GenericAlert
	isSingle := single.Name != "" || single.Status != "" || single.Fingerprint != "" || single.Labels != nil ||
		single.Annotations != nil || single.Summary != "" || single.StartsAt != nil
	switch {
	case isSingle && batch != nil:
		return nil, badRequest("generic JSON has both a top-level alert and \"alerts\"; send one or the other")
	case isSingle:
		batch = []GenericAlert{single}
	case len(batch) == 0:
		return nil, badRequest("generic JSON has no alert: want {\"name\": ...} or {\"alerts\": [...]}")
	case len(batch) > maxGenericBatch:
		return nil, badRequest("generic JSON has %d alerts; at most %d per request", len(batch), maxGenericBatch)
	}
	out := make([]Alert, 0, len(batch))
	for i, g := range batch {
		where := "generic alert"
		if !isSingle {
			where = "generic alerts[" + strconv.Itoa(i) + "]"
		}
		if g.Name == "" {
			return nil, badRequest("%s: field \"name\" is required", where)
		}
		status := g.Status
		if status == "" {
			status = StatusFiring
		}
		if status != StatusFiring && status != StatusResolved {
			return nil, badRequest("%s: status %q is not firing or resolved", where, g.Status)
		}
		fp := g.Fingerprint
		if fp == "" {
			fp = genericFingerprint(g)
		}
		a := Alert{
			Source:      SourceGeneric,
			Name:        g.Name,
			Status:      status,
			Fingerprint: fp,
			Labels:      g.Labels,
			Annotations: g.Annotations,
			Summary:     g.Summary,
		}
		if g.StartsAt != nil {
			a.StartsAt = g.StartsAt.UTC()
		}
		out = append(out, a)
	}
	if len(out) == 1 {
		out[0].Raw = body
	}
	return out, nil
}

// genericFingerprint hashes the name and sorted labels, so the same alert
// from the same system gets the same fingerprint.
func genericFingerprint(g GenericAlert) string {
	h := sha256.New()
	h.Write([]byte(g.Name))
	for _, k := range slices.Sorted(maps.Keys(g.Labels)) {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(g.Labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
