package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

type actionsOptions struct{ output }

func newCmdActions(a *app) *cobra.Command {
	var o actionsOptions
	cmd := &cobra.Command{
		Use:     "actions",
		Short:   "List every action a runbook step can use, with its arguments",
		Example: "  quench actions\n  quench actions -o json | jq '.[].name'",
		Args:    exactArgs(0, "no arguments"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.runActions(cmd.Context(), o) },
	}
	o.add(cmd)
	return cmd
}

func (a *app) runActions(ctx context.Context, o actionsOptions) error {
	cat, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	specs := cat.Specs()
	if o.json() {
		return writeJSON(a.out, specs)
	}
	for _, s := range specs {
		tags := []string{}
		switch {
		case s.Mutating && s.KeptOnRollback:
			tags = append(tags, "mutating, kept on rollback by design")
		case s.Mutating:
			tags = append(tags, "mutating, undone on rollback")
		}
		if s.UndoOnly {
			tags = append(tags, "undo only")
		}
		fmt.Fprintf(a.out, "%s", s.Name)
		if len(tags) > 0 {
			fmt.Fprintf(a.out, "  (%s)", strings.Join(tags, "; "))
		}
		fmt.Fprintf(a.out, "\n    %s\n", s.Description)
		for _, arg := range s.Args {
			req := ""
			if arg.Required {
				req = " (required)"
			}
			enum := ""
			if len(arg.Enum) > 0 {
				enum = " one of " + strings.Join(arg.Enum, "|")
			}
			fmt.Fprintf(a.out, "    - %s: %s%s%s — %s\n", arg.Name, arg.Type, req, enum, arg.Description)
		}
	}
	return nil
}
