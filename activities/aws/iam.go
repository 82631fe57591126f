package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// IAM action names.
const (
	ActionRevokeRoleSessions   = "iam.revoke_role_sessions"
	ActionDenyRoleActions      = "iam.deny_role_actions"
	ActionRestoreRolePolicy    = "iam.restore_role_policy"
	ActionRevokeUserSessions   = "iam.revoke_user_sessions"
	ActionRestoreUserPolicy    = "iam.restore_user_policy"
	ActionDeactivateAccessKeys = "iam.deactivate_access_keys"
	ActionDeactivateAccessKey  = "iam.deactivate_access_key"
	ActionReactivateAccessKeys = "iam.reactivate_access_keys"
)

// bedrockServiceName is the service of Bedrock API keys (service-specific credentials).
const bedrockServiceName = "bedrock.amazonaws.com"

// Sids mark the statements quench writes, so a later run recognises its own policy.
const (
	revokeSessionsSid = "QuenchRevokeOlderSessions"
	denyActionsSid    = "QuenchDenyActions"
)

// defaultDeniedActions cut a principal off every Bedrock path that spends
// money, checked against AWS's references:
//
//   - bedrock:Invoke* covers InvokeModel, InvokeModelWithResponseStream,
//     InvokeModelWithBidirectionalStream, InvokeAgent, InvokeInlineAgent and
//     InvokeFlow. Converse and ConverseStream have no IAM action of their
//     own: they are authorised by bedrock:InvokeModel and
//     bedrock:InvokeModelWithResponseStream ("Prerequisites for running
//     model inference", https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html,
//     and the Service Authorization Reference's operation-to-action table,
//     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html).
//     StartAsyncInvoke "requires permission for the bedrock:InvokeModel
//     action" (API reference, API_runtime_StartAsyncInvoke); it is named
//     as well so the deny holds should AWS give it an action of its own.
//   - bedrock:CreateModelInvocationJob (batch inference) and
//     bedrock:CreateProvisionedModelThroughput (committed spend).
//   - bedrock:CallWithBearerToken: Bedrock API keys.
//   - bedrock-mantle:CreateInference and bedrock-mantle:CallWithBearerToken:
//     the bedrock-mantle endpoint (Responses, Chat Completions, Messages
//     APIs) is a separate service prefix, listed in the Service Authorization
//     Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/list_bedrock-mantle.html);
//     these two are what the AmazonBedrockMantleInferenceAccess managed
//     policy grants for inference.
//
// Knowledge-base reads (bedrock:Retrieve*) are added by include_retrieve.
var defaultDeniedActions = []string{
	"bedrock:Invoke*",
	"bedrock:StartAsyncInvoke",
	"bedrock:CreateModelInvocationJob",
	"bedrock:CreateProvisionedModelThroughput",
	"bedrock:CallWithBearerToken",
	"bedrock-mantle:CreateInference",
	"bedrock-mantle:CallWithBearerToken",
}

// retrieveActions read a knowledge base: Retrieve, RetrieveAndGenerate and
// RetrieveAndGenerateStream.
var retrieveActions = []string{"bedrock:Retrieve*"}

// IAMAPI is the part of the IAM client the IAM actions use.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, opts ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, opts ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, opts ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetUserPolicy(ctx context.Context, in *iam.GetUserPolicyInput, opts ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	PutUserPolicy(ctx context.Context, in *iam.PutUserPolicyInput, opts ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, opts ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	ListServiceSpecificCredentials(ctx context.Context, in *iam.ListServiceSpecificCredentialsInput, opts ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	UpdateServiceSpecificCredential(ctx context.Context, in *iam.UpdateServiceSpecificCredentialInput, opts ...func(*iam.Options)) (*iam.UpdateServiceSpecificCredentialOutput, error)
}

// CallerAPI tells who the worker's credentials belong to.
type CallerAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// IAMActions contain compromised identities: inline deny policies on
// roles and deactivation of a user's keys.
type IAMActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (IAMAPI, error)
	callers func(ctx context.Context, ref contract.IncidentRef) (CallerAPI, error)
	now     func() time.Time
	poll    PollConfig
}

// NewIAMActions builds the IAM actions on real clients from p.
func NewIAMActions(p *Provider) *IAMActions {
	return &IAMActions{
		clients: clientsFrom(p, func(cfg aws.Config) IAMAPI { return iam.NewFromConfig(cfg) }),
		callers: clientsFrom(p, func(cfg aws.Config) CallerAPI { return sts.NewFromConfig(cfg) }),
		now:     time.Now,
		poll:    DefaultPollConfig,
	}
}

