package devserver_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/config"

	"github.com/quenchhq/quench/internal/devserver"
)

// The names quench registers (contract.SearchAttributes); spelled out here so
// this package's tests do not depend on the workflow package building.
const (
	saState   = "QuenchState"
	saRunbook = "QuenchRunbook"
)

const (
	taskQueue    = "devserver-test"
	signalFinish = "finish"
)

func quenchAttrs(names ...string) map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, n := range names {
		m[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}

// waitForFinish marks itself contained, then waits for the finish signal or
// a durable timer, whichever comes first.
func waitForFinish(ctx workflow.Context, timeout time.Duration) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporal.NewSearchAttributeKeyKeyword(saState).ValueSet("contained")); err != nil {
		return "", err
	}
	var result string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, signalFinish), func(c workflow.ReceiveChannel, _ bool) {
		var by string
		c.Receive(ctx, &by)
		result = "finished by " + by
	})
	sel.AddFuture(workflow.NewTimer(ctx, timeout), func(workflow.Future) { result = "timed out" })
	sel.Select(ctx)
	return result, nil
}

// testLogger logs to t until the test's cleanups have run: the server leaves
// goroutines behind after Stop that may still log, and t.Log after the end of
// a test panics.
func testLogger(t testing.TB) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func start(t *testing.T, opts devserver.Options) *devserver.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	began := time.Now()
	s, err := devserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Logf("dev server ready at %s in %s", s.FrontendAddress(), time.Since(began))
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func stop(t *testing.T, s *devserver.Server) {
	t.Helper()
	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("stop dev server: %v", err)
	}
	t.Logf("dev server stopped in %s", time.Since(began))
}

// connect dials the frontend at addr and runs a worker with waitForFinish
// until the returned stop function is called (or the test ends).
func connect(t *testing.T, addr string) (client.Client, func()) {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  addr,
		Namespace: devserver.DefaultNamespace,
		Logger:    sdklog.NewStructuredLogger(testLogger(t)),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(waitForFinish)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			w.Stop()
			c.Close()
		}
	}
	t.Cleanup(stop)
	return c, stop
}

func startWorkflow(t *testing.T, c client.Client, id string, timeout time.Duration) {
	t.Helper()
	_, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, waitForFinish, timeout)
	if err != nil {
		t.Fatalf("start workflow %s: %v", id, err)
	}
}

// waitListed polls the visibility store until query returns exactly the ids.
func waitListed(t *testing.T, c client.Client, query string, ids ...string) {
	t.Helper()
	want := strings.Join(ids, ",")
	var got string
	// Visibility is written asynchronously; on a loaded machine running
	// these tests in parallel it was seen to lag by more than 15 s.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list workflows %q: %v", query, err)
		}
		var found []string
		for _, e := range resp.GetExecutions() {
			found = append(found, e.GetExecution().GetWorkflowId())
		}
		if got = strings.Join(found, ","); got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("list workflows %q = [%s], want [%s]", query, got, want)
}

func TestRestartKeepsWorkflowsAndTimers(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	opts := devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState)}

	first := start(t, opts)
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("data dir %s: mode %v, err %v; want 0700", dir, info.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, devserver.DBFileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	c, stopClient := connect(t, first.FrontendAddress())
	startWorkflow(t, c, "incident-1", time.Hour)
	waitListed(t, c, "ExecutionStatus = 'Running'", "incident-1")
	stopClient()
	stop(t, first)

	_, port, _ := net.SplitHostPort(first.FrontendAddress())
	opts.FrontendPort, _ = strconv.Atoi(port)
	second := start(t, opts)
	if second.FrontendAddress() != first.FrontendAddress() {
		t.Fatalf("restarted on %s, want %s", second.FrontendAddress(), first.FrontendAddress())
	}
	c, _ = connect(t, second.FrontendAddress())
	desc, err := c.DescribeWorkflowExecution(t.Context(), "incident-1", "")
	if err != nil {
		t.Fatalf("describe workflow after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %s, want Running", st)
	}
	waitListed(t, c, "ExecutionStatus = 'Running'", "incident-1")

	if err := c.SignalWorkflow(t.Context(), "incident-1", "", signalFinish, "alice"); err != nil {
		t.Fatalf("signal after restart: %v", err)
	}
	var result string
	if err := c.GetWorkflow(t.Context(), "incident-1", "").Get(t.Context(), &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if result != "finished by alice" {
		t.Fatalf("result = %q, want %q", result, "finished by alice")
	}
}

func TestSearchAttributesQueryableAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	query := saState + " = 'contained'"

	first := start(t, devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState)})
	c, stopClient := connect(t, first.FrontendAddress())
	startWorkflow(t, c, "incident-before", time.Hour)
	waitListed(t, c, query, "incident-before")
	stopClient()
	stop(t, first)

	// A later release registering one more attribute on the same data dir.
	second := start(t, devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState, saRunbook)})
	c, _ = connect(t, second.FrontendAddress())
	waitListed(t, c, query, "incident-before")
	startWorkflow(t, c, "incident-after", time.Hour)
	waitListed(t, c, query, "incident-after", "incident-before")

	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: second.Namespace()})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for _, name := range []string{saState, saRunbook} {
		if got := resp.GetCustomAttributes()[name]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s = %s, want Keyword", name, got)
		}
	}
	// The attribute added on restart is usable in queries straight away.
	waitListed(t, c, saRunbook+" = 'none'")
}

func TestSearchAttributeTypeConflictFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState)})
	stop(t, s)

	_, err := devserver.Start(t.Context(), devserver.Options{
		DataDir:          dir,
		Logger:           testLogger(t),
		SearchAttributes: map[string]enumspb.IndexedValueType{saState: enumspb.INDEXED_VALUE_TYPE_INT},
	})
	if err == nil || !strings.Contains(err.Error(), saState) || !strings.Contains(err.Error(), "Keyword") {
		t.Fatalf("start with %s as Int = %v, want an error naming the attribute and its stored type", saState, err)
	}
}

func TestStartFailsClearlyWhenPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = devserver.Start(t.Context(), devserver.Options{DataDir: t.TempDir(), FrontendPort: port, Logger: testLogger(t)})
	if !errors.Is(err, devserver.ErrPortInUse) {
		t.Fatalf("start on a taken port: err = %v, want ErrPortInUse", err)
	}
	for _, want := range []string{strconv.Itoa(port), "--temporal-port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, devserver.Options{DataDir: dir})

	_, err := devserver.Start(t.Context(), devserver.Options{DataDir: dir, Logger: testLogger(t)})
	if !errors.Is(err, devserver.ErrDataDirInUse) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second server on %s: err = %v, want ErrDataDirInUse naming the dir", dir, err)
	}

	// Stopping the first releases the dir.
	stop(t, first)
	start(t, devserver.Options{DataDir: dir})
}

func TestStopTwice(t *testing.T) {
	t.Parallel()
	s := start(t, devserver.Options{InMemory: true})
	if err := s.Stop(); err != nil {
		t.Fatalf("first stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	// The frontend port is released.
	l, err := net.Listen("tcp", s.FrontendAddress())
	if err != nil {
		t.Fatalf("frontend port still bound after stop: %v", err)
	}
	_ = l.Close()
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts devserver.Options
		want string
	}{
		{"no data dir", devserver.Options{}, "data dir is required"},
		{"data dir and in memory", devserver.Options{DataDir: "x", InMemory: true}, "in-memory"},
		{"uri syntax in data dir", devserver.Options{DataDir: "a?mode=ro"}, "must not contain"},
		{"bad ip", devserver.Options{InMemory: true, IP: "localhost:1"}, "not an IP address"},
		{"port out of range", devserver.Options{InMemory: true, FrontendPort: 70000}, "out of range"},
		{"reserved attribute", devserver.Options{InMemory: true, SearchAttributes: quenchAttrs("WorkflowId")}, `"WorkflowId"`},
		{"unspecified type", devserver.Options{InMemory: true, SearchAttributes: map[string]enumspb.IndexedValueType{saState: 0}}, "invalid type"},
		{"sql without visibility", devserver.Options{SQL: &devserver.SQLStores{Default: &config.SQL{}}}, "visibility database are required"},
		{"sql and a data dir", devserver.Options{DataDir: "x", SQL: &devserver.SQLStores{Default: &config.SQL{}, Visibility: &config.SQL{}}}, "those are for sqlite"},
		{"sql, bad attribute", devserver.Options{SQL: &devserver.SQLStores{Default: &config.SQL{}, Visibility: &config.SQL{}}, SearchAttributes: quenchAttrs("WorkflowId")}, `"WorkflowId"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := devserver.Start(t.Context(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// BenchmarkStart measures a cold start on a fresh data dir: schema, namespace,
// all four services and the readiness probe.
func BenchmarkStart(b *testing.B) {
	logger := testLogger(b)
	for i := 0; b.Loop(); i++ {
		s, err := devserver.Start(b.Context(), devserver.Options{
			DataDir:          filepath.Join(b.TempDir(), fmt.Sprint(i)),
			Logger:           logger,
			SearchAttributes: quenchAttrs(saState, saRunbook),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
