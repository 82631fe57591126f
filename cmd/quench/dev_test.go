package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/devserver"
)

// runQuench runs the quench command in-process; nothing listens on the
// Temporal address it is given (dev starts its own server).
func runQuench(t *testing.T, args ...string) cliResult {
	t.Helper()
	return cli{t: t, addr: "127.0.0.1:1"}.run(args...)
}

// quench dev never says ready over a damaged or missing store: it exits
// with what it found and how to recover.
func TestDevRefusesBrokenStore(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		says  []string
	}{
		{
			name:  "damaged database",
			files: map[string]string{devserver.DBFileName: strings.Repeat("garbage ", 4096)},
			says:  []string{"quick_check", "not a database"},
		},
		{
			name:  "empty database",
			files: map[string]string{devserver.DBFileName: ""},
			says:  []string{"empty (0 bytes"},
		},
		{
			name:  "database missing beside the record store",
			files: map[string]string{"records.json": "{}"},
			says:  []string{"records.json", "no temporal.db"},
		},
		{
			name:  "database missing beside the marker",
			files: map[string]string{devserver.MarkerFileName: "{}"},
			says:  []string{devserver.MarkerFileName, "no temporal.db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			res := runQuench(t, "dev", "--data-dir", dir, "--temporal-port", "0", "--listen", "")
			if res.code != 1 || strings.Contains(res.stdout, "ready") {
				t.Fatalf("exit %d, stdout %q; want exit 1 and no ready line", res.code, res.stdout)
			}
			for _, want := range append(tt.says, "quench dev --reset", "backup") {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
				}
			}
			// Nothing was touched.
			for name, content := range tt.files {
				if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != content {
					t.Errorf("%s changed by a refused start: %v", name, err)
				}
			}
		})
	}
}

func TestDevSyncFlag(t *testing.T) {
	res := runQuench(t, "dev", "--data-dir", t.TempDir(), "--sync", "off")
	if res.code != 2 || !strings.Contains(res.stderr, `--sync "off"`) {
		t.Fatalf("--sync off: exit %d, stderr %q; want a usage error (2)", res.code, res.stderr)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// After a refusal, --reset moves the damaged store aside and dev comes up
// ready: the ready line is printed only once the store probe passed, and
// /readyz agrees.
func TestDevResetStartsReadyAfterRefusal(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	damaged := strings.Repeat("garbage ", 4096)
	if err := os.WriteFile(filepath.Join(dir, devserver.DBFileName), []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runQuench(t, "dev", "--data-dir", dir, "--temporal-port", "0", "--listen", ""); res.code != 1 {
		t.Fatalf("dev over a damaged store: exit %d, want 1", res.code)
	}

	line, errOut, stop := startDev(t, "dev", "--reset", "--data-dir", dir, "--temporal-port", "0", "--listen", "127.0.0.1:0", "--log-level", "error")
	if !strings.Contains(errOut.String(), "--reset moved the old data to "+filepath.Join(dir, "reset-")) {
		t.Errorf("stderr does not say where the old data went:\n%s", errOut.String())
	}
	_, rest, _ := strings.Cut(line, "http http://")
	addr, _, _ := strings.Cut(rest, ",")
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz after the ready line: %d, want 200", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("dev stopped with %v", err)
	}
}

// startDev runs quench with args (a dev command) in-process until its
// ready line, which it returns with the command's stderr; stop ends it
// and returns its error.
func startDev(t *testing.T, args ...string) (line string, errOut *syncBuffer, stop func() error) {
	t.Helper()
	var out syncBuffer
	errOut = &syncBuffer{}
	root := newRoot(newApp(&out, errOut))
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- root.ExecuteContext(ctx) }()
	stop = func() error { cancel(); return <-done }
	for deadline := time.Now().Add(120 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("%v ended before ready: %v\n%s", args, err, errOut.String())
		default:
		}
		if s := out.String(); strings.Contains(s, "quench dev ready") {
			line = s
		}
	}
	if line == "" {
		_ = stop()
		t.Fatalf("no ready line from %v:\n%s", args, errOut.String())
	}
	t.Logf("%v ready in %s: %s", args, time.Since(began), strings.TrimSpace(line))
	return line, errOut, stop
}
