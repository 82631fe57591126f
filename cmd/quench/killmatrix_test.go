package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// The kill -9 matrix (issue 9): a whole `quench dev` process (embedded
// Temporal server, worker and all) is killed with SIGKILL at every step
// boundary of a mutating runbook, at each write (the write lands at AWS,
// the answer is lost), right after an approval and in the middle of the
// rollback, and started again on the same data dir each time. The incident
// must finish, every mutation must be in effect once, rollback must leave
// AWS exactly as it was, and each restart must resume within 30 s.

// runMainEnv makes the test binary run quench's main instead of tests, so
// the matrix kills a real quench process without a separate build.
const runMainEnv = "QUENCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

var (
	killMatrixLong   = flag.Bool("long", false, "kill matrix: also kill before each write and in every rollback write")
	killMatrixPoints = flag.String("kill-points", "", "kill matrix: only the points whose name matches this regexp (to look into one)")
)

const killMatrixRunbook = `apiVersion: quench/v1
kind: Runbook
metadata:
  name: kill-matrix
  title: Three writes around an approval
  severity: high
approvals:
  approvers: {cli_users: [lead]}
  min_approvals: 1
steps:
  - id: limit-lambda
    action: lambda.limit_concurrency
    with: {function_name: chat, reserved: 1}
  - id: kill-switch
    action: ssm.set_parameter
    with: {name: /quench/chat/kill_switch, value: "on"}
  - id: approve-deny
    approval: {message: "Deny app-role Bedrock?"}
  - id: deny-role
    action: iam.deny_role_actions
    with: {role_name: app-role, policy_name: quench-deny}
`

// killPoint is one place the process dies. Exactly one trigger is set.
type killPoint struct {
	name string
	// onCall: when an AWS call of this operation arrives, before it is
	// served (the fake still serves it; the caller is gone).
	onCall string
	// afterWrite: once a write of this operation has been served: the
	// change is made at AWS and its answer is lost.
	afterWrite string
	// afterStep: as soon as status shows this step succeeded.
	afterStep string
	// afterApproval: as soon as the approve Update returns.
	afterApproval bool
	// resumed: the incident has made progress past the kill point.
	resumed func(contract.Status) bool
	long    bool // only with -long
}

func stepDone(id string) func(contract.Status) bool {
	return func(st contract.Status) bool {
		for _, s := range st.Steps {
			if s.ID == id {
				return s.State == contract.StepSucceeded
			}
		}
		return false
	}
}

func stateIs(state string) func(contract.Status) bool {
	return func(st contract.Status) bool { return st.State == state }
}

func awaitingApproval(st contract.Status) bool { return st.PendingApproval != nil }

