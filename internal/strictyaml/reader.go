package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Pos is a 1-based position in the source.
type Pos struct{ Line, Col int }

// KeySuffix marks the position of a mapping key rather than its value
// ("steps[0].with.role#key"), for errors about the key itself.
const KeySuffix = "#key"

// Reader reads the nodes of one YAML document and collects every problem
// in Errs, so a file's mistakes are reported together.
type Reader struct {
	Source string
	// Kind names the file in messages: "runbook" gives "a runbook file
	// holds one YAML document" and "aliases are not supported in runbooks".
	Kind string
	// MaxString, when positive, is the longest string value accepted, in bytes.
	MaxString int
	// Pos, when not nil, records where each value read was written, by
	// path ("steps[2].with.role", built with Join and Index), so later
	// checks can point at it.
	Pos  map[string]Pos
	Errs Errors
}

// Add records a problem at line and col (0: unknown).
func (r *Reader) Add(line, col int, format string, args ...any) {
	r.Errs = append(r.Errs, &Error{Source: r.Source, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// Errorf records a problem at a node; a nil node has no position.
func (r *Reader) Errorf(n *yaml.Node, format string, args ...any) {
	if n == nil {
		r.Add(0, 0, format, args...)
		return
	}
	r.Add(n.Line, n.Column, format, args...)
}

func (r *Reader) at(path string, n *yaml.Node) {
	if r.Pos != nil {
		r.Pos[path] = Pos{n.Line, n.Column}
	}
}

// Document decodes exactly one YAML document and returns its root node,
// or nil after recording why not. empty is the message for a file with no
// content.
func (r *Reader) Document(data []byte, empty string) (root *yaml.Node) {
	// yaml.v3 has panicked on malformed input before; a file must never
	// take the CLI or a server down with it.
	defer func() {
		if p := recover(); p != nil {
			r.Add(0, 0, "invalid YAML: %v", p)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.Add(1, 1, "%s", empty)
		} else {
			r.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		r.yamlError(err)
		return nil
	default:
		r.Add(extra.Line, extra.Column, "a %s file holds one YAML document; found a second one (remove the \"---\" separator or split the file)", r.Kind)
		return nil
	}
	if len(doc.Content) != 1 {
		r.Add(1, 1, "%s", empty)
		return nil
	}
	return doc.Content[0]
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns yaml.v3's "yaml: line N: msg" into a positioned error.
func (r *Reader) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.Add(line, 0, "invalid YAML: %s", m[2])
		return
	}
	r.Add(0, 0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// Field is one known key of a mapping and how to read its value. A nil
// Read accepts the key; the caller reads the value from Mapping's result.
type Field struct {
	Name string
	Read func(v *yaml.Node, path string)
}

// Entry is one key of a mapping and its value.
type Entry struct {
	Name       string
	Key, Value *yaml.Node
}

// Mapping reads the known fields of a mapping node, reporting unknown and
// duplicate keys and aliases. what names the mapping in messages ("step",
// "metadata"). It returns the entries seen, by name. A null node counts
// as empty.
func (r *Reader) Mapping(n *yaml.Node, path, what string, fields []Field) map[string]Entry {
	seen := map[string]Entry{}
	for _, e := range r.entries(n, path, what, "field") {
		i := slices.IndexFunc(fields, func(f Field) bool { return f.Name == e.Name })
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.Name
			}
			r.Errorf(e.Key, "unknown field %s in %s%s", Quote(e.Name), what, hint(e.Name, names))
			continue
		}
		seen[e.Name] = e
		if e.Value.Kind == yaml.AliasNode {
			r.alias(e.Value)
			continue
		}
		if read := fields[i].Read; read != nil {
			read(e.Value, Join(path, e.Name))
		}
	}
	return seen
}

// Entries returns the entries of a mapping whose keys are names of the
// user's choosing (params, labels), in order, reporting keys that are not
// plain names and duplicates. A null node counts as empty.
func (r *Reader) Entries(n *yaml.Node, path, what string) []Entry {
	return r.entries(n, path, what, "key")
}

func (r *Reader) entries(n *yaml.Node, path, what, noun string) []Entry {
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		r.Errorf(n, "%s must be a mapping, got %s", what, Describe(n))
		return nil
	}
	lines := map[string]int{}
	out := make([]Entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			r.Errorf(k, "unsupported key in %s: keys must be plain names", what)
			continue
		}
		name := k.Value
		if first, dup := lines[name]; dup {
			r.Errorf(k, "duplicate %s %q in %s (first set at line %d)", noun, name, what, first)
			continue
		}
		lines[name] = k.Line
		child := Join(path, name)
		r.at(child, v)
		r.at(child+KeySuffix, k)
		out = append(out, Entry{Name: name, Key: k, Value: v})
	}
	return out
}

func (r *Reader) alias(n *yaml.Node) {
	r.Errorf(n, "YAML aliases (*%s) are not supported in %ss; write the value out", n.Value, r.Kind)
}

// hint suggests the closest known name, or lists them all.
func hint(name string, known []string) string {
	if s := Suggest(name, known); s != "" {
		return s
	}
	return " (allowed: " + strings.Join(known, ", ") + ")"
}

// Join builds the path of a mapping value.
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index builds the path of a list item.
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// Last is the final name of a path, for messages.
func Last(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// IsNull reports whether n is an explicit or implicit null.
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// Describe names what a node holds, for "got ..." messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "the string " + Quote(n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "no value"
	case "!!timestamp":
		return "the timestamp " + n.Value
	}
	return fmt.Sprintf("a value tagged %s", n.ShortTag())
}

// Quote quotes s for a message, cut short when long so that a huge value
// does not become a huge error.
func Quote(s string) string {
	const keep = 60
	if len(s) <= keep {
		return strconv.Quote(s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
