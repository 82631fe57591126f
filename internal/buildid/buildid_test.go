package buildid

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The build ID read from the headers is the one the go tool reports.
func TestReadMatchesGoTool(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Skipf("go tool buildid: %v", err)
	}
	want := strings.TrimSpace(string(out))
	got, err := Read(exe)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || want == "" {
		t.Fatalf("Read(%s) = %q, go tool buildid says %q", exe, got, want)
	}
}

// Non-ELF binaries carry the ID at the start of their text segment.
func TestReadTextMarker(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bin")
	body := append(make([]byte, 4096), []byte("\xff Go build ID: \"abc/def\"\n \xff")...)
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(p); err != nil || got != "abc/def" {
		t.Fatalf("Read = %q, %v; want abc/def", got, err)
	}
	if err := os.WriteFile(p, []byte("not a binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(p); err == nil {
		t.Fatalf("Read of a file without a build id = %q, want an error", got)
	}
}
