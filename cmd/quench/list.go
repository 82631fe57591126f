package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/incidents"
)

type listOptions struct {
	output
	state string
}

func newCmdList(a *app) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List incidents, newest first",
		Long: `List shows one row per incident, newest first, with its run id: an alert
that fires again after its incident closed starts a new incident under the
same id, and RUN tells the two apart (quench status ID --run RUN_ID). An
incident that moved to a new run to keep its history small is still one
row, showing its current run. -o json: [{id, run_id, runbook, severity,
state, started}].`,
		Example: `  quench list
  quench list --state open
  quench list --state contained -o json | jq -r '.[].id'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runList(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.state, "state", "", "only incidents that are open, contained or closed")
	o.add(cmd)
	return cmd
}

func (a *app) runList(ctx context.Context, o listOptions) error {
	switch o.state {
	case incidents.FilterAll, incidents.FilterOpen, incidents.FilterContained, incidents.FilterClosed:
	default:
		return usagef(fmt.Sprintf("--state %q: want open, contained or closed", o.state))
	}
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	rows, err := inc.List(ctx, o.state)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []incidents.Summary{}
	}
	if o.json() {
		return writeJSON(a.out, rows)
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRUN\tRUNBOOK\tSEVERITY\tSTATE\tSTARTED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.RunID, r.Runbook, r.Severity, r.State, r.Started.Format(time.RFC3339))
	}
	return tw.Flush()
}
