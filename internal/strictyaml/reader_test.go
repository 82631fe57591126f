package strictyaml

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// read decodes doc with a table of two string fields and returns the errors.
func read(t *testing.T, doc string, maxString int) (map[string]string, string) {
	t.Helper()
	r := &Reader{Source: "f.yaml", Kind: "test", MaxString: maxString, Pos: map[string]Pos{}}
	got := map[string]string{}
	if root := r.Document([]byte(doc), "empty file"); root != nil {
		var name, title string
		r.Mapping(root, "", "top", []Field{
			{Name: "name", Read: func(v *yaml.Node, path string) { r.Str(v, path, &name) }},
			{Name: "title", Read: func(v *yaml.Node, path string) { r.Str(v, path, &title) }},
		})
		got["name"], got["title"] = name, title
	}
	if err := r.Errs.Err(); err != nil {
		return got, err.Error()
	}
	return got, ""
}

func TestReaderReportsProblemsWithPositions(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"did you mean", "name: a\ntitl: b\n", `f.yaml:2:1: unknown field "titl" in top (did you mean "title"?)`},
		{"allowed fields when nothing is close", "zzz: 1\n", `f.yaml:1:1: unknown field "zzz" in top (allowed: name, title)`},
		{"duplicate", "name: a\nname: b\n", `f.yaml:2:1: duplicate field "name" in top (first set at line 1)`},
		{"wrong type", "name: [a]\n", `f.yaml:1:7: "name" must be a string, got a list`},
		{"alias", "name: &x a\ntitle: *x\n", `f.yaml:2:8: YAML aliases (*x) are not supported in tests`},
		{"merge key", "<<: {name: a}\n", `f.yaml:1:1: unsupported key in top: keys must be plain names`},
		{"second document", "name: a\n---\nname: b\n", `f.yaml:2:1: a test file holds one YAML document; found a second one`},
		{"empty", "", `f.yaml:1:1: empty file`},
		{"invalid YAML", "name: [a\n", `f.yaml:1: invalid YAML: did not find expected`},
		{"not a mapping", "- a\n", `f.yaml:1:1: top must be a mapping, got a list`},
		{"long string", "name: abcdef\n", `f.yaml:1:7: "name" is 6 bytes long; a string may be at most 5 bytes`},
		{"huge value is quoted short", "name: [" + strings.Repeat("x", 100) + "]\ntitle: 1\n", `"title" must be a string, got the integer 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, tt.doc, 5)
			if !strings.Contains(err, tt.want) {
				t.Errorf("errors\n%s\ndo not contain\n%s", err, tt.want)
			}
		})
	}
}

func TestReaderRecordsPositionsAndValues(t *testing.T) {
	r := &Reader{Source: "f.yaml", Kind: "test", Pos: map[string]Pos{}}
	root := r.Document([]byte("with:\n  role: x\n  n: [1, 2.5, true, ~, 2024-01-01]\n"), "empty")
	var v any
	r.Mapping(root, "", "top", []Field{{Name: "with", Read: func(n *yaml.Node, path string) { v, _ = r.Value(n, path) }}})
	if err := r.Errs.Err(); err != nil {
		t.Fatal(err)
	}
	want := `map[n:[1 2.5 true <nil> 2024-01-01] role:x]`
	if got := fmt.Sprint(v); got != want {
		t.Errorf("value %s, want %s", got, want)
	}
	for path, want := range map[string]Pos{"with.role": {2, 9}, "with.role" + KeySuffix: {2, 3}, "with.n[1]": {3, 10}} {
		if got := r.Pos[path]; got != want {
			t.Errorf("Pos[%s] = %v, want %v", path, got, want)
		}
	}
}

func TestQuoteCutsLongValues(t *testing.T) {
	if got := Quote("short"); got != `"short"` {
		t.Errorf("Quote = %s", got)
	}
	if got := Quote(strings.Repeat("é", 100)); !strings.HasSuffix(got, `… (200 bytes)`) || len(got) > 80 {
		t.Errorf("Quote = %s", got)
	}
}
