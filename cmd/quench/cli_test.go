package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// cli runs the quench command in-process with the given environment.
type cli struct {
	t         *testing.T
	addr      string
	namespace string
	env       map[string]string
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func (c cli) run(args ...string) cliResult {
	c.t.Helper()
	for k, v := range c.env {
		c.t.Setenv(k, v)
	}
	return c.runAsIs(args...)
}

// runAsIs runs the command with the environment as it is; unlike run it
// is safe to call from several goroutines at once.
func (c cli) runAsIs(args ...string) cliResult {
	full := append([]string{"--address", c.addr}, args...)
	if c.namespace != "" {
		full = append([]string{"--namespace", c.namespace}, full...)
	}
	return execute(newApp, full)
}

// execute builds the command tree on the app newApp makes and runs it as
// main does: the error printed last on stderr, the exit code from exitCode.
func execute(newApp func(out, errOut io.Writer) *app, args []string) cliResult {
	var out, errOut bytes.Buffer
	root := newRoot(newApp(&out, &errOut))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil {
		errOut.WriteString("quench: " + err.Error() + "\n")
	}
	return cliResult{out.String(), errOut.String(), exitCode(err)}
}

func (c cli) as(user string) cli {
	env := map[string]string{"QUENCH_USER": user}
	return cli{t: c.t, addr: c.addr, namespace: c.namespace, env: env}
}

// startQuench runs an embedded server and a worker for the CLI to talk to.
func startQuench(t *testing.T) cli {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := startServer(t)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	startWorker(t, c)
	t.Setenv("QUENCH_RUNBOOKS", "")
	return cli{t: t, addr: srv.FrontendAddress()}
}

// startServer runs an in-memory embedded server with quench's search
// attributes until the test ends.
func startServer(t *testing.T) *devserver.Server {
	t.Helper()
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range contract.SearchAttributes {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{InMemory: true, SearchAttributes: attrs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

// startWorker runs a quench worker (core actions, log-only notifier) on c.
func startWorker(t *testing.T, c client.Client) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := worker.BuildRegistry(t.Context(), worker.ActionOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, worker.Config{TaskQueue: contract.DefaultTaskQueue}, reg, activities.NewNotifier(nil, "", quiet))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func decodeJSON(t *testing.T, s string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), into); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

func TestTourContractForScripts(t *testing.T) {
	q := startQuench(t)
	examples := filepath.Join("..", "..", "examples")

	r := q.as("alice").run("run", "contain-demo", "--runbooks", examples, "-p", "target=chatbot", "--incident", "demo-1", "--wait", "-o", "json")
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	var st struct {
		ID, Runbook, State string
		Steps              []struct {
			ID, State string
			Attempts  int
		}
	}
	decodeJSON(t, r.stdout, &st)
	if st.ID != "demo-1" || st.Runbook != "contain-demo" || st.State != contract.StateAwaitingApproval {
		t.Fatalf("run --wait status = %+v", st)
	}
	if len(st.Steps) != 4 || st.Steps[1].ID != "block" || st.Steps[1].State != "succeeded" || st.Steps[1].Attempts != 1 || st.Steps[3].State != "pending" {
		t.Errorf("steps = %+v", st.Steps)
	}

	if r := q.as("alice").run("approve", "demo-1"); r.code != exitRejected || !strings.Contains(r.stderr, "cannot approve their own run") {
		t.Errorf("self-approval: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := q.as("mallory").run("approve", "demo-1"); r.code != exitRejected || !strings.Contains(r.stderr, "not an approver") {
		t.Errorf("non-approver: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := q.as("bob").run("approve", "demo-1", "--reason", "confirmed"); r.code != 0 || !strings.Contains(r.stdout, "approved by bob") {
		t.Fatalf("approve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Contained, visible in list --state contained.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = q.run("list", "--state", "contained", "-o", "json")
		var rows []struct{ ID, Runbook, Severity, State, Started string }
		decodeJSON(t, r.stdout, &rows)
		if len(rows) == 1 && rows[0].ID == "demo-1" && rows[0].Severity == "medium" && rows[0].State == "contained" && rows[0].Started != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list --state contained never showed demo-1: %s", r.stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}

	r = q.as("bob").run("resolve", "demo-1", "--rollback", "-o", "json")
	decodeJSON(t, r.stdout, &st)
	if r.code != 0 || st.State != contract.StateRolledBack {
		t.Fatalf("resolve: exit %d state %s\n%s", r.code, st.State, r.stderr)
	}

	r = q.run("timeline", "demo-1", "-o", "json")
	var events []struct{ Time, Type, Step, Actor, Detail string }
	decodeJSON(t, r.stdout, &events)
	var types []string
	for _, e := range events {
		if e.Time == "" || e.Type == "" {
			t.Errorf("event without time/type: %+v", e)
		}
		types = append(types, e.Type)
	}
	joined := strings.Join(types, ",")
	for _, want := range []string{"incident_started", "approval_requested", "approval_rejected", "approval_granted", "contained", "rollback_step", "resolved"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline lacks %s: %s", want, joined)
		}
	}
	md := q.run("timeline", "demo-1", "-o", "md")
	if !strings.Contains(md.stdout, "| Time (UTC) | Event | Step | Actor | Detail |") || !strings.Contains(md.stdout, "| approval_rejected |") {
		t.Errorf("markdown timeline:\n%s", md.stdout)
	}
}

func TestExitCodes(t *testing.T) {
	q := startQuench(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: quench/v1\nkind: Runbook\nmetadata: {name: bad, severity: low}\nsteps:\n  - id: a\n    acton: core.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"unknown runbook", []string{"run", "no-such-runbook"}, exitNotFound, "not found"},
		{"unknown incident", []string{"status", "no-such-incident"}, exitNotFound, "not found"},
		{"missing argument", []string{"status"}, exitUsage, "expected an incident id"},
		{"bad param syntax", []string{"run", "quench-selftest", "-p", "novalue"}, exitUsage, "want key=value"},
		{"unknown flag", []string{"list", "--bogus"}, exitUsage, "unknown flag"},
		{"bad output format", []string{"list", "-o", "yaml"}, exitUsage, "unknown output format"},
		{"invalid runbook file", []string{"validate", bad}, exitRejected, "bad.yaml:6:5"},
		{"missing required param", []string{"run", "contain-demo", "--runbooks", filepath.Join("..", "..", "examples")}, exitRejected, "target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := q.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.output) {
				t.Errorf("exit %d (want %d); output:\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestValidateAcceptsExamplesAndBuiltins(t *testing.T) {
	q := cli{t: t, addr: "127.0.0.1:1"} // validate needs no server
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	builtins, _ := filepath.Glob(filepath.Join("..", "..", "runbooks", "builtin", "*.yaml"))
	r := q.run(append([]string{"validate", "-o", "json"}, append(files, builtins...)...)...)
	var results []struct {
		File   string
		Valid  bool
		Errors []string
	}
	decodeJSON(t, r.stdout, &results)
	if r.code != 0 || len(results) != len(files)+len(builtins) {
		t.Fatalf("exit %d, %d results: %s", r.code, len(results), r.stdout)
	}
	for _, res := range results {
		if !res.Valid {
			t.Errorf("%s: %v", res.File, res.Errors)
		}
	}
}
