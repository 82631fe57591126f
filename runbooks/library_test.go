package runbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRunbook(t *testing.T, dir, file, name, message string) string {
	t.Helper()
	path := filepath.Join(dir, file)
	doc := strings.Replace(header, "name: demo", "name: "+name, 1) +
		"steps:\n  - {id: a, action: core.log, with: {message: '" + message + "'}}\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLibraryLoadsBuiltinsAndDirectories(t *testing.T) {
	dir := t.TempDir()
	writeRunbook(t, dir, "b.yaml", "beta", "b")
	writeRunbook(t, dir, "a.yml", "alpha", "a")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a runbook"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := NewLibrary(newTestCatalog(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rb := range lib.List() {
		names = append(names, rb.Metadata.Name)
	}
	// Built-ins that need AWS actions are not in the test catalog; they
	// show up in Problems instead.
	if got := strings.Join(names, ","); got != "alpha,beta,quench-selftest" {
		t.Fatalf("List() = %s", got)
	}
	rb, ok := lib.Get("quench-selftest")
	if !ok || rb.Source != "embedded:quench-selftest.yaml" {
		t.Fatalf("Get(quench-selftest) = %v, %v", rb, ok)
	}
	if _, ok := lib.Get("gamma"); ok {
		t.Fatal("Get found a runbook that does not exist")
	}
	builtins, _ := filepath.Glob("builtin/*.yaml")
	if got := len(lib.List()) - 2 + len(lib.Problems()); got != len(builtins) {
		t.Fatalf("%d built-ins loaded or reported, want all %d", got, len(builtins))
	}
	for _, p := range lib.Problems() {
		if strings.Contains(p.Error(), "quench-selftest") {
			t.Fatalf("the self-test needs core actions only, yet: %v", p)
		}
	}
}

func TestLibraryFileOverridesBuiltin(t *testing.T) {
	dir := t.TempDir()
	path := writeRunbook(t, dir, "mine.yaml", "quench-selftest", "my own")
	lib, err := NewLibrary(newTestCatalog(), dir)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := lib.Get("quench-selftest")
	if rb.Source != path || rb.Steps[0].With["message"] != "my own" {
		t.Fatalf("got %s with %v, want the file's runbook", rb.Source, rb.Steps[0].With)
	}
	if len(lib.List()) != 1 {
		t.Fatalf("List() has %d runbooks, want the override only", len(lib.List()))
	}
}

func TestLibraryRefusesTwoFilesWithOneName(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	p1 := writeRunbook(t, d1, "x.yaml", "same", "one")
	p2 := writeRunbook(t, d2, "y.yaml", "same", "two")
	_, err := NewLibrary(newTestCatalog(), d1, d2)
	if err == nil || !strings.Contains(err.Error(), p1) || !strings.Contains(err.Error(), p2) || !strings.Contains(err.Error(), `"same"`) {
		t.Fatalf("got %v, want an error naming %s and %s", err, p1, p2)
	}
}

func TestLibraryRefusesInvalidFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte(header+"steps:\n  - {id: a, action: core.nope}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewLibrary(newTestCatalog(), dir)
	if err == nil || !strings.Contains(err.Error(), path+`:7:21: unknown action "core.nope"`) {
		t.Fatalf("got %v", err)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error does not wrap Errors: %T", err)
	}
}

func TestLibraryRefusesMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := NewLibrary(newTestCatalog(), missing)
	if err == nil || !strings.Contains(err.Error(), "read runbook directory "+missing) {
		t.Fatalf("got %v", err)
	}
}