// Actions returns the IAM actions and their undo actions.
func (a *IAMActions) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{
			Name:        ActionRevokeRoleSessions,
			Description: "Deny everything to sessions of a role issued before now (inline policy with aws:TokenIssueTime); undo removes the policy or puts back the one it replaced.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "role_name", Type: "string", Required: true, Description: "name of the IAM role whose sessions to revoke"},
				{Name: "policy_name", Type: "string", Description: "inline policy name (default quench-revoke-sessions-<incident id>)"},
			},
		}, a.RevokeRoleSessions),
		action.New(runbooks.ActionSpec{
			Name: ActionDenyRoleActions,
			Description: "Attach an inline policy to a role that explicitly denies actions, optionally only on some resources and only when conditions hold. " +
				"The default actions are every Bedrock path that spends money: " + strings.Join(defaultDeniedActions, ", ") +
				" (bedrock:Invoke* includes InvokeModel, InvokeModelWithResponseStream, InvokeAgent and InvokeFlow; Converse and ConverseStream are authorised by InvokeModel and InvokeModelWithResponseStream). " +
				"Undo puts back the inline policy of that name as it was, or deletes it. Refuses service-linked roles and roles IAM Identity Center manages (AWSReservedSSO_*).",
			Mutating: true,
			Args: []runbooks.ArgSpec{
				{Name: "role_name", Type: "string", Required: true, Description: "name of the IAM role"},
				{Name: "actions", Type: "list", Description: "actions to deny, e.g. bedrock:InvokeModel or bedrock:Invoke* (default: every Bedrock path that spends money, see the description)"},
				{Name: "include_retrieve", Type: "bool", Description: "also deny bedrock:Retrieve* (Retrieve, RetrieveAndGenerate: knowledge-base reads) (default false)"},
				{Name: "resources", Type: "list", Description: `ARNs the deny applies to: model, inference-profile, knowledge-base or agent-alias ARNs (default ["*"])`},
				{Name: "conditions", Type: "map", Description: `IAM condition block the deny applies under, e.g. {"StringNotEquals": {"bedrock:GuardrailIdentifier": "arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID:VERSION"}} to deny every call that does not carry that guardrail; values are strings or lists of strings`},
				{Name: "policy_name", Type: "string", Description: "inline policy name (default quench-deny-<incident id>)"},
			},
		}, a.DenyRoleActions),
		action.New(runbooks.ActionSpec{
			Name:        ActionRestoreRolePolicy,
			Description: "Undo of iam.revoke_role_sessions and iam.deny_role_actions: put back the prior inline policy, or delete it when there was none.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "role_name", Type: "string", Required: true, Description: "name of the IAM role"},
				{Name: "policy_name", Type: "string", Required: true, Description: "inline policy name"},
				{Name: "prior_document", Type: "string", Description: `the policy document before containment; "" deletes the policy`},
				{Name: "cutoff", Type: "string", Description: "RFC 3339 session cut-off of a revoke, to warn when undo re-validates old sessions"},
				{Name: "max_session_seconds", Type: "int", Description: "the role's maximum session duration at containment"},
			},
		}, a.RestoreRolePolicy),
		action.New(runbooks.ActionSpec{
			Name:        ActionRevokeUserSessions,
			Description: "Deny everything to temporary credentials an IAM user obtained before now (GetSessionToken, GetFederationToken); pair with iam.deactivate_access_keys, which leaves those sessions valid.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user whose sessions to revoke"},
				{Name: "policy_name", Type: "string", Description: "inline policy name (default quench-revoke-sessions-<incident id>)"},
			},
		}, a.RevokeUserSessions),
		action.New(runbooks.ActionSpec{
			Name:        ActionRestoreUserPolicy,
			Description: "Undo of iam.revoke_user_sessions: put back the prior inline user policy, or delete it when there was none.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user"},
				{Name: "policy_name", Type: "string", Required: true, Description: "inline policy name"},
				{Name: "prior_document", Type: "string", Description: `the policy document before containment; "" deletes the policy`},
				{Name: "cutoff", Type: "string", Description: "RFC 3339 session cut-off of the revoke, to warn when undo re-validates old sessions"},
				{Name: "max_session_seconds", Type: "int", Description: "the longest session the user could hold at containment"},
			},
		}, a.RestoreUserPolicy),
		action.New(runbooks.ActionSpec{
			Name:        ActionDeactivateAccessKeys,
			Description: "Set every Active access key (and Bedrock API key) of a user Inactive; undo reactivates only those that were Active. To deactivate only the key an alert names, use iam.deactivate_access_key.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user"},
				{Name: "include_bedrock_credentials", Type: "bool", Description: "also deactivate the user's Bedrock API keys (default true)"},
			},
		}, a.DeactivateAccessKeys),
		action.New(runbooks.ActionSpec{
			Name:   ActionDeactivateAccessKey,
			Target: &runbooks.TargetSpec{Service: "iam", Resource: "access-key/{access_key_id}", Attribute: "status"},
			Description: "Set exactly one IAM access key Inactive, the one an alert or finding names (principal type access-key, or an IAM user's leaked key); the user's other keys are left alone. " +
				"The owning user is found with iam:GetAccessKeyLastUsed unless user_name is given (then the key must be that user's); output.user_name names it, for iam.revoke_user_sessions, since sessions already issued from the key stay valid. " +
				"Temporary keys (ASIA…) are refused: they belong to a session, contained with iam.revoke_role_sessions or iam.revoke_user_sessions. Undo reactivates the key only if it was Active before.",
			Mutating: true,
			Args: []runbooks.ArgSpec{
				{Name: "access_key_id", Type: "string", Required: true, Description: "the access key id (AKIA…), e.g. GuardDuty's resource.accessKeyDetails.accessKeyId"},
				{Name: "user_name", Type: "string", Description: "the IAM user that owns the key, when known; checked, not trusted (default: looked up)"},
			},
		}, a.DeactivateAccessKey),
		action.New(runbooks.ActionSpec{
			Name:        ActionReactivateAccessKeys,
			Description: "Undo of iam.deactivate_access_keys and iam.deactivate_access_key: set the listed keys and credentials Active again.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user"},
				{Name: "access_key_ids", Type: "list", Description: "access keys to reactivate"},
				{Name: "credential_ids", Type: "list", Description: "service-specific credentials to reactivate"},
			},
		}, a.ReactivateAccessKeys),
	}
}

// iamActionRE matches an IAM action or action pattern: service:Action*.
var iamActionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)

// policyNameRE is IAM's pattern for policy names.
var policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// incidentPolicyName derives a valid inline policy name from the incident id.
func incidentPolicyName(prefix, incidentID string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range incidentID {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// policyName checks a given inline policy name or derives one from the incident.
func policyName(act, defaultPrefix, given string, in contract.ActionInput) (string, error) {
	if given == "" {
		if in.Incident.ID == "" {
			return "", action.InvalidArg(act, "policy_name is required when the incident has no id")
		}
		given = incidentPolicyName(defaultPrefix, in.Incident.ID)
	}
	if !policyNameRE.MatchString(given) {
		return "", action.InvalidArg(act, "policy_name %q: use 1-128 letters, digits and +=,.@_-", given)
	}
	return given, nil
}

// policyDocument is the shape of the policies quench writes.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    any            `json:"Action"`
	Resource  any            `json:"Resource"`
	Condition conditionBlock `json:"Condition,omitempty"`
}

// conditionBlock is an IAM Condition element: operator → key → a string or
// a list of strings.
type conditionBlock map[string]map[string]any

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on documents built here
	}
	return string(b)
}

// revokeSessionsDocument denies everything to sessions issued before cutoff.
func revokeSessionsDocument(cutoff time.Time) string {
	return mustJSON(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Sid: revokeSessionsSid, Effect: "Deny", Action: "*", Resource: "*",
		Condition: conditionBlock{"DateLessThan": {"aws:TokenIssueTime": cutoff.UTC().Format(time.RFC3339)}},
	}}})
}

