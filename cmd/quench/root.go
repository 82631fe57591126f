package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
)

// app holds what every command shares: output streams, Temporal settings
// (defaults → environment → flags) and lazily built clients.
type app struct {
	out, errOut  io.Writer
	cfg          worker.Config
	runbookDirs  []string
	logLevel     string
	routesFile   string
	temporal     client.Client
	dialOverride func(ctx context.Context) (client.Client, error) // tests
}

func newRootCmd(out, errOut io.Writer) *cobra.Command {
	a := &app{out: out, errOut: errOut, cfg: worker.ConfigFromEnv()}
	root := &cobra.Command{
		Use:   "quench",
		Short: "Incident-response runbooks for generative-AI workloads on AWS",
		Long: `quench runs incident-response runbooks as durable Temporal workflows.

Runbooks contain AI incidents around the model — identity (IAM), retrieval
(knowledge bases), invocation (throttling) and guardrails — with human
approval for risky steps, and undo every change when the incident is resolved.

Start here:
  quench dev                          # embedded Temporal server + worker + HTTP endpoints
  quench runbooks list                # what can run
  quench run contain-demo --runbooks examples -p target=chatbot --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfg.TemporalAddress, "address", a.cfg.TemporalAddress, "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	pf.StringVar(&a.cfg.Namespace, "namespace", a.cfg.Namespace, "Temporal namespace (env TEMPORAL_NAMESPACE)")
	pf.StringVar(&a.cfg.TaskQueue, "task-queue", a.cfg.TaskQueue, "task queue of quench workers (env QUENCH_TASK_QUEUE)")
	pf.StringArrayVar(&a.runbookDirs, "runbooks", nil, "directory of extra runbooks (repeatable; env QUENCH_RUNBOOKS, colon-separated)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usagef(err.Error() + "\n\n" + c.UsageString()) })
	root.AddCommand(
		newCmdDev(a), newCmdWorker(a), newCmdServe(a),
		newCmdRunbooks(a), newCmdValidate(a), newCmdActions(a),
		newCmdRun(a), newCmdStatus(a), newCmdList(a), newCmdTimeline(a),
		newCmdDecide(a, "approve"), newCmdDecide(a, "deny"),
		newCmdResolve(a), newCmdCancel(a),
	)
	return root
}

func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: lvl}))
}

// client dials Temporal once per command.
func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.temporal != nil {
		return a.temporal, nil
	}
	var err error
	if a.dialOverride != nil {
		a.temporal, err = a.dialOverride(ctx)
	} else {
		// The CLI's own SDK chatter would drown its output: warnings only.
		quiet := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
		a.temporal, err = worker.Dial(ctx, a.cfg, quiet)
	}
	return a.temporal, err
}

func (a *app) incidents(ctx context.Context) (*incidents.Client, error) {
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	return incidents.New(c, a.cfg.TaskQueue).WithNamespace(a.cfg.Namespace), nil
}

// catalog is the registry of every action, used for validation. Building
// it touches no network: AWS clients are made per call.
func (a *app) catalog(ctx context.Context) (*activities.Registry, error) {
	return worker.BuildRegistry(ctx, worker.ActionOptions{AWS: activities.NewAWSProvider(aws.Config{})})
}

// library loads the built-in runbooks plus --runbooks and QUENCH_RUNBOOKS dirs.
func (a *app) library(ctx context.Context) (*runbooks.Library, error) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	dirs := append(append([]string(nil), a.runbookDirs...), runbooks.DirsFromEnv()...)
	return runbooks.NewLibrary(cat, dirs...)
}

// identity is who the CLI acts as for approvals: QUENCH_USER, else the OS user.
func identity() string {
	if u := os.Getenv("QUENCH_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// output is the -o flag shared by commands that print data.
type output struct{ format string }

func (o *output) add(cmd *cobra.Command, formats ...string) {
	if len(formats) == 0 {
		formats = []string{"text", "json"}
	}
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", fmt.Sprintf("output format: %v", formats))
	cmd.PreRunE = chainPreRun(cmd.PreRunE, func(*cobra.Command, []string) error {
		for _, f := range formats {
			if o.format == f {
				return nil
			}
		}
		return usagef(fmt.Sprintf("unknown output format %q (want one of %v)", o.format, formats))
	})
}

func chainPreRun(prev, next func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(c, args); err != nil {
				return err
			}
		}
		return next(c, args)
	}
}

func (o output) json() bool { return o.format == "json" }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exactArgs is cobra.ExactArgs with a usage error naming what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef(fmt.Sprintf("%s: expected %s, got %d argument(s)\n\nUsage:\n  %s", cmd.CommandPath(), what, len(args), cmd.UseLine()))
		}
		return nil
	}
}
