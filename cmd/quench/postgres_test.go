package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	tsql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	dbschemas "go.temporal.io/server/schema"
	pgschema "go.temporal.io/server/schema/postgresql/v12"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// The production path (issue 13): a Temporal server on PostgreSQL (the
// server packages quench dev embeds, with the store a cluster uses), two
// `quench worker` processes and `quench serve`, each a real process. An
// alert starts the kill matrix's runbook; the worker running the
// kill-switch step is SIGKILLed once its write has landed at AWS; the other
// worker must finish the incident with every write made once, and approval
// and rollback must work through the survivor.

// postgresEnv names the PostgreSQL server the test creates its databases on.
const postgresEnv = "QUENCH_TEST_POSTGRES"

const postgresRoutes = `apiVersion: quench/v1
kind: Routes
sources:
  alertmanager: {bearer_token_env: QUENCH_ALERTMANAGER_TOKEN}
routes:
  - name: chat-abuse
    match: {source: alertmanager, alarm_name: ChatAbuse}
    runbook: kill-matrix
    severity: high
`

const postgresAlert = `{"version": "4", "status": "firing", "receiver": "quench",
  "alerts": [{"status": "firing", "labels": {"alertname": "ChatAbuse", "env": "prod"},
    "annotations": {"summary": "chat is being abused"}, "startsAt": "2026-11-30T04:00:00Z",
    "fingerprint": "c4a7"}]}`

func TestPostgresTwoWorkersOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Temporal on PostgreSQL with three quench processes")
	}
	stores := testPostgres(t)
	ctx := context.Background()
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range contract.SearchAttributes {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	began := time.Now()
	srv, err := devserver.Start(ctx, devserver.Options{SQL: stores, SearchAttributes: attrs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	t.Logf("temporal on postgresql ready in %.1fs at %s", time.Since(began).Seconds(), srv.FrontendAddress())

	fake, before := seedKillMatrixAWS(t)
	writes := countWrites(fake)
	dir := t.TempDir()
	rbDir := filepath.Join(dir, "runbooks")
	routes := filepath.Join(dir, "routes.yaml")
	if err := os.Mkdir(rbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rbDir, "kill-matrix.yaml"), []byte(killMatrixRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(routes, []byte(postgresRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "am-token"
	env := append(childEnv(), runMainEnv+"=1", "QUENCH_ALERTMANAGER_TOKEN="+token,
		"AWS_ENDPOINT_URL="+fake.URL, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=us-east-1")
	addr := "--address=" + srv.FrontendAddress()

	workers := []*quenchProc{
		spawnQuench(t, dir, "worker-a", env, "worker started", "worker", addr),
		spawnQuench(t, dir, "worker-b", env, "worker started", "worker", addr),
	}
	serve := spawnQuench(t, dir, "serve", env, "quench serve ready:", "serve", addr, "--listen=127.0.0.1:0", "--routes="+routes, "--runbooks="+rbDir)
	serveURL := strings.TrimSpace(strings.TrimPrefix(serve.readyLine, "quench serve ready:"))

	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	inc := incidents.New(c, contract.DefaultTaskQueue)
	// A lost attempt is noticed after the 15 s heartbeat timeout.
	const within = 3 * time.Minute
	var id string
	status := func(ctx context.Context) (contract.Status, error) { return inc.Status(ctx, id) }

	// The kill: once the kill-switch's PutParameter has changed the
	// parameter, the worker whose attempt it is (the pending activity's
	// last worker) dies before the answer reaches it.
	started := make(chan string, 1) // the incident id, for the hook
	killed := make(chan *quenchProc, 1)
	var once sync.Once
	fake.AfterServe(func(call awsfake.Call) {
		if call.Operation != "PutParameter" {
			return
		}
		once.Do(func() {
			holder, err := activityHolder(c, <-started, workers)
			if err != nil {
				t.Errorf("at the kill-switch write: %v", err)
			} else {
				holder.kill()
			}
			killed <- holder
		})
	})

	alerted := time.Now()
	res := postAlert(t, serveURL+"/alerts/alertmanager", token, postgresAlert)
	if len(res.Incidents) != 1 || !res.Incidents[0].Started {
		t.Fatalf("alert answered %+v, want one incident started", res)
	}
	id = res.Incidents[0].ID
	started <- id
	t.Logf("alert started incident %s", id)

	var victim *quenchProc
	select {
	case victim = <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatal("no kill-switch write in 2 minutes")
	}
	if victim == nil {
		t.FailNow()
	}
	killedAt := time.Now()
	survivor := workers[0]
	if victim == survivor {
		survivor = workers[1]
	}
	t.Logf("killed %s (pid %d) at the kill-switch write; %s (pid %d) goes on", victim.name, victim.pid(), survivor.name, survivor.pid())

	st := pollIncident(t, within, status, awaitingApproval)
	t.Logf("approval requested %.1fs after the kill", time.Since(killedAt).Seconds())
	for _, s := range st.Steps {
		if s.ID == "kill-switch" && (s.State != contract.StepSucceeded || s.Attempts < 2 || !s.Changed) {
			t.Errorf("kill-switch after its worker died: %+v, want succeeded as a change on a second attempt", s)
		}
	}
	out := execQuench(t, env, "approve", addr, id)
	if !strings.Contains(out, "step approve-deny approved by lead") {
		t.Errorf("quench approve printed %q, want it approved", out)
	}
	st = pollIncident(t, within, status, stateIs(contract.StateContained))
	for _, s := range st.Steps {
		if s.Kind == "action" && !s.Changed {
			t.Errorf("step %s not recorded as a change: %+v", s.ID, s)
		}
	}
	changed := awsfake.Resources(before.Diff(fake.State()))
	if want := []string{"iam/role/app-role", "lambda/function/chat", "ssm/parameter/quench/chat/kill_switch"}; !slices.Equal(changed, want) {
		t.Errorf("contained: changed resources %v, want %v", changed, want)
	}
	if got, want := writes(), map[string]int{"PutFunctionConcurrency": 1, "PutParameter": 1, "PutRolePolicy": 1}; !maps.Equal(got, want) {
		t.Errorf("contained: writes %v, want each once %v", got, want)
	}

	out = execQuench(t, env, "resolve", addr, id, "--rollback")
	if !strings.Contains(out, contract.StateRolledBack) {
		t.Errorf("quench resolve --rollback printed %q, want %s", out, contract.StateRolledBack)
	}
	pollIncident(t, within, status, stateIs(contract.StateRolledBack))
	for _, ch := range before.Diff(fake.State()) {
		// Restoring a parameter is a new PutParameter: its version and time move on.
		if strings.HasPrefix(ch.Resource, "ssm/parameter/") && (ch.Path == "version" || ch.Path == "last_modified") {
			continue
		}
		t.Errorf("after rollback AWS differs from before the incident: %v", ch)
	}
	if got, want := writes(), map[string]int{"PutFunctionConcurrency": 2, "PutParameter": 2, "PutRolePolicy": 1, "DeleteRolePolicy": 1}; !maps.Equal(got, want) {
		t.Errorf("after rollback: writes %v, want %v (each undo once)", got, want)
	}

	timeline, err := inc.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if countNotes(timeline, "worker lost") == 0 {
		t.Errorf("the timeline never says a worker was lost: %+v", timeline)
	}
	// Everything after the kill ran on the survivor: workflow tasks (the
	// victim's sticky cache is gone) and activities alike.
	n := 0
	for e := range historyEvents(t, c, id) {
		who := e.GetActivityTaskStartedEventAttributes().GetIdentity() + e.GetWorkflowTaskStartedEventAttributes().GetIdentity()
		if who == "" || !e.GetEventTime().AsTime().After(killedAt) {
			continue
		}
		n++
		if !survivor.is(who) {
			t.Errorf("event %d %s after the kill ran on %s, want the survivor %s (pid %d)", e.GetEventId(), e.GetEventType(), who, survivor.name, survivor.pid())
		}
	}
	if n == 0 {
		t.Error("no task started after the kill")
	}
	if survivor.exitedEarly() || serve.exitedEarly() {
		t.Errorf("the survivor or serve exited; see %s", dir)
	}
	t.Logf("incident %s: alert → rolled back in %.1fs, %d tasks after the kill, all on %s", id, time.Since(alerted).Seconds(), n, survivor.name)
}

// testPostgres creates two fresh databases (history and visibility) with
// Temporal's PostgreSQL schemas on the server QUENCH_TEST_POSTGRES names,
// dropped when the test ends. Without the variable, or with the server
// unreachable, the test is skipped saying how to run it.
func testPostgres(t *testing.T) *devserver.SQLStores {
	t.Helper()
	const how = "set " + postgresEnv + "=postgres://USER:PASSWORD@HOST:5432/postgres?sslmode=disable to a server where USER may create databases (.ci/run installs Debian's postgresql, starts it and sets this)"
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: this test runs Temporal on PostgreSQL; %s", postgresEnv, how)
	}
	base, err := postgresConfig(dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	// The plugin's own error for a server that is not there says only
	// "no usable database connection found".
	conn, err := net.DialTimeout("tcp", base.ConnectAddr, 5*time.Second)
	if err != nil {
		t.Skipf("PostgreSQL at %s is not reachable: %v; %s", base.ConnectAddr, err, how)
	}
	_ = conn.Close()
	admin, err := tsql.NewSQLAdminDB(sqlplugin.DbKindUnknown, base, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err == nil {
		err = admin.Exec("SELECT 1") // the handle connects lazily
	}
	if err != nil {
		// There, but not for this user: the variable is wrong, not absent.
		t.Fatalf("%s: PostgreSQL at %s did not let %s in to database %s (wrong password, no such user or database?): %v", postgresEnv, base.ConnectAddr, base.User, base.DatabaseName, err)
	}
	t.Cleanup(func() { _ = admin.Close() })

	prefix := "quench_test_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	stores := &devserver.SQLStores{}
	for _, db := range []struct {
		into    **config.SQL
		suffix  string
		schema  string // in Temporal's embedded schema files
		version string
	}{
		{&stores.Default, "temporal", "postgresql/v12/temporal", pgschema.Version},
		{&stores.Visibility, "visibility", "postgresql/v12/visibility", pgschema.VisibilityVersion},
	} {
		cfg := *base
		cfg.DatabaseName = prefix + "_" + db.suffix
		if err := admin.CreateDatabase(cfg.DatabaseName); err != nil {
			t.Fatalf("create database %s on %s as %s: %v", cfg.DatabaseName, cfg.ConnectAddr, cfg.User, err)
		}
		t.Cleanup(func() {
			// The server is stopped by now (cleanups run last first);
			// forcing drops a connection a stopping pool left behind.
			if err := admin.(interface{ ForceDropDatabase(string) error }).ForceDropDatabase(cfg.DatabaseName); err != nil {
				t.Logf("drop database %s: %v", cfg.DatabaseName, err)
			}
		})
		if err := setupSchema(&cfg, db.schema, db.version); err != nil {
			t.Fatalf("schema %s in database %s: %v", db.schema, cfg.DatabaseName, err)
		}
		*db.into = &cfg
	}
	return stores
}

// postgresConfig turns postgres://user:password@host:port/db?attrs into
// the persistence configuration Temporal's PostgreSQL plugin takes.
func postgresConfig(dsn string) (*config.SQL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v (want postgres://user:password@host:port/database)", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" || u.Hostname() == "" || u.User.Username() == "" {
		return nil, fmt.Errorf("%s: want postgres://user:password@host:port/database", u.Redacted())
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	password, _ := u.User.Password()
	cfg := &config.SQL{
		PluginName:        postgresql.PluginNamePGX,
		ConnectProtocol:   "tcp",
		ConnectAddr:       net.JoinHostPort(u.Hostname(), port),
		User:              u.User.Username(),
		Password:          password,
		DatabaseName:      cmp.Or(strings.TrimPrefix(u.Path, "/"), "postgres"),
		ConnectAttributes: map[string]string{},
	}
	for k, v := range u.Query() {
		cfg.ConnectAttributes[k] = v[0]
	}
	return cfg, nil
}

// setupSchema does what `temporal-sql-tool setup-schema` does with one of
// the embedded schemas: the tables, then the version the server checks at
// start.
func setupSchema(cfg *config.SQL, schema, version string) error {
	db, err := tsql.NewSQLAdminDB(sqlplugin.DbKindUnknown, cfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return err
	}
	defer db.Close()
	file, err := fs.ReadFile(dbschemas.Assets(), schema+"/schema.sql")
	if err != nil {
		return err
	}
	stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(file)})
	if err != nil {
		return err
	}
	if err := db.CreateSchemaVersionTables(); err != nil {
		return err
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if err := db.UpdateSchemaVersion(cfg.DatabaseName, version, version); err != nil {
		return err
	}
	return db.WriteSchemaUpdateLog("0", version, "", "initial version")
}

// seedKillMatrixAWS is the fake AWS the kill matrix's runbook works on,
// and its state before any incident.
func seedKillMatrixAWS(t *testing.T) (*awsfake.Server, awsfake.State) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	awsfake.RegisterLambda(fake).AddFunction("chat")
	awsfake.RegisterSSM(fake).SetParameter("/quench/chat/kill_switch", "off", "String")
	awsfake.RegisterIAM(fake).AddRole("app-role", 3600)
	awsfake.RegisterSTS(fake)
	fake.Handler("lambda").(*awsfake.Lambda).SetReservedConcurrency("chat", 50)
	return fake, fake.State()
}

// countWrites counts the writes served (changes made at AWS) by operation;
// the function returns a copy of the counts so far.
func countWrites(fake *awsfake.Server) func() map[string]int {
	var mu sync.Mutex
	n := map[string]int{}
	fake.AfterServe(func(c awsfake.Call) {
		if c.Mutating && !c.Faulted {
			mu.Lock()
			n[c.Operation]++
			mu.Unlock()
		}
	})
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(n)
	}
}

// quenchProc is a quench command running as a child process (the test
// binary re-executed as the CLI), its output in dir/<name>.log.
type quenchProc struct {
	name      string
	cmd       *exec.Cmd
	exited    chan struct{}
	readyLine string
	mu        sync.Mutex
	killed    bool
}

// spawnQuench runs quench with args and waits for an output line
// containing ready; the process is killed when the test ends.
func spawnQuench(t *testing.T, dir, name string, env []string, ready string, args ...string) *quenchProc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &quenchProc{name: name, cmd: exec.Command(os.Args[0], args...), exited: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	lines := make(chan string, 1)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if !sent && strings.Contains(sc.Text(), ready) {
				lines <- sc.Text()
				sent = true
			}
		}
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log (last 4 KiB):\n%s", name, tail(b, 4096))
			}
		}
	})
	select {
	case p.readyLine = <-lines:
	case <-p.exited:
		t.Fatalf("quench %s exited before it was ready; see %s", name, logPath)
	case <-time.After(90 * time.Second):
		t.Fatalf("quench %s not ready after 90 s; see %s", name, logPath)
	}
	return p
}

