package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/quenchhq/quench/runbooks"
)

// IAM action names.
const (
	ActionRevokeRoleSessions   = "iam.revoke_role_sessions"
	ActionDenyRoleActions      = "iam.deny_role_actions"
	ActionRestoreRolePolicy    = "iam.restore_role_policy"
	ActionDeactivateAccessKeys = "iam.deactivate_access_keys"
	ActionReactivateAccessKeys = "iam.reactivate_access_keys"
)

// bedrockServiceName is the service of Bedrock API keys (service-specific credentials).
const bedrockServiceName = "bedrock.amazonaws.com"

// Sids mark the statements quench writes, so a later run recognises its own policy.
const (
	revokeSessionsSid = "QuenchRevokeOlderSessions"
	denyActionsSid    = "QuenchDenyActions"
)

// defaultDeniedActions stop a principal from using Bedrock: every Invoke*
// (models, streaming, agents, flows; Converse needs InvokeModel), Retrieve*
// (knowledge bases) and Bedrock API keys.
var defaultDeniedActions = []string{"bedrock:Invoke*", "bedrock:Retrieve*", "bedrock:CallWithBearerToken"}

// IAMAPI is the part of the IAM client the IAM actions use.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, opts ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, opts ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, opts ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	ListServiceSpecificCredentials(ctx context.Context, in *iam.ListServiceSpecificCredentialsInput, opts ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	UpdateServiceSpecificCredential(ctx context.Context, in *iam.UpdateServiceSpecificCredentialInput, opts ...func(*iam.Options)) (*iam.UpdateServiceSpecificCredentialOutput, error)
}

// IAMActions contain compromised identities: inline deny policies on
// roles and deactivation of a user's keys.
type IAMActions struct {
	clients func(ctx context.Context, ref IncidentRef) (IAMAPI, error)
	now     func() time.Time
	poll    PollConfig
}

// NewIAMActions builds the IAM actions on real clients from p.
func NewIAMActions(p *AWSProvider) *IAMActions {
	return &IAMActions{
		clients: clientsFrom(p, func(cfg aws.Config) IAMAPI { return iam.NewFromConfig(cfg) }),
		now:     time.Now,
		poll:    DefaultPollConfig,
	}
}

// RegisterIAMActions registers the IAM actions and their undo actions.
func RegisterIAMActions(reg *Registry, p *AWSProvider) {
	a := NewIAMActions(p)
	reg.Register(
		Action{Spec: runbooks.ActionSpec{
			Name:        ActionRevokeRoleSessions,
			Description: "Deny everything to sessions of a role issued before now (inline policy with aws:TokenIssueTime); undo removes the policy or puts back the one it replaced.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "role_name", Type: "string", Required: true, Description: "name of the IAM role whose sessions to revoke"},
				{Name: "policy_name", Type: "string", Description: "inline policy name (default quench-revoke-sessions-<incident id>)"},
			},
		}, Run: a.RevokeRoleSessions},
		Action{Spec: runbooks.ActionSpec{
			Name:        ActionDenyRoleActions,
			Description: "Attach an inline policy to a role that explicitly denies actions (default: invoking and retrieving from Bedrock).",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "role_name", Type: "string", Required: true, Description: "name of the IAM role"},
				{Name: "actions", Type: "list", Description: `actions to deny (default ["bedrock:Invoke*","bedrock:Retrieve*","bedrock:CallWithBearerToken"])`},
				{Name: "resources", Type: "list", Description: `resources the deny applies to (default ["*"])`},
				{Name: "policy_name", Type: "string", Description: "inline policy name (default quench-deny-<incident id>)"},
			},
		}, Run: a.DenyRoleActions},
		Action{Spec: runbooks.ActionSpec{
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
		}, Run: a.RestoreRolePolicy},
		Action{Spec: runbooks.ActionSpec{
			Name:        ActionDeactivateAccessKeys,
			Description: "Set a user's active access keys (and Bedrock API keys) Inactive; undo reactivates only those that were Active.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user"},
				{Name: "include_bedrock_credentials", Type: "bool", Description: "also deactivate the user's Bedrock API keys (default true)"},
			},
		}, Run: a.DeactivateAccessKeys},
		Action{Spec: runbooks.ActionSpec{
			Name:        ActionReactivateAccessKeys,
			Description: "Undo of iam.deactivate_access_keys: set the listed keys and credentials Active again.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "user_name", Type: "string", Required: true, Description: "name of the IAM user"},
				{Name: "access_key_ids", Type: "list", Description: "access keys to reactivate"},
				{Name: "credential_ids", Type: "list", Description: "service-specific credentials to reactivate"},
			},
		}, Run: a.ReactivateAccessKeys},
	)
}

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

