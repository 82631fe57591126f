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

	"github.com/quenchhq/quench/internal/devserver"
)

// childDirEnv turns the test binary into a dev server process for
// TestKilledServerResumesTimers instead of running tests.
const childDirEnv = "QUENCH_DEVSERVER_TEST_CHILD_DIR"

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
	s, err := devserver.Start(context.Background(), devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready", s.FrontendAddress())
	select {}
}

func TestKilledServerResumesTimers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDirEnv+"="+dir)
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

	c, stopClient := connect(t, addr)
	// The timer is short, so it fires while the server is down or just after
	// it comes back; the worker is gone by then, so only the restarted server
	// can hand the fired timer to the new worker.
	startWorkflow(t, c, "incident-killed", 2*time.Second)
	waitListed(t, c, saState+" = 'contained'", "incident-killed")
	stopClient()

	if err := child.Process.Kill(); err != nil { // SIGKILL: no graceful shutdown
		t.Fatalf("kill child server: %v", err)
	}
	_ = child.Wait()

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
