package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

type runOptions struct {
	output
	runbook  string
	params   []string
	incident string
	severity string
	dryRun   bool
	wait     bool
	timeout  time.Duration
}

func newCmdRun(a *app) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run RUNBOOK -p key=value...",
		Short: "Start an incident: run a runbook as a durable workflow",
		Long: `Run starts an incident that executes RUNBOOK. Params are checked against the
runbook before anything starts. It prints the incident id; with --wait it
follows progress (on stderr) until the incident is contained, waits for an
approval, or ends, and prints its status; if it ended failed or cancelled,
run exits 5.

--incident names the incident yourself: 1 to 200 printable ASCII
characters, no spaces. An id is used once: if an incident with that id is
still open, run exits 4 ("already open") and starts nothing; if one is
closed, run exits 4 too ("closed") — choose a new id.

Approvals from the CLI use QUENCH_USER (else the OS user) as identity; the
person who starts a run cannot approve it unless the runbook allows it.`,
		Example: `  quench run contain-demo --runbooks examples -p target=chatbot --wait
  quench run compromised-data-source -p knowledge_base_id=KB12345678 -p data_source_id=DS12345678 --dry-run
  quench run usage-spike -p model_id=anthropic.claude-3-haiku --incident spike-2026-11-28 -o json`,
		Args: exactArgs(1, "a runbook name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runbook = args[0]
			if cmd.Flags().Changed("incident") {
				if err := checkID(incidents.ValidateID(o.incident)); err != nil {
					return err
				}
			}
			return a.runRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.params, "param", "p", nil, "runbook parameter key=value (repeatable)")
	f.StringVar(&o.incident, "incident", "", "incident id, used once (default: RUNBOOK-YYYYMMDD-HHMMSS-xxxx)")
	f.StringVar(&o.severity, "severity", "", "override the runbook's severity: low, medium, high, critical")
	f.BoolVar(&o.dryRun, "dry-run", false, "actions read state and report what they would change; nothing is mutated")
	f.BoolVar(&o.wait, "wait", false, "follow progress until contained, awaiting approval, or ended (exit 5 if it ended failed or cancelled)")
	f.DurationVar(&o.timeout, "wait-timeout", 10*time.Minute, "give up waiting after this long (the incident keeps running)")
	o.add(cmd)
	return cmd
}

func parseParams(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef(fmt.Sprintf("param %q: want key=value", kv))
		}
		if _, dup := out[k]; dup {
			return nil, usagef(fmt.Sprintf("param %q given twice", k))
		}
		out[k] = v
	}
	return out, nil
}

func newIncidentID(runbook string, now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s-%s", runbook, now.UTC().Format("20060102-150405"), hex.EncodeToString(b))
}

func (a *app) runRun(ctx context.Context, o runOptions) error {
	given, err := parseParams(o.params)
	if err != nil {
		return err
	}
	if o.severity != "" && !slices.Contains(runbooks.Severities, o.severity) {
		return usagef(fmt.Sprintf("--severity %q: want one of %s", o.severity, strings.Join(runbooks.Severities, ", ")))
	}
	rb, err := a.lookupRunbook(ctx, o.runbook)
	if err != nil {
		return err
	}
	params, err := runbooks.ResolveParams(rb, given)
	if err != nil {
		return &rejectedError{msg: fmt.Sprintf("runbook %s: %v", rb.Metadata.Name, err)}
	}
	id := o.incident
	if id == "" {
		id = newIncidentID(rb.Metadata.Name, time.Now())
	}
	inc, err := a.incidents(ctx)
	if err != nil {
		return err
	}
	in := contract.IncidentInput{ID: id, Runbook: *rb, Params: params, Severity: o.severity, Source: "cli", Requester: identity(), DryRun: o.dryRun}
	if _, err := inc.Start(ctx, in); err != nil {
		return err
	}
	fmt.Fprintf(a.errOut, "started incident %s (runbook %s, requester %s)%s\n", id, rb.Metadata.Name, in.Requester, map[bool]string{true: " — dry run", false: ""}[o.dryRun])
	if !o.wait {
		if o.json() {
			return writeJSON(a.out, map[string]string{"id": id, "runbook": rb.Metadata.Name})
		}
		fmt.Fprintln(a.out, id)
		return nil
	}
	st, err := a.follow(ctx, inc, id, o.timeout)
	if err != nil {
		return err
	}
	if err := a.printStatus(st, o.output); err != nil {
		return err
	}
	return endedBadly(st)
}

// endedBadly is an *incidentEndedError (exit 5) for an incident that
// failed or was cancelled, else nil.
func endedBadly(st contract.Status) error {
	switch st.State {
	case contract.StateFailed, contract.StateCancelled:
		return &incidentEndedError{id: st.ID, state: st.State, reason: st.Error}
	}
	return nil
}

// follow polls status, printing each step change to stderr, until the
// incident needs a human, is contained, or ended.
func (a *app) follow(ctx context.Context, inc incidentsAPI, id string, timeout time.Duration) (contract.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	seen := map[string]string{}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := inc.StatusOfRun(ctx, id, "")
		if err == nil {
			for _, s := range st.Steps {
				if seen[s.ID] != s.State && s.State != contract.StepPending {
					seen[s.ID] = s.State
					fmt.Fprintf(a.errOut, "  %-28s %-10s %s\n", s.ID, s.State, firstNonEmpty(s.Error, s.Summary))
				}
			}
			switch st.State {
			case contract.StateRunning, contract.StateRollingBack:
			default:
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return contract.Status{}, fmt.Errorf("follow incident %s: %w", id, err)
			}
			return st, fmt.Errorf("follow incident %s: still %s after %s (it keeps running; check `quench status %s`)", id, st.State, timeout, id)
		case <-tick.C:
		}
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
