package worker

import (
	"context"
	"log/slog"
	"strings"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/workflows/contract"
)

// ActionOptions configure the action registry a worker runs.
type ActionOptions struct {
	// Records backs core.record; nil means in memory.
	Records *activities.RecordStore
	Logger  *slog.Logger
	// AWS hands out AWS configs per incident; required for AWS actions.
	AWS *activities.AWSProvider
	// Notifier provides slack.notify; nil registers a log-only one.
	Notifier *activities.Notifier
	// ForceDryRunAWS, when set, turns every AWS action into a dry run and
	// says why in its summary (quench dev without AWS credentials).
	ForceDryRunAWS string
}

// BuildRegistry returns the registry of every action this worker can run.
func BuildRegistry(ctx context.Context, opts ActionOptions) (*activities.Registry, error) {
	if opts.Records == nil {
		opts.Records, _ = activities.NewRecordStore("")
	}
	if opts.Notifier == nil {
		opts.Notifier = activities.NewNotifier(nil, "", opts.Logger)
	}
	reg := activities.NewRegistry()
	core := &activities.Core{Records: opts.Records, Logger: opts.Logger}
	reg.Register(core.Actions()...)
	reg.Register(opts.Notifier.Actions()...)
	if opts.AWS != nil {
		var aws []activities.Action
		aws = append(aws, awsActions(opts.AWS)...)
		if opts.ForceDryRunAWS != "" {
			for i := range aws {
				aws[i] = forceDryRun(aws[i], opts.ForceDryRunAWS)
			}
		}
		reg.Register(aws...)
	}
	return reg, nil
}

// forceDryRun wraps an action so it never mutates, and its summary says why.
func forceDryRun(a activities.Action, why string) activities.Action {
	run := a.Run
	a.Run = func(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
		in.DryRun = true
		res, err := run(ctx, in)
		res.DryRun = true
		if !strings.HasPrefix(res.Summary, "[dry run") {
			res.Summary = "[dry run: " + why + "] " + res.Summary
		}
		return res, err
	}
	return a
}
