package slackapp

import (
	"encoding/json"
	"fmt"

	"github.com/quenchhq/quench/workflows/contract"
)

// ApprovalButton is what an Approve or Deny button carries in its value.
// Slack signs the whole interaction payload and users cannot edit a bot's
// buttons, so the handler may trust it; it still only names which decision
// to ask the workflow for, and the workflow's validator decides.
type ApprovalButton struct {
	Incident string `json:"i"`
	Step     string `json:"s"`
	Runbook  string `json:"r,omitempty"`
	Severity string `json:"v,omitempty"`
	// Groups are the Slack user groups that may approve this request; the
	// handler resolves the clicker's membership in exactly these.
	Groups []string `json:"g,omitempty"`
}

// Encode returns the button value.
func (b ApprovalButton) Encode() (string, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return "", fmt.Errorf("encode approval button for incident %s step %s: %w", b.Incident, b.Step, err)
	}
	if len(raw) > maxButtonValue {
		return "", fmt.Errorf("encode approval button for incident %s step %s: value is %d bytes, slack allows %d (too many approver groups?)", b.Incident, b.Step, len(raw), maxButtonValue)
	}
	return string(raw), nil
}

// DecodeApprovalButton reads a button value written by Encode.
func DecodeApprovalButton(value string) (ApprovalButton, error) {
	var b ApprovalButton
	if err := json.Unmarshal([]byte(value), &b); err != nil {
		return ApprovalButton{}, fmt.Errorf("decode approval button value: %w", err)
	}
	if b.Incident == "" || b.Step == "" {
		return ApprovalButton{}, fmt.Errorf("decode approval button value: incident and step are required")
	}
	return b, nil
}

// Ref returns the incident the button belongs to, enough to draw a header.
func (b ApprovalButton) Ref() contract.IncidentRef {
	return contract.IncidentRef{ID: b.Incident, Runbook: b.Runbook, Severity: b.Severity}
}
