package runbooks

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds the parser and validator arbitrary bytes: runbooks come
// from files anyone can edit, and a bad one must give errors, never a panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("builtin/*.yaml")
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, file := range append(files, examples...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(paramsRunbook))
	f.Add([]byte(header + "steps:\n  - id: a\n    approval: {message: 'ok?', escalate: {after: 1m, to: {cli_users: [b]}}}\n    when: 'steps.a.output[\"x\"] == params.y'\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("- 1\n---\n- 2\n"))
	cat := newTestCatalog()
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := Parse("fuzz.yaml", data)
		if err == nil && rb == nil {
			t.Fatal("Parse returned neither a runbook nor an error")
		}
		if err == nil {
			_ = Validate(rb, cat)
		}
		_, _ = Load("fuzz.yaml", data, cat)
	})
}