// revokeCutoff reports whether doc is a quench revoke-sessions policy and its cut-off.
func revokeCutoff(doc string) (time.Time, bool) {
	var d struct {
		Statement []policyStatement
	}
	if json.Unmarshal([]byte(doc), &d) != nil || len(d.Statement) != 1 {
		return time.Time{}, false
	}
	s := d.Statement[0]
	if s.Sid != revokeSessionsSid || s.Effect != "Deny" || s.Action != "*" || s.Resource != "*" {
		return time.Time{}, false
	}
	at, _ := s.Condition["DateLessThan"]["aws:TokenIssueTime"].(string)
	t, err := time.Parse(time.RFC3339, at)
	return t, err == nil
}

// denyActionsDocument explicitly denies actions on resources, under
// conditions when there are any.
func denyActionsDocument(actions, resources []string, conditions conditionBlock) string {
	return mustJSON(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Sid: denyActionsSid, Effect: "Deny", Action: actions, Resource: resources, Condition: conditions,
	}}})
}

// conditionOperators are IAM's condition operators
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
var conditionOperators = []string{
	"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
	"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
	"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
	"Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}

// conditionKeyRE matches a condition key: a service prefix, a colon and a
// name (aws:SourceIp, bedrock:GuardrailIdentifier, aws:ResourceTag/team).
var conditionKeyRE = regexp.MustCompile(`^[a-zA-Z0-9-]+:[^\s]+$`)

// parseConditions checks a conditions argument strictly, since a typo in
// a deny's condition silently makes it deny nothing (or everything): every
// operator is IAM's (with an optional ForAllValues:/ForAnyValue: prefix
// and IfExists suffix), every key is a prefix:name condition key, every
// value a string or a non-empty list of strings.
func parseConditions(act string, raw map[string]any) (conditionBlock, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := conditionBlock{}
	for _, op := range slices.Sorted(maps.Keys(raw)) {
		base := strings.TrimPrefix(strings.TrimPrefix(op, "ForAllValues:"), "ForAnyValue:")
		base, ifExists := strings.CutSuffix(base, "IfExists")
		// IAM has no NullIfExists: Null already tests for absence.
		if !slices.Contains(conditionOperators, base) || ifExists && base == "Null" {
			return nil, action.InvalidArg(act, "conditions: %q is not an IAM condition operator (want e.g. StringEquals, StringNotEquals, StringLike, ArnLike, Bool, Null, optionally with ForAllValues:/ForAnyValue: or IfExists)", op)
		}
		keys, ok := raw[op].(map[string]any)
		if !ok || len(keys) == 0 {
			return nil, action.InvalidArg(act, "conditions.%s: want a mapping of condition keys to values, e.g. {\"bedrock:GuardrailIdentifier\": \"arn:...\"}, got %s", op, describe(raw[op]))
		}
		out[op] = map[string]any{}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			if !conditionKeyRE.MatchString(key) {
				return nil, action.InvalidArg(act, "conditions.%s: key %q is not a condition key (want prefix:name, e.g. bedrock:GuardrailIdentifier or aws:SourceIp)", op, key)
			}
			switch v := keys[key].(type) {
			case string:
				out[op][key] = v
			case []any:
				vals := make([]string, 0, len(v))
				for i, item := range v {
					s, ok := item.(string)
					if !ok {
						return nil, action.InvalidArg(act, "conditions.%s.%s: item %d is %s; values must be strings (quote numbers and booleans)", op, key, i+1, describe(item))
					}
					vals = append(vals, s)
				}
				if len(vals) == 0 {
					return nil, action.InvalidArg(act, "conditions.%s.%s: empty list; give at least one value", op, key)
				}
				out[op][key] = vals
			default:
				return nil, action.InvalidArg(act, "conditions.%s.%s: want a string or a list of strings (quote numbers and booleans), got %s", op, key, describe(v))
			}
		}
	}
	return out, nil
}

// describe names a decoded JSON value's kind for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool, float64:
		return fmt.Sprintf("%v (%T)", v, v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// validARN reports whether r has an ARN's six parts
// (arn:partition:service:region:account:resource; region and account may
// be empty, as in S3 ARNs).
func validARN(r string) bool {
	p := strings.SplitN(r, ":", 6)
	return len(p) == 6 && p[0] == "arn" && p[1] != "" && p[2] != "" && p[5] != ""
}

// samePolicy compares two policy documents as JSON values, so whitespace
// and key order (IAM may reformat) do not count as a change.
func samePolicy(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

// policyState is an inline policy as read: absent, or its decoded document.
type policyState struct {
	Exists   bool   `json:"exists"`
	Document string `json:"document,omitempty"`
}

// principal is a role or a user whose inline policies quench writes.
type principal struct {
	kind string // "role" or "user"
	name string
	arn  string
	// maxSessionSeconds bounds how long a session issued before a revoke
	// can live: the role's MaxSessionDuration, or 36 hours for a user's
	// GetSessionToken / GetFederationToken credentials.
	maxSessionSeconds int32
}

// userMaxSessionSeconds is the longest session an IAM user can obtain.
const userMaxSessionSeconds = 36 * 60 * 60

func (p principal) String() string { return p.kind + " " + p.name }

// IAM Identity Center names the roles it provisions for permission sets
// AWSReservedSSO_<permission set>_<suffix> and keeps them under this path
// (its service-linked role may write only arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*).
const (
	identityCenterRolePrefix = "AWSReservedSSO_"
	identityCenterRolePath   = "/aws-reserved/sso.amazonaws.com/"
)

// refuseIdentityCenterRole fails closed on a role IAM Identity Center
// manages: it re-provisions the role from its permission set, so an inline
// policy quench writes would be overwritten (or would block that
// provisioning), and rollback could not be exact. The containment for
// those identities lives in Identity Center. path is "" when not read yet.
func refuseIdentityCenterRole(act, roleName, path string) error {
	if !strings.HasPrefix(roleName, identityCenterRolePrefix) && !strings.HasPrefix(path, identityCenterRolePath) {
		return nil
	}
	return action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: role %s is managed by IAM Identity Center (a permission set's role, names %s*, path %s), so quench does not edit it: "+
		"contain it in IAM Identity Center instead: edit the permission set (add a deny to its inline policy, then re-provision it to the account) "+
		"and revoke the user's active sessions there (remove the user's account assignment or delete their sessions in the Identity Center console)",
		act, roleName, identityCenterRolePrefix, identityCenterRolePath))
}

// containableRole reads a role quench may contain: not one IAM Identity
// Center or AWS manages, and not the worker's own.
func (a *IAMActions) containableRole(ctx context.Context, c IAMAPI, in contract.ActionInput, act, roleName string) (principal, error) {
	if err := refuseIdentityCenterRole(act, roleName, ""); err != nil {
		return principal{}, err
	}
	role, err := getRole(ctx, c, act, roleName)
	if err != nil {
		return principal{}, err
	}
	return role, a.refuseSelf(ctx, in, act, role)
}

// getRole reads a role and refuses service-linked roles, whose policies
// only AWS may change, and roles IAM Identity Center manages.
func getRole(ctx context.Context, c IAMAPI, act, roleName string) (principal, error) {
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	if err != nil {
		return principal{}, AWSError("iam", "GetRole", "role "+roleName, err)
	}
	r := out.Role
	if r == nil {
		return principal{}, fmt.Errorf("get role %s: empty response", roleName)
	}
	if strings.HasPrefix(aws.ToString(r.Path), "/aws-service-role/") {
		return principal{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: role %s is a service-linked role (path %s): AWS manages its policies, so it cannot be contained with an inline policy; contain the service or the principals that use it instead",
			act, roleName, aws.ToString(r.Path)))
	}
	if err := refuseIdentityCenterRole(act, roleName, aws.ToString(r.Path)); err != nil {
		return principal{}, err
	}
	return principal{kind: "role", name: roleName, arn: aws.ToString(r.Arn), maxSessionSeconds: aws.ToInt32(r.MaxSessionDuration)}, nil
}

