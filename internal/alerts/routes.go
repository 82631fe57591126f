package alerts

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quenchhq/quench/internal/strictyaml"
	"github.com/quenchhq/quench/runbooks"
)

// RoutesKind is the kind of a routing file.
const RoutesKind = "Routes"

// Routes is a parsed, validated routing file (routes.yaml).
type Routes struct {
	Source  string                   // where it was read from, for messages
	Sources map[string]*SourceConfig // by source name
	Routes  []*Route                 // in file order; the first match wins
}

// SourceConfig says how one source authenticates and how fast it may post.
type SourceConfig struct {
	// BearerTokenEnv names the environment variable holding the bearer token.
	BearerTokenEnv string
	// HMACSecretEnv names the environment variable holding the HMAC secret.
	HMACSecretEnv string
	// RejectReplays refuses (409) an HMAC-signed request whose signature
	// was already accepted inside the signature window (hmac only).
	RejectReplays bool
	// TopicARNs are the SNS topics accepted (sns only).
	TopicARNs []string
	// RatePerSecond and Burst size the source's token bucket (0: defaults).
	RatePerSecond float64
	Burst         int
}

// Default rate limit per source: alert storms are folded, so a sender
// needs a large burst but little sustained rate.
const (
	DefaultRatePerSecond = 50
	DefaultBurst         = 1000
)

// Route maps matching alerts to a runbook.
type Route struct {
	Name  string
	Match Match
	// Except, when set, turns away alerts that Match takes: e.g. the
	// CloudTrail events of quench's own worker role, which calls the same
	// APIs an attacker does when it tightens a guardrail.
	Except      *Match
	Runbook     string
	Params      map[string]any // as written; strings may hold ${{ }} templates
	DedupKey    string         // template; empty: runbook + identifying params
	Severity    string
	ResolveOnOK bool
	// Line and Col locate the route in its file.
	Line, Col int

	params map[string]any // Params with strings compiled to *template
	dedup  *template
}

// Match selects alerts. Empty fields match anything; all set fields must match.
type Match struct {
	Source      string
	AlarmName   *Pattern
	FindingType *Pattern
	Labels      map[string]*Pattern
}

// Pattern is an exact string, a glob (* and ?) or a /regex/.
type Pattern struct {
	Text string
	re   *regexp.Regexp // nil: exact
}

// ParsePattern compiles a match pattern.
func ParsePattern(s string) (*Pattern, error) {
	p := &Pattern{Text: s}
	switch {
	case len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/"):
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return nil, fmt.Errorf("bad regex %s: %w", s, err)
		}
		p.re = re
	case strings.ContainsAny(s, "*?"):
		var b strings.Builder
		b.WriteString("^")
		for _, r := range s {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString("$")
		p.re = regexp.MustCompile(b.String()) // quoted, cannot fail
	}
	return p, nil
}

// Matches reports whether s matches the pattern. A regex matches anywhere
// unless anchored; a glob or an exact string must match all of s.
func (p *Pattern) Matches(s string) bool {
	if p.re == nil {
		return s == p.Text
	}
	return p.re.MatchString(s)
}

// Matches reports whether the route takes the alert.
func (r *Route) Matches(a Alert) bool {
	return r.Match.Matches(a) && (r.Except == nil || !r.Except.Matches(a))
}

// Matches reports whether every field set in m matches the alert.
func (m *Match) Matches(a Alert) bool {
	if m.Source != "" && m.Source != a.Source {
		return false
	}
	if m.AlarmName != nil && !m.AlarmName.Matches(a.Name) {
		return false
	}
	if m.FindingType != nil && (a.FindingType == "" || !m.FindingType.Matches(a.FindingType)) {
		return false
	}
	for k, p := range m.Labels {
		v, ok := a.Labels[k]
		if !ok || !p.Matches(v) {
			return false
		}
	}
	return true
}

// Find returns the first route that takes the alert, or nil.
func (rs *Routes) Find(a Alert) *Route {
	for _, r := range rs.Routes {
		if r.Matches(a) {
			return r
		}
	}
	return nil
}

// LoadRoutes reads and validates a routing file. With a library, runbook
// names and params are checked against it.
func LoadRoutes(path string, lib *runbooks.Library) (*Routes, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routes %s: %w", path, err)
	}
	return ParseRoutes(path, data, lib)
}

