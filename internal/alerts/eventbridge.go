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
	// DetailTypeSecurityHubImported carries ASFF findings (securityhub.go).
	DetailTypeSecurityHubImported = "Security Hub Findings - Imported"
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
// Field names follow the GuardDuty API reference (Finding, Resource,
// AccessKeyDetails, ModelDetail, BedrockGuardrailDetails):
// https://docs.aws.amazon.com/guardduty/latest/APIReference/API_Finding.html
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
		// ModelDetails lists the models invoked (AI Protection's
		// AnomalousModelInvocation and CostHarvesting findings).
		ModelDetails []struct {
			ModelID string `json:"modelId"`
		} `json:"modelDetails"`
		// BedrockGuardrailDetails describes the guardrail that intervened
		// (AI Protection's PromptInjection.Direct finding).
		BedrockGuardrailDetails *struct {
			GuardrailAction string `json:"guardrailAction"`
			GuardrailSource string `json:"guardrailSource"`
			Guardrails      []struct {
				Arn     string `json:"arn"`
				Version string `json:"version"`
			} `json:"guardrails"`
			// Deprecated by AWS in favour of Guardrails; read when that is empty.
			GuardrailArn     string `json:"guardrailArn"`
			GuardrailVersion string `json:"guardrailVersion"`
			// ContentPolicyFilters are the filters that matched (API_ContentPolicyFilter).
			ContentPolicyFilters []struct {
				Type       string `json:"type"`
				Confidence string `json:"confidence"`
				Action     string `json:"action"`
			} `json:"contentPolicyFilters"`
		} `json:"bedrockGuardrailDetails"`
	} `json:"resource"`
	Service struct {
		Archived       bool   `json:"archived"`
		EventFirstSeen string `json:"eventFirstSeen"`
		Count          int    `json:"count"`
		Action         struct {
			AwsAPICallAction *struct {
				API             string `json:"api"`
				ServiceName     string `json:"serviceName"`
				CallerType      string `json:"callerType"`
				ErrorCode       string `json:"errorCode"`
				RemoteIPDetails *struct {
					IPAddressV4 string `json:"ipAddressV4"`
					IPAddressV6 string `json:"ipAddressV6"`
					Country     struct {
						CountryName string `json:"countryName"`
					} `json:"country"`
				} `json:"remoteIpDetails"`
			} `json:"awsApiCallAction"`
		} `json:"action"`
	} `json:"service"`
}

// ParseEventBridge parses an EventBridge event: a CloudWatch alarm state
// change, a GuardDuty finding, Security Hub findings (one alert each), or
// an API call CloudTrail recorded.
// Other detail-types are refused by name.
func ParseEventBridge(body []byte) ([]Alert, error) {
	var ev eventBridgeEvent
	if err := decodeJSON(body, &ev, false, "eventbridge"); err != nil {
		return nil, err
	}
	return alertsFromEvent(ev, body)
}

// detailTypes are the detail-types alertsFromEvent takes, for its refusal.
var detailTypes = []string{DetailTypeAlarmStateChange, DetailTypeGuardDuty, DetailTypeSecurityHubImported, DetailTypeCloudTrail}