func getUser(ctx context.Context, c IAMAPI, userName string) (principal, error) {
	out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(userName)})
	if err != nil {
		return principal{}, AWSError("iam", "GetUser", "user "+userName, err)
	}
	if out.User == nil {
		return principal{}, fmt.Errorf("get user %s: empty response", userName)
	}
	return principal{kind: "user", name: userName, arn: aws.ToString(out.User.Arn), maxSessionSeconds: userMaxSessionSeconds}, nil
}

// refuseSelf fails closed when target is the identity the worker acts as:
// a deny on it, or its keys switched off, would leave quench unable to
// undo anything (the worker policy also denies writes to its own role).
// IAM acts in the caller's own account, so kind and name identify it.
func (a *IAMActions) refuseSelf(ctx context.Context, in contract.ActionInput, act string, target principal) error {
	c, err := a.callers(ctx, in.Incident)
	if err != nil {
		return err
	}
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("check that %s is not quench's own identity: %w", target, AWSError("sts", "GetCallerIdentity", "the worker's identity", err))
	}
	kind, name := callerPrincipal(aws.ToString(out.Arn))
	if kind == target.kind && name == target.name {
		return action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: %s is the identity quench itself runs as (%s); containing it would leave quench unable to undo anything",
			act, target, aws.ToString(out.Arn)))
	}
	return nil
}

// callerPrincipal names the role or user behind a caller ARN:
// arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION or arn:aws:iam::ACCOUNT:user/PATH/NAME.
func callerPrincipal(arn string) (kind, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", ""
	}
	res := strings.Split(parts[5], "/")
	switch {
	case res[0] == "assumed-role" && len(res) >= 2:
		return "role", res[1]
	case (res[0] == "user" || res[0] == "role") && len(res) >= 2:
		return res[0], res[len(res)-1]
	}
	return "", ""
}

// inlinePolicy is one named inline policy of a principal; its methods
// call the role or user variant of each IAM operation.
type inlinePolicy struct {
	c          IAMAPI
	owner      principal
	policyName string
}

func (p inlinePolicy) String() string {
	owner := p.owner.arn
	if owner == "" {
		owner = p.owner.name
	}
	return fmt.Sprintf("inline policy %s of %s %s", p.policyName, p.owner.kind, owner)
}

func (p inlinePolicy) op(verb string) string {
	if p.owner.kind == "user" {
		return verb + "UserPolicy"
	}
	return verb + "RolePolicy"
}

// read returns the policy, absent or decoded: IAM returns documents
// URL-encoded (RFC 3986).
func (p inlinePolicy) read(ctx context.Context) (policyState, error) {
	var raw *string
	var err error
	if p.owner.kind == "user" {
		var out *iam.GetUserPolicyOutput
		if out, err = p.c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName)}); err == nil {
			raw = out.PolicyDocument
		}
	} else {
		var out *iam.GetRolePolicyOutput
		if out, err = p.c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName)}); err == nil {
			raw = out.PolicyDocument
		}
	}
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return policyState{}, nil
	}
	if err != nil {
		return policyState{}, AWSError("iam", p.op("Get"), p.String(), err)
	}
	doc, err := url.PathUnescape(aws.ToString(raw))
	if err != nil {
		return policyState{}, fmt.Errorf("decode %s: %w", p, err)
	}
	return policyState{Exists: true, Document: doc}, nil
}

func (p inlinePolicy) put(ctx context.Context, doc string) error {
	var err error
	if p.owner.kind == "user" {
		_, err = p.c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName), PolicyDocument: aws.String(doc)})
	} else {
		_, err = p.c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName), PolicyDocument: aws.String(doc)})
	}
	return AWSError("iam", p.op("Put"), p.String(), err)
}

func (p inlinePolicy) delete(ctx context.Context) error {
	var err error
	if p.owner.kind == "user" {
		_, err = p.c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName)})
	} else {
		_, err = p.c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p.owner.name), PolicyName: aws.String(p.policyName)})
	}
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil // deleted in the meantime (or the read was stale): the goal is met
	}
	return AWSError("iam", p.op("Delete"), p.String(), err)
}

