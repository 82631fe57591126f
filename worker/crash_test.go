package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/activities/action"
	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startTemporal starts an in-memory Temporal server with quench's search
// attributes.
func startTemporal(t *testing.T) *temporaltest.TestServer {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t),
		temporaltest.WithBaseClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(quiet)}))
	sas := map[string]enumspb.IndexedValueType{}
	for _, name := range contract.SearchAttributes {
		sas[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ts.GetDefaultClient().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ts.GetDefaultNamespace(), SearchAttributes: sas,
	}); err != nil {
		t.Fatalf("add search attributes: %v", err)
	}
	return ts
}

// proxy forwards TCP to Temporal until it is cut: then the worker that
// dialled through it can no longer heartbeat or report, as if it had been
// killed (its goroutines still run, but nothing they do reaches Temporal).
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// dieAfterPut is the HTTP client of a worker killed right after a Lambda
// PutFunctionConcurrency call landed: it cuts the worker off Temporal and
// never answers.
type dieAfterPut struct {
	next aws.HTTPClient
	die  func()
}

func (d dieAfterPut) Do(r *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(r)
	if err == nil && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/concurrency") {
		d.die()
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return resp, err
}

const limitRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: limit-chat, severity: high}
steps:
  - id: limit
    action: lambda.limit_concurrency
    with: {function_name: chat, reserved: 1}
