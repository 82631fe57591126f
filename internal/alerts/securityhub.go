package alerts

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// maxFindingsPerEvent bounds the findings one Security Hub event may carry;
// AWS sends one per event, and the body limit bounds them too.
const maxFindingsPerEvent = 100

// securityHubEvent is the detail of a "Security Hub Findings - Imported"
// event: https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
type securityHubEvent struct {
	Findings []json.RawMessage `json:"findings"`
}

// asffFinding is the part of an AWS Security Finding Format finding quench
// reads. Required attributes and their examples:
// https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html
// Tags, Details other than AwsIamAccessKey, and ProductFields are left
// unread: their shapes vary by product (the documented example's Tags
// hold a boolean).
type asffFinding struct {
	ID              string   `json:"Id"`
	ProductArn      string   `json:"ProductArn"`
	ProductName     string   `json:"ProductName"`
	CompanyName     string   `json:"CompanyName"`
	GeneratorID     string   `json:"GeneratorId"`
	AwsAccountID    string   `json:"AwsAccountId"`
	Region          string   `json:"Region"`
	Types           []string `json:"Types"`
	Title           string   `json:"Title"`
	Description     string   `json:"Description"`
	CreatedAt       string   `json:"CreatedAt"`
	FirstObservedAt string   `json:"FirstObservedAt"`
	Severity        struct {
		Label      string   `json:"Label"`
		Normalized *float64 `json:"Normalized"`
	} `json:"Severity"`
	RecordState string `json:"RecordState"`
	Workflow    struct {
		Status string `json:"Status"`
	} `json:"Workflow"`
	Compliance struct {
		Status string `json:"Status"`
	} `json:"Compliance"`
	Resources []struct {
		Type    string `json:"Type"`
		ID      string `json:"Id"`
		Region  string `json:"Region"`
		Details struct {
			// AwsIamAccessKey names who used the key (GuardDuty's IAM findings):
			// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsIamAccessKeyDetails.html
			AwsIamAccessKey *struct {
				PrincipalID   string `json:"PrincipalId"`
				PrincipalName string `json:"PrincipalName"`
				PrincipalType string `json:"PrincipalType"`
			} `json:"AwsIamAccessKey"`
		} `json:"Details"`
	} `json:"Resources"`
}

// accessKeyID matches an access key id at the end of an AwsIamAccessKey
// resource id ("AWS::IAM::AccessKey:ASIA...").
var accessKeyID = regexp.MustCompile(`(?:^|:)((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{12,124})$`)

// alertsFromSecurityHub turns each finding of a "Security Hub Findings -
// Imported" event into an alert. Labels (each value bounded):
//
//	kind                 securityhub
//	finding_id           the ASFF Id; guardduty_finding_id the GuardDuty id in it, for
//	                     GuardDuty findings (so a route can fold them with the GuardDuty event)
//	product_arn, product_name, company_name, generator_id, account_id, region
//	severity             Severity.Label (INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL)
//	severity_normalized  Severity.Normalized (0-100)
//	type, types          the first finding type, and every one (comma-separated)
//	resource_type, resource_id, resource_types   the first resource, and every type
//	record_state, workflow_status, compliance_status
//	principal_type, role_name, iam_user_name, ... as for GuardDuty, from the
//	                     first AwsIamAccessKey resource
//
// The alert's name is the finding's Title and its finding_type the first
// Types entry (namespace/category/classifier, never a GuardDuty type). A
// finding archived, resolved, suppressed or passed is resolved.
func alertsFromSecurityHub(ev eventBridgeEvent) ([]Alert, error) {
	var d securityHubEvent
	if err := decodeJSON(ev.Detail, &d, false, "security hub detail"); err != nil {
		return nil, err
	}
	switch {
	case len(d.Findings) == 0:
		return nil, badRequest("security hub event has no detail.findings")
	case len(d.Findings) > maxFindingsPerEvent:
		return nil, badRequest("security hub event has %d findings; at most %d per event", len(d.Findings), maxFindingsPerEvent)
	}
	out := make([]Alert, 0, len(d.Findings))
	for i, raw := range d.Findings {
		a, err := alertFromASFF(ev, raw, fmt.Sprintf("security hub detail.findings[%d]", i))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func alertFromASFF(ev eventBridgeEvent, raw json.RawMessage, where string) (Alert, error) {
	var f asffFinding
	if err := decodeJSON(raw, &f, false, where); err != nil {
		return Alert{}, err
	}
	if f.ID == "" {
		return Alert{}, badRequest("%s has no Id", where)
	}
	name := firstNonEmpty(f.Title, firstOf(f.Types), f.ID)
	labels := map[string]string{
		"kind":              "securityhub",
		"finding_id":        clip(f.ID),
		"product_arn":       clip(f.ProductArn),
		"product_name":      clip(f.ProductName),
		"company_name":      clip(f.CompanyName),
		"generator_id":      clip(f.GeneratorID),
		"account_id":        clip(firstNonEmpty(f.AwsAccountID, ev.Account)),
		"region":            clip(firstNonEmpty(f.Region, ev.Region)),
		"severity":          clip(f.Severity.Label),
		"type":              clip(firstOf(f.Types)),
		"types":             joinDistinct(f.Types),
		"record_state":      clip(f.RecordState),
		"workflow_status":   clip(f.Workflow.Status),
		"compliance_status": clip(f.Compliance.Status),
	}
	setNumber(labels, "severity_normalized", f.Severity.Normalized)
	if strings.HasSuffix(f.ProductArn, "/aws/guardduty") {
		if i := strings.LastIndex(f.ID, "/finding/"); i >= 0 {
			labels["guardduty_finding_id"] = clip(f.ID[i+len("/finding/"):])
		}
	}
	var types []string
	for i, r := range f.Resources {
		types = append(types, r.Type)
		if i == 0 {
			labels["resource_type"] = clip(r.Type)
			labels["resource_id"] = clip(r.ID)
		}
		if k := r.Details.AwsIamAccessKey; k != nil && labels["principal_type"] == "" {
			key := ""
			if m := accessKeyID.FindStringSubmatch(r.ID); m != nil {
				key = m[1]
			}
			identityLabels(labels, identity{userType: k.PrincipalType, userName: k.PrincipalName, principalID: k.PrincipalID, accessKeyID: key})
		}
	}
	labels["resource_types"] = joinDistinct(types)
	status := StatusFiring
	switch {
	case strings.EqualFold(f.RecordState, "ARCHIVED"),
		strings.EqualFold(f.Workflow.Status, "RESOLVED"), strings.EqualFold(f.Workflow.Status, "SUPPRESSED"),
		strings.EqualFold(f.Compliance.Status, "PASSED"):
		status = StatusResolved
	}
	return Alert{
		Source:      SourceEventBridge,
		Name:        clip(name),
		Status:      status,
		Fingerprint: clip(f.ID),
		FindingType: clip(firstOf(f.Types)),
		Labels:      nonEmpty(labels),
		Annotations: nonEmpty(map[string]string{"title": clip(f.Title), "description": clip(f.Description)}),
		Summary:     clip(firstNonEmpty(f.Title, f.Description)),
		StartsAt:    firstTime(dateTime(f.FirstObservedAt), dateTime(f.CreatedAt), ev.Time),
		Raw:         raw,
	}, nil
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