// containWithInlinePolicy is the cycle the policy actions share: read the
// prior policy, write target unless a policy that contained reports as
// done is already there, verify by polling, and return the undo record.
// Summary is left to the caller.
func (a *IAMActions) containWithInlinePolicy(ctx context.Context, in contract.ActionInput, p inlinePolicy, target string, contained func(string) bool) (contract.ActionResult, error) {
	current, err := p.read(ctx)
	if err != nil {
		return contract.ActionResult{}, err
	}
	prior := action.Checkpoint(ctx, current)
	already := current.Exists && contained(current.Document)
	res := contract.ActionResult{
		Changed: !(prior.Exists && contained(prior.Document)),
		DryRun:  in.DryRun,
		Prior: map[string]any{
			p.owner.kind + "_arn":  p.owner.arn,
			"policy_exists":        prior.Exists,
			"policy_document":      prior.Document,
			"max_session_duration": p.owner.maxSessionSeconds,
		},
		Output: map[string]any{p.owner.kind + "_arn": p.owner.arn, "policy_name": p.policyName},
	}
	if in.DryRun {
		res.Changed = !already
		return res, nil
	}
	if !already {
		if err := p.put(ctx, target); err != nil {
			return contract.ActionResult{}, err
		}
		err = PollUntil(ctx, a.poll, p.String(), func(ctx context.Context) (bool, error) {
			st, err := p.read(ctx)
			return st.Exists && contained(st.Document), err
		})
		if err != nil {
			return contract.ActionResult{}, err
		}
	}
	if res.Changed {
		undo := ActionRestoreRolePolicy
		if p.owner.kind == "user" {
			undo = ActionRestoreUserPolicy
		}
		res.Undo = &contract.UndoRecord{Action: undo, Args: map[string]any{
			p.owner.kind + "_name": p.owner.name, "policy_name": p.policyName, "prior_document": prior.Document,
		}}
	}
	return res, nil
}

// revokeSessions denies everything to the principal's sessions issued
// before the activity started. Long-term access keys carry no
// aws:TokenIssueTime, so they are not affected.
func (a *IAMActions) revokeSessions(ctx context.Context, in contract.ActionInput, p inlinePolicy) (contract.ActionResult, error) {
	cutoff := startTime(ctx, a.now).Truncate(time.Second)
	// Any quench revoke policy of this name counts as done: with the default
	// per-incident name it is this incident's own earlier containment.
	contained := func(doc string) bool { _, ok := revokeCutoff(doc); return ok }
	res, err := a.containWithInlinePolicy(ctx, in, p, revokeSessionsDocument(cutoff), contained)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("revoke sessions of %s: %w", p.owner, err)
	}
	if !res.Changed {
		doc, _ := res.Prior["policy_document"].(string)
		if t, ok := revokeCutoff(doc); ok {
			cutoff = t
		}
	}
	at := cutoff.Format(time.RFC3339)
	res.Output["cutoff"] = at
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("sessions of %s are already revoked by inline policy %s (cut-off %s)", p.owner, p.policyName, at)
	case in.DryRun:
		res.Summary = fmt.Sprintf("would deny every session of %s issued before %s (inline policy %s)", p.owner, at, p.policyName)
	default:
		res.Summary = fmt.Sprintf("denied every session of %s issued before %s (inline policy %s)", p.owner, at, p.policyName)
	}
	if res.Undo != nil {
		res.Undo.Args["cutoff"] = at
		res.Undo.Args["max_session_seconds"] = p.owner.maxSessionSeconds
	}
	return res, nil
}

type revokeRoleArgs struct {
	RoleName   string `json:"role_name"`
	PolicyName string `json:"policy_name"`
}

// RevokeRoleSessions denies everything to sessions of a role issued before
// the activity started, without touching the role's other policies.
func (a *IAMActions) RevokeRoleSessions(ctx context.Context, in contract.ActionInput, args revokeRoleArgs) (contract.ActionResult, error) {
	name, err := policyName(ActionRevokeRoleSessions, "quench-revoke-sessions-", args.PolicyName, in)
	if err != nil {
		return contract.ActionResult{}, err
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	role, err := a.containableRole(ctx, c, in, ActionRevokeRoleSessions, args.RoleName)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("revoke sessions of role %s: %w", args.RoleName, err)
	}
	return a.revokeSessions(ctx, in, inlinePolicy{c: c, owner: role, policyName: name})
}

type revokeUserArgs struct {
	UserName   string `json:"user_name"`
	PolicyName string `json:"policy_name"`
}

// RevokeUserSessions denies everything to temporary credentials a user
// obtained before the activity started (GetSessionToken,
// GetFederationToken): deactivating access keys leaves those valid.
func (a *IAMActions) RevokeUserSessions(ctx context.Context, in contract.ActionInput, args revokeUserArgs) (contract.ActionResult, error) {
	name, err := policyName(ActionRevokeUserSessions, "quench-revoke-sessions-", args.PolicyName, in)
	if err != nil {
		return contract.ActionResult{}, err
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	user, err := getUser(ctx, c, args.UserName)
	if err == nil {
		err = a.refuseSelf(ctx, in, ActionRevokeUserSessions, user)
	}
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("revoke sessions of user %s: %w", args.UserName, err)
	}
	return a.revokeSessions(ctx, in, inlinePolicy{c: c, owner: user, policyName: name})
}

type denyRoleArgs struct {
	RoleName        string         `json:"role_name"`
	Actions         []string       `json:"actions"`
	IncludeRetrieve bool           `json:"include_retrieve"`
	Resources       []string       `json:"resources"`
	Conditions      map[string]any `json:"conditions"`
	PolicyName      string         `json:"policy_name"`
}

