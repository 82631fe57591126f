package devserver_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/internal/devserver"
)

func retentionOf(t *testing.T, s *devserver.Server) time.Duration {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Logger: sdklog.NewStructuredLogger(testLogger(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
}

func TestRetentionOnCreateAndOnRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, devserver.Options{DataDir: dir})
	if got := retentionOf(t, s); got != devserver.DefaultRetention {
		t.Errorf("new namespace keeps closed workflows %s, want the default %s", got, devserver.DefaultRetention)
	}
	stop(t, s)

	// An existing namespace is updated to what this start asks for.
	s = start(t, devserver.Options{DataDir: dir, Retention: 72 * time.Hour})
	if got := retentionOf(t, s); got != 72*time.Hour {
		t.Errorf("after a restart with 72h: %s", got)
	}
	stop(t, s)

	s = start(t, devserver.Options{InMemory: true, Retention: 90 * 24 * time.Hour})
	if got := retentionOf(t, s); got != 90*24*time.Hour {
		t.Errorf("new in-memory namespace with 2160h: %s", got)
	}
}

func TestRetentionBelowTheServersMinimumIsRefused(t *testing.T) {
	_, err := devserver.Start(t.Context(), devserver.Options{InMemory: true, Retention: 30 * time.Minute, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "retention 30m0s is below") {
		t.Errorf("error %v, want a refusal naming the retention", err)
	}
}
