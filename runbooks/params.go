package runbooks

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/quenchhq/quench/internal/strictyaml"
)

// ResolveParams turns `-p key=value` strings into the runbook's typed
// params: int, bool, list (comma-separated) or string. Declared params
// that are not given take their default, or their type's zero value ("",
// 0, false, empty list) when optional, so expressions can always read
// them. Unknown and missing required params, and values that break a
// pattern or enum, are errors naming the param.
func ResolveParams(rb *Runbook, given map[string]string) (map[string]any, error) {
	typed := make(map[string]any, len(given))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(given)) {
		spec, ok := rb.Params[name]
		if !ok {
			typed[name] = given[name] // reported as unknown by resolve
			continue
		}
		v, err := fromString(name, spec, given[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		typed[name] = v
	}
	out, err := resolve(rb, typed)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// CheckParams is ResolveParams for params that already have types, such
// as those an alert route produces. JSON numbers (float64) are accepted
// for int params when whole; strings are converted as on the command line.
func CheckParams(rb *Runbook, given map[string]any) (map[string]any, error) {
	typed := make(map[string]any, len(given))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(given)) {
		spec, ok := rb.Params[name]
		v := given[name]
		if s, isString := v.(string); ok && isString && spec.Type != "string" {
			var err error
			if v, err = fromString(name, spec, s); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		typed[name] = v
	}
	out, err := resolve(rb, typed)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// resolve checks typed values against the specs and fills in defaults.
func resolve(rb *Runbook, given map[string]any) (map[string]any, error) {
	var errs []error
	declared := slices.Sorted(maps.Keys(rb.Params))
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := rb.Params[name]; !ok {
			errs = append(errs, fmt.Errorf("unknown param %q for runbook %s%s (it takes %s)", name, rb.Metadata.Name, strictyaml.Suggest(name, declared), orNoParams(declared)))
		}
	}
	out := make(map[string]any, len(rb.Params))
	for _, name := range declared {
		spec := rb.Params[name]
		v, ok := given[name]
		switch {
		case ok:
		case spec.Default != nil:
			v = spec.Default
		case spec.Required:
			errs = append(errs, fmt.Errorf("missing required param %q (%s)", name, describeParam(spec)))
			continue
		default:
			v = zero(spec.Type)
		}
		tv, err := convertTyped(name, spec, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok || spec.Default != nil {
			if err := checkValue(name, spec, nil, tv); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out[name] = tv
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func orNoParams(names []string) string {
	if len(names) == 0 {
		return "no params"
	}
	return list(names)
}

func describeParam(spec ParamSpec) string {
	d := spec.Type
	if spec.Description != "" {
		d += ": " + spec.Description
	}
	return d
}

func zero(typ string) any {
	switch typ {
	case "int":
		return 0
	case "bool":
		return false
	case "list":
		return []any{}
	}
	return ""
}

// fromString converts a command-line value to the param's type.
func fromString(name string, spec ParamSpec, s string) (any, error) {
	switch spec.Type {
	case "int":
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("param %q must be an integer, got %q", name, s)
		}
		return n, nil
	case "bool":
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("param %q must be true or false, got %q", name, s)
		}
		return b, nil
	case "list":
		out := []any{}
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	}
	return s, nil
}

// convertTyped checks a typed value against the param's type and returns
// it in canonical form (int, bool, string, []any of strings).
func convertTyped(name string, spec ParamSpec, v any) (any, error) {
	bad := func(want string) error {
		return fmt.Errorf("param %q must be %s, got %s", name, want, describeValue(v))
	}
	switch spec.Type {
	case "string":
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, bad("a string")
	case "int":
		if n, ok := asInt(v); ok {
			return n, nil
		}
		return nil, bad("an integer")
	case "bool":
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, bad("true or false")
	case "list":
		var items []any
		switch l := v.(type) {
		case []any:
			items = l
		case []string:
			for _, s := range l {
				items = append(items, s)
			}
		default:
			return nil, bad("a list of strings")
		}
		out := make([]any, 0, len(items))
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("param %q must be a list of strings; item %d is %s", name, i+1, describeValue(item))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("param %q has unknown type %q", name, spec.Type)
}

// checkValue enforces a param's pattern and enum on a canonical value (a
// string, or each item of a list). re is the compiled pattern, or nil to
// compile it here.
func checkValue(name string, spec ParamSpec, re *regexp.Regexp, v any) error {
	var items []string
	switch v := v.(type) {
	case string:
		items = []string{v}
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok {
				items = append(items, s)
			}
		}
	default:
		return nil
	}
	if re == nil && spec.Pattern != "" {
		var err error
		if re, err = regexp.Compile(spec.Pattern); err != nil {
			return fmt.Errorf("param %q: invalid pattern %q: %w", name, spec.Pattern, err)
		}
	}
	for _, s := range items {
		if re != nil && !re.MatchString(s) {
			return fmt.Errorf("param %q: %q does not match pattern %s", name, s, spec.Pattern)
		}
		if len(spec.Enum) > 0 && !slices.Contains(spec.Enum, s) {
			return fmt.Errorf("param %q must be one of %s, got %q", name, list(spec.Enum), s)
		}
	}
	return nil
}
