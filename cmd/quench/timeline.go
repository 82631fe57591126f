package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/workflows/contract"
)

type timelineOptions struct {
	output
	id, run string
}

func newCmdTimeline(a *app) *cobra.Command {
	var o timelineOptions
	cmd := &cobra.Command{
		Use:   "timeline ID",
		Short: "Show an incident's audit timeline: every step, decision, refusal and undo",
		Long: `Timeline prints every event of an incident in order. -o md writes a Markdown
table for the post-incident review; -o json an array of
{time, type, step, actor, detail}.

` + reuseHelp,
		Example: "  quench timeline contain-demo-20261128-140200-1a2b\n  quench timeline spike-1 -o md > review.md\n  quench timeline spike-1 --run 3f1c2a9e-8d0b-4a57-9a6e-2c1d0e5b7f44   # an earlier incident with this id",
		Args:    incidentIDArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			return a.runTimeline(cmd.Context(), o)
		},
	}
	addRunFlag(cmd, &o.run)
	o.add(cmd, "text", "json", "md")
	return cmd
}

func (a *app) runTimeline(ctx context.Context, o timelineOptions) error {
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	ev, err := inc.TimelineOfRun(ctx, o.id, o.run)
	if err != nil {
		return err
	}
	if ev == nil {
		ev = []contract.Event{}
	}
	switch o.format {
	case "json":
		return writeJSON(a.out, ev)
	case "md":
		return writeTimelineMarkdown(a, o.id, ev)
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tSTEP\tACTOR\tDETAIL")
	for _, e := range ev {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Type, e.Step, e.Actor, oneLine(e.Detail))
	}
	return tw.Flush()
}

func writeTimelineMarkdown(a *app, id string, ev []contract.Event) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Incident %s — timeline\n\n", id)
	b.WriteString("| Time (UTC) | Event | Step | Actor | Detail |\n|---|---|---|---|---|\n")
	for _, e := range ev {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Type, mdCell(e.Step), mdCell(e.Actor), mdCell(e.Detail))
	}
	_, err := fmt.Fprint(a.out, b.String())
	return err
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
