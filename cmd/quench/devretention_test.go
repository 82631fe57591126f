package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/internal/codec"
)

// quench dev --retention sets the embedded namespace's retention, read
// back from the server; without codec keys dev says once that history is
// plaintext.
func TestDevRetentionAndPlaintextWarning(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(codec.EnvKeys, "")
	t.Setenv(codec.EnvKeysFile, "")
	if res := runQuench(t, "dev", "--data-dir", t.TempDir(), "--retention", "30m"); res.code != 2 || !strings.Contains(res.stderr, "--retention 30m0s: want at least 1h0m0s") {
		t.Fatalf("--retention 30m: exit %d, stderr %q; want a usage error (2)", res.code, res.stderr)
	}

	line, errOut, stop := startDev(t, "dev", "--data-dir", t.TempDir(), "--temporal-port", "0", "--listen", "", "--retention", "72h")
	_, rest, _ := strings.Cut(line, "temporal ")
	addr, _, _ := strings.Cut(rest, " ")
	c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 72*time.Hour {
		t.Errorf("namespace retention %s, want 72h", got)
	}
	if n := strings.Count(errOut.String(), "QUENCH_CODEC_KEYS not set"); n != 1 {
		t.Errorf("plaintext warning printed %d times, want once:\n%s", n, errOut.String())
	}
	if err := stop(); err != nil {
		t.Errorf("dev stopped with %v", err)
	}
}