type rolePolicyArgs struct {
	RoleName   string   `json:"role_name"`
	PolicyName string   `json:"policy_name,omitempty"`
	Actions    []string `json:"actions,omitempty"`
	Resources  []string `json:"resources,omitempty"`
}

func (r *rolePolicyArgs) validate(action, defaultPrefix string, in ActionInput) error {
	if strings.TrimSpace(r.RoleName) == "" {
		return invalidArg(action, "role_name is required")
	}
	if r.PolicyName == "" {
		if in.Incident.ID == "" {
			return invalidArg(action, "policy_name is required when the incident has no id")
		}
		r.PolicyName = incidentPolicyName(defaultPrefix, in.Incident.ID)
	}
	if !policyNameRE.MatchString(r.PolicyName) {
		return invalidArg(action, "policy_name %q: use 1-128 letters, digits and +=,.@_-", r.PolicyName)
	}
	return nil
}

// policyDocument is the shape of the policies quench writes.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    any                          `json:"Action"`
	Resource  any                          `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

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
		Condition: map[string]map[string]string{"DateLessThan": {"aws:TokenIssueTime": cutoff.UTC().Format(time.RFC3339)}},
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
	t, err := time.Parse(time.RFC3339, s.Condition["DateLessThan"]["aws:TokenIssueTime"])
	return t, err == nil
}

// denyActionsDocument explicitly denies actions on resources.
func denyActionsDocument(actions, resources []string) string {
	return mustJSON(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Sid: denyActionsSid, Effect: "Deny", Action: actions, Resource: resources,
	}}})
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

// rolePolicyState is an inline role policy as read: absent, or its decoded document.
type rolePolicyState struct {
	Exists   bool   `json:"exists"`
	Document string `json:"document,omitempty"`
}

type roleInfo struct {
	ARN               string
	MaxSessionSeconds int32
}

// getRole reads a role and refuses service-linked roles, whose policies
// only AWS may change.
func getRole(ctx context.Context, c IAMAPI, action, roleName string) (roleInfo, error) {
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	if err != nil {
		return roleInfo{}, AWSError("iam", "GetRole", "role "+roleName, err)
	}
	r := out.Role
	if r == nil {
		return roleInfo{}, fmt.Errorf("get role %s: empty response", roleName)
	}
	if strings.HasPrefix(aws.ToString(r.Path), "/aws-service-role/") {
		return roleInfo{}, NonRetryable(ErrValidation, fmt.Errorf("%s: role %s is a service-linked role (path %s): AWS manages its policies, so it cannot be contained with an inline policy; contain the service or the principals that use it instead",
			action, roleName, aws.ToString(r.Path)))
	}
	return roleInfo{ARN: aws.ToString(r.Arn), MaxSessionSeconds: aws.ToInt32(r.MaxSessionDuration)}, nil
}

// readRolePolicy reads an inline role policy; IAM returns the document
// URL-encoded (RFC 3986), so it is decoded here.
func readRolePolicy(ctx context.Context, c IAMAPI, roleName, policyName, resource string) (rolePolicyState, error) {
	out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(policyName)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return rolePolicyState{}, nil
	}
	if err != nil {
		return rolePolicyState{}, AWSError("iam", "GetRolePolicy", resource, err)
	}
	doc, err := url.PathUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		return rolePolicyState{}, fmt.Errorf("decode inline policy %s of role %s: %w", policyName, roleName, err)
	}
	return rolePolicyState{Exists: true, Document: doc}, nil
}

// containWithRolePolicy is the cycle both role actions share: read the
// role and the prior policy, write target unless a policy that contained
// reports as done is already there, verify by polling, and return the
// undo record. Summary is left to the caller.
func (a *IAMActions) containWithRolePolicy(ctx context.Context, in ActionInput, action string, args rolePolicyArgs, target string, contained func(string) bool) (ActionResult, roleInfo, error) {
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return ActionResult{}, roleInfo{}, err
	}
	role, err := getRole(ctx, c, action, args.RoleName)
	if err != nil {
		return ActionResult{}, roleInfo{}, err
	}
	resource := fmt.Sprintf("inline policy %s of role %s", args.PolicyName, role.ARN)
	current, err := readRolePolicy(ctx, c, args.RoleName, args.PolicyName, resource)
	if err != nil {
		return ActionResult{}, role, err
	}
	cp := newCheckpoint(ctx, current)
	prior := cp.prior
	already := current.Exists && contained(current.Document)
	res := ActionResult{
		Changed: !(prior.Exists && contained(prior.Document)),
		DryRun:  in.DryRun,
		Prior: map[string]any{
			"role_arn":             role.ARN,
			"policy_exists":        prior.Exists,
			"policy_document":      prior.Document,
			"max_session_duration": role.MaxSessionSeconds,
		},
		Output: map[string]any{"role_arn": role.ARN, "policy_name": args.PolicyName},
	}
	if in.DryRun {
		res.Changed = !already
		return res, role, nil
	}
	if !already {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(args.RoleName), PolicyName: aws.String(args.PolicyName), PolicyDocument: aws.String(target),
		})
		if err != nil {
			return ActionResult{}, role, AWSError("iam", "PutRolePolicy", resource, err)
		}
		err = PollUntil(ctx, a.poll, resource, cp.beat, func(ctx context.Context) (bool, error) {
			st, err := readRolePolicy(ctx, c, args.RoleName, args.PolicyName, resource)
			return st.Exists && contained(st.Document), err
		})
		if err != nil {
			return ActionResult{}, role, err
		}
	}
	if res.Changed {
		res.Undo = &UndoRecord{Action: ActionRestoreRolePolicy, Args: map[string]any{
			"role_name": args.RoleName, "policy_name": args.PolicyName, "prior_document": prior.Document,
		}}
	}
	return res, role, nil
}

// RevokeRoleSessions denies everything to sessions of a role issued before
// the activity started, without touching the role's other policies.
func (a *IAMActions) RevokeRoleSessions(ctx context.Context, in ActionInput) (ActionResult, error) {
	var args rolePolicyArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return ActionResult{}, err
	}
	if len(args.Actions) > 0 || len(args.Resources) > 0 {
		return ActionResult{}, invalidArg(ActionRevokeRoleSessions, "takes no actions or resources; it denies everything to old sessions")
	}
	if err := args.validate(ActionRevokeRoleSessions, "quench-revoke-sessions-", in); err != nil {
		return ActionResult{}, err
	}
	cutoff := startTime(ctx, a.now).Truncate(time.Second)
	// Any quench revoke policy of this name counts as done: with the default
	// per-incident name it is this incident's own earlier containment.
	contained := func(doc string) bool { _, ok := revokeCutoff(doc); return ok }
	res, role, err := a.containWithRolePolicy(ctx, in, ActionRevokeRoleSessions, args, revokeSessionsDocument(cutoff), contained)
	if err != nil {
		return ActionResult{}, fmt.Errorf("revoke sessions of role %s: %w", args.RoleName, err)
	}
	if doc, ok := a.currentRevoke(res); ok {
		cutoff = doc
	}
	res.Output["cutoff"] = cutoff.Format(time.RFC3339)
	switch {
	case in.DryRun && res.Changed:
		res.Summary = fmt.Sprintf("would deny every session of role %s issued before %s (inline policy %s)", args.RoleName, cutoff.Format(time.RFC3339), args.PolicyName)
	case !res.Changed:
		res.Summary = fmt.Sprintf("sessions of role %s are already revoked by inline policy %s", args.RoleName, args.PolicyName)
	default:
		res.Summary = fmt.Sprintf("denied every session of role %s issued before %s (inline policy %s)", args.RoleName, cutoff.Format(time.RFC3339), args.PolicyName)
	}
	if res.Undo != nil {
		res.Undo.Args["cutoff"] = cutoff.Format(time.RFC3339)
		res.Undo.Args["max_session_seconds"] = role.MaxSessionSeconds
	}
	return res, nil
}

// currentRevoke returns the cut-off of a revoke policy that was already in
// place (the prior document, when it was one of ours).
func (a *IAMActions) currentRevoke(res ActionResult) (time.Time, bool) {
	if res.Changed {
		return time.Time{}, false
	}
	doc, _ := res.Prior["policy_document"].(string)
	return revokeCutoff(doc)
}

// DenyRoleActions attaches an inline policy that explicitly denies actions.
func (a *IAMActions) DenyRoleActions(ctx context.Context, in ActionInput) (ActionResult, error) {
	var args rolePolicyArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return ActionResult{}, err
	}
	if err := args.validate(ActionDenyRoleActions, "quench-deny-", in); err != nil {
		return ActionResult{}, err
	}
	if len(args.Actions) == 0 {
		args.Actions = defaultDeniedActions
	}
	if len(args.Resources) == 0 {
		args.Resources = []string{"*"}
	}
	for _, act := range args.Actions {
		if !strings.Contains(act, ":") && act != "*" {
			return ActionResult{}, invalidArg(ActionDenyRoleActions, "action %q: want service:Action, e.g. bedrock:InvokeModel", act)
		}
	}
	target := denyActionsDocument(args.Actions, args.Resources)
	res, _, err := a.containWithRolePolicy(ctx, in, ActionDenyRoleActions, args, target, func(doc string) bool { return samePolicy(doc, target) })
	if err != nil {
		return ActionResult{}, fmt.Errorf("deny actions to role %s: %w", args.RoleName, err)
	}
	what := fmt.Sprintf("%s on %s to role %s (inline policy %s)", strings.Join(args.Actions, ", "), strings.Join(args.Resources, ", "), args.RoleName, args.PolicyName)
	switch {
	case in.DryRun && res.Changed:
		res.Summary = "would deny " + what
	case !res.Changed:
		res.Summary = "already denied: " + what
	default:
		res.Summary = "denied " + what
	}
	res.Output["actions"] = args.Actions
	res.Output["resources"] = args.Resources
	return res, nil
}

type restoreRolePolicyArgs struct {
	RoleName          string `json:"role_name"`
	PolicyName        string `json:"policy_name"`
	PriorDocument     string `json:"prior_document"`
	Cutoff            string `json:"cutoff,omitempty"`
	MaxSessionSeconds int64  `json:"max_session_seconds,omitempty"`
}

// RestoreRolePolicy puts back the inline policy a containment replaced, or
// deletes the containment policy when there was none before.
func (a *IAMActions) RestoreRolePolicy(ctx context.Context, in ActionInput) (ActionResult, error) {
	var args restoreRolePolicyArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return ActionResult{}, err
	}
	if args.RoleName == "" || args.PolicyName == "" {
		return ActionResult{}, invalidArg(ActionRestoreRolePolicy, "role_name and policy_name are required")
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return ActionResult{}, err
	}
	resource := fmt.Sprintf("inline policy %s of role %s", args.PolicyName, args.RoleName)
	current, err := readRolePolicy(ctx, c, args.RoleName, args.PolicyName, resource)
	if err != nil {
		return ActionResult{}, fmt.Errorf("restore %s: %w", resource, err)
	}
	del := args.PriorDocument == ""
	done := func(st rolePolicyState) bool {
		if del {
			return !st.Exists
		}
		return st.Exists && samePolicy(st.Document, args.PriorDocument)
	}
	res := ActionResult{
		Changed: !done(current),
		DryRun:  in.DryRun,
		Prior:   map[string]any{"policy_exists": current.Exists, "policy_document": current.Document},
		Output:  map[string]any{"policy_name": args.PolicyName},
	}
	if w := a.revalidationWarning(args); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	verb := map[bool]string{true: "delete", false: "put back the prior"}[del]
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("%s is already as it was before containment", resource)
		return res, nil
	case in.DryRun:
		res.Summary = fmt.Sprintf("would %s %s", verb, resource)
		return res, nil
	}
	if del {
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(args.RoleName), PolicyName: aws.String(args.PolicyName)})
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			err = nil // deleted in the meantime (or the read was stale): the goal is met
		}
		if err != nil {
			return ActionResult{}, fmt.Errorf("restore %s: %w", resource, AWSError("iam", "DeleteRolePolicy", resource, err))
		}
	} else {
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(args.RoleName), PolicyName: aws.String(args.PolicyName), PolicyDocument: aws.String(args.PriorDocument)})
		if err != nil {
			return ActionResult{}, fmt.Errorf("restore %s: %w", resource, AWSError("iam", "PutRolePolicy", resource, err))
		}
	}
	err = PollUntil(ctx, a.poll, resource, nil, func(ctx context.Context) (bool, error) {
		st, err := readRolePolicy(ctx, c, args.RoleName, args.PolicyName, resource)
		return done(st), err
	})
	if err != nil {
		return ActionResult{}, fmt.Errorf("restore %s: %w", resource, err)
	}
	res.Summary = "put back the prior " + resource
	if del {
		res.Summary = "deleted " + resource
	}
	return res, nil
}

// revalidationWarning: lifting a session revoke before the longest
// session issued before the cut-off has expired makes any stolen token of
// that time valid again.
func (a *IAMActions) revalidationWarning(args restoreRolePolicyArgs) string {
	if args.Cutoff == "" || args.MaxSessionSeconds <= 0 {
		return ""
	}
	cutoff, err := time.Parse(time.RFC3339, args.Cutoff)
	if err != nil {
		return ""
	}
	until := cutoff.Add(time.Duration(args.MaxSessionSeconds) * time.Second)
	if a.now().Before(until) {
		return fmt.Sprintf("sessions of role %s issued before %s may still be unexpired until %s; lifting the revoke now makes any stolen ones valid again",
			args.RoleName, cutoff.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
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
func (a *IAMActions) setCredentials(ctx context.Context, c IAMAPI, user string, keys, creds []string, status iamtypes.StatusType, beat func()) error {
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
	return PollUntil(ctx, a.poll, fmt.Sprintf("%s keys of user %s", strings.ToLower(string(status)), user), beat, func(ctx context.Context) (bool, error) {
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
func (a *IAMActions) DeactivateAccessKeys(ctx context.Context, in ActionInput) (ActionResult, error) {
	var args deactivateKeysArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return ActionResult{}, err
	}
	if strings.TrimSpace(args.UserName) == "" {
		return ActionResult{}, invalidArg(ActionDeactivateAccessKeys, "user_name is required")
	}
	bedrock := args.IncludeBedrockCredentials == nil || *args.IncludeBedrockCredentials
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return ActionResult{}, err
	}
	current, err := listUserCredentials(ctx, c, args.UserName, bedrock)
	if err != nil {
		return ActionResult{}, fmt.Errorf("deactivate keys of user %s: %w", args.UserName, err)
	}
	cp := newCheckpoint(ctx, current)
	priorKeys, priorCreds := cp.prior.active()
	keys, creds := current.active()
	res := ActionResult{
		Changed: len(priorKeys)+len(priorCreds) > 0,
		DryRun:  in.DryRun,
		Prior: map[string]any{
			"user_name": args.UserName, "access_keys": credentialMaps(cp.prior.AccessKeys), "bedrock_credentials": credentialMaps(cp.prior.Bedrock),
		},
		Output: map[string]any{"deactivated_access_keys": priorKeys, "deactivated_credentials": priorCreds},
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
		if err := a.setCredentials(ctx, c, args.UserName, keys, creds, iamtypes.StatusTypeInactive, cp.beat); err != nil {
			return ActionResult{}, fmt.Errorf("deactivate keys of user %s: %w", args.UserName, err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("user %s has no active keys to deactivate", args.UserName)
		return res, nil
	}
	res.Summary = fmt.Sprintf("deactivated user %s: access keys [%s], Bedrock API keys [%s]", args.UserName, strings.Join(priorKeys, ", "), strings.Join(priorCreds, ", "))
	res.Warnings = []string{fmt.Sprintf("sessions already issued from the keys of user %s stay valid until they expire", args.UserName)}
	res.Undo = &UndoRecord{Action: ActionReactivateAccessKeys, Args: map[string]any{
		"user_name": args.UserName, "access_key_ids": orEmpty(priorKeys), "credential_ids": orEmpty(priorCreds),
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
func (a *IAMActions) ReactivateAccessKeys(ctx context.Context, in ActionInput) (ActionResult, error) {
	var args reactivateKeysArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return ActionResult{}, err
	}
	if strings.TrimSpace(args.UserName) == "" {
		return ActionResult{}, invalidArg(ActionReactivateAccessKeys, "user_name is required")
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return ActionResult{}, err
	}
	current, err := listUserCredentials(ctx, c, args.UserName, len(args.CredentialIDs) > 0)
	if err != nil {
		return ActionResult{}, fmt.Errorf("reactivate keys of user %s: %w", args.UserName, err)
	}
	var res ActionResult
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
	if err := a.setCredentials(ctx, c, args.UserName, keys, creds, iamtypes.StatusTypeActive, nil); err != nil {
		return ActionResult{}, fmt.Errorf("reactivate keys of user %s: %w", args.UserName, err)
	}
	res.Summary = "reactivated " + what
	return res, nil
}
