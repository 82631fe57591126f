package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// SSM action names.
const (
	ActionSetParameter     = "ssm.set_parameter"
	ActionRestoreParameter = "ssm.restore_parameter"
)

// SSMAPI is the part of the SSM client the parameter actions use.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, opts ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// SSMActions flip the parameters an application reads: an app-level rate
// limit, a kill switch, the guardrail version to use.
type SSMActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (SSMAPI, error)
	poll    PollConfig
}

// NewSSMActions builds the SSM actions on real clients from p.
func NewSSMActions(p *Provider) *SSMActions {
	return &SSMActions{
		clients: clientsFrom(p, func(cfg aws.Config) SSMAPI { return ssm.NewFromConfig(cfg) }),
		poll:    DefaultPollConfig,
	}
}

// Actions returns the SSM actions and their undo action.
func (a *SSMActions) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{
			Name:        ActionSetParameter,
			Target:      &runbooks.TargetSpec{Service: "ssm", Resource: "parameter:{name}", Attribute: "value"},
			Description: "Set an SSM parameter the application reads (rate limit, kill switch, guardrail version); undo puts back the prior value or deletes a parameter that did not exist.",
			Mutating:    true,
			Args: []runbooks.ArgSpec{
				{Name: "name", Type: "string", Required: true, Description: "parameter name, e.g. /quench/chat/kill_switch"},
				{Name: "value", Type: "any", Required: true, Description: "value to set, not blank (a number or bool is stored as its text)"},
				{Name: "type", Type: "string", Enum: []string{"String", "StringList"}, Description: "parameter type when it is created (default String); SecureString is refused"},
			},
		}, a.SetParameter),
		action.New(runbooks.ActionSpec{
			Name:        ActionRestoreParameter,
			Description: "Undo of ssm.set_parameter: put back the prior value, or delete the parameter when it did not exist.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "name", Type: "string", Required: true, Description: "parameter name"},
				{Name: "existed", Type: "bool", Required: true, Description: "whether the parameter existed before"},
				{Name: "prior_value", Type: "string", Description: "value before containment"},
				{Name: "prior_type", Type: "string", Description: "type before containment"},
			},
		}, a.RestoreParameter),
	}
}

// parameterState is a parameter as read.
type parameterState struct {
	Exists bool   `json:"exists"`
	Value  string `json:"value,omitempty"`
	Type   string `json:"type,omitempty"`
}

func readParameter(ctx context.Context, c SSMAPI, name string) (parameterState, error) {
	// No WithDecryption: quench never reads secrets (SecureString is refused).
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return parameterState{}, nil
	}
	if err != nil {
		return parameterState{}, AWSError("ssm", "GetParameter", "parameter "+name, err)
	}
	if out.Parameter == nil {
		return parameterState{}, fmt.Errorf("get parameter %s: empty response", name)
	}
	return parameterState{Exists: true, Value: aws.ToString(out.Parameter.Value), Type: string(out.Parameter.Type)}, nil
}

// refuseSecure: the prior value goes into the undo record and so into the
// incident's history; a secret must never end up there.
func refuseSecure(act, name string, st parameterState) error {
	if st.Type == string(ssmtypes.ParameterTypeSecureString) {
		return action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: parameter %s is a SecureString; quench records prior values in incident history, so it does not change secrets", act, name))
	}
	return nil
}

// writeParameter puts want (or deletes the parameter when want does not
// exist) and polls until it reads back.
func (a *SSMActions) writeParameter(ctx context.Context, c SSMAPI, name string, want parameterState) error {
	if want.Exists {
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(want.Value),
			Type: ssmtypes.ParameterType(want.Type), Overwrite: aws.Bool(true)})
		if err != nil {
			return AWSError("ssm", "PutParameter", "parameter "+name, err)
		}
	} else {
		_, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
		var nf *ssmtypes.ParameterNotFound
		if err != nil && !errors.As(err, &nf) {
			return AWSError("ssm", "DeleteParameter", "parameter "+name, err)
		}
	}
	return PollUntil(ctx, a.poll, "parameter "+name, func(ctx context.Context) (bool, error) {
		got, err := readParameter(ctx, c, name)
		return got == want, err
	})
}

