package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/workflows/contract"
)

type targetsOptions struct {
	output
}

func newCmdTargets(a *app) *cobra.Command {
	var o targetsOptions
	cmd := &cobra.Command{
		Use:   "targets",
		Short: "List the targets open incidents hold leases on",
		Long: `Targets shows every target (a function's reserved concurrency, a usage
plan's throttle, an agent alias, an access key, ...) that open incidents
hold: who holds it, since when, and the state the last holder's rollback
restores. A target held by several incidents is restored only when the last
of them resolves. -o json: [{key, holders: [{incident, steps, since,
relies}], changes: [{incident, step, summary, undo, at}], in_flight}]; the
first change's undo is the pre-incident state.`,
		Example: `  quench targets
  quench targets -o json | jq -r '.[] | .key + " " + (.holders | map(.incident) | join(","))'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runTargets(cmd.Context(), o) },
	}
	o.add(cmd)
	return cmd
}

func (a *app) runTargets(ctx context.Context, o targetsOptions) error {
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	targets, err := inc.Targets(ctx)
	if err != nil {
		return err
	}
	if targets == nil {
		targets = []contract.TargetState{}
	}
	if o.json() {
		return writeJSON(a.out, targets)
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tHELD BY\tSINCE\tRESTORES")
	for _, t := range targets {
		for i, h := range t.Holders {
			key, restores := "", ""
			if i == 0 {
				key, restores = t.Key, priorOf(t)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", key, h.Incident, h.Since.UTC().Format(time.RFC3339), restores)
		}
	}
	return tw.Flush()
}

// priorOf says what the last holder's rollback restores: the first
// change's undo, or nothing when no holder changed the target.
func priorOf(t contract.TargetState) string {
	if len(t.Changes) == 0 {
		return "nothing (no holder changed it)"
	}
	return contract.DescribeUndo(t.Changes[0].Undo)
}
