package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/workflows/contract"
)

type resolveOptions struct {
	output
	id       string
	rollback bool
	keep     bool
	reason   string
}

func newCmdResolve(a *app) *cobra.Command {
	var o resolveOptions
	cmd := &cobra.Command{
		Use:   "resolve ID [--rollback|--keep]",
		Short: "Close an incident, undoing its changes (--rollback) or keeping them (--keep)",
		Long: `Resolve closes a contained (or failed, or approval-waiting) incident. With
--rollback every recorded change is undone, newest first, each undo in the
timeline; with --keep the containment stays in place. Without either, the
runbook's on_resolve decides. Resolve waits for the rollback and prints the
final status; if an undo failed (state failed) it exits 5.

Only one resolve (or cancel) is taken: while one is under way, others exit
4 saying the incident is already being resolved. A closed incident exits 4
with when it closed and its final state; an unknown id exits 3.`,
		Example: "  quench resolve contain-demo-20261128-140200-1a2b --rollback\n  quench resolve spike-1 --keep --reason 'keys rotated; keep the deny'",
		Args:    incidentIDArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			return a.runResolve(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.rollback, "rollback", false, "undo every change the incident made")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the changes in place")
	cmd.Flags().StringVar(&o.reason, "reason", "", "why; recorded in the timeline")
	cmd.MarkFlagsMutuallyExclusive("rollback", "keep")
	o.add(cmd)
	return cmd
}

func (a *app) runResolve(ctx context.Context, o resolveOptions) error {
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	req := contract.ResolveRequest{Actor: identity(), Reason: o.reason}
	if o.rollback {
		req.Mode = "rollback"
	} else if o.keep {
		req.Mode = "keep"
	}
	fmt.Fprintf(a.errOut, "resolving %s...\n", o.id)
	if err := inc.Resolve(ctx, o.id, req); err != nil {
		return err
	}
	st, err := inc.StatusOfRun(ctx, o.id, "")
	if err != nil {
		return err
	}
	if err := a.printStatus(st, o.output); err != nil {
		return err
	}
	return endedBadly(st)
}

type cancelOptions struct {
	id     string
	reason string
}

func newCmdCancel(a *app) *cobra.Command {
	var o cancelOptions
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Stop an incident now, leaving its changes in place",
		Long: `Cancel stops the runbook (a running step is interrupted, a pending approval
abandoned) and closes the incident without undoing anything. To undo
changes, use resolve --rollback instead. Like resolve, it exits 4 when the
incident is closed or already being resolved or cancelled.`,
		Example: "  quench cancel contain-demo-20261128-140200-1a2b --reason 'drill over'",
		Args:    incidentIDArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			inc, err := a.incidents(cmd.Context())
			if err != nil {
				return err
			}
			if err := inc.Cancel(cmd.Context(), o.id, contract.CancelRequest{Actor: identity(), Reason: o.reason}); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: cancelled\n", o.id)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", "why; recorded in the timeline")
	return cmd
}
