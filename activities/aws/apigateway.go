package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// API Gateway action names.
const (
	ActionThrottleUsagePlan        = "apigateway.throttle_usage_plan"
	ActionRestoreUsagePlanThrottle = "apigateway.restore_usage_plan_throttle"
	ActionDisableAPIKey            = "apigateway.disable_api_key"
	ActionEnableAPIKey             = "apigateway.enable_api_key"
)

// APIGatewayAPI is the part of the API Gateway client the actions use.
type APIGatewayAPI interface {
	GetUsagePlan(ctx context.Context, in *apigateway.GetUsagePlanInput, opts ...func(*apigateway.Options)) (*apigateway.GetUsagePlanOutput, error)
	UpdateUsagePlan(ctx context.Context, in *apigateway.UpdateUsagePlanInput, opts ...func(*apigateway.Options)) (*apigateway.UpdateUsagePlanOutput, error)
	GetApiKey(ctx context.Context, in *apigateway.GetApiKeyInput, opts ...func(*apigateway.Options)) (*apigateway.GetApiKeyOutput, error)
	UpdateApiKey(ctx context.Context, in *apigateway.UpdateApiKeyInput, opts ...func(*apigateway.Options)) (*apigateway.UpdateApiKeyOutput, error)
}

// APIGatewayActions throttle the API clients reach a model through.
type APIGatewayActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (APIGatewayAPI, error)
	poll    PollConfig
}

// NewAPIGatewayActions builds the API Gateway actions on real clients from p.
func NewAPIGatewayActions(p *Provider) *APIGatewayActions {
	return &APIGatewayActions{
		clients: clientsFrom(p, func(cfg aws.Config) APIGatewayAPI { return apigateway.NewFromConfig(cfg) }),
		poll:    DefaultPollConfig,
	}
}

// Actions returns the API Gateway actions and their undo actions.
func (a *APIGatewayActions) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{
			Name:        ActionThrottleUsagePlan,
			Target:      &runbooks.TargetSpec{Service: "apigateway", Resource: "usageplan/{usage_plan_id}", Attribute: "throttle"},
			Description: "Lower an API Gateway usage plan's throttle (requests per second and burst) to at most the targets; each is only ever lowered (the lower of current and target is kept; a plan without a throttle gets the targets), and a plan already at or below both is left unchanged with no undo. Undo restores the prior throttle or removes it.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "usage_plan_id", Type: "string", Required: true, Description: "usage plan id"},
				{Name: "rate_limit", Type: "number", Required: true, Min: runbooks.AtLeast(0), Description: "most steady-state requests per second to leave (may be fractional); a lower current rate is kept"},
				{Name: "burst_limit", Type: "int", Required: true, Min: runbooks.AtLeast(0), Description: "most burst to leave; a lower current burst is kept"},
			},
		}, a.ThrottleUsagePlan),
		action.New(runbooks.ActionSpec{
			Name:        ActionRestoreUsagePlanThrottle,
			Description: "Undo of apigateway.throttle_usage_plan: put back the prior throttle, or remove it when the plan had none.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "usage_plan_id", Type: "string", Required: true, Description: "usage plan id"},
				{Name: "had_throttle", Type: "bool", Required: true, Description: "whether the plan had a throttle before"},
				{Name: "prior_rate_limit", Type: "number", Description: "prior requests per second"},
				{Name: "prior_burst_limit", Type: "int", Description: "prior burst limit"},
			},
		}, a.RestoreUsagePlanThrottle),
		action.New(runbooks.ActionSpec{
			Name:        ActionDisableAPIKey,
			Target:      &runbooks.TargetSpec{Service: "apigateway", Resource: "apikey/{api_key_id}", Attribute: "enabled"},
			Description: "Disable one API Gateway API key (a leaked key hammering a model); undo enables it again if it was enabled.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "api_key_id", Type: "string", Required: true, Description: "API key id (not the key value)"},
			},
		}, a.DisableAPIKey),
		action.New(runbooks.ActionSpec{
			Name:        ActionEnableAPIKey,
			Description: "Undo of apigateway.disable_api_key: enable the key again.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "api_key_id", Type: "string", Required: true, Description: "API key id"},
			},
		}, a.EnableAPIKey),
	}
}

