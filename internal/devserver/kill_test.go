package devserver_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/internal/devserver"
)

// childDirEnv turns the test binary into a dev server process for the
// kill -9 tests instead of running tests; childSyncEnv sets its Sync.
const (
	childDirEnv  = "QUENCH_DEVSERVER_TEST_CHILD_DIR"
	childSyncEnv = "QUENCH_DEVSERVER_TEST_CHILD_SYNC"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		runChildServer(dir)
		return
	}
	os.Exit(m.Run())
}

// runChildServer starts a server, reports its address on stdout and serves
// until the parent kills the process.
func runChildServer(dir string) {
	s, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: dir, SearchAttributes: quenchAttrs(saState), Sync: devserver.Sync(os.Getenv(childSyncEnv)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready", s.FrontendAddress())
	select {}
}

// startChild runs a dev server on dir in a child process and returns it
// with its frontend address.
func startChild(t *testing.T, dir string, sync devserver.Sync) (*exec.Cmd, string) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDirEnv+"="+dir, childSyncEnv+"="+string(sync))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatalf("start child server: %v", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		t.Fatalf("child server did not report ready: %q, %v", line, err)
	}
	return child, addr
}

// kill9 kills the child without a chance to flush anything.
func kill9(t *testing.T, child *exec.Cmd) {
	t.Helper()
	if err := child.Process.Kill(); err != nil { // SIGKILL: no graceful shutdown
		t.Fatalf("kill child server: %v", err)
	}
	_ = child.Wait()
}

func TestKilledServerResumesTimers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	child, addr := startChild(t, dir, devserver.DefaultSync)

	c, stopClient := connect(t, addr)
	// The timer is short, so it fires while the server is down or just after
	// it comes back; the worker is gone by then, so only the restarted server
	// can hand the fired timer to the new worker.
	startWorkflow(t, c, "incident-killed", 2*time.Second)
	waitListed(t, c, saState+" = 'contained'", "incident-killed")
	stopClient()

	kill9(t, child)

	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s := start(t, devserver.Options{DataDir: dir, FrontendPort: p, SearchAttributes: quenchAttrs(saState)})
	c, _ = connect(t, s.FrontendAddress())
	var result string
	if err := c.GetWorkflow(t.Context(), "incident-killed", "").Get(t.Context(), &result); err != nil {
		t.Fatalf("workflow result after kill -9 and restart: %v", err)
	}
	if result != "timed out" {
		t.Fatalf("result = %q, want the durable timer to have fired", result)
	}
}

// In WAL mode with synchronous=NORMAL a commit is not fsynced, but it is in
// the OS's page cache once the write returns, so a killed process loses
// nothing Temporal acknowledged: every start and every signal answered
// before the kill -9 is there after the restart. (An OS crash or power loss
// is what NORMAL may lose; that cannot be provoked from a test.)
func TestKilledServerKeepsAcknowledgedWritesInWALMode(t *testing.T) {
	t.Parallel()
	for _, sync := range devserver.Syncs {
		t.Run(string(sync), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			child, addr := startChild(t, dir, sync)
			c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(testLogger(t))})
			if err != nil {
				t.Fatal(err)
			}
			// No worker: the writes are the starts and the signals themselves.
			const incidents, signals = 10, 3
			began := time.Now()
			for i := range incidents {
				id := fmt.Sprintf("incident-%d", i)
				startWorkflow(t, c, id, time.Hour)
				for j := range signals {
					if err := c.SignalWorkflow(t.Context(), id, "", signalFinish, fmt.Sprint(j)); err != nil {
						t.Fatalf("signal %s: %v", id, err)
					}
				}
			}
			t.Logf("sync %s: %d starts and %d signals acknowledged in %s", sync, incidents, incidents*signals, time.Since(began))
			c.Close()
			kill9(t, child) // straight after the last acknowledgement

			_, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			s := start(t, devserver.Options{DataDir: dir, FrontendPort: p, Sync: sync, SearchAttributes: quenchAttrs(saState)})
			c2, _ := connect(t, s.FrontendAddress())
			for i := range incidents {
				id := fmt.Sprintf("incident-%d", i)
				got := 0
				iter := c2.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				for iter.HasNext() {
					ev, err := iter.Next()
					if err != nil {
						t.Fatalf("history of %s after kill -9: %v", id, err)
					}
					if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
						got++
					}
				}
				if got < signals {
					t.Errorf("%s has %d of %d acknowledged signals after kill -9", id, got, signals)
				}
			}
		})
	}
}