// DenyRoleActions attaches an inline policy that explicitly denies actions.
func (a *IAMActions) DenyRoleActions(ctx context.Context, in contract.ActionInput, args denyRoleArgs) (contract.ActionResult, error) {
	var err error
	if args.PolicyName, err = policyName(ActionDenyRoleActions, "quench-deny-", args.PolicyName, in); err != nil {
		return contract.ActionResult{}, err
	}
	actions := args.Actions
	if len(actions) == 0 {
		actions = defaultDeniedActions
	}
	if args.IncludeRetrieve {
		for _, r := range retrieveActions {
			if !slices.Contains(actions, r) {
				actions = slices.Concat(actions, []string{r})
			}
		}
	}
	resources := args.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, act := range actions {
		if act != "*" && !iamActionRE.MatchString(act) {
			return contract.ActionResult{}, action.InvalidArg(ActionDenyRoleActions, "action %q: want service:Action, e.g. bedrock:InvokeModel or bedrock:Invoke*", act)
		}
	}
	for _, r := range resources {
		if r != "*" && !validARN(r) {
			return contract.ActionResult{}, action.InvalidArg(ActionDenyRoleActions, "resource %q: want \"*\" or an ARN (arn:partition:service:region:account:resource), e.g. arn:aws:bedrock:us-east-1::foundation-model/MODEL_ID", r)
		}
	}
	conditions, err := parseConditions(ActionDenyRoleActions, args.Conditions)
	if err != nil {
		return contract.ActionResult{}, err
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	role, err := a.containableRole(ctx, c, in, ActionDenyRoleActions, args.RoleName)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("deny actions to role %s: %w", args.RoleName, err)
	}
	target := denyActionsDocument(actions, resources, conditions)
	res, err := a.containWithInlinePolicy(ctx, in, inlinePolicy{c: c, owner: role, policyName: args.PolicyName}, target, func(doc string) bool { return samePolicy(doc, target) })
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("deny actions to role %s: %w", args.RoleName, err)
	}
	what := fmt.Sprintf("%s on %s to role %s", strings.Join(actions, ", "), strings.Join(resources, ", "), args.RoleName)
	if conditions != nil {
		what += " when " + mustJSON(conditions)
	}
	what += fmt.Sprintf(" (inline policy %s)", args.PolicyName)
	switch {
	case !res.Changed:
		res.Summary = "already denied: " + what
	case in.DryRun:
		res.Summary = "would deny " + what
	default:
		res.Summary = "denied " + what
	}
	res.Output["actions"] = actions
	res.Output["resources"] = resources
	if conditions != nil {
		res.Output["conditions"] = map[string]map[string]any(conditions)
	}
	return res, nil
}

type restoreInlinePolicyArgs struct {
	RoleName          string `json:"role_name,omitempty"`
	UserName          string `json:"user_name,omitempty"`
	PolicyName        string `json:"policy_name"`
	PriorDocument     string `json:"prior_document"`
	Cutoff            string `json:"cutoff,omitempty"`
	MaxSessionSeconds int64  `json:"max_session_seconds,omitempty"`
}

// RestoreRolePolicy puts back the inline role policy a containment
// replaced, or deletes the containment policy when there was none before.
func (a *IAMActions) RestoreRolePolicy(ctx context.Context, in contract.ActionInput, args restoreInlinePolicyArgs) (contract.ActionResult, error) {
	return a.restoreInlinePolicy(ctx, in, args, "role", args.RoleName)
}

// RestoreUserPolicy is RestoreRolePolicy for a user's inline policy.
func (a *IAMActions) RestoreUserPolicy(ctx context.Context, in contract.ActionInput, args restoreInlinePolicyArgs) (contract.ActionResult, error) {
	return a.restoreInlinePolicy(ctx, in, args, "user", args.UserName)
}

func (a *IAMActions) restoreInlinePolicy(ctx context.Context, in contract.ActionInput, args restoreInlinePolicyArgs, kind, owner string) (contract.ActionResult, error) {
	if kind == "role" {
		if err := refuseIdentityCenterRole(ActionRestoreRolePolicy, owner, ""); err != nil {
			return contract.ActionResult{}, err
		}
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	p := inlinePolicy{c: c, owner: principal{kind: kind, name: owner}, policyName: args.PolicyName}
	current, err := p.read(ctx)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore %s: %w", p, err)
	}
	del := args.PriorDocument == ""
	done := func(st policyState) bool {
		if del {
			return !st.Exists
		}
		return st.Exists && samePolicy(st.Document, args.PriorDocument)
	}
	res := contract.ActionResult{
		Changed: !done(current),
		DryRun:  in.DryRun,
		Prior:   map[string]any{"policy_exists": current.Exists, "policy_document": current.Document},
		Output:  map[string]any{"policy_name": args.PolicyName},
	}
	if w := a.revalidationWarning(p.owner, args); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	verb := map[bool]string{true: "delete", false: "put back the prior"}[del]
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("%s is already as it was before containment", p)
		return res, nil
	case in.DryRun:
		res.Summary = fmt.Sprintf("would %s %s", verb, p)
		return res, nil
	}
	if del {
		err = p.delete(ctx)
	} else {
		err = p.put(ctx, args.PriorDocument)
	}
	if err == nil {
		err = PollUntil(ctx, a.poll, p.String(), func(ctx context.Context) (bool, error) {
			st, err := p.read(ctx)
			return done(st), err
		})
	}
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore %s: %w", p, err)
	}
	res.Summary = "put back the prior " + p.String()
	if del {
		res.Summary = "deleted " + p.String()
	}
	return res, nil
}

