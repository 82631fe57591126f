package strictyaml

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Each reader of a typed value names the field by the last part of its
// path and leaves into unchanged when the value is wrong.

// Str reads a string.
func (r *Reader) Str(n *yaml.Node, path string, into *string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		r.Errorf(n, "%q must be a string, got %s", Last(path), Describe(n))
		return
	}
	if r.sized(n, path) {
		*into = n.Value
	}
}

// sized refuses a string longer than MaxString.
func (r *Reader) sized(n *yaml.Node, path string) bool {
	if r.MaxString > 0 && len(n.Value) > r.MaxString {
		r.Errorf(n, "%q is %d bytes long; a string may be at most %s", Last(path), len(n.Value), Bytes(r.MaxString))
		return false
	}
	return true
}

// Bytes writes a size limit for people: "64 KiB (65536 bytes)".
func Bytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Int reads an integer.
func (r *Reader) Int(n *yaml.Node, path string, into *int) {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		r.Errorf(n, "%q must be an integer, got %s", Last(path), Describe(n))
		return
	}
	*into = v
}

// AtLeastOne reads an integer that must be 1 or more: 0 would silently
// mean "unset" or "unlimited" to many fields, so it is refused.
func (r *Reader) AtLeastOne(n *yaml.Node, path string, into *int) {
	var v int
	r.Int(n, path, &v)
	if v < 1 && n.ShortTag() == "!!int" {
		r.Errorf(n, "%q must be at least 1, got %s", Last(path), n.Value)
		return
	}
	*into = v
}

// Float reads a number.
func (r *Reader) Float(n *yaml.Node, path string, into *float64) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil {
		r.Errorf(n, "%q must be a number, got %s", Last(path), Describe(n))
		return
	}
	*into = v
}

// Bool reads true or false.
func (r *Reader) Bool(n *yaml.Node, path string, into *bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		r.Errorf(n, "%q must be true or false, got %s", Last(path), Describe(n))
		return
	}
	*into = v
}

// Duration reads a positive Go duration ("30s", "15m", "1h30m").
func (r *Reader) Duration(n *yaml.Node, path string, into *time.Duration) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		r.Errorf(n, "%q must be a duration such as \"30s\", \"15m\" or \"1h\", got %s", Last(path), Describe(n))
		return
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		r.Errorf(n, "%q: invalid duration %s (use e.g. \"30s\", \"15m\", \"1h30m\")", Last(path), Quote(n.Value))
		return
	}
	if d <= 0 {
		r.Errorf(n, "%q must be greater than zero, got %q", Last(path), n.Value)
		return
	}
	*into = d
}

// StrList reads a list of strings; null is an empty list.
func (r *Reader) StrList(n *yaml.Node, path string, into *[]string) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.Errorf(n, "%q must be a list of strings, got %s", Last(path), Describe(n))
		return
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.ShortTag() != "!!str" {
			r.Errorf(item, "%q must be a list of strings; item %d is %s", Last(path), i+1, Describe(item))
			continue
		}
		if r.sized(item, Index(path, i)) {
			out = append(out, item.Value)
		}
	}
	*into = out
}

// Value reads any YAML value into plain Go: string, int, float64, bool,
// nil, []any, map[string]any. Timestamps stay strings. ok is false when a
// problem was recorded.
func (r *Reader) Value(n *yaml.Node, path string) (v any, ok bool) {
	switch n.Kind {
	case yaml.AliasNode:
		r.alias(n)
		return nil, false
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, item := range n.Content {
			r.at(Index(path, i), item)
			v, itemOK := r.Value(item, Index(path, i))
			ok = ok && itemOK
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		entries := r.Entries(n, path, fmt.Sprintf("%q", Last(path)))
		ok := len(entries) == len(n.Content)/2
		for _, e := range entries {
			v, valOK := r.Value(e.Value, Join(path, e.Name))
			ok = ok && valOK
			out[e.Name] = v
		}
		return out, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			if !r.sized(n, path) {
				return nil, false
			}
			return n.Value, true
		case "!!null":
			return nil, true
		case "!!int":
			var v int
			if err := n.Decode(&v); err != nil {
				r.Errorf(n, "%q: integer %s out of range", Last(path), n.Value)
				return nil, false
			}
			return v, true
		case "!!float":
			var v float64
			if err := n.Decode(&v); err != nil {
				r.Errorf(n, "%q: invalid number %s", Last(path), n.Value)
				return nil, false
			}
			return v, true
		case "!!bool":
			var v bool
			if err := n.Decode(&v); err != nil {
				r.Errorf(n, "%q: invalid boolean %s", Last(path), n.Value)
				return nil, false
			}
			return v, true
		}
	}
	r.Errorf(n, "%q: unsupported value %s", Last(path), Describe(n))
	return nil, false
}

// Suggest returns ` (did you mean "x"?)` for the closest known name, if any is close.
func Suggest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if d <= max(1, len(k)/3) && (bestD < 0 || d < bestD) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
