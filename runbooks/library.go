package runbooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// EnvRunbooks names the environment variable listing extra runbook
// directories, colon-separated.
const EnvRunbooks = "QUENCH_RUNBOOKS"

// DirsFromEnv returns the runbook directories listed in QUENCH_RUNBOOKS.
func DirsFromEnv() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv(EnvRunbooks)) {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Library is the set of runbooks a CLI or worker can run: the built-in
// ones plus those in runbook directories, which override built-ins of the
// same name. Runbooks it returns are shared: do not modify them.
type Library struct {
	byName   map[string]*Runbook
	problems []error
}

// NewLibrary loads the built-in runbooks and every *.yaml and *.yml file in
// dirs, validated against cat.
//
// A built-in that does not validate (say, its AWS actions are not
// registered in this binary) is left out and reported by Problems, so the
// rest stay usable. A file in dirs that does not validate, an unreadable
// directory, or two files declaring the same name are errors: a runbook
// someone wrote must not be silently skipped, least of all in favour of
// the built-in it meant to override.
func NewLibrary(cat Catalog, dirs ...string) (*Library, error) {
	l := &Library{byName: map[string]*Runbook{}}
	builtins, err := fs.Glob(builtinFS, "builtin/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list built-in runbooks: %w", err)
	}
	for _, name := range builtins {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read built-in runbook %s: %w", name, err)
		}
		rb, err := Load("embedded:"+path.Base(name), data, cat)
		if err != nil {
			l.problems = append(l.problems, fmt.Errorf("built-in runbook %s skipped:\n%w", path.Base(name), err))
			continue
		}
		if prev, dup := l.byName[rb.Metadata.Name]; dup {
			// Only a mistake in this repository can cause this.
			return nil, fmt.Errorf("built-in runbooks %s and %s are both named %q", prev.Source, rb.Source, rb.Metadata.Name)
		}
		l.byName[rb.Metadata.Name] = rb
	}

	fromFiles := map[string]string{} // name -> path
	var errs []error
	for _, dir := range dirs {
		files, err := runbookFiles(dir)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("read runbook %s: %w", file, err)
			}
			if otherKind(data) {
				continue // another quench file (e.g. kind: Routes) kept beside the runbooks
			}
			rb, err := Load(file, data, cat)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			name := rb.Metadata.Name
			if prev, dup := fromFiles[name]; dup {
				errs = append(errs, fmt.Errorf("runbook %q is defined twice: in %s and in %s", name, prev, file))
				continue
			}
			fromFiles[name] = file
			l.byName[name] = rb
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("load runbooks: %w", errors.Join(errs...))
	}
	return l, nil
}

// OtherKinds are the kinds of the other quench files that may sit in a
// runbook directory; the library skips them. Any other kind is loaded, so
// a runbook whose kind has a typo is reported, not silently left out.
var OtherKinds = []string{"Routes"}

// otherKind peeks at a YAML file's top-level kind.
func otherKind(data []byte) bool {
	return slices.Contains(OtherKinds, FileKind(data)) // Load reports any problem with its position
}

// runbookFiles lists a directory's *.yaml and *.yml files, sorted.
func runbookFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read runbook directory %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	return files, nil
}

// Get returns the runbook with this name.
func (l *Library) Get(name string) (*Runbook, bool) {
	rb, ok := l.byName[name]
	return rb, ok
}

// List returns every runbook, sorted by name.
func (l *Library) List() []*Runbook {
	out := make([]*Runbook, 0, len(l.byName))
	for _, name := range slices.Sorted(maps.Keys(l.byName)) {
		out = append(out, l.byName[name])
	}
	return out
}

// Problems returns why built-in runbooks were left out, if any were.
func (l *Library) Problems() []error {
	return append([]error(nil), l.problems...)
}
