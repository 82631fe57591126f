package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/runbooks"
)

func newCmdRunbooks(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runbooks",
		Short: "List and show the runbooks quench can run",
		Example: `  quench runbooks list
  quench runbooks show compromised-data-source
  quench runbooks list --runbooks ./my-runbooks -o json`,
	}
	cmd.AddCommand(newCmdRunbooksList(a), newCmdRunbooksShow(a))
	return cmd
}

type runbooksListOptions struct{ output }

func newCmdRunbooksList(a *app) *cobra.Command {
	var o runbooksListOptions
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List built-in runbooks and those in --runbooks directories",
		Example: "  quench runbooks list\n  quench runbooks list --runbooks examples -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.runRunbooksList(cmd.Context(), o) },
	}
	o.add(cmd)
	return cmd
}

type runbookRow struct {
	Name     string `json:"name"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Steps    int    `json:"steps"`
	Source   string `json:"source"`
}

func (a *app) runRunbooksList(ctx context.Context, o runbooksListOptions) error {
	lib, err := a.library(ctx)
	if err != nil {
		return err
	}
	rows := []runbookRow{}
	for _, rb := range lib.List() {
		rows = append(rows, runbookRow{rb.Metadata.Name, rb.Metadata.Title, rb.Metadata.Severity, len(rb.Steps), rb.Source})
	}
	for _, p := range lib.Problems() {
		fmt.Fprintln(a.errOut, "warning: runbook not loaded:", p)
	}
	if o.json() {
		return writeJSON(a.out, rows)
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEVERITY\tSTEPS\tTITLE\tSOURCE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Name, r.Severity, r.Steps, r.Title, r.Source)
	}
	return tw.Flush()
}

type runbooksShowOptions struct {
	output
	name string
}

func newCmdRunbooksShow(a *app) *cobra.Command {
	var o runbooksShowOptions
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a runbook's params, approvals and steps",
		Example: "  quench runbooks show usage-spike\n  quench runbooks show usage-spike -o json",
		Args:    exactArgs(1, "a runbook name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return a.runRunbooksShow(cmd.Context(), o)
		},
	}
	o.add(cmd)
	return cmd
}

func (a *app) lookupRunbook(ctx context.Context, name string) (*runbooks.Runbook, error) {
	lib, err := a.library(ctx)
	if err != nil {
		return nil, err
	}
	rb, ok := lib.Get(name)
	if !ok {
		var names []string
		for _, r := range lib.List() {
			names = append(names, r.Metadata.Name)
		}
		return nil, &notFoundError{msg: fmt.Sprintf("runbook %q not found (available: %s; add more with --runbooks DIR)", name, strings.Join(names, ", "))}
	}
	return rb, nil
}

func (a *app) runRunbooksShow(ctx context.Context, o runbooksShowOptions) error {
	rb, err := a.lookupRunbook(ctx, o.name)
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(a.out, rb)
	}
	w := a.out
	fmt.Fprintf(w, "%s — %s\nseverity: %s   on resolve: %s   source: %s\n", rb.Metadata.Name, rb.Metadata.Title, rb.Metadata.Severity, rb.OnResolve, rb.Source)
	if rb.Metadata.Description != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(rb.Metadata.Description))
	}
	if len(rb.ParamOrder) > 0 {
		fmt.Fprintln(w, "\nparams:")
		for _, name := range rb.ParamOrder {
			p := rb.Params[name]
			var notes []string
			if p.Required {
				notes = append(notes, "required")
			}
			if p.Default != nil {
				notes = append(notes, fmt.Sprintf("default %v", p.Default))
			}
			if p.Pattern != "" {
				notes = append(notes, "pattern "+p.Pattern)
			}
			if len(p.Enum) > 0 {
				notes = append(notes, "one of "+strings.Join(p.Enum, "|"))
			}
			fmt.Fprintf(w, "  %-24s %-7s %s  %s\n", name, p.Type, strings.Join(notes, ", "), p.Description)
		}
	}
	fmt.Fprintln(w, "\nsteps:")
	for i, s := range rb.Steps {
		what := s.Action
		switch s.Kind() {
		case "approval":
			what = "approval: " + s.Approval.Message
		case "notify":
			what = "notify: " + s.Notify.Message
		case "wait":
			what = "wait " + s.Wait.Duration.D().String()
		}
		fmt.Fprintf(w, "  %2d. %-28s %s\n", i+1, s.ID, what)
		if s.When != "" {
			fmt.Fprintf(w, "      when: %s\n", s.When)
		}
	}
	return nil
}