type setParameterArgs struct {
	Name  string     `json:"name"`
	Value scalarText `json:"value"`
	Type  string     `json:"type,omitempty"`
}

// SetParameter sets a parameter, creating it if needed.
func (a *SSMActions) SetParameter(ctx context.Context, in contract.ActionInput, args setParameterArgs) (contract.ActionResult, error) {
	if args.Type == "" {
		args.Type = string(ssmtypes.ParameterTypeString)
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readParameter(ctx, c, args.Name)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("set parameter %s: %w", args.Name, err)
	}
	if err := refuseSecure(ActionSetParameter, args.Name, current); err != nil {
		return contract.ActionResult{}, err
	}
	value := string(args.Value)
	target := parameterState{Exists: true, Value: value, Type: args.Type}
	prior := action.Checkpoint(ctx, current)
	res := contract.ActionResult{
		Changed: prior != target,
		DryRun:  in.DryRun,
		Prior:   map[string]any{"existed": prior.Exists, "value": prior.Value, "type": prior.Type},
		Output:  map[string]any{"name": args.Name, "value": value},
	}
	was := "did not exist"
	if prior.Exists {
		was = fmt.Sprintf("was %q", prior.Value)
	}
	switch {
	case in.DryRun:
		res.Changed = current != target
		res.Summary = fmt.Sprintf("would set parameter %s to %q (%s)", args.Name, value, was)
		if !res.Changed {
			res.Summary = fmt.Sprintf("parameter %s is already %q", args.Name, value)
		}
		return res, nil
	case current != target:
		if err := a.writeParameter(ctx, c, args.Name, target); err != nil {
			return contract.ActionResult{}, fmt.Errorf("set parameter %s: %w", args.Name, err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("parameter %s is already %q", args.Name, value)
		return res, nil
	}
	res.Summary = fmt.Sprintf("set parameter %s to %q (%s)", args.Name, value, was)
	res.Undo = &contract.UndoRecord{Action: ActionRestoreParameter, Args: map[string]any{
		"name": args.Name, "existed": prior.Exists, "prior_value": prior.Value, "prior_type": prior.Type,
	}}
	return res, nil
}

type restoreParameterArgs struct {
	Name       string `json:"name"`
	Existed    bool   `json:"existed"`
	PriorValue string `json:"prior_value"`
	PriorType  string `json:"prior_type"`
}

// RestoreParameter puts back a parameter's prior value, or deletes a
// parameter that set_parameter created.
func (a *SSMActions) RestoreParameter(ctx context.Context, in contract.ActionInput, args restoreParameterArgs) (contract.ActionResult, error) {
	want := parameterState{}
	if args.Existed {
		if args.PriorType == "" {
			args.PriorType = string(ssmtypes.ParameterTypeString)
		}
		want = parameterState{Exists: true, Value: args.PriorValue, Type: args.PriorType}
		if err := refuseSecure(ActionRestoreParameter, args.Name, want); err != nil {
			return contract.ActionResult{}, err
		}
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readParameter(ctx, c, args.Name)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore parameter %s: %w", args.Name, err)
	}
	if err := refuseSecure(ActionRestoreParameter, args.Name, current); err != nil {
		return contract.ActionResult{}, err
	}
	res := contract.ActionResult{Changed: current != want, DryRun: in.DryRun, Prior: map[string]any{"existed": current.Exists, "value": current.Value, "type": current.Type}}
	what := fmt.Sprintf("put back %q in parameter %s", args.PriorValue, args.Name)
	if !args.Existed {
		what = fmt.Sprintf("delete parameter %s, which did not exist before", args.Name)
	}
	switch {
	case !res.Changed:
		res.Summary = fmt.Sprintf("parameter %s is already as it was before containment", args.Name)
		return res, nil
	case in.DryRun:
		res.Summary = "would " + what
		return res, nil
	}
	if err := a.writeParameter(ctx, c, args.Name, want); err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore parameter %s: %w", args.Name, err)
	}
	if args.Existed {
		res.Summary = fmt.Sprintf("put back %q in parameter %s", args.PriorValue, args.Name)
	} else {
		res.Summary = fmt.Sprintf("deleted parameter %s, which did not exist before", args.Name)
	}
	return res, nil
}
