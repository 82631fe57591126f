package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
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
	// NoAWSCalls, with ForceDryRunAWS, means AWS cannot even be read (no
	// credentials and no endpoint to read from): no AWS action calls AWS.
	// Read-only ones report "skipped: <ForceDryRunAWS>", mutating ones the
	// plan their arguments describe, so an incident still runs to its end.
	NoAWSCalls bool
}

// WithoutAWSCredentials sets opts up for a worker whose AWS provider has
// no credentials (quench dev with no AWS configuration): every AWS action
// is a dry run. With an endpoint configured (AWS_ENDPOINT_URL or the
// profile's endpoint_url, e.g. an emulator) reads go there, signed with
// placeholder keys; otherwise no AWS action calls AWS. It returns one line
// saying which, for the operator.
func (opts *ActionOptions) WithoutAWSCredentials() string {
	opts.ForceDryRunAWS = "no AWS credentials"
	if ep := opts.AWS.Endpoint(); ep != "" {
		opts.AWS = opts.AWS.WithPlaceholderCredentials()
		return "AWS actions dry run (no AWS credentials; reads go to " + ep + ")"
	}
	opts.NoAWSCalls = true
	return "AWS actions dry run (no AWS credentials; reads skipped)"
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
				if opts.NoAWSCalls {
					aws[i] = withoutAWS(aws[i], opts.ForceDryRunAWS)
				} else {
					aws[i] = forceDryRun(aws[i], opts.ForceDryRunAWS)
				}
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

// withoutAWS replaces an action's body by one that calls nothing: a
// read-only action reports it was skipped, a mutating one what it would
// be asked to do. Neither can say what AWS holds now, and says so; the
// step succeeds, so the incident runs its dry-run plan to the end instead
// of failing on reads that cannot work.
func withoutAWS(a action.Action, why string) action.Action {
	spec := a.Spec
	a.Run = func(_ context.Context, in contract.ActionInput) (contract.ActionResult, error) {
		if !spec.Mutating {
			return contract.ActionResult{DryRun: true, Summary: fmt.Sprintf("skipped: %s (%s %s not read)", why, spec.Name, describeArgs(in.Args))}, nil
		}
		return contract.ActionResult{DryRun: true, Summary: fmt.Sprintf(
			"[dry run: %s] would run %s %s; the current state was not read, so whether it would change anything is unknown", why, spec.Name, describeArgs(in.Args))}, nil
	}
	return a
}

// describeArgs renders arguments in name order: {agent_id=A1, actions=["x","y"]}.
func describeArgs(args map[string]any) string {
	parts := make([]string, 0, len(args))
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := fmt.Sprint(args[k])
		if _, isString := args[k].(string); !isString {
			if b, err := json.Marshal(args[k]); err == nil {
				v = string(b)
			}
		}
		parts = append(parts, k+"="+v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
