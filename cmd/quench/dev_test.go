package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
