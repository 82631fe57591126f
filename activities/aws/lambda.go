package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Lambda action names.
const (
	ActionLimitConcurrency   = "lambda.limit_concurrency"
	ActionRestoreConcurrency = "lambda.restore_concurrency"
)

// LambdaAPI is the part of the Lambda client the Lambda actions use.
type LambdaAPI interface {
	GetFunctionConcurrency(ctx context.Context, in *lambda.GetFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
	PutFunctionConcurrency(ctx context.Context, in *lambda.PutFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error)
	DeleteFunctionConcurrency(ctx context.Context, in *lambda.DeleteFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error)
}

// LambdaActions throttle a function that calls a model by capping its
// reserved concurrency (0 stops every invocation); they only ever lower it.
type LambdaActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (LambdaAPI, error)
	poll    PollConfig
}

// NewLambdaActions builds the Lambda actions on real clients from p.
func NewLambdaActions(p *Provider) *LambdaActions {
	return &LambdaActions{
		clients: clientsFrom(p, func(cfg aws.Config) LambdaAPI { return lambda.NewFromConfig(cfg) }),
		poll:    DefaultPollConfig,
	}
}

// Actions returns the Lambda actions and their undo action.
func (a *LambdaActions) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{
			Name:        ActionLimitConcurrency,
			Target:      &runbooks.TargetSpec{Service: "lambda", Resource: "function/{function_name}", Attribute: "reserved-concurrency"},
			Description: "Lower a Lambda function's reserved concurrency to at most `reserved` (0 stops all invocations); never raises it: a function already at or below the target is left unchanged, with no undo. Undo restores the prior reservation or removes it.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "function_name", Type: "string", Required: true, Description: "function name or ARN"},
				{Name: "reserved", Type: "int", Required: true, Min: runbooks.AtLeast(0), Description: "the most reserved concurrent executions to leave (0 blocks every invocation); a lower current value is kept"},
			},
		}, a.LimitConcurrency),
		action.New(runbooks.ActionSpec{
			Name:        ActionRestoreConcurrency,
			Description: "Undo of lambda.limit_concurrency: put back the prior reserved concurrency, or remove the reservation when there was none.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "function_name", Type: "string", Required: true, Description: "function name or ARN"},
				{Name: "prior", Type: "any", Description: "prior reserved concurrency; null removes the reservation"},
			},
		}, a.RestoreConcurrency),
	}
}

// concurrencyState is a function's reserved concurrency; nil is unreserved.
type concurrencyState struct {
	Reserved *int32 `json:"reserved"`
}

func (s concurrencyState) String() string {
	if s.Reserved == nil {
		return "unreserved"
	}
	return fmt.Sprintf("%d reserved", *s.Reserved)
}

func (s concurrencyState) equal(o concurrencyState) bool {
	if s.Reserved == nil || o.Reserved == nil {
		return s.Reserved == nil && o.Reserved == nil
	}
	return *s.Reserved == *o.Reserved
}

func (s concurrencyState) value() any {
	if s.Reserved == nil {
		return nil
	}
	return int(*s.Reserved)
}

func readConcurrency(ctx context.Context, c LambdaAPI, fn string) (concurrencyState, error) {
	out, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(fn)})
	if err != nil {
		return concurrencyState{}, AWSError("lambda", "GetFunctionConcurrency", "function "+fn, err)
	}
	return concurrencyState{Reserved: out.ReservedConcurrentExecutions}, nil
}

// setConcurrency writes want (nil deletes the reservation) and polls until it reads back.
func (a *LambdaActions) setConcurrency(ctx context.Context, c LambdaAPI, fn string, want concurrencyState) error {
	var err error
	if want.Reserved == nil {
		_, err = c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn)})
		err = AWSError("lambda", "DeleteFunctionConcurrency", "function "+fn, err)
	} else {
		_, err = c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: want.Reserved})
		err = AWSError("lambda", "PutFunctionConcurrency", "function "+fn, err)
	}
	if err != nil {
		return err
	}
	return PollUntil(ctx, a.poll, "concurrency of function "+fn, func(ctx context.Context) (bool, error) {
		got, err := readConcurrency(ctx, c, fn)
		return got.equal(want), err
	})
}