func alertsFromEvent(ev eventBridgeEvent, raw []byte) ([]Alert, error) {
	if len(ev.Detail) == 0 {
		return nil, badRequest("eventbridge event has no detail")
	}
	one := func(a Alert, err error) ([]Alert, error) {
		if err != nil {
			return nil, err
		}
		return []Alert{a}, nil
	}
	switch ev.DetailType {
	case DetailTypeAlarmStateChange:
		return one(alertFromAlarmEvent(ev, raw))
	case DetailTypeGuardDuty:
		return one(alertFromGuardDuty(ev, raw))
	case DetailTypeSecurityHubImported:
		return alertsFromSecurityHub(ev)
	case DetailTypeCloudTrail:
		return one(alertFromCloudTrail(ev, raw))
	case "":
		return nil, badRequest("eventbridge event has no detail-type")
	}
	return nil, badRequest("eventbridge detail-type %q is not supported (want one of %q)", clip(ev.DetailType), detailTypes)
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
		"finding_type":  clip(f.Type),
		"finding_id":    clip(f.ID),
		"severity":      fmt.Sprint(f.Severity),
		"resource_type": clip(f.Resource.ResourceType),
		"region":        clip(firstNonEmpty(f.Region, ev.Region)),
		"account_id":    clip(firstNonEmpty(f.AccountID, ev.Account)),
	}
	principalLabels(labels, f)
	aiLabels(labels, f)
	status := StatusFiring
	if f.Service.Archived {
		status = StatusResolved // an archived finding has been dealt with
	}
	return Alert{
		Source:      SourceEventBridge,
		Name:        clip(f.Type),
		Status:      status,
		Fingerprint: clip(firstNonEmpty(f.ID, ev.ID)),
		FindingType: clip(f.Type),
		Labels:      nonEmpty(labels),
		Annotations: nonEmpty(map[string]string{"title": f.Title, "description": f.Description, "arn": f.Arn}),
		Summary:     firstNonEmpty(f.Title, f.Description),
		StartsAt:    firstTime(cloudWatchTime(f.Service.EventFirstSeen), cloudWatchTime(f.CreatedAt), ev.Time),
		Raw:         raw,
	}, nil
}

// Principal types a GuardDuty finding's principal_type label takes. A
// runbook branches on them so containment hits the identity the finding
// names: a role's sessions, a user's keys, never one for the other.
const (
	PrincipalRole          = "role"           // an IAM role itself (userType Role)
	PrincipalAssumedRole   = "assumed-role"   // a session of a role (userType AssumedRole)
	PrincipalIAMUser       = "iam-user"       // an IAM user (userType IAMUser)
	PrincipalRoot          = "root"           // the account's root user
	PrincipalFederatedUser = "federated-user" // GetFederationToken credentials
	PrincipalAccessKey     = "access-key"     // only the access key is known
	PrincipalOther         = "other"          // any other userType (AWSService, ...)
)

// principalLabels sets the labels naming who acted, from
// resource.accessKeyDetails. GuardDuty's userName is the role's name for
// Role and AssumedRole and the user's name for IAMUser, so the raw
// user_name label is only ever a user when principal_type is iam-user;
// role_name and iam_user_name are set only for their kind, so a route that
// passes iam_user_name can never hand a role to a user-only action.
//
//	principal_type  role | assumed-role | iam-user | root | federated-user | access-key | other
//	user_type       GuardDuty's userType as sent (AssumedRole, IAMUser, Role, Root, ...)
//	user_name       GuardDuty's userName as sent
//	principal_id    GuardDuty's principalId (AROA...:session for sessions, AIDA... for users)
//	access_key_id   the access key used (ASIA... temporary, AKIA... long-term)
//	role_name       the role, for role and assumed-role
//	session_name    the role session name, for assumed-role
//	iam_user_name   the IAM user, for iam-user
func principalLabels(labels map[string]string, f guardDutyFinding) {
	if k := f.Resource.AccessKeyDetails; k != nil {
		identityLabels(labels, identity{userType: k.UserType, userName: k.UserName, principalID: k.PrincipalID, accessKeyID: k.AccessKeyID})
	}
}

// identity is who acted, as GuardDuty's accessKeyDetails, Security Hub's
// AwsIamAccessKey resource and CloudTrail's userIdentity each name it:
// userName is the role's name for Role and AssumedRole, the user's for IAMUser.
type identity struct {
	userType, userName, principalID, accessKeyID string
}