// revalidationWarning: lifting a session revoke before the longest
// session issued before the cut-off has expired makes any stolen token of
// that time valid again.
func (a *IAMActions) revalidationWarning(owner principal, args restoreInlinePolicyArgs) string {
	if args.Cutoff == "" || args.MaxSessionSeconds <= 0 {
		return ""
	}
	cutoff, err := time.Parse(time.RFC3339, args.Cutoff)
	if err != nil {
		return ""
	}
	until := cutoff.Add(time.Duration(args.MaxSessionSeconds) * time.Second)
	if a.now().Before(until) {
		return fmt.Sprintf("sessions of %s issued before %s may still be unexpired until %s; lifting the revoke now makes any stolen ones valid again",
			owner, cutoff.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	return ""
}

// credential is an access key or service-specific credential and its status.
type credential struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// userCredentials is what a user can authenticate with.
type userCredentials struct {
	AccessKeys []credential `json:"access_keys"`
	Bedrock    []credential `json:"bedrock_credentials"`
}

func (u userCredentials) active() (keys, creds []string) {
	for _, k := range u.AccessKeys {
		if k.Status == string(iamtypes.StatusTypeActive) {
			keys = append(keys, k.ID)
		}
	}
	for _, c := range u.Bedrock {
		if c.Status == string(iamtypes.StatusTypeActive) {
			creds = append(creds, c.ID)
		}
	}
	return keys, creds
}

func (u userCredentials) status(id string) string {
	for _, c := range append(append([]credential(nil), u.AccessKeys...), u.Bedrock...) {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func credentialMaps(cs []credential) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{"id": c.ID, "status": c.Status})
	}
	return out
}

// listUserCredentials reads a user's access keys and, if asked, its
// Bedrock API keys, following pagination.
func listUserCredentials(ctx context.Context, c IAMAPI, user string, bedrock bool) (userCredentials, error) {
	var out userCredentials
	var marker *string
	for {
		page, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user), Marker: marker})
		if err != nil {
			return out, AWSError("iam", "ListAccessKeys", "user "+user, err)
		}
		for _, k := range page.AccessKeyMetadata {
			out.AccessKeys = append(out.AccessKeys, credential{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status)})
		}
		if !page.IsTruncated || page.Marker == nil {
			break
		}
		marker = page.Marker
	}
	if !bedrock {
		return out, nil
	}
	marker = nil
	for {
		page, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{
			UserName: aws.String(user), ServiceName: aws.String(bedrockServiceName), Marker: marker})
		if err != nil {
			return out, AWSError("iam", "ListServiceSpecificCredentials", "user "+user, err)
		}
		for _, sc := range page.ServiceSpecificCredentials {
			out.Bedrock = append(out.Bedrock, credential{ID: aws.ToString(sc.ServiceSpecificCredentialId), Status: string(sc.Status)})
		}
		if !page.IsTruncated || page.Marker == nil {
			break
		}
		marker = page.Marker
	}
	return out, nil
}

// setCredentials sets the status of the given keys and credentials, then
// polls until IAM shows it.
func (a *IAMActions) setCredentials(ctx context.Context, c IAMAPI, user string, keys, creds []string, status iamtypes.StatusType) error {
	for _, id := range keys {
		_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: status})
		if err != nil {
			return AWSError("iam", "UpdateAccessKey", fmt.Sprintf("access key %s of user %s", id, user), err)
		}
	}
	for _, id := range creds {
		_, err := c.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String(user), ServiceSpecificCredentialId: aws.String(id), Status: status})
		if err != nil {
			return AWSError("iam", "UpdateServiceSpecificCredential", fmt.Sprintf("credential %s of user %s", id, user), err)
		}
	}
	return PollUntil(ctx, a.poll, fmt.Sprintf("%s keys of user %s", strings.ToLower(string(status)), user), func(ctx context.Context) (bool, error) {
		now, err := listUserCredentials(ctx, c, user, len(creds) > 0)
		if err != nil {
			return false, err
		}
		for _, id := range append(append([]string(nil), keys...), creds...) {
			if s := now.status(id); s != "" && s != string(status) {
				return false, nil
			}
		}
		return true, nil
	})
}

type deactivateKeysArgs struct {
	UserName                  string `json:"user_name"`
	IncludeBedrockCredentials *bool  `json:"include_bedrock_credentials,omitempty"`
}

