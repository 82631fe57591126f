package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/quenchhq/quench/internal/httpapi/respond"
)

// ReadyFunc reports whether quench can do its work: nil means ready.
type ReadyFunc func(ctx context.Context) error

const (
	// readyzTimeout bounds one /readyz answer.
	readyzTimeout = 5 * time.Second
	// probeFresh is how long a probe result is reused: /readyz needs no
	// authentication, so a flood of it must not become a flood of writes.
	probeFresh = time.Second

	// ProbeWorkflowType is the type of the sentinel runs the readiness probe
	// starts and deletes; no worker runs it and `quench list` never shows it.
	ProbeWorkflowType = "quench.ReadyProbe"
	probeTaskQueue    = "quench-readyz"
	// probeDelay keeps the sentinel from ever reaching a task queue: its
	// first workflow task waits this long, and the probe deletes it first.
	probeDelay = time.Minute
)

// MountHealth registers GET /healthz (the process answers) and GET /readyz
// (ready returns nil within a few seconds; otherwise 503 with the reason).
func MountHealth(mux *http.ServeMux, ready ReadyFunc) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyzTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			respond.Error(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		respond.JSON(w, http.StatusOK, map[string]any{"ok": true})
	})
}

// TemporalReady checks that Temporal's store works, not only that its
// frontend answers: it reads the namespace record, writes a sentinel
// workflow run and reads it back, queries visibility, and deletes the
// sentinel, so a probe leaves nothing behind. A store that is corrupt, full
// or read-only fails one of these with the server's own error.
//
// Concurrent callers share one probe, and a result is reused for a second.
func TemporalReady(svc workflowservice.WorkflowServiceClient, namespace string) ReadyFunc {
	p := &storeProbe{svc: svc, namespace: namespace, fresh: probeFresh, now: time.Now}
	return p.check
}

type storeProbe struct {
	svc       workflowservice.WorkflowServiceClient
	namespace string
	fresh     time.Duration
	now       func() time.Time

	mu       sync.Mutex
	at       time.Time // when the last probe ended
	err      error     // its result
	inflight chan struct{}
}

func (p *storeProbe) check(ctx context.Context) error {
	p.mu.Lock()
	if !p.at.IsZero() && p.now().Sub(p.at) < p.fresh {
		err := p.err
		p.mu.Unlock()
		return err
	}
	if wait := p.inflight; wait != nil {
		p.mu.Unlock()
		select {
		case <-wait:
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.err
		case <-ctx.Done():
			return fmt.Errorf("temporal store probe: %w", ctx.Err())
		}
	}
	done := make(chan struct{})
	p.inflight = done
	p.mu.Unlock()

	err := p.probe(ctx)

	p.mu.Lock()
	p.at, p.err, p.inflight = p.now(), err, nil
	p.mu.Unlock()
	close(done)
	return err
}

func (p *storeProbe) probe(ctx context.Context) error {
	ns := p.namespace
	if _, err := p.svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		return fmt.Errorf("temporal store read (describe namespace %s): %w", ns, err)
	}
	id := "quench-readyz-" + uuid.NewString()
	started, err := p.svc.StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace:          ns,
		WorkflowId:         id,
		WorkflowType:       &commonpb.WorkflowType{Name: ProbeWorkflowType},
		TaskQueue:          &taskqueuepb.TaskQueue{Name: probeTaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		RequestId:          uuid.NewString(),
		Identity:           "quench-readyz",
		WorkflowStartDelay: durationpb.New(probeDelay),
		// Should the delete below never happen, the run ends by itself.
		WorkflowExecutionTimeout: durationpb.New(probeDelay),
	})
	if err != nil {
		return fmt.Errorf("temporal store write (start sentinel workflow %s): %w", id, err)
	}
	exec := &commonpb.WorkflowExecution{WorkflowId: id, RunId: started.GetRunId()}
	_, err = p.svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: ns, Execution: exec})
	if err != nil {
		err = fmt.Errorf("temporal store read back (describe sentinel workflow %s): %w", id, err)
	}
	if err == nil {
		_, err = p.svc.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: ns, Query: fmt.Sprintf("WorkflowType = '%s'", ProbeWorkflowType),
		})
		if err != nil {
			err = fmt.Errorf("temporal visibility query (count sentinel workflows): %w", err)
		}
	}
	// The delete runs even after a failed read or a cancelled ctx: a probe
	// leaves nothing behind.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyzTimeout)
	defer cancel()
	_, derr := p.svc.DeleteWorkflowExecution(dctx, &workflowservice.DeleteWorkflowExecutionRequest{Namespace: ns, WorkflowExecution: exec})
	if derr != nil {
		derr = fmt.Errorf("temporal store write (delete sentinel workflow %s): %w", id, derr)
	}
	return errors.Join(err, derr)
}
