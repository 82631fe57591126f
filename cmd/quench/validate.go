package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/runbooks"
)

type validateOptions struct {
	output
	files []string
}

func newCmdValidate(a *app) *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check runbook (and routes) files before anything runs",
		Long: `Validate checks runbook files: fields, step ids, action names and arguments,
params, CEL expressions and their references, durations and approval
policies. Routing files (kind: Routes) are checked too. Errors read
file:line:col: message. Exit code 4 when any file is invalid.`,
		Example: `  quench validate examples/contain-demo.yaml
  quench validate runbooks/*.yaml routes.yaml -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("validate: name at least one file\n\nUsage:\n  " + cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = args
			return a.runValidate(cmd.Context(), o)
		},
	}
	o.add(cmd)
	return cmd
}

type validateResult struct {
	File   string   `json:"file"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name,omitempty"`
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors,omitempty"`
}

func (a *app) runValidate(ctx context.Context, o validateOptions) error {
	cat, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	var results []validateResult
	invalid := 0
	for _, f := range o.files {
		r := validateResult{File: f, Kind: "Runbook"}
		data, err := os.ReadFile(f)
		if err != nil {
			r.Errors = []string{err.Error()}
		} else if runbooks.FileKind(data) == "Routes" {
			r.Kind = "Routes"
			if err := validateRoutes(ctx, a, f, data); err != nil {
				r.Errors = splitLines(err.Error())
			}
		} else if rb, err := runbooks.Load(f, data, cat); err != nil {
			r.Errors = splitLines(err.Error())
		} else {
			r.Name = rb.Metadata.Name
		}
		r.Valid = len(r.Errors) == 0
		if !r.Valid {
			invalid++
		}
		results = append(results, r)
	}
	if o.json() {
		if err := writeJSON(a.out, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Valid {
				fmt.Fprintf(a.out, "ok    %s (%s %s)\n", r.File, r.Kind, r.Name)
				continue
			}
			for _, e := range r.Errors {
				fmt.Fprintln(a.out, e)
			}
		}
	}
	if invalid > 0 {
		return &rejectedError{msg: fmt.Sprintf("%d of %d file(s) invalid", invalid, len(o.files))}
	}
	return nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
