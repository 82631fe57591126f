package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

type statusOptions struct {
	output
	id, run string
}

func newCmdStatus(a *app) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show an incident's state, steps, pending approval and folded alerts",
		Long: `Status shows one incident. JSON output (-o json) is stable for scripts:
{id, runbook, state, steps: [{id, state, attempts, ...}], ...}. Incident states:
running, awaiting_approval, contained, rolling_back, closed, failed, cancelled,
rolled_back. Step states: pending, running, succeeded, failed, skipped,
approved, denied, rolled_back.

` + reuseHelp,
		Example: "  quench status contain-demo-20261128-140200-1a2b\n  quench status spike-1 -o json | jq -r .state\n  quench status spike-1 --run 3f1c2a9e-8d0b-4a57-9a6e-2c1d0e5b7f44   # an earlier incident with this id",
		Args:    incidentIDArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			return a.runStatus(cmd.Context(), o)
		},
	}
	addRunFlag(cmd, &o.run)
	o.add(cmd)
	return cmd
}

func (a *app) runStatus(ctx context.Context, o statusOptions) error {
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	st, err := inc.StatusOfRun(ctx, o.id, o.run)
	if err != nil {
		return err
	}
	// Holders live in the target workflows: asked only when there are any.
	if slices.ContainsFunc(st.Leases, func(l contract.HeldLease) bool { return !l.Released }) {
		if st, err = inc.WithHolders(ctx, st); err != nil {
			return err
		}
	}
	return a.printStatus(st, o.output)
}

// reuseHelp explains, in status and timeline help, how incidents that
// share an id are told apart.
const reuseHelp = `An id names one incident at a time. An alert that fires again after its
incident closed starts a new incident under the same id (the CLI never
reuses an id: run refuses it). ID alone means the latest; quench list
shows each incident with its run id, and --run RUN_ID reads an earlier
one. Any run id an incident ever had works: one incident may move to a new
run (continue-as-new) and is still one incident, one row in list.`

// addRunFlag adds --run, checked like an incident id before any call.
func addRunFlag(cmd *cobra.Command, run *string) {
	cmd.Flags().StringVar(run, "run", "", "read the incident of ID with this run id (see quench list) instead of the latest")
	cmd.PreRunE = chainPreRun(cmd.PreRunE, func(c *cobra.Command, _ []string) error {
		if !c.Flags().Changed("run") {
			return nil
		}
		return checkID(incidents.ValidateRunID(*run))
	})
}

func (a *app) printStatus(st contract.Status, o output) error {
	if o.json() {
		return writeJSON(a.out, st)
	}
	w := a.out
	fmt.Fprintf(w, "incident  %s\nrunbook   %s (%s)\nstate     %s\n", st.ID, st.Runbook, st.Severity, st.State)
	fmt.Fprintf(w, "started   %s by %s via %s\n", st.Started.UTC().Format(time.RFC3339), st.Requester, st.Source)
	if st.DryRun {
		fmt.Fprintln(w, "mode      dry run (nothing is changed)")
	}
	if st.Alerts.Count > 0 || st.Alerts.Resolved > 0 {
		fmt.Fprintf(w, "alerts    %d firing, %d resolved folded in (first %s, last %s)\n", st.Alerts.Count, st.Alerts.Resolved,
			st.Alerts.FirstSeen.UTC().Format(time.RFC3339), st.Alerts.LastSeen.UTC().Format(time.RFC3339))
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error     %s\n", st.Error)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tTRIES\tSUMMARY")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.ID, s.State, s.Attempts, oneLine(firstNonEmpty(s.Error, s.Summary)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := st.PendingApproval; p != nil {
		votes := ""
		if len(p.Approvals) > 0 {
			votes = " (" + strings.Join(p.Approvals, ", ") + ")"
		}
		fmt.Fprintf(w, "\nwaiting for approval of %s: %s\n  %d of %d approvals%s; approvers: %s; deadline %s\n  quench approve %s --step %s\n",
			p.Step, p.Message, len(p.Approvals), p.Needed, votes, strings.Join(p.Approvers, ", "),
			p.Deadline.UTC().Format(time.RFC3339), st.ID, p.Step)
	}
	pending := 0
	for _, u := range st.Undo {
		if !u.Done {
			pending++
		}
	}
	if pending > 0 {
		fmt.Fprintf(w, "\n%d change(s) held; `quench resolve %s --rollback` undoes them\n", pending, st.ID)
	}
	printLeases(w, st)
	return nil
}

// printLeases lists the targets the incident holds and who else holds
// them: a shared target is restored only when its last holder resolves.
func printLeases(w io.Writer, st contract.Status) {
	header := false
	for _, l := range st.Leases {
		if l.Released {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\ntargets held (restored when their last holder resolves; quench targets lists them all):")
			header = true
		}
		var others []string
		for _, h := range l.Holders {
			if h.Incident != st.ID {
				others = append(others, h.Incident)
			}
		}
		line := fmt.Sprintf("  %s  step %s", l.Target, l.Step)
		if len(others) > 0 {
			line += "  also held by " + strings.Join(others, ", ")
		}
		fmt.Fprintln(w, line)
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
