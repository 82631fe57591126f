package worker

import (
	"context"
	"log/slog"
	"strings"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/activities/action"
	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/activities/core"
	"github.com/quenchhq/quench/workflows/contract"
)

// ActionOptions configure the action registry a worker runs.
type ActionOptions struct {
	// Records backs core.record; nil means in memory.
	Records *core.RecordStore
	Logger  *slog.Logger
	// AWS hands out AWS configs per incident; required for AWS actions.
	AWS *awsactions.Provider
	// Notifier provides slack.notify; nil registers a log-only one.
	Notifier *activities.Notifier
	// ForceDryRunAWS, when set, turns every AWS action into a dry run and
	// says why in its summary (quench dev without AWS credentials).
	ForceDryRunAWS string
}

// BuildRegistry returns the registry of every action this worker can run.
// It is the one place the catalogue is put together: each boundary lists
// its own actions (core, the notifier's slack.notify, AWS by service), and
// the registry checks arguments and heartbeats for all of them.
func BuildRegistry(ctx context.Context, opts ActionOptions) (*action.Registry, error) {
	if opts.Records == nil {
		opts.Records, _ = core.NewRecordStore("")
	}
	if opts.Notifier == nil {
		opts.Notifier = activities.NewNotifier(nil, "", opts.Logger)
	}
	reg := action.NewRegistry()
	reg.Register((&core.Core{Records: opts.Records, Logger: opts.Logger}).Actions()...)
	reg.Register(opts.Notifier.Actions()...)
	if opts.AWS != nil {
		aws := awsactions.Actions(opts.AWS)
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
func forceDryRun(a action.Action, why string) action.Action {
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