// throttleState is a usage plan's throttle as read.
type throttleState struct {
	Set        bool    `json:"set"`
	RateLimit  float64 `json:"rate_limit,omitempty"`
	BurstLimit int32   `json:"burst_limit,omitempty"`
}

func (t throttleState) String() string {
	if !t.Set {
		return "no throttle"
	}
	return fmt.Sprintf("%s req/s, burst %d", strconv.FormatFloat(t.RateLimit, 'f', -1, 64), t.BurstLimit)
}

func readThrottle(ctx context.Context, c APIGatewayAPI, id string) (throttleState, error) {
	out, err := c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(id)})
	if err != nil {
		return throttleState{}, AWSError("apigateway", "GET", "/usageplans/"+id, err)
	}
	if out.Throttle == nil {
		return throttleState{}, nil
	}
	return throttleState{Set: true, RateLimit: out.Throttle.RateLimit, BurstLimit: out.Throttle.BurstLimit}, nil
}

// lowerThrottle is what throttling t to target leaves: target when t has
// no throttle; otherwise the lower of the two per field, so rate and burst
// are each only ever lowered.
func lowerThrottle(t, target throttleState) throttleState {
	if !t.Set {
		return target
	}
	return throttleState{Set: true, RateLimit: min(t.RateLimit, target.RateLimit), BurstLimit: min(t.BurstLimit, target.BurstLimit)}
}

// writeThrottle patches the plan from current to want and polls until it
// reads back. Only the fields that differ are patched. Whether AWS accepts
// "replace" of /throttle/* on a plan without a throttle is unconfirmed, so
// a rejected replace is retried as "add".
func (a *APIGatewayActions) writeThrottle(ctx context.Context, c APIGatewayAPI, id string, current, want throttleState) error {
	update := func(ops []agtypes.PatchOperation) error {
		_, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(id), PatchOperations: ops})
		return err
	}
	var err error
	if !want.Set {
		err = update([]agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/throttle")}})
	} else {
		ops := func(op agtypes.Op) []agtypes.PatchOperation {
			var ops []agtypes.PatchOperation
			if !current.Set || current.RateLimit != want.RateLimit {
				ops = append(ops, agtypes.PatchOperation{Op: op, Path: aws.String("/throttle/rateLimit"), Value: aws.String(strconv.FormatFloat(want.RateLimit, 'f', -1, 64))})
			}
			if !current.Set || current.BurstLimit != want.BurstLimit {
				ops = append(ops, agtypes.PatchOperation{Op: op, Path: aws.String("/throttle/burstLimit"), Value: aws.String(strconv.FormatInt(int64(want.BurstLimit), 10))})
			}
			return ops
		}
		err = update(ops(agtypes.OpReplace))
		var bad *agtypes.BadRequestException
		if errors.As(err, &bad) && !current.Set {
			err = update(ops(agtypes.OpAdd))
		}
	}
	if err != nil {
		return AWSError("apigateway", "PATCH", "/usageplans/"+id, err)
	}
	return PollUntil(ctx, a.poll, "throttle of usage plan "+id, func(ctx context.Context) (bool, error) {
		got, err := readThrottle(ctx, c, id)
		return got == want, err
	})
}

type throttleUsagePlanArgs struct {
	UsagePlanID string `json:"usage_plan_id"`
	RateLimit   number `json:"rate_limit"`
	BurstLimit  int32  `json:"burst_limit"`
}