// ParseRoutes parses and validates a routing file. Every problem is
// reported as "source:line:col: message" (runbooks.Errors).
func ParseRoutes(source string, data []byte, lib *runbooks.Library) (*Routes, error) {
	p := &routesParser{Reader: &strictyaml.Reader{Source: source, Kind: "route"}, lib: lib}
	rs := p.parse(data)
	if err := p.Errs.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

type routesParser struct {
	*strictyaml.Reader
	lib *runbooks.Library
}

var (
	envNamePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	routeNamePattern = regexp.MustCompile(`^[a-z0-9-]+$`)
)

func (p *routesParser) parse(data []byte) *Routes {
	root := p.Document(data, fmt.Sprintf("empty routing file: want apiVersion: %s, kind: %s", runbooks.APIVersion, RoutesKind))
	if root == nil {
		return nil
	}
	f := p.fields(root, "routing file", "apiVersion", "kind", "sources", "routes")
	if f == nil {
		return nil
	}
	rs := &Routes{Source: p.Source, Sources: map[string]*SourceConfig{}}
	if v := p.str(f["apiVersion"], root, "apiVersion", true); v != "" && v != runbooks.APIVersion {
		p.Errorf(f["apiVersion"], "apiVersion %q is not supported (want %s)", v, runbooks.APIVersion)
	}
	if v := p.str(f["kind"], root, "kind", true); v != "" && v != RoutesKind {
		p.Errorf(f["kind"], "kind %q is not %s", v, RoutesKind)
	}
	if n := f["sources"]; n != nil {
		p.sources(n, rs)
	} else {
		p.Errorf(root, "missing sources: every endpoint needs its authentication configured")
	}
	n := f["routes"]
	if n == nil {
		p.Errorf(root, "missing routes")
		return rs
	}
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "routes must be a list")
		return rs
	}
	names := map[string]int{}
	for _, rn := range n.Content {
		r := p.route(rn, rs)
		if r == nil {
			continue
		}
		if line, dup := names[r.Name]; dup && r.Name != "" {
			p.Errorf(rn, "route name %q is already used on line %d", r.Name, line)
		}
		names[r.Name] = rn.Line
		rs.Routes = append(rs.Routes, r)
	}
	return rs
}

// fields reads a mapping with only these keys and returns their value
// nodes; nil when n is not a mapping. Unknown, duplicate and aliased
// fields are reported and left out.
func (p *routesParser) fields(n *yaml.Node, what string, names ...string) map[string]*yaml.Node {
	known := make([]strictyaml.Field, len(names))
	for i, name := range names {
		known[i].Name = name
	}
	entries := p.Mapping(n, "", what, known)
	if n.Kind != yaml.MappingNode {
		if strictyaml.IsNull(n) { // Mapping reads null as empty; here it is a mistake
			p.Errorf(n, "%s must be a mapping, got %s", what, strictyaml.Describe(n))
		}
		return nil
	}
	out := make(map[string]*yaml.Node, len(entries))
	for name, e := range entries {
		if e.Value.Kind != yaml.AliasNode {
			out[name] = e.Value
		}
	}
	return out
}

