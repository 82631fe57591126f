package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"

	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/internal/httpapi"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, h http.Handler, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Errorf("GET %s: body %q is not JSON: %v", path, rec.Body, err) // Errorf: called from goroutines too
	}
	return rec.Code, body
}

func health(ready httpapi.ReadyFunc) http.Handler {
	mux := http.NewServeMux()
	httpapi.MountHealth(mux, ready)
	return mux
}

// /readyz against a real server: the probe writes and reads through
// Temporal, answers 200, and leaves no sentinel run behind.
func TestReadyzProbesTheStore(t *testing.T) {
	t.Parallel()
	srv, err := devserver.Start(t.Context(), devserver.Options{InMemory: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quiet())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	h := health(httpapi.TemporalReady(c.WorkflowService(), srv.Namespace()))
	// Right after a start on a loaded machine the first probe may exceed
	// /readyz's own timeout; a checker asks again, and so does this test.
	for attempt := 1; ; attempt++ {
		began := time.Now()
		code, body := get(t, h, "/readyz")
		t.Logf("readyz attempt %d: %d in %s", attempt, code, time.Since(began))
		if code == http.StatusOK {
			break
		}
		if attempt == 10 {
			t.Fatalf("readyz = %d %v, want 200", code, body)
		}
		time.Sleep(time.Second) // past the reuse of the last result
	}

	// The sentinel is deleted; deletion is asynchronous.
	query := "WorkflowType = '" + httpapi.ProbeWorkflowType + "'"
	var left int64 = -1
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.CountWorkflow(t.Context(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if left = resp.GetCount(); left == 0 {
			break
		}
	}
	if left != 0 {
		t.Errorf("%d sentinel runs left after the probe, want 0", left)
	}

	// With the server gone, a fresh probe reports it (and healthz does not).
	_ = srv.Stop()
	h = health(httpapi.TemporalReady(c.WorkflowService(), srv.Namespace()))
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body["error"].(string), "not ready: temporal store read") {
		t.Errorf("readyz with the server stopped = %d %v, want 503 naming the failed read", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz with the server stopped = %d, want 200", code)
	}
}

// fakeService answers the probe's calls; Start fails with startErr.
type fakeService struct {
	workflowservice.WorkflowServiceClient
	startErr error
	starts   atomic.Int32
	deletes  atomic.Int32
	release  chan struct{} // if set, Start waits for it
}

func (f *fakeService) DescribeNamespace(context.Context, *workflowservice.DescribeNamespaceRequest, ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	return &workflowservice.DescribeNamespaceResponse{}, nil
}

func (f *fakeService) StartWorkflowExecution(ctx context.Context, _ *workflowservice.StartWorkflowExecutionRequest, _ ...grpc.CallOption) (*workflowservice.StartWorkflowExecutionResponse, error) {
	f.starts.Add(1)
	if f.release != nil {
		<-f.release
	}
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "run"}, nil
}

func (f *fakeService) DescribeWorkflowExecution(context.Context, *workflowservice.DescribeWorkflowExecutionRequest, ...grpc.CallOption) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
}

func (f *fakeService) CountWorkflowExecutions(context.Context, *workflowservice.CountWorkflowExecutionsRequest, ...grpc.CallOption) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

func (f *fakeService) DeleteWorkflowExecution(context.Context, *workflowservice.DeleteWorkflowExecutionRequest, ...grpc.CallOption) (*workflowservice.DeleteWorkflowExecutionResponse, error) {
	f.deletes.Add(1)
	return &workflowservice.DeleteWorkflowExecutionResponse{}, nil
}

// A store that still reads but cannot write is not ready: the frontend's
// own health check would pass, the probe does not.
func TestReadyzFailsWhenTheStoreCannotWrite(t *testing.T) {
	t.Parallel()
	f := &fakeService{startErr: serviceerror.NewUnavailable("database disk image is malformed")}
	code, body := get(t, health(httpapi.TemporalReady(f, "default")), "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readyz = %d, want 503", code)
	}
	for _, want := range []string{"temporal store write", "malformed"} {
		if !strings.Contains(body["error"].(string), want) {
			t.Errorf("readyz error %q does not say %q", body["error"], want)
		}
	}
}

// A flood of /readyz becomes one probe, not one write per request.
func TestConcurrentReadyzShareOneProbe(t *testing.T) {
	t.Parallel()
	f := &fakeService{release: make(chan struct{})}
	probe := httpapi.TemporalReady(f, "default")
	var entered atomic.Int32
	h := health(func(ctx context.Context) error { entered.Add(1); return probe(ctx) })
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i], _ = get(t, h, "/readyz") })
	}
	for entered.Load() < int32(len(codes)) || f.starts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the last ones reach the probe
	close(f.release)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("request %d: %d, want 200", i, code)
		}
	}
	if n := f.starts.Load(); n != 1 {
		t.Errorf("%d sentinel writes for 50 concurrent probes, want 1", n)
	}
	if f.deletes.Load() != f.starts.Load() {
		t.Errorf("%d deletes for %d sentinel writes", f.deletes.Load(), f.starts.Load())
	}
}