// ThrottleUsagePlan lowers a usage plan's rate and burst limits to at most
// the targets; it never raises either.
func (a *APIGatewayActions) ThrottleUsagePlan(ctx context.Context, in contract.ActionInput, args throttleUsagePlanArgs) (contract.ActionResult, error) {
	target := throttleState{Set: true, RateLimit: float64(args.RateLimit), BurstLimit: args.BurstLimit}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readThrottle(ctx, c, args.UsagePlanID)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("throttle usage plan %s: %w", args.UsagePlanID, err)
	}
	// As in lambda.limit_concurrency: change and undo from the state before
	// the first attempt, the write from the state now.
	prior := action.Checkpoint(ctx, current)
	after := lowerThrottle(prior, target)
	res := contract.ActionResult{
		Changed: prior != after,
		DryRun:  in.DryRun,
		Prior:   map[string]any{"had_throttle": prior.Set, "rate_limit": prior.RateLimit, "burst_limit": int(prior.BurstLimit)},
		Output:  map[string]any{"usage_plan_id": args.UsagePlanID, "rate_limit": after.RateLimit, "burst_limit": int(after.BurstLimit)},
	}
	unchanged := func(t throttleState) string {
		return fmt.Sprintf("usage plan %s already at %s req/s ≤ %s, burst %d ≤ %d: unchanged", args.UsagePlanID,
			strconv.FormatFloat(t.RateLimit, 'f', -1, 64), strconv.FormatFloat(target.RateLimit, 'f', -1, 64), t.BurstLimit, target.BurstLimit)
	}
	if in.DryRun {
		after = lowerThrottle(current, target)
		res.Changed = current != after
		res.Output["rate_limit"], res.Output["burst_limit"] = after.RateLimit, int(after.BurstLimit)
		res.Summary = fmt.Sprintf("would throttle usage plan %s to %s (now %s)", args.UsagePlanID, after, current)
		if !res.Changed {
			res.Summary = unchanged(current)
		}
		return res, nil
	}
	if want := lowerThrottle(current, target); want != current {
		if err := a.writeThrottle(ctx, c, args.UsagePlanID, current, want); err != nil {
			return contract.ActionResult{}, fmt.Errorf("throttle usage plan %s: %w", args.UsagePlanID, err)
		}
	}
	if !res.Changed {
		res.Summary = unchanged(prior)
		return res, nil
	}
	res.Summary = fmt.Sprintf("throttled usage plan %s to %s (was %s)", args.UsagePlanID, after, prior)
	res.Undo = &contract.UndoRecord{Action: ActionRestoreUsagePlanThrottle, Args: map[string]any{
		"usage_plan_id": args.UsagePlanID, "had_throttle": prior.Set, "prior_rate_limit": prior.RateLimit, "prior_burst_limit": int(prior.BurstLimit),
	}}
	return res, nil
}

type restoreThrottleArgs struct {
	UsagePlanID     string `json:"usage_plan_id"`
	HadThrottle     bool   `json:"had_throttle"`
	PriorRateLimit  number `json:"prior_rate_limit"`
	PriorBurstLimit int32  `json:"prior_burst_limit"`
}

// RestoreUsagePlanThrottle puts back the prior throttle, or removes the
// throttle from a plan that had none.
func (a *APIGatewayActions) RestoreUsagePlanThrottle(ctx context.Context, in contract.ActionInput, args restoreThrottleArgs) (contract.ActionResult, error) {
	want := throttleState{}
	if args.HadThrottle {
		want = throttleState{Set: true, RateLimit: float64(args.PriorRateLimit), BurstLimit: args.PriorBurstLimit}
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readThrottle(ctx, c, args.UsagePlanID)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore throttle of usage plan %s: %w", args.UsagePlanID, err)
	}
	res := contract.ActionResult{Changed: current != want, DryRun: in.DryRun, Prior: map[string]any{"had_throttle": current.Set, "rate_limit": current.RateLimit, "burst_limit": int(current.BurstLimit)}}
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("usage plan %s already has %s", args.UsagePlanID, want)
		return res, nil
	case in.DryRun:
		res.Summary = fmt.Sprintf("would restore usage plan %s to %s (now %s)", args.UsagePlanID, want, current)
		return res, nil
	}
	if err := a.writeThrottle(ctx, c, args.UsagePlanID, current, want); err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore throttle of usage plan %s: %w", args.UsagePlanID, err)
	}
	res.Summary = fmt.Sprintf("restored usage plan %s to %s", args.UsagePlanID, want)
	return res, nil
}