// identityLabels sets the principal labels principalLabels documents,
// each value bounded.
func identityLabels(labels map[string]string, id identity) {
	name := clip(id.userName)
	labels["access_key_id"] = clip(id.accessKeyID)
	labels["principal_id"] = clip(id.principalID)
	labels["user_type"] = clip(id.userType)
	labels["user_name"] = name
	switch id.userType {
	case "AssumedRole":
		labels["principal_type"] = PrincipalAssumedRole
		labels["role_name"] = name
		if _, session, ok := strings.Cut(id.principalID, ":"); ok {
			labels["session_name"] = clip(session)
		}
	case "Role":
		labels["principal_type"] = PrincipalRole
		labels["role_name"] = name
	case "IAMUser":
		labels["principal_type"] = PrincipalIAMUser
		labels["iam_user_name"] = name
	case "Root":
		labels["principal_type"] = PrincipalRoot
	case "FederatedUser":
		labels["principal_type"] = PrincipalFederatedUser
	case "":
		if id.accessKeyID != "" {
			labels["principal_type"] = PrincipalAccessKey
		}
	default:
		labels["principal_type"] = PrincipalOther
	}
}

// aiLabels sets the labels of GuardDuty's AI Protection details
// (https://docs.aws.amazon.com/guardduty/latest/ug/findings-ai-protection.html),
// each value bounded:
//
//	model_id           the first model in resource.modelDetails
//	model_ids          every model there, comma-separated (set when there are several)
//	guardrail_arn      the guardrail that intervened (resource.bedrockGuardrailDetails)
//	guardrail_id       the id at the end of guardrail_arn
//	guardrail_version  its version (a number, DRAFT or ENFORCED)
//	guardrail_ids      every guardrail's id, comma-separated (set when there are several)
//	guardrail_action   GUARDRAIL_INTERVENED or NONE
//	guardrail_source   INPUT or OUTPUT
//	guardrail_filters  the content filters that matched, TYPE:ACTION (PROMPT_ATTACK:BLOCKED), comma-separated
//	api, api_service   the API call the finding is about (service.action.awsApiCallAction)
//	caller_type, api_error_code   how it was called (Remote IP, ...) and its error, if any
//	remote_ip, remote_country     where it came from (remoteIpDetails)
func aiLabels(labels map[string]string, f guardDutyFinding) {
	var models []string
	for _, m := range f.Resource.ModelDetails {
		if m.ModelID != "" {
			models = append(models, m.ModelID)
		}
	}
	if len(models) > 0 {
		labels["model_id"] = clip(models[0])
	}
	if len(models) > 1 {
		labels["model_ids"] = joinDistinct(models)
	}
	if g := f.Resource.BedrockGuardrailDetails; g != nil {
		arn, version := g.GuardrailArn, g.GuardrailVersion
		if len(g.Guardrails) > 0 {
			arn, version = g.Guardrails[0].Arn, g.Guardrails[0].Version
		}
		labels["guardrail_arn"] = clip(arn)
		labels["guardrail_id"] = clip(guardrailID(arn))
		labels["guardrail_version"] = clip(version)
		if len(g.Guardrails) > 1 {
			var ids []string
			for _, gr := range g.Guardrails {
				ids = append(ids, guardrailID(gr.Arn))
			}
			labels["guardrail_ids"] = joinDistinct(ids)
		}
		labels["guardrail_action"] = clip(g.GuardrailAction)
		labels["guardrail_source"] = clip(g.GuardrailSource)
		var filters []string
		for _, c := range g.ContentPolicyFilters {
			if c.Type != "" {
				filters = append(filters, c.Type+":"+firstNonEmpty(c.Action, "NONE"))
			}
		}
		labels["guardrail_filters"] = joinDistinct(filters)
	}
	if c := f.Service.Action.AwsAPICallAction; c != nil {
		labels["api"] = clip(c.API)
		labels["api_service"] = clip(c.ServiceName)
		labels["caller_type"] = clip(c.CallerType)
		labels["api_error_code"] = clip(c.ErrorCode)
		if ip := c.RemoteIPDetails; ip != nil {
			labels["remote_ip"] = clip(firstNonEmpty(ip.IPAddressV4, ip.IPAddressV6))
			labels["remote_country"] = clip(ip.Country.CountryName)
		}
	}
}

// guardrailID is the id at the end of a guardrail ARN, or "" when it is not one.
func guardrailID(arn string) string {
	if i := strings.LastIndex(arn, ":guardrail/"); i >= 0 {
		return arn[i+len(":guardrail/"):]
	}
	return ""
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
