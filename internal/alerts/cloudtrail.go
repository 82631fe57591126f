package alerts

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// DetailTypeCloudTrail is the detail-type of every API call CloudTrail
// delivers to EventBridge:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
const DetailTypeCloudTrail = "AWS API Call via CloudTrail"

// Bounds on the request parameters copied into labels: a caller writes
// them, so a huge policy document or many keys must not become labels.
const (
	maxRequestParams   = 16
	maxRequestParamKey = 64
)

// cloudTrailRecord is the CloudTrail record an EventBridge event carries
// as detail. userIdentity as documented in
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
type cloudTrailRecord struct {
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	AwsRegion    string `json:"awsRegion"`
	SourceIP     string `json:"sourceIPAddress"`
	UserAgent    string `json:"userAgent"`
	ErrorCode    string `json:"errorCode"`
	EventID      string `json:"eventID"`
	RecipientAcc string `json:"recipientAccountId"`
	UserIdentity struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		Arn            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext struct {
			SessionIssuer struct {
				Type     string `json:"type"`
				Arn      string `json:"arn"`
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	// RequestParameters is read key by key (requestLabels): its shape is
	// the API's, and only its scalar top-level values become labels.
	RequestParameters json.RawMessage `json:"requestParameters"`
}

// alertFromCloudTrail turns an "AWS API Call via CloudTrail" event into an
// alert named after the API call (DeleteGuardrail). Labels (each bounded):
//
//	kind                        cloudtrail
//	event_name, event_source    DeleteGuardrail, bedrock.amazonaws.com
//	event_id, region, account_id, source_ip, user_agent
//	error_code                  set when the call failed (AccessDenied, ...)
//	user_type, user_arn, principal_id, access_key_id, user_name
//	                            userIdentity as sent
//	session_issuer_type, session_issuer_arn, session_issuer_user_name
//	                            for temporary credentials: the role (or user) that issued them
//	invoked_by                  the AWS service that called on the caller's behalf
//	principal_type, role_name, session_name, iam_user_name
//	                            as for GuardDuty; for an assumed role the role
//	                            is the session issuer's userName
//	request_<key>               each scalar top-level request parameter
//	                            (request_guardrailIdentifier, request_roleName):
//	                            at most 16, in key order, values bounded
func alertFromCloudTrail(ev eventBridgeEvent, raw []byte) (Alert, error) {
	var r cloudTrailRecord
	if err := decodeJSON(ev.Detail, &r, false, "cloudtrail detail"); err != nil {
		return Alert{}, err
	}
	if r.EventName == "" {
		return Alert{}, badRequest("cloudtrail event has no detail.eventName")
	}
	u := r.UserIdentity
	issuer := u.SessionContext.SessionIssuer
	labels := map[string]string{
		"kind":                     "cloudtrail",
		"event_name":               clip(r.EventName),
		"event_source":             clip(r.EventSource),
		"event_id":                 clip(r.EventID),
		"region":                   clip(firstNonEmpty(r.AwsRegion, ev.Region)),
		"account_id":               clip(firstNonEmpty(r.RecipientAcc, ev.Account)),
		"source_ip":                clip(r.SourceIP),
		"user_agent":               clip(r.UserAgent),
		"error_code":               clip(r.ErrorCode),
		"user_arn":                 clip(u.Arn),
		"invoked_by":               clip(u.InvokedBy),
		"session_issuer_type":      clip(issuer.Type),
		"session_issuer_arn":       clip(issuer.Arn),
		"session_issuer_user_name": clip(issuer.UserName),
	}
	name := u.UserName
	if u.Type == "AssumedRole" {
		name = issuer.UserName // CloudTrail names the role only there
	}
	identityLabels(labels, identity{userType: u.Type, userName: name, principalID: u.PrincipalID, accessKeyID: u.AccessKeyID})
	labels["user_name"] = clip(u.UserName) // as sent, like user_type
	if err := requestLabels(labels, r.RequestParameters); err != nil {
		return Alert{}, err
	}
	summary := r.EventName + " by " + firstNonEmpty(u.Arn, u.PrincipalID, u.Type, "an unknown caller")
	if r.ErrorCode != "" {
		summary += " failed: " + r.ErrorCode
	}
	return Alert{
		Source:      SourceEventBridge,
		Name:        clip(r.EventName),
		Status:      StatusFiring, // an API call has no "over"
		Fingerprint: clip(firstNonEmpty(r.EventID, ev.ID)),
		Labels:      nonEmpty(labels),
		Summary:     clip(summary),
		StartsAt:    firstTime(dateTime(r.EventTime), ev.Time),
		Raw:         raw,
	}, nil
}

// requestLabels copies the scalar top-level request parameters into
// request_<key> labels. Objects and arrays are left out: they are the
// bulk of a request and no route matches on them.
func requestLabels(labels map[string]string, raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(raw, &params); err != nil {
		return badRequest("cloudtrail detail.requestParameters is not a JSON object")
	}
	n := 0
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if n == maxRequestParams {
			break
		}
		if k == "" || len(k) > maxRequestParamKey {
			continue
		}
		var v any
		if err := json.Unmarshal(params[k], &v); err != nil {
			return badRequest("cloudtrail detail.requestParameters.%s: %v", clip(k), err)
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case float64:
			s = formatNumber(v)
		case bool:
			s = strconv.FormatBool(v)
		default:
			continue // null, object, array
		}
		labels["request_"+k] = clip(s)
		n++
	}
	return nil
}