// DeactivateAccessKeys sets a user's Active access keys and Bedrock API
// keys Inactive. Sessions already issued from them stay valid until they
// expire, which the result warns about.
func (a *IAMActions) DeactivateAccessKeys(ctx context.Context, in contract.ActionInput, args deactivateKeysArgs) (contract.ActionResult, error) {
	bedrock := args.IncludeBedrockCredentials == nil || *args.IncludeBedrockCredentials
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	if err := a.refuseSelf(ctx, in, ActionDeactivateAccessKeys, principal{kind: "user", name: args.UserName}); err != nil {
		return contract.ActionResult{}, fmt.Errorf("deactivate keys of user %s: %w", args.UserName, err)
	}
	current, err := listUserCredentials(ctx, c, args.UserName, bedrock)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("deactivate keys of user %s: %w", args.UserName, err)
	}
	prior := action.Checkpoint(ctx, current)
	priorKeys, priorCreds := prior.active()
	keys, creds := current.active()
	res := contract.ActionResult{
		Changed: len(priorKeys)+len(priorCreds) > 0,
		DryRun:  in.DryRun,
		Prior: map[string]any{
			"user_name": args.UserName, "access_keys": credentialMaps(prior.AccessKeys), "bedrock_credentials": credentialMaps(prior.Bedrock),
		},
		Output: map[string]any{"deactivated_access_keys": orEmpty(priorKeys), "deactivated_credentials": orEmpty(priorCreds)},
	}
	what := fmt.Sprintf("user %s: access keys [%s], Bedrock API keys [%s]", args.UserName, strings.Join(keys, ", "), strings.Join(creds, ", "))
	if in.DryRun {
		res.Changed = len(keys)+len(creds) > 0
		res.Summary = "would deactivate " + what
		if !res.Changed {
			res.Summary = fmt.Sprintf("user %s has no active keys to deactivate", args.UserName)
		}
		return res, nil
	}
	if len(keys)+len(creds) > 0 {
		if err := a.setCredentials(ctx, c, args.UserName, keys, creds, iamtypes.StatusTypeInactive); err != nil {
			return contract.ActionResult{}, fmt.Errorf("deactivate keys of user %s: %w", args.UserName, err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("user %s has no active keys to deactivate", args.UserName)
		return res, nil
	}
	res.Summary = fmt.Sprintf("deactivated user %s: access keys [%s], Bedrock API keys [%s]", args.UserName, strings.Join(priorKeys, ", "), strings.Join(priorCreds, ", "))
	res.Warnings = []string{fmt.Sprintf("sessions already issued from the keys of user %s stay valid until they expire; %s ends them", args.UserName, ActionRevokeUserSessions)}
	res.Undo = &contract.UndoRecord{Action: ActionReactivateAccessKeys, Args: map[string]any{
		"user_name": args.UserName, "access_key_ids": orEmpty(priorKeys), "credential_ids": orEmpty(priorCreds),
	}}
	return res, nil
}

// accessKeyIDRE is IAM's pattern for an access key id.
var accessKeyIDRE = regexp.MustCompile(`^\w{16,128}$`)

type deactivateKeyArgs struct {
	AccessKeyID string `json:"access_key_id"`
	UserName    string `json:"user_name"`
}

// DeactivateAccessKey sets exactly one access key Inactive. An alert names
// a key more often than a user (GuardDuty's accessKeyDetails); containing
// only that key leaves the user's other, uncompromised keys working.
func (a *IAMActions) DeactivateAccessKey(ctx context.Context, in contract.ActionInput, args deactivateKeyArgs) (contract.ActionResult, error) {
	id := args.AccessKeyID
	if !accessKeyIDRE.MatchString(id) {
		return contract.ActionResult{}, action.InvalidArg(ActionDeactivateAccessKey, "access_key_id %q: want an access key id such as AKIAIOSFODNN7EXAMPLE", id)
	}
	// STS hands out ASIA keys with session tokens; IAM has no such key to
	// switch off, and looking it up would only fail less clearly.
	if strings.HasPrefix(id, "ASIA") {
		return contract.ActionResult{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: %s is a temporary key of an STS session, not an IAM user's access key: "+
			"contain the session instead, with %s (role or assumed-role) or %s (an IAM user's GetSessionToken/GetFederationToken session)",
			ActionDeactivateAccessKey, id, ActionRevokeRoleSessions, ActionRevokeUserSessions))
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	fail := func(err error) (contract.ActionResult, error) {
		return contract.ActionResult{}, fmt.Errorf("deactivate access key %s: %w", id, err)
	}
	user := args.UserName
	if user == "" {
		out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(id)})
		if err != nil {
			err = AWSError("iam", "GetAccessKeyLastUsed", "access key "+id, err)
			if app := (*temporal.ApplicationError)(nil); errors.As(err, &app) && app.Type() == action.ErrAccessDenied {
				// IAM may answer a key it does not hold in this account the same way.
				err = fmt.Errorf("%w (or the key is not in this account; give user_name when the owner is known)", err)
			}
			return fail(err)
		}
		if user = aws.ToString(out.UserName); user == "" {
			return fail(action.NonRetryable(action.ErrValidation, fmt.Errorf("IAM names no user owning it (a root user's key, or another account's): contain it by hand")))
		}
	}
	if err := a.refuseSelf(ctx, in, ActionDeactivateAccessKey, principal{kind: "user", name: user}); err != nil {
		return fail(err)
	}
	creds, err := listUserCredentials(ctx, c, user, false)
	if err != nil {
		return fail(err)
	}
	current := creds.status(id)
	if current == "" {
		return fail(action.NonRetryable(action.ErrNotFound, fmt.Errorf("user %s has no access key %s (it has %d): check the key id and user_name", user, id, len(creds.AccessKeys))))
	}
	prior := action.Checkpoint(ctx, current)
	inactive := string(iamtypes.StatusTypeInactive)
	res := contract.ActionResult{
		Changed: prior == string(iamtypes.StatusTypeActive),
		DryRun:  in.DryRun,
		Prior:   map[string]any{"user_name": user, "access_key_id": id, "status": prior},
		Output:  map[string]any{"user_name": user, "access_key_id": id, "status": inactive},
	}
	what := fmt.Sprintf("access key %s of user %s", id, user)
	if in.DryRun {
		res.Changed = current == string(iamtypes.StatusTypeActive)
		res.Output["status"] = current
		res.Summary = "would deactivate " + what
		if !res.Changed {
			res.Summary = fmt.Sprintf("%s is already %s: unchanged", what, current)
		}
		return res, nil
	}
	if current != inactive {
		if err := a.setCredentials(ctx, c, user, []string{id}, nil, iamtypes.StatusTypeInactive); err != nil {
			return fail(err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("%s is already %s: unchanged", what, prior)
		return res, nil
	}
	res.Summary = "deactivated " + what
	res.Warnings = []string{fmt.Sprintf("sessions already issued from access key %s stay valid until they expire; %s with user_name %s ends them", id, ActionRevokeUserSessions, user)}
	res.Undo = &contract.UndoRecord{Action: ActionReactivateAccessKeys, Args: map[string]any{
		"user_name": user, "access_key_ids": []string{id}, "credential_ids": []string{},
	}}
	return res, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type reactivateKeysArgs struct {
	UserName      string   `json:"user_name"`
	AccessKeyIDs  []string `json:"access_key_ids"`
	CredentialIDs []string `json:"credential_ids"`
}

// ReactivateAccessKeys sets exactly the listed keys Active again; keys
// deleted in the meantime are reported, not recreated.
func (a *IAMActions) ReactivateAccessKeys(ctx context.Context, in contract.ActionInput, args reactivateKeysArgs) (contract.ActionResult, error) {
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := listUserCredentials(ctx, c, args.UserName, len(args.CredentialIDs) > 0)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("reactivate keys of user %s: %w", args.UserName, err)
	}
	var res contract.ActionResult
	var keys, creds []string
	pick := func(ids []string, into *[]string) {
		for _, id := range ids {
			switch current.status(id) {
			case "":
				res.Warnings = append(res.Warnings, fmt.Sprintf("key %s of user %s no longer exists; not recreated", id, args.UserName))
			case string(iamtypes.StatusTypeInactive):
				*into = append(*into, id)
			}
		}
	}
	pick(args.AccessKeyIDs, &keys)
	pick(args.CredentialIDs, &creds)
	res.Changed = len(keys)+len(creds) > 0
	res.DryRun = in.DryRun
	res.Prior = map[string]any{"access_keys": credentialMaps(current.AccessKeys), "bedrock_credentials": credentialMaps(current.Bedrock)}
	what := fmt.Sprintf("user %s: access keys [%s], Bedrock API keys [%s]", args.UserName, strings.Join(keys, ", "), strings.Join(creds, ", "))
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("the keys of user %s are already active", args.UserName)
		return res, nil
	case in.DryRun:
		res.Summary = "would reactivate " + what
		return res, nil
	}
	if err := a.setCredentials(ctx, c, args.UserName, keys, creds, iamtypes.StatusTypeActive); err != nil {
		return contract.ActionResult{}, fmt.Errorf("reactivate keys of user %s: %w", args.UserName, err)
	}
	res.Summary = "reactivated " + what
	return res, nil
}