func TestKillMinus9AtEveryStepBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts quench dev a dozen times")
	}
	fake, before := seedKillMatrixAWS(t)
	lambdaFake := fake.Handler("lambda").(*awsfake.Lambda)

	// A boundary between two AWS steps is the arrival of the next step's
	// first call: the step before is recorded done, the next has changed
	// nothing yet. Boundaries before an approval or the contained state
	// are waits, so status is polled for them.
	containment := []killPoint{
		{name: "start → limit-lambda", onCall: "GetFunctionConcurrency", resumed: stepDone("limit-lambda"), long: true},
		{name: "limit-lambda: at its write", afterWrite: "PutFunctionConcurrency", resumed: stepDone("limit-lambda")},
		{name: "limit-lambda → kill-switch", onCall: "GetParameter", resumed: stepDone("kill-switch")},
		{name: "kill-switch: at its write", afterWrite: "PutParameter", resumed: stepDone("kill-switch")},
		{name: "kill-switch → approval", afterStep: "kill-switch", resumed: awaitingApproval},
		{name: "right after the approval", afterApproval: true, resumed: stepDone("deny-role")},
		{name: "approval → deny-role", onCall: "GetRole", resumed: stepDone("deny-role"), long: true},
		{name: "deny-role: at its write", afterWrite: "PutRolePolicy", resumed: stepDone("deny-role")},
		{name: "deny-role → contained", afterStep: "deny-role", resumed: stateIs(contract.StateContained)},
	}
	rollback := []killPoint{
		{name: "rollback: at the role policy's removal", afterWrite: "DeleteRolePolicy", resumed: stateIs(contract.StateRolledBack)},
		{name: "rollback: at the parameter's restore", afterWrite: "PutParameter", resumed: stateIs(contract.StateRolledBack), long: true},
		{name: "rollback: at the concurrency's restore", afterWrite: "PutFunctionConcurrency", resumed: stateIs(contract.StateRolledBack)},
	}
	m := newKillMatrix(t, fake)
	ctx := context.Background()

	rb := loadKillMatrixRunbook(t)
	m.start(t)
	containment = selectPoints(containment)
	if len(containment) > 0 {
		m.arm(containment[0]) // before the incident starts
	}
	if _, err := m.incidents().Start(ctx, contract.IncidentInput{ID: "kill-1", Runbook: *rb, Source: "cli", Requester: "alice"}); err != nil {
		t.Fatal(err)
	}
	m.run(t, containment)
	// With -kill-points, the approval may not be one of the points.
	if st := m.waitStatus(t, func(st contract.Status) bool { return awaitingApproval(st) || st.State == contract.StateContained }); awaitingApproval(st) {
		if _, err := m.incidents().Decide(ctx, "kill-1", "approve", contract.Decision{Actor: "lead", Via: "cli"}); err != nil {
			t.Fatal(err)
		}
	}
	st := m.waitStatus(t, stateIs(contract.StateContained))
	for _, s := range st.Steps {
		t.Logf("step %-13s %-9s attempts %d: %s", s.ID, s.State, s.Attempts, s.Summary)
		if s.Kind == "action" && !s.Changed {
			t.Errorf("step %s: not recorded as a change after the kills: %+v", s.ID, s)
		}
	}
	// Every write in effect once: the contained state is exactly the three
	// changes, and no write was made a second time by a retried attempt.
	changed := awsfake.Resources(before.Diff(fake.State()))
	if want := []string{"iam/role/app-role", "lambda/function/chat", "ssm/parameter/quench/chat/kill_switch"}; !slices.Equal(changed, want) {
		t.Errorf("contained: changed resources %v, want %v\n%v", changed, want, before.Diff(fake.State()))
	}
	if n, _ := lambdaFake.ReservedConcurrency("chat"); n != 1 {
		t.Errorf("contained: reserved concurrency %d, want 1", n)
	}
	for op, n := range m.writes() {
		if n != 1 {
			t.Errorf("contained: %s made %d times, want once (%v)", op, n, m.writes())
		}
	}

	m.resetWrites()
	rollback = selectPoints(rollback)
	if len(rollback) > 0 {
		m.arm(rollback[0])
	}
	// The first kill may come before the resolve Update's answer does; the
	// rollback must go on regardless, and rolled_back below shows it did.
	resolved := make(chan error, 1)
	go func() {
		resolved <- m.incidents().Resolve(ctx, "kill-1", contract.ResolveRequest{Actor: "alice", Mode: "rollback"})
	}()
	m.run(t, rollback)
	if err := <-resolved; err != nil {
		t.Logf("resolve answered %v (quench dev was killed while it waited)", err)
	}
	m.waitStatus(t, stateIs(contract.StateRolledBack))
	// Restoring a parameter is a new PutParameter: its version and
	// modification time move on, as they would at AWS. Everything else is
	// byte-identical.
	for _, c := range before.Diff(fake.State()) {
		if strings.HasPrefix(c.Resource, "ssm/parameter/") && (c.Path == "version" || c.Path == "last_modified") {
			continue
		}
		t.Errorf("after rollback AWS differs from before the incident: %v", c)
	}
	timeline, err := m.incidents().Timeline(ctx, "kill-1")
	if err != nil {
		t.Fatal(err)
	}
	if lost := countNotes(timeline, "worker lost"); lost == 0 && anyWriteKill(containment, rollback) {
		t.Errorf("the timeline never says a worker was lost: %+v", timeline)
	}
	m.report(t)
}