type limitConcurrencyArgs struct {
	FunctionName string `json:"function_name"`
	Reserved     int32  `json:"reserved"`
}

// lowerConcurrency is what limiting s to target leaves: target when s is
// unreserved (the function may use the account's whole unreserved pool) or
// above it; s itself when it is already at or below target, so a limit
// never raises a function that was throttled harder (a function at 0 stays
// at 0).
func lowerConcurrency(s concurrencyState, target int32) concurrencyState {
	if s.Reserved != nil && *s.Reserved <= target {
		return s
	}
	return concurrencyState{Reserved: &target}
}

// LimitConcurrency lowers a function's reserved concurrency to at most the
// target; it never raises it.
func (a *LambdaActions) LimitConcurrency(ctx context.Context, in contract.ActionInput, args limitConcurrencyArgs) (contract.ActionResult, error) {
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readConcurrency(ctx, c, args.FunctionName)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("limit concurrency of function %s: %w", args.FunctionName, err)
	}
	// The change and its undo are decided on the state before the first
	// attempt; what to write, on the state now, so a retry neither writes
	// twice nor raises a value someone lowered in between.
	prior := action.Checkpoint(ctx, current)
	after := lowerConcurrency(prior, args.Reserved)
	res := contract.ActionResult{
		Changed: !prior.equal(after),
		DryRun:  in.DryRun,
		Prior:   map[string]any{"reserved": prior.value()},
		Output:  map[string]any{"function_name": args.FunctionName, "reserved": after.value()},
	}
	unchanged := func(s concurrencyState) string {
		return fmt.Sprintf("function %s already at %d ≤ %d: unchanged", args.FunctionName, *s.Reserved, args.Reserved)
	}
	if in.DryRun {
		after = lowerConcurrency(current, args.Reserved)
		res.Changed = !current.equal(after)
		res.Output["reserved"] = after.value()
		res.Summary = fmt.Sprintf("would set reserved concurrency of function %s to %d (now %s)", args.FunctionName, args.Reserved, current)
		if !res.Changed {
			res.Summary = unchanged(current)
		}
		return res, nil
	}
	if want := lowerConcurrency(current, args.Reserved); !want.equal(current) {
		if err := a.setConcurrency(ctx, c, args.FunctionName, want); err != nil {
			return contract.ActionResult{}, fmt.Errorf("limit concurrency of function %s: %w", args.FunctionName, err)
		}
	}
	if !res.Changed {
		res.Summary = unchanged(prior)
		return res, nil
	}
	res.Summary = fmt.Sprintf("set reserved concurrency of function %s to %d (was %s)", args.FunctionName, args.Reserved, prior)
	res.Undo = &contract.UndoRecord{Action: ActionRestoreConcurrency, Args: map[string]any{"function_name": args.FunctionName, "prior": prior.value()}}
	return res, nil
}

type restoreConcurrencyArgs struct {
	FunctionName string `json:"function_name"`
	Prior        *int32 `json:"prior"`
}

// RestoreConcurrency puts back the prior reservation, or removes it.
func (a *LambdaActions) RestoreConcurrency(ctx context.Context, in contract.ActionInput, args restoreConcurrencyArgs) (contract.ActionResult, error) {
	want := concurrencyState{Reserved: args.Prior}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readConcurrency(ctx, c, args.FunctionName)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore concurrency of function %s: %w", args.FunctionName, err)
	}
	res := contract.ActionResult{Changed: !current.equal(want), DryRun: in.DryRun, Prior: map[string]any{"reserved": current.value()}}
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("function %s is already %s", args.FunctionName, want)
		return res, nil
	case in.DryRun:
		res.Summary = fmt.Sprintf("would restore function %s to %s (now %s)", args.FunctionName, want, current)
		return res, nil
	}
	if err := a.setConcurrency(ctx, c, args.FunctionName, want); err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore concurrency of function %s: %w", args.FunctionName, err)
	}
	res.Summary = fmt.Sprintf("restored function %s to %s", args.FunctionName, want)
	return res, nil
}
