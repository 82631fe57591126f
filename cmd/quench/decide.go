package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/workflows/contract"
)

type decideOptions struct {
	output
	kind   string // approve | deny
	id     string
	step   string
	reason string
}

func newCmdDecide(a *app, kind string) *cobra.Command {
	o := decideOptions{kind: kind}
	short := "Approve the pending approval step of an incident"
	if kind == "deny" {
		short = "Deny the pending approval step of an incident (the runbook stops unless on_deny: continue)"
	}
	cmd := &cobra.Command{
		Use:   kind + " ID",
		Short: short,
		Long: short + `.

You act as QUENCH_USER (else your OS user); it must be listed under
cli_users of the step's approvers. The person who started the incident
cannot approve it unless the runbook allows self-approval, and each person
votes once. A refusal exits 4, says why, and is recorded in the timeline.
A closed incident exits 4 with when it closed and its final state; an
unknown id exits 3.`,
		Example: fmt.Sprintf("  QUENCH_USER=bob quench %s contain-demo-20261128-140200-1a2b\n  quench %s spike-1 --step approve-deny-invoke --reason 'confirmed with the model owner'", kind, kind),
		Args:    incidentIDArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			return a.runDecide(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.step, "step", "", "the approval step (default: the one pending)")
	cmd.Flags().StringVar(&o.reason, "reason", "", "why; recorded in the timeline")
	o.add(cmd)
	return cmd
}

func (a *app) runDecide(ctx context.Context, o decideOptions) error {
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	d := contract.Decision{Step: o.step, Actor: identity(), Via: "cli", Reason: o.reason}
	res, err := inc.Decide(ctx, o.id, o.kind, d)
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(a.out, res)
	}
	switch res.Outcome {
	case "recorded":
		fmt.Fprintf(a.out, "%s: approval of %s recorded (%d of %d); waiting for more approvers\n", o.id, res.Step, res.Approvals, res.Needed)
	default:
		fmt.Fprintf(a.out, "%s: step %s %s by %s\n", o.id, res.Step, res.Outcome, d.Actor)
	}
	return nil
}