on_resolve: rollback
`

// The worker running lambda.limit_concurrency (50 → 1) is killed right
// after the write. Within the heartbeat timeout the incident resumes on
// another worker, which is handed the dead attempt's checkpoint: it does
// not write again, and rollback restores 50, not the dead attempt's 1.
func TestWorkerKilledAfterAWriteResumesAndRollsBackToTheOriginalState(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the action heartbeat timeout")
	}
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	lambdaFake := awsfake.RegisterLambda(fake)
	awsfake.RegisterSTS(fake)
	lambdaFake.AddFunction("chat")
	lambdaFake.SetReservedConcurrency("chat", 50)

	ts := startTemporal(t)
	ctx := context.Background()
	p := newProxy(t, ts.GetFrontendHostPort())
	killed := make(chan time.Time, 1)
	cfg1 := fake.Config()
	cfg1.HTTPClient = dieAfterPut{next: awshttp.NewBuildableClient(), die: func() { p.cut(); killed <- time.Now() }}
	c1, err := client.Dial(client.Options{HostPort: p.addr(), Namespace: ts.GetDefaultNamespace(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	w1 := startWorker(t, c1, awsactions.NewProvider(cfg1))
	defer w1.Stop()

	reg, err := worker.BuildRegistry(ctx, worker.ActionOptions{Logger: quiet, AWS: awsactions.NewProvider(fake.Config())})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbooks.Load("limit.yaml", []byte(limitRunbook), reg)
	if err != nil {
		t.Fatal(err)
	}
	inc := incidents.New(ts.GetDefaultClient(), contract.DefaultTaskQueue).WithNamespace(ts.GetDefaultNamespace())
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "crash-1", Runbook: *rb, Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	var killedAt time.Time
	select {
	case killedAt = <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker never wrote")
	}
	if n, _ := lambdaFake.ReservedConcurrency("chat"); n != 1 {
		t.Fatalf("reserved = %d when the worker died, want its write (1)", n)
	}

	c2 := ts.GetDefaultClient()
	w2 := startWorker(t, c2, awsactions.NewProvider(fake.Config()))
	defer w2.Stop()
	st := waitFor(t, inc, "crash-1", 60*time.Second, func(st contract.Status) bool { return st.State == contract.StateContained })
	resumed := time.Since(killedAt)
	t.Logf("contained %s after the worker was killed (heartbeat timeout %s)", resumed.Round(100*time.Millisecond), contract.ActionHeartbeatTimeout)
	if resumed > contract.ActionHeartbeatTimeout+15*time.Second {
		t.Errorf("took %s to resume after the worker was killed", resumed)
	}
	if s := st.Steps[0]; s.State != contract.StepSucceeded || !s.Changed || !strings.Contains(s.Summary, "was 50 reserved") {
		t.Errorf("step after the crash: %+v; want it changed from 50", s)
	}
	timeline, err := inc.Timeline(ctx, "crash-1")
	if err != nil {
		t.Fatal(err)
	}
	lost := false
	for _, e := range timeline {
		lost = lost || (e.Type == contract.EventNote && strings.Contains(e.Detail, "worker lost"))
	}
	if !lost {
		t.Errorf("timeline does not say the worker was lost: %+v", timeline)
	}

	if err := inc.Resolve(ctx, "crash-1", contract.ResolveRequest{Actor: "carol", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "crash-1", 30*time.Second, func(st contract.Status) bool { return st.State == contract.StateRolledBack })
	if n, ok := lambdaFake.ReservedConcurrency("chat"); !ok || n != 50 {
		t.Errorf("reserved concurrency after rollback = %d, %v; want the original 50", n, ok)
	}
	puts := 0
	for _, c := range fake.Calls() {
		if c.Operation == "PutFunctionConcurrency" {
			puts++
		}
	}
	if puts != 2 {
		t.Errorf("PutFunctionConcurrency calls = %d, want 2 (the dead attempt's write, and rollback's)", puts)
	}
}

func startWorker(t *testing.T, c client.Client, p *awsactions.Provider) sdkworker.Worker {
	t.Helper()
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Logger: quiet, AWS: p})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, worker.Config{TaskQueue: contract.DefaultTaskQueue}, reg, activities.NewNotifier(nil, "", quiet))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	return w
}

func waitFor(t *testing.T, inc *incidents.Client, id string, within time.Duration, cond func(contract.Status) bool) contract.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var last contract.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := inc.Status(ctx, id)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out: last status %+v, err %v", last, lastErr)
	return last
}

// slowCheckpoint heartbeats before it checkpoints (its read was slow), so
// the SDK holds the checkpoint's heartbeat back; the keeper must wait until
// it has gone out before letting the action write.
func slowCheckpoint(ctx context.Context, in contract.ActionInput, _ struct{}) (contract.ActionResult, error) {
	time.Sleep(300 * time.Millisecond) // the keeper's first heartbeat (empty) goes out meanwhile
	action.Checkpoint(ctx, map[string]int{"reserved": 50})
	close(wroteCh) // "write", then die
	<-ctx.Done()
	return contract.ActionResult{}, ctx.Err()
}

var wroteCh chan struct{}

// lastHeartbeat runs one attempt of an activity and returns the checkpoint
// the server held when the attempt's worker went silent.
func lastHeartbeat(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, HeartbeatTimeout: 2 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	err := workflow.ExecuteActivity(ctx, name, contract.ActionInput{}).Get(ctx, nil)
	var to *temporal.TimeoutError
	if !errors.As(err, &to) || to.TimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		return "", err
	}
	var cp contract.AttemptCheckpoint
	if to.HasLastHeartbeatDetails() {
		if err := to.LastHeartbeatDetails(&cp); err != nil {
			return "", err
		}
	}
	return string(cp.Checkpoint), nil
}

// A checkpoint taken after the attempt already heartbeated is held back by
// the SDK's heartbeat batching; it must still reach the server before the
// action writes, or a worker killed after the write would leave only the
// empty heartbeat behind.
func TestCheckpointReachesTheServerBeforeTheWriteWhenAHeartbeatWentFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a heartbeat batching window")
	}
	ts := startTemporal(t)
	p := newProxy(t, ts.GetFrontendHostPort())
	c, err := client.Dial(client.Options{HostPort: p.addr(), Namespace: ts.GetDefaultNamespace(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wroteCh = make(chan struct{})
	reg := action.NewRegistry()
	reg.SetHeartbeatInterval(100 * time.Millisecond)
	reg.Register(action.New(runbooks.ActionSpec{Name: "test.slow_checkpoint"}, slowCheckpoint))
	w := sdkworker.New(c, "crash", sdkworker.Options{})
	w.RegisterWorkflowWithOptions(lastHeartbeat, workflow.RegisterOptions{Name: "lastHeartbeat"})
	reg.RegisterActivities(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := ts.GetDefaultClient().ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "crash"}, "lastHeartbeat", "test.slow_checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	<-wroteCh
	p.cut() // killed right after the write
	w2 := ts.NewWorker("crash", func(r sdkworker.Registry) {
		r.RegisterWorkflowWithOptions(lastHeartbeat, workflow.RegisterOptions{Name: "lastHeartbeat"})
	})
	defer w2.Stop()
	var held string
	if err := run.Get(context.Background(), &held); err != nil {
		t.Fatal(err)
	}
	if held != `{"reserved":50}` {
		t.Errorf("the server held %q when the worker died, want the checkpoint", held)
	}
}
