package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Core action names.
const (
	ActionLog      = "core.log"
	ActionSleep    = "core.sleep"
	ActionFail     = "core.fail"
	ActionRecord   = "core.record"
	ActionUnrecord = "core.unrecord"
)

// Core holds the core actions' dependencies.
type Core struct {
	Records *RecordStore
	Logger  *slog.Logger
}

// Actions returns the core actions.
func (c *Core) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{Name: ActionLog, Description: "Write a message to the worker log and the step summary.",
			Args: []runbooks.ArgSpec{{Name: "message", Type: "string", Required: true, Description: "what to log"}}}, c.Log),
		action.New(runbooks.ActionSpec{Name: ActionSleep, Description: "Pause inside an activity (heartbeating), e.g. to let a change propagate.",
			Args: []runbooks.ArgSpec{{Name: "duration", Type: "duration", Required: true, Description: "how long, e.g. 30s"}}}, c.Sleep),
		action.New(runbooks.ActionSpec{Name: ActionFail, Description: "Fail the step with a message (for testing failure paths; not retried).",
			Args: []runbooks.ArgSpec{{Name: "message", Type: "string", Required: true, Description: "the failure message"}}}, c.Fail),
		action.New(runbooks.ActionSpec{Name: ActionRecord, Mutating: true, Description: "Record a value under a key for this incident; undo restores what the key held before.",
			Args: []runbooks.ArgSpec{
				{Name: "key", Type: "string", Required: true, Description: "record key"},
				{Name: "value", Type: "any", Required: true, Description: "value to record"},
			}}, c.Record),
		action.New(runbooks.ActionSpec{Name: ActionUnrecord, Mutating: true, UndoOnly: true, Description: "Undo of core.record: restore the key's prior value, or remove it.",
			Args: []runbooks.ArgSpec{
				{Name: "key", Type: "string", Required: true, Description: "record key"},
				{Name: "existed", Type: "bool", Required: true, Description: "whether the key held a value before"},
				{Name: "prior", Type: "any", Description: "the value it held"},
			}}, c.Unrecord),
	}
}

func (c *Core) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// messageArgs are the arguments of core.log and core.fail.
type messageArgs struct {
	Message string `json:"message"`
}

// Log logs a message.
func (c *Core) Log(ctx context.Context, in contract.ActionInput, args messageArgs) (contract.ActionResult, error) {
	c.logger().InfoContext(ctx, args.Message, "incident", in.Incident.ID, "step", in.Step)
	return contract.ActionResult{Summary: args.Message, DryRun: in.DryRun}, nil
}

// sleepArgs are the arguments of core.sleep.
type sleepArgs struct {
	Duration runbooks.Duration `json:"duration"`
}

// Sleep waits; the Registry heartbeats meanwhile, so a lost worker is noticed.
func (c *Core) Sleep(ctx context.Context, in contract.ActionInput, args sleepArgs) (contract.ActionResult, error) {
	if in.DryRun {
		return contract.ActionResult{Summary: "would sleep " + args.Duration.D().String(), DryRun: true}, nil
	}
	t := time.NewTimer(args.Duration.D())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return contract.ActionResult{}, ctx.Err()
	case <-t.C:
	}
	return contract.ActionResult{Summary: "slept " + args.Duration.D().String()}, nil
}

// Fail fails the step, not retryably.
func (c *Core) Fail(ctx context.Context, in contract.ActionInput, args messageArgs) (contract.ActionResult, error) {
	if in.DryRun {
		return contract.ActionResult{Summary: "would fail: " + args.Message, DryRun: true}, nil
	}
	return contract.ActionResult{}, action.NonRetryable(action.ErrActionFailed, errors.New(args.Message))
}

// recordArgs are the arguments of core.record.
type recordArgs struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// recordPrior is what a key held before core.record, kept across attempts.
type recordPrior struct {
	Existed bool `json:"existed"`
	Value   any  `json:"value"`
}

// Record stores a value under incident/key, reading the prior value first.
func (c *Core) Record(ctx context.Context, in contract.ActionInput, args recordArgs) (contract.ActionResult, error) {
	key := in.Incident.ID + "/" + args.Key
	value, existed := c.Records.Get(key)
	current := recordPrior{Existed: existed, Value: value}
	prior := action.Checkpoint(ctx, current)
	res := contract.ActionResult{Prior: map[string]any{"existed": prior.Existed, "value": prior.Value}, Output: map[string]any{"key": key, "value": args.Value}, DryRun: in.DryRun}
	if prior.Existed && equalJSON(prior.Value, args.Value) {
		res.Summary = fmt.Sprintf("%s already %v", key, args.Value)
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would record %s = %v (was %s)", key, args.Value, describePrior(current.Value, current.Existed))
		return res, nil
	}
	if !current.Existed || !equalJSON(current.Value, args.Value) { // an earlier attempt may have written already
		if err := c.Records.Put(key, args.Value); err != nil {
			return contract.ActionResult{}, fmt.Errorf("record %s: %w", key, err)
		}
	}
	res.Summary = fmt.Sprintf("recorded %s = %v (was %s)", key, args.Value, describePrior(prior.Value, prior.Existed))
	res.Undo = &contract.UndoRecord{Action: ActionUnrecord, Args: map[string]any{"key": args.Key, "existed": prior.Existed, "prior": prior.Value}}
	return res, nil
}

// unrecordArgs are the arguments of core.unrecord.
type unrecordArgs struct {
	Key     string `json:"key"`
	Existed bool   `json:"existed"`
	Prior   any    `json:"prior"`
}

// Unrecord restores what Record changed.
func (c *Core) Unrecord(ctx context.Context, in contract.ActionInput, args unrecordArgs) (contract.ActionResult, error) {
	key := in.Incident.ID + "/" + args.Key
	if in.DryRun {
		return contract.ActionResult{Summary: "would restore " + key, DryRun: true, Changed: true}, nil
	}
	var err error
	if args.Existed {
		err = c.Records.Put(key, args.Prior)
	} else {
		err = c.Records.Delete(key)
	}
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("restore %s: %w", key, err)
	}
	return contract.ActionResult{Changed: true, Summary: fmt.Sprintf("restored %s to %s", key, describePrior(args.Prior, args.Existed))}, nil
}

func describePrior(v any, existed bool) string {
	if !existed {
		return "unset"
	}
	return fmt.Sprint(v)
}