func TestLibraryReportsBuiltinsItCannotLoad(t *testing.T) {
	// Without core.record the self-test cannot run: it must be reported, not dropped silently.
	cat := newTestCatalog()
	delete(cat, "core.record")
	lib, err := NewLibrary(cat)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lib.Get("quench-selftest"); ok {
		t.Fatal("an invalid built-in was loaded")
	}
	var found bool
	for _, p := range lib.Problems() {
		msg := p.Error()
		if strings.HasPrefix(msg, "built-in runbook quench-selftest.yaml skipped:\n") {
			found = strings.Contains(msg, `embedded:quench-selftest.yaml:35:13: unknown action "core.record"`)
		}
	}
	if !found {
		t.Fatalf("Problems() does not explain the missing self-test: %v", lib.Problems())
	}
}

func TestDirsFromEnv(t *testing.T) {
	t.Setenv(EnvRunbooks, "/etc/quench/runbooks::./mine ")
	got := strings.Join(DirsFromEnv(), "|")
	if got != "/etc/quench/runbooks|./mine" {
		t.Fatalf("DirsFromEnv() = %q", got)
	}
	t.Setenv(EnvRunbooks, "")
	if len(DirsFromEnv()) != 0 {
		t.Fatal("empty QUENCH_RUNBOOKS gave directories")
	}
}

// Every shipped runbook must load against the core catalog, or be
// reported as a problem because it needs actions this catalog lacks.
func TestShippedRunbooksLoad(t *testing.T) {
	cat := newTestCatalog()
	builtins, _ := filepath.Glob("builtin/*.yaml")
	examples, _ := filepath.Glob("../examples/*.yaml")
	if len(builtins) == 0 || len(examples) == 0 {
		t.Fatalf("found %d built-ins and %d examples", len(builtins), len(examples))
	}
	lib, err := NewLibrary(cat)
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(func() []string {
		var s []string
		for _, p := range lib.Problems() {
			s = append(s, p.Error())
		}
		return s
	}(), "\n")
	for _, f := range append(builtins, examples...) {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if otherKind(data) {
				t.Skip("not a runbook")
			}
			rb, err := Load(f, data, cat)
			if err == nil {
				if rb.Metadata.Name+".yaml" != filepath.Base(f) {
					t.Errorf("%s declares name %q; name the file after it", f, rb.Metadata.Name)
				}
				return
			}
			if !strings.Contains(err.Error(), "unknown action") {
				t.Fatalf("%v", err)
			}
			// A built-in may use actions the test catalog lacks (AWS);
			// then the library must say so rather than drop it.
			if strings.HasPrefix(f, "builtin/") && !strings.Contains(problems, "embedded:"+filepath.Base(f)) {
				t.Fatalf("%s does not load and is not reported by Problems(): %v", f, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, "unknown action") {
					t.Errorf("problem other than a missing action: %s", line)
				}
			}
			if strings.HasPrefix(f, "../examples/") {
				t.Errorf("examples must use core actions only: %v", err)
			}
		})
	}
}

func TestLibrarySkipsOtherQuenchFilesOnly(t *testing.T) {
	dir := t.TempDir()
	writeRunbook(t, dir, "a.yaml", "alpha", "a")
	if err := os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte("apiVersion: quench/v1\nkind: Routes\nroutes: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := NewLibrary(newTestCatalog(), dir)
	if err != nil {
		t.Fatalf("a routes file beside the runbooks: %v", err)
	}
	if _, ok := lib.Get("alpha"); !ok {
		t.Fatal("alpha not loaded")
	}
	typo := filepath.Join(dir, "typo.yaml")
	doc := strings.Replace(header, "kind: Runbook", "kind: Runbok", 1) + "steps:\n  - {id: a, action: core.log, with: {message: hi}}\n"
	if err := os.WriteFile(typo, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewLibrary(newTestCatalog(), dir)
	if err == nil || !strings.Contains(err.Error(), typo+`:2:7: kind must be "Runbook", got "Runbok"`) {
		t.Fatalf("a runbook with a mistyped kind must be reported, got %v", err)
	}
}

func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("builtin/quench-selftest.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cat := newTestCatalog()
	for b.Loop() {
		if _, err := Load("selftest.yaml", data, cat); err != nil {
			b.Fatal(err)
		}
	}
}
