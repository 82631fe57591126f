package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/incidents"
)

// newRootCmd is the quench command as the binary runs it.
func newRootCmd(out, errOut io.Writer) *cobra.Command { return newRoot(newApp(out, errOut)) }

// newRoot builds the command tree on a; tests pass an app whose seams
// (app.incidents) are fakes.
func newRoot(a *app) *cobra.Command {
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
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfg.TemporalAddress, "address", a.cfg.TemporalAddress, "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	pf.StringVar(&a.cfg.Namespace, "namespace", a.cfg.Namespace, "Temporal namespace (env TEMPORAL_NAMESPACE)")
	pf.StringVar(&a.cfg.TaskQueue, "task-queue", a.cfg.TaskQueue, "task queue of quench workers (env QUENCH_TASK_QUEUE)")
	// TLS as the temporal CLI spells it; the API key has no flag, to keep
	// it out of shell history and ps (env TEMPORAL_API_KEY).
	conn := &a.cfg.Connection
	pf.Var(conn.ClientCert.Flag("tls-cert-path"), "tls-cert-path", "client certificate for mTLS, PEM (env TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CERT)")
	pf.Var(conn.ClientKey.Flag("tls-key-path"), "tls-key-path", "client certificate's private key, PEM (env TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_KEY)")
	pf.Var(conn.ServerCA.Flag("tls-ca-path"), "tls-ca-path", "CA the server's certificate must chain to, PEM; default the system's (env TEMPORAL_TLS_SERVER_CA_CERT_PATH or TEMPORAL_TLS_CA)")
	pf.Var(conn.ServerName.Flag("tls-server-name"), "tls-server-name", "name to check in the server's certificate (env TEMPORAL_TLS_SERVER_NAME)")
	pf.StringArrayVar(&a.runbookDirs, "runbooks", nil, "directory of extra runbooks (repeatable; env QUENCH_RUNBOOKS, colon-separated)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usagef(err.Error() + "\n\n" + c.UsageString()) })
	root.AddCommand(
		newCmdDev(a), newCmdWorker(a), newCmdServe(a),
		newCmdRunbooks(a), newCmdValidate(a), newCmdActions(a),
		newCmdRun(a), newCmdStatus(a), newCmdList(a), newCmdTimeline(a), newCmdTargets(a),
		newCmdDecide(a, "approve"), newCmdDecide(a, "deny"),
		newCmdResolve(a), newCmdCancel(a), newCmdBench(a),
		newCmdCodecServer(a), newCmdVersion(a),
	)
	root.Version = readVersion(debug.ReadBuildInfo).String()
	root.SetVersionTemplate("quench {{.Version}}\n")
	return root
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

// incidentIDArg takes exactly one argument, an incident id, and checks it
// (printable ASCII, no spaces, at most 200 characters) before the command
// dials Temporal: a newline or non-ASCII byte must not reach a gRPC header.
func incidentIDArg() cobra.PositionalArgs {
	n := exactArgs(1, "an incident id")
	return func(cmd *cobra.Command, args []string) error {
		if err := n(cmd, args); err != nil {
			return err
		}
		return checkID(incidents.ValidateID(args[0]))
	}
}

// checkID turns an invalid id into a usage error (exit 2).
func checkID(err error) error {
	if err != nil {
		return usagef(err.Error())
	}
	return nil
}