func loadKillMatrixRunbook(t *testing.T) *runbooks.Runbook {
	t.Helper()
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{AWS: awsactions.NewProvider(aws.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbooks.Load("kill-matrix.yaml", []byte(killMatrixRunbook), reg)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

// anyWriteKill is true when a point killed a step's attempt after its
// write: the retry must then say the worker was lost.
func anyWriteKill(lists ...[]killPoint) bool {
	for _, points := range lists {
		for _, p := range points {
			if p.afterWrite != "" {
				return true
			}
		}
	}
	return false
}

func countNotes(events []contract.Event, contains string) int {
	n := 0
	for _, e := range events {
		if e.Type == contract.EventNote && strings.Contains(e.Detail, contains) {
			n++
		}
	}
	return n
}

// killMatrix runs `quench dev` as a child process on one data dir and
// port, kills it and starts it again.
type killMatrix struct {
	fake    *awsfake.Server
	dataDir string
	rbDir   string
	port    int

	mu      sync.Mutex
	proc    *exec.Cmd
	exited  chan struct{}
	c       client.Client
	inc     *incidents.Client
	armed   trigger       // the call that kills the process
	killed  chan struct{} // closed when the armed call killed it
	calls   map[string]int
	figures []killFigure
	lives   int
	slow    bool // a resume took too long: report the history
}

type killFigure struct {
	point     string
	restarted time.Time
	ready     time.Duration // restart → dev ready
	resumed   time.Duration // restart → the incident moved past the point
}

func newKillMatrix(t *testing.T, fake *awsfake.Server) *killMatrix {
	m := &killMatrix{fake: fake, dataDir: t.TempDir(), rbDir: t.TempDir(), port: freeTCPPort(t), calls: map[string]int{}}
	if err := os.WriteFile(filepath.Join(m.rbDir, "kill-matrix.yaml"), []byte(killMatrixRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	fake.OnCall(m.arrived)
	fake.AfterServe(m.served)
	t.Cleanup(func() {
		m.kill()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(m.dataDir, "dev.log")); err == nil {
				t.Logf("quench dev log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	return m
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// trigger is a call that kills the process: on its arrival, or once it
// has been served.
type trigger struct {
	op     string
	served bool
}

func (p killPoint) trigger() trigger {
	if p.afterWrite != "" {
		return trigger{op: p.afterWrite, served: true}
	}
	return trigger{op: p.onCall}
}

// arrived and served run on the fake's request goroutine.
func (m *killMatrix) arrived(c awsfake.Call) { m.fire(trigger{op: c.Operation}) }

func (m *killMatrix) served(c awsfake.Call) {
	if c.Mutating && !c.Faulted {
		m.mu.Lock()
		m.calls[c.Operation]++
		m.mu.Unlock()
	}
	m.fire(trigger{op: c.Operation, served: true})
}

func (m *killMatrix) fire(at trigger) {
	m.mu.Lock()
	hit := m.armed.op != "" && m.armed == at
	var killed chan struct{}
	if hit {
		m.armed, killed = trigger{}, m.killed
	}
	m.mu.Unlock()
	if hit {
		m.kill()
		close(killed)
	}
}

// writes is how many times each write was made at AWS.
func (m *killMatrix) writes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for op, n := range m.calls {
		out[op] = n
	}
	return out
}

func (m *killMatrix) resetWrites() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.calls)
}

// start runs quench dev and waits for its ready line; it returns how long
// that took.
func (m *killMatrix) start(t *testing.T) time.Duration {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(m.dataDir, "dev.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "dev", "--data-dir", m.dataDir, "--temporal-port", fmt.Sprint(m.port),
		"--listen", "", "--runbooks", m.rbDir, "--log-level", "warn")
	cmd.Env = append(childEnv(), runMainEnv+"=1",
		"AWS_ENDPOINT_URL="+m.fake.URL, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=us-east-1")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	begun := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if !signalled && strings.HasPrefix(sc.Text(), "quench dev ready:") {
				signalled = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("quench dev exited before it was ready (life %d); see %s", m.lives+1, filepath.Join(m.dataDir, "dev.log"))
	case <-time.After(90 * time.Second):
		t.Fatalf("quench dev not ready after 90 s (life %d)", m.lives+1)
	}
	took := time.Since(begun)
	c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", m.port), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.proc, m.exited, m.c, m.lives = cmd, exited, c, m.lives+1
	m.inc = incidents.New(c, contract.DefaultTaskQueue)
	m.mu.Unlock()
	return took
}

// childEnv is this environment without anything that would point the
// child at real AWS, Slack or other runbooks.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "SLACK_") || strings.HasPrefix(k, "QUENCH_") || strings.HasPrefix(k, "TEMPORAL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// kill sends SIGKILL to the running process and waits until it is gone.
func (m *killMatrix) kill() {
	m.mu.Lock()
	proc, exited, c := m.proc, m.exited, m.c
	m.proc, m.c = nil, nil
	m.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.Process.Kill()
	<-exited
	c.Close()
}

func (m *killMatrix) incidents() *incidents.Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inc
}

// selectPoints drops the -long points unless -long is set, and those
// -kill-points does not match.
func selectPoints(points []killPoint) []killPoint {
	only := regexp.MustCompile(*killMatrixPoints)
	var out []killPoint
	for _, p := range points {
		if (!p.long || *killMatrixLong) && only.MatchString(p.name) {
			out = append(out, p)
		}
	}
	return out
}

// run goes through the points in order: at each it kills quench dev,
// starts it again and waits until the incident has moved past the point.
// The next point's call trigger is armed before the restart, so a point
// that comes quickly after a restart is not missed.
func (m *killMatrix) run(t *testing.T, selected []killPoint) {
	t.Helper()
	for i, p := range selected {
		m.killAt(t, p)
		var next <-chan struct{}
		if i+1 < len(selected) {
			next = m.arm(selected[i+1])
		}
		restarted := time.Now()
		ready := m.start(t)
		readyAt := time.Now()
		m.waitResumed(t, p, next)
		f := killFigure{point: p.name, restarted: restarted, ready: ready, resumed: time.Since(readyAt)}
		m.figures = append(m.figures, f)
		t.Logf("killed %-40s ready %5.1fs after the restart, resumed %5.1fs after ready", p.name, f.ready.Seconds(), f.resumed.Seconds())
		// The bound is the action heartbeat timeout (15 s) plus slack: past
		// it, the lost attempt was not noticed. It is not a speed target.
		if f.resumed > 30*time.Second {
			t.Errorf("%s: resumed %s after quench dev was ready again (restarted %s before), want within 30 s",
				p.name, f.resumed.Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond))
			m.slow = true
		}
	}
}

// history lists the incident's events with the restarts between them, to
// show where a slow resume spent its time.
func (m *killMatrix) history() string {
	m.mu.Lock()
	c := m.c
	m.mu.Unlock()
	if c == nil {
		return "(quench dev is not running)"
	}
	restarts := m.figures
	var b strings.Builder
	it := c.GetWorkflowHistory(context.Background(), "kill-1", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			fmt.Fprintf(&b, "  (history: %v)\n", err)
			break
		}
		at := e.GetEventTime().AsTime()
		for len(restarts) > 0 && restarts[0].restarted.Before(at) {
			fmt.Fprintf(&b, "  %s --- restarted after: killed %s\n", restarts[0].restarted.Format("15:04:05.000"), restarts[0].point)
			restarts = restarts[1:]
		}
		fmt.Fprintf(&b, "  %s %3d %s\n", at.Format("15:04:05.000"), e.GetEventId(), e.GetEventType())
	}
	return b.String()
}

// arm sets p's call trigger, if it has one; the channel closes when it fired.
func (m *killMatrix) arm(p killPoint) <-chan struct{} {
	at := p.trigger()
	if at.op == "" {
		return nil
	}
	killed := make(chan struct{})
	m.mu.Lock()
	m.armed, m.killed = at, killed
	m.mu.Unlock()
	return killed
}

// killAt waits for the point and kills quench dev there.
func (m *killMatrix) killAt(t *testing.T, p killPoint) {
	t.Helper()
	switch {
	case p.trigger().op != "":
		m.mu.Lock()
		killed := m.killed
		m.mu.Unlock()
		select {
		case <-killed:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: no %s call in 2 minutes", p.name, p.trigger().op)
		}
	case p.afterStep != "":
		m.waitStatus(t, stepDone(p.afterStep))
		m.kill()
	case p.afterApproval:
		m.waitStatus(t, awaitingApproval)
		res, err := m.incidents().Decide(context.Background(), "kill-1", "approve", contract.Decision{Actor: "lead", Via: "cli"})
		if err != nil || res.Outcome != "approved" {
			t.Fatalf("%s: approve: %+v, %v", p.name, res, err)
		}
		m.kill()
	}
}

// waitResumed returns once the incident has moved past p: its condition
// holds, or the next point's call arrived (which kills the process again).
func (m *killMatrix) waitResumed(t *testing.T, p killPoint, next <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-next:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := m.incidents().Status(ctx, "kill-1")
		cancel()
		if err == nil && p.resumed(st) {
			return
		}
		if err == nil && st.State == contract.StateFailed {
			t.Fatalf("%s: incident failed: %+v", p.name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: the incident did not move on within 2 minutes of the restart", p.name)
}

// waitStatus polls the incident until cond holds; errors while the
// process is starting are expected and retried.
func (m *killMatrix) waitStatus(t *testing.T, cond func(contract.Status) bool) contract.Status {
	t.Helper()
	return pollIncident(t, 2*time.Minute, func(ctx context.Context) (contract.Status, error) { return m.incidents().Status(ctx, "kill-1") }, cond)
}

func (m *killMatrix) report(t *testing.T) {
	var worst time.Duration
	for _, f := range m.figures {
		worst = max(worst, f.resumed)
	}
	t.Logf("%d kills of quench dev; slowest resume %.1fs after a restart", len(m.figures), worst.Seconds())
	if m.slow {
		t.Logf("history:\n%s", m.history())
	}
}