// readAPIKeyEnabled reads whether a key is enabled; the key's value is
// never requested (includeValue stays unset).
func readAPIKeyEnabled(ctx context.Context, c APIGatewayAPI, id string) (bool, error) {
	out, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(id)})
	if err != nil {
		return false, AWSError("apigateway", "GET", "/apikeys/"+id, err)
	}
	return out.Enabled, nil
}

// setAPIKeyEnabled patches /enabled and polls until it reads back.
func (a *APIGatewayActions) setAPIKeyEnabled(ctx context.Context, c APIGatewayAPI, id string, enabled bool) error {
	_, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(id), PatchOperations: []agtypes.PatchOperation{
		{Op: agtypes.OpReplace, Path: aws.String("/enabled"), Value: aws.String(strconv.FormatBool(enabled))},
	}})
	if err != nil {
		return AWSError("apigateway", "PATCH", "/apikeys/"+id, err)
	}
	return PollUntil(ctx, a.poll, "api key "+id, func(ctx context.Context) (bool, error) {
		got, err := readAPIKeyEnabled(ctx, c, id)
		return got == enabled, err
	})
}

type apiKeyArgs struct {
	APIKeyID string `json:"api_key_id"`
}

// DisableAPIKey disables one API key.
func (a *APIGatewayActions) DisableAPIKey(ctx context.Context, in contract.ActionInput, args apiKeyArgs) (contract.ActionResult, error) {
	return a.switchAPIKey(ctx, in, args, false)
}

// EnableAPIKey enables a key that DisableAPIKey disabled.
func (a *APIGatewayActions) EnableAPIKey(ctx context.Context, in contract.ActionInput, args apiKeyArgs) (contract.ActionResult, error) {
	return a.switchAPIKey(ctx, in, args, true)
}

func (a *APIGatewayActions) switchAPIKey(ctx context.Context, in contract.ActionInput, args apiKeyArgs, enable bool) (contract.ActionResult, error) {
	verb := map[bool]string{true: "enable", false: "disable"}[enable]
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readAPIKeyEnabled(ctx, c, args.APIKeyID)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("%s api key %s: %w", verb, args.APIKeyID, err)
	}
	prior := action.Checkpoint(ctx, current)
	res := contract.ActionResult{
		Changed: prior != enable,
		DryRun:  in.DryRun,
		Prior:   map[string]any{"enabled": prior},
		Output:  map[string]any{"api_key_id": args.APIKeyID, "enabled": enable},
	}
	switch {
	case in.DryRun:
		res.Changed = current != enable
		res.Summary = fmt.Sprintf("would %s api key %s", verb, args.APIKeyID)
		if !res.Changed {
			res.Summary = fmt.Sprintf("api key %s is already %sd", args.APIKeyID, verb)
		}
		return res, nil
	case current != enable:
		if err := a.setAPIKeyEnabled(ctx, c, args.APIKeyID, enable); err != nil {
			return contract.ActionResult{}, fmt.Errorf("%s api key %s: %w", verb, args.APIKeyID, err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("api key %s is already %sd", args.APIKeyID, verb)
		return res, nil
	}
	res.Summary = fmt.Sprintf("%sd api key %s", verb, args.APIKeyID)
	if !enable {
		res.Undo = &contract.UndoRecord{Action: ActionEnableAPIKey, Args: map[string]any{"api_key_id": args.APIKeyID}}
	}
	return res, nil
}