// str reads a scalar as text (a label pattern may be written 500);
// parent locates a missing required field.
func (p *routesParser) str(n, parent *yaml.Node, what string, required bool) string {
	if n == nil {
		if required {
			p.Errorf(parent, "missing %s", what)
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.Errorf(n, "%s must be a string", what)
		return ""
	}
	if required && n.Value == "" {
		p.Errorf(n, "%s must not be empty", what)
	}
	return n.Value
}

func (p *routesParser) sources(n *yaml.Node, rs *Routes) {
	for _, e := range p.Entries(n, "sources", "sources") {
		name, k, v := e.Name, e.Key, e.Value
		if !slices.Contains(Sources, name) {
			p.Errorf(k, "unknown source %q (known: %s)", name, strings.Join(Sources, ", "))
			continue
		}
		what := "source " + name
		sf := p.fields(v, what, "bearer_token_env", "hmac_secret_env", "reject_replays", "topic_arns", "rate_limit")
		if sf == nil {
			continue
		}
		sc := &SourceConfig{
			BearerTokenEnv: p.str(sf["bearer_token_env"], v, what+" bearer_token_env", false),
			HMACSecretEnv:  p.str(sf["hmac_secret_env"], v, what+" hmac_secret_env", false),
		}
		for _, env := range []struct {
			n *yaml.Node
			v string
		}{{sf["bearer_token_env"], sc.BearerTokenEnv}, {sf["hmac_secret_env"], sc.HMACSecretEnv}} {
			if env.n != nil && env.v != "" && !envNamePattern.MatchString(env.v) {
				p.Errorf(env.n, "%q is not an environment variable name (secrets are read from the environment, never written here)", env.v)
			}
		}
		if tn := sf["topic_arns"]; tn != nil {
			if tn.Kind != yaml.SequenceNode {
				p.Errorf(tn, "%s topic_arns must be a list", what)
			} else {
				for _, a := range tn.Content {
					arn := p.str(a, tn, what+" topic arn", true)
					if arn != "" && !strings.HasPrefix(arn, "arn:aws") {
						p.Errorf(a, "%q is not an SNS topic ARN", arn)
					}
					sc.TopicARNs = append(sc.TopicARNs, arn)
				}
			}
		}
		if rn := sf["rate_limit"]; rn != nil {
			p.rateLimit(rn, what, sc)
		}
		if rr := sf["reject_replays"]; rr != nil {
			var on bool
			if rr.Kind != yaml.ScalarNode || rr.Decode(&on) != nil {
				p.Errorf(rr, "%s reject_replays must be true or false", what)
			} else if on && sc.HMACSecretEnv == "" {
				p.Errorf(rr, "%s reject_replays needs hmac_secret_env: only HMAC signatures can be remembered", what)
			}
			sc.RejectReplays = on
		}
		if name == SourceSNS {
			if len(sc.TopicARNs) == 0 {
				p.Errorf(v, "source sns needs topic_arns: only listed topics are accepted")
			}
			if sc.BearerTokenEnv != "" || sc.HMACSecretEnv != "" {
				p.Errorf(v, "source sns is authenticated by its message signature; remove bearer_token_env/hmac_secret_env")
			}
		} else {
			if sc.TopicARNs != nil {
				p.Errorf(sf["topic_arns"], "topic_arns applies to source sns only")
			}
			if (sc.BearerTokenEnv == "") == (sc.HMACSecretEnv == "") {
				p.Errorf(v, "%s needs exactly one of bearer_token_env or hmac_secret_env", what)
			}
		}
		rs.Sources[name] = sc
	}
}

func (p *routesParser) rateLimit(n *yaml.Node, what string, sc *SourceConfig) {
	f := p.fields(n, what+" rate_limit", "per_second", "burst")
	if f == nil {
		return
	}
	if v := f["per_second"]; v != nil {
		r, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || r <= 0 || v.Kind != yaml.ScalarNode {
			p.Errorf(v, "%s rate_limit.per_second must be a positive number", what)
		}
		sc.RatePerSecond = r
	}
	if v := f["burst"]; v != nil {
		b, err := strconv.Atoi(v.Value)
		if err != nil || b <= 0 || v.Kind != yaml.ScalarNode {
			p.Errorf(v, "%s rate_limit.burst must be a positive integer", what)
		}
		sc.Burst = b
	}
}

func (p *routesParser) route(n *yaml.Node, rs *Routes) *Route {
	f := p.fields(n, "route", "name", "match", "except", "runbook", "params", "dedup_key", "severity", "resolve_on_ok")
	if f == nil {
		return nil
	}
	r := &Route{Line: n.Line, Col: n.Column, params: map[string]any{}}
	r.Name = p.str(f["name"], n, "route name", true)
	if r.Name != "" && !routeNamePattern.MatchString(r.Name) {
		p.Errorf(f["name"], "route name %q must be lower-case letters, digits and dashes", r.Name)
	}
	what := fmt.Sprintf("route %q", r.Name)
	if mn := f["match"]; mn != nil {
		p.match(mn, what, "match", rs, &r.Match)
	}
	if en := f["except"]; en != nil {
		r.Except = &Match{}
		p.match(en, what, "except", rs, r.Except)
		if r.Except.empty() {
			p.Errorf(en, "%s except needs at least one of source, alarm_name, finding_type, labels (an empty except turns away every alert)", what)
		}
	}
	r.Runbook = p.str(f["runbook"], n, what+" runbook", true)
	var rb *runbooks.Runbook
	if r.Runbook != "" && p.lib != nil {
		var ok bool
		if rb, ok = p.lib.Get(r.Runbook); !ok {
			p.Errorf(f["runbook"], "%s: unknown runbook %q", what, r.Runbook)
		}
	}
	if pn := f["params"]; pn != nil {
		for _, e := range p.Entries(pn, "params", what+" params") {
			if rb != nil {
				if _, declared := rb.Params[e.Name]; !declared {
					p.Errorf(e.Key, "%s: runbook %s has no param %q", what, r.Runbook, e.Name)
				}
			}
			val, ok := p.Value(e.Value, e.Name)
			if !ok {
				continue
			}
			if r.Params == nil {
				r.Params = map[string]any{}
			}
			r.Params[e.Name] = val
			c, err := alertTemplates.CompileValue(val)
			if err != nil {
				p.Errorf(e.Value, "%s param %s: %v", what, e.Name, err)
				continue
			}
			r.params[e.Name] = c
		}
	}
	if rb != nil {
		for _, name := range slices.Sorted(maps.Keys(rb.Params)) {
			spec := rb.Params[name]
			if _, given := r.Params[name]; spec.Required && spec.Default == nil && !given {
				p.Errorf(n, "%s: runbook %s needs param %q", what, r.Runbook, name)
			}
		}
	}
	if dn := f["dedup_key"]; dn != nil {
		r.DedupKey = p.str(dn, n, what+" dedup_key", true)
		if r.DedupKey != "" {
			t, err := alertTemplates.Parse(r.DedupKey)
			if err != nil {
				p.Errorf(dn, "%s dedup_key: %v", what, err)
			}
			r.dedup = &template{t}
		}
	}
	if sn := f["severity"]; sn != nil {
		r.Severity = p.str(sn, n, what+" severity", true)
		if r.Severity != "" && !slices.Contains(runbooks.Severities, r.Severity) {
			p.Errorf(sn, "%s: severity %q is not one of %s", what, r.Severity, strings.Join(runbooks.Severities, ", "))
		}
	}
	if bn := f["resolve_on_ok"]; bn != nil {
		p.Bool(bn, "resolve_on_ok", &r.ResolveOnOK)
	}
	return r
}

// empty reports whether m sets no field (and so matches every alert).
func (m *Match) empty() bool {
	return m.Source == "" && m.AlarmName == nil && m.FindingType == nil && len(m.Labels) == 0
}

// match parses a match block (field "match", or "except", which has the
// same shape).
func (p *routesParser) match(n *yaml.Node, what, field string, rs *Routes, m *Match) {
	f := p.fields(n, what+" "+field, "source", "alarm_name", "finding_type", "labels")
	if f == nil {
		return
	}
	if sn := f["source"]; sn != nil {
		m.Source = p.str(sn, n, what+" "+field+".source", true)
		switch {
		case m.Source == "":
		case !slices.Contains(Sources, m.Source):
			p.Errorf(sn, "%s: unknown source %q (known: %s)", what, m.Source, strings.Join(Sources, ", "))
		case rs.Sources[m.Source] == nil:
			p.Errorf(sn, "%s: source %q is not configured under sources, so its endpoint refuses every alert", what, m.Source)
		}
	}
	pattern := func(pn *yaml.Node, field string) *Pattern {
		s := p.str(pn, n, what+" "+field, true)
		if s == "" {
			return nil
		}
		pat, err := ParsePattern(s)
		if err != nil {
			p.Errorf(pn, "%s %s: %v", what, field, err)
			return nil
		}
		return pat
	}
	if an := f["alarm_name"]; an != nil {
		m.AlarmName = pattern(an, field+".alarm_name")
	}
	if fn := f["finding_type"]; fn != nil {
		m.FindingType = pattern(fn, field+".finding_type")
	}
	if ln := f["labels"]; ln != nil {
		for _, e := range p.Entries(ln, "labels", what+" "+field+".labels") {
			if pat := pattern(e.Value, field+".labels."+e.Name); pat != nil {
				if m.Labels == nil {
					m.Labels = map[string]*Pattern{}
				}
				m.Labels[e.Name] = pat
			}
		}
	}
}
