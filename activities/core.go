package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Core actions need nothing outside quench: they let runbooks log, pause,
// fail on purpose, and record values whose undo can be checked end to end.
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

// Actions returns the core actions for a Registry.
func (c *Core) Actions() []Action {
	return []Action{
		{Spec: runbooks.ActionSpec{Name: ActionLog, Description: "Write a message to the worker log and the step summary.",
			Args: []runbooks.ArgSpec{{Name: "message", Type: "string", Required: true, Description: "what to log"}}}, Run: c.Log},
		{Spec: runbooks.ActionSpec{Name: ActionSleep, Description: "Pause inside an activity (heartbeating), e.g. to let a change propagate.",
			Args: []runbooks.ArgSpec{{Name: "duration", Type: "duration", Required: true, Description: "how long, e.g. 30s"}}}, Run: c.Sleep},
		{Spec: runbooks.ActionSpec{Name: ActionFail, Description: "Fail the step with a message (for testing failure paths; not retried).",
			Args: []runbooks.ArgSpec{{Name: "message", Type: "string", Required: true, Description: "the failure message"}}}, Run: c.Fail},
		{Spec: runbooks.ActionSpec{Name: ActionRecord, Mutating: true, Description: "Record a value under a key for this incident; undo restores what the key held before.",
			Args: []runbooks.ArgSpec{
				{Name: "key", Type: "string", Required: true, Description: "record key"},
				{Name: "value", Type: "any", Required: true, Description: "value to record"},
			}}, Run: c.Record},
		{Spec: runbooks.ActionSpec{Name: ActionUnrecord, Mutating: true, UndoOnly: true, Description: "Undo of core.record: restore the key's prior value, or remove it.",
			Args: []runbooks.ArgSpec{
				{Name: "key", Type: "string", Required: true, Description: "record key"},
				{Name: "existed", Type: "bool", Required: true, Description: "whether the key held a value before"},
				{Name: "prior", Type: "any", Description: "the value it held"},
			}}, Run: c.Unrecord},
	}
}

func (c *Core) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Log logs a message.
func (c *Core) Log(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args struct {
		Message string `json:"message"`
	}
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
	c.logger().InfoContext(ctx, args.Message, "incident", in.Incident.ID, "step", in.Step)
	return contract.ActionResult{Summary: args.Message, DryRun: in.DryRun}, nil
}

// Sleep waits, heartbeating so a lost worker is noticed.
func (c *Core) Sleep(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args struct {
		Duration runbooks.Duration `json:"duration"`
	}
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
	if in.DryRun {
		return contract.ActionResult{Summary: "would sleep " + args.Duration.D().String(), DryRun: true}, nil
	}
	deadline := time.Now().Add(args.Duration.D())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx)
		}
		select {
		case <-ctx.Done():
			return contract.ActionResult{}, ctx.Err()
		case <-tick.C:
		case <-time.After(time.Until(deadline)):
		}
	}
	return contract.ActionResult{Summary: "slept " + args.Duration.D().String()}, nil
}

// Fail fails the step, not retryably.
func (c *Core) Fail(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args struct {
		Message string `json:"message"`
	}
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
	if in.DryRun {
		return contract.ActionResult{Summary: "would fail: " + args.Message, DryRun: true}, nil
	}
	return contract.ActionResult{}, NonRetryable(ErrActionFailed, errors.New(args.Message))
}

// Record stores a value under incident/key, reading the prior value first.
func (c *Core) Record(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
	key := in.Incident.ID + "/" + args.Key
	prior, existed := c.Records.Get(key)
	res := contract.ActionResult{Prior: map[string]any{"existed": existed, "value": prior}, Output: map[string]any{"key": key, "value": args.Value}, DryRun: in.DryRun}
	if existed && equalJSON(prior, args.Value) {
		res.Summary = fmt.Sprintf("%s already %v", key, args.Value)
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would record %s = %v (was %s)", key, args.Value, describePrior(prior, existed))
		return res, nil
	}
	if err := c.Records.Put(key, args.Value); err != nil {
		return contract.ActionResult{}, fmt.Errorf("record %s: %w", key, err)
	}
	res.Summary = fmt.Sprintf("recorded %s = %v (was %s)", key, args.Value, describePrior(prior, existed))
	res.Undo = &contract.UndoRecord{Action: ActionUnrecord, Args: map[string]any{"key": args.Key, "existed": existed, "prior": prior}}
	return res, nil
}

// Unrecord restores what Record changed.
func (c *Core) Unrecord(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args struct {
		Key     string `json:"key"`
		Existed bool   `json:"existed"`
		Prior   any    `json:"prior"`
	}
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
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