func (p *quenchProc) pid() int { return p.cmd.Process.Pid }

// is reports whether a Temporal worker identity (pid@host@...) is p's.
func (p *quenchProc) is(identity string) bool {
	return strings.HasPrefix(identity, strconv.Itoa(p.pid())+"@")
}

// kill sends SIGKILL and waits until the process is gone.
func (p *quenchProc) kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// exitedEarly is true when the process ended without being killed.
func (p *quenchProc) exitedEarly() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return !p.killed
	default:
		return false
	}
}

// activityHolder is the worker process running the incident's pending
// activity, by the identity Temporal recorded for its attempt.
func activityHolder(c client.Client, id string, workers []*quenchProc) (*quenchProc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe incident %s: %w", id, err)
	}
	var seen []string
	for _, a := range desc.GetPendingActivities() {
		for _, w := range workers {
			if w.is(a.GetLastWorkerIdentity()) {
				return w, nil
			}
		}
		seen = append(seen, a.GetActivityType().GetName()+" on "+a.GetLastWorkerIdentity())
	}
	return nil, fmt.Errorf("no pending activity of incident %s runs on a test worker: %v", id, seen)
}

// execQuench runs a quench CLI command to its end and returns its output.
func execQuench(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(env, "QUENCH_USER=lead")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("quench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// postAlert posts an Alertmanager webhook to serve, as Alertmanager does.
func postAlert(t *testing.T, url, token, body string) alerts.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res alerts.Response
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &res) != nil {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
	return res
}

// pollIncident polls an incident's status until cond holds, for up to
// within; errors (a process starting, a server busy) are retried.
func pollIncident(t *testing.T, within time.Duration, status func(context.Context) (contract.Status, error), cond func(contract.Status) bool) contract.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var last contract.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := status(ctx)
		cancel()
		if err == nil {
			last = st
			if cond(st) {
				return st
			}
			if st.State == contract.StateFailed {
				t.Fatalf("incident failed: %+v", st)
			}
		} else {
			lastErr = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("incident did not get there in %s: %+v (last error %v)", within, last, lastErr)
	return last
}

// historyEvents is every event of the incident's current run.
func historyEvents(t *testing.T, c client.Client, id string) iter.Seq[*historypb.HistoryEvent] {
	return func(yield func(*historypb.HistoryEvent) bool) {
		it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", id, err)
			}
			if !yield(e) {
				return
			}
		}
	}
}
