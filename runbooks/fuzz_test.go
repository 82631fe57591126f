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

// FuzzRender: templates come from runbooks too; evaluating one must give a
// value or an error, never a panic inside the workflow.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"${{ params.role }}", "x ${{ params.limit * 2 }} y", "${{ incident.labels.map(k, k) }}",
		"${{ steps.deny.output.missing }}", "${{", "}}${{}}", "${{ [1,2,3].map(x, x * x) }}",
	} {
		f.Add(s)
	}
	v := testVars()
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Render(s, v)
		_, _ = EvalBool(s, v)
	})
}
