package awsfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is the whole state of the fake account: one canonical JSON document
// per resource, keyed by "service/kind/name" (iam/role/app-role,
// bedrock-agent/alias/AGENT00001/ALIAS00001, ...). Two States taken before
// and after an incident compare byte for byte, so a test can prove that a
// rollback left every resource as it found it, and see exactly what did not
// come back.
//
// It holds what AWS would hold: resources, their settings and the history
// AWS keeps of them (guardrail versions, alias routing history, parameter
// versions, ingestion jobs, idempotency tokens). It leaves out the fake's
// own machinery: fault queues, settle counters, consistency lag, the call
// log, and STS, which holds no resources.
type State map[string]string

// stateful is a service handler that can list its resources.
type stateful interface {
	state() map[string]any
}

// State returns the state of every registered service.
func (s *Server) State() State {
	s.mu.Lock()
	services := maps.Clone(s.services)
	s.mu.Unlock()
	out := State{}
	for _, h := range services {
		st, ok := h.(stateful)
		if !ok {
			continue
		}
		for key, v := range st.state() {
			b, err := json.Marshal(v)
			if err != nil {
				panic(fmt.Sprintf("awsfake: state of %s: %v", key, err)) // a programming error in this package
			}
			out[key] = string(b)
		}
	}
	return out
}

// Change is one value that differs between two States.
type Change struct {
	Resource string // the State key
	// Path is the JSON path inside the resource ("policies.quench-deny",
	// "AgentAliasHistoryEvents[0]"); "" when the resource itself was added
	// or removed.
	Path          string
	Before, After string // JSON; "" when absent
}

func (c Change) String() string {
	where := c.Resource
	if c.Path != "" {
		where += " " + c.Path
	}
	switch {
	case c.Before == "":
		return where + ": added " + c.After
	case c.After == "":
		return where + ": removed (was " + c.Before + ")"
	}
	return where + ": " + c.Before + " -> " + c.After
}

// Diff lists what differs from st to after, resource by resource and
// value by value, in a stable order. Nil means byte-identical.
func (st State) Diff(after State) []Change {
	var out []Change
	keys := slices.Sorted(maps.Keys(st))
	for k := range after {
		if _, ok := st[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b, a := st[k], after[k]
		switch {
		case b == a:
		case b == "" || a == "":
			out = append(out, Change{Resource: k, Before: b, After: a})
		default:
			var bv, av any
			_ = json.Unmarshal([]byte(b), &bv)
			_ = json.Unmarshal([]byte(a), &av)
			out = append(out, diffValues(k, "", bv, av)...)
		}
	}
	return out
}

func diffValues(resource, path string, b, a any) []Change {
	if reflect.DeepEqual(b, a) {
		return nil
	}
	bm, bok := b.(map[string]any)
	am, aok := a.(map[string]any)
	if bok && aok {
		var out []Change
		keys := slices.Sorted(maps.Keys(bm))
		for k := range am {
			if _, ok := bm[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			out = append(out, diffPresent(resource, joinPath(path, k), bm, am, k)...)
		}
		return out
	}
	bl, bok := b.([]any)
	al, aok := a.([]any)
	if bok && aok {
		var out []Change
		for i := 0; i < max(len(bl), len(al)); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(bl):
				out = append(out, Change{Resource: resource, Path: p, After: jsonText(al[i])})
			case i >= len(al):
				out = append(out, Change{Resource: resource, Path: p, Before: jsonText(bl[i])})
			default:
				out = append(out, diffValues(resource, p, bl[i], al[i])...)
			}
		}
		return out
	}
	return []Change{{Resource: resource, Path: path, Before: jsonText(b), After: jsonText(a)}}
}

func diffPresent(resource, path string, bm, am map[string]any, k string) []Change {
	bv, bok := bm[k]
	av, aok := am[k]
	switch {
	case !bok:
		return []Change{{Resource: resource, Path: path, After: jsonText(av)}}
	case !aok:
		return []Change{{Resource: resource, Path: path, Before: jsonText(bv)}}
	}
	return diffValues(resource, path, bv, av)
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Resources lists the resources Changes touch, each once, sorted.
func Resources(changes []Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Resource)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func timeState(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (i *IAM) state() map[string]any {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]any{}
	for name, r := range i.roles {
		out["iam/role/"+name] = map[string]any{
			"path": r.path, "id": r.id, "max_session_seconds": r.maxSession, "created": timeState(r.created),
			"inline_policies": maps.Clone(r.policies),
		}
	}
	for name, u := range i.users {
		var keys, creds []any
		for _, k := range u.keys {
			keys = append(keys, map[string]any{"id": k.id, "status": k.status, "created": timeState(k.created)})
		}
		for _, c := range u.creds {
			creds = append(creds, map[string]any{"id": c.id, "service": c.service, "status": c.status, "created": timeState(c.created)})
		}
		out["iam/user/"+name] = map[string]any{
			"id": u.id, "created": timeState(u.created), "access_keys": keys, "service_specific_credentials": creds,
			"inline_policies": maps.Clone(u.policies),
		}
	}
	return out
}

func (l *Lambda) state() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]any{}
	for name, n := range l.functions {
		var reserved any // null: no reservation
		if n != nil {
			reserved = *n
		}
		out["lambda/function/"+name] = map[string]any{"reserved_concurrency": reserved}
	}
	return out
}

func (a *APIGateway) state() map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]any{}
	for id, p := range a.plans {
		var throttle any
		if p.throttle != nil {
			throttle = map[string]any{"rate_limit": p.throttle.RateLimit, "burst_limit": p.throttle.BurstLimit}
		}
		out["apigateway/usage-plan/"+id] = map[string]any{"name": p.name, "throttle": throttle}
	}
	for id, k := range a.keys {
		out["apigateway/api-key/"+id] = map[string]any{"name": k.name, "enabled": k.enabled}
	}
	return out
}

func (s *SSM) state() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for name, p := range s.params {
		out["ssm/parameter/"+strings.TrimPrefix(name, "/")] = map[string]any{
			"value": p.value, "type": p.typ, "version": p.version, "last_modified": timeState(p.modified),
		}
	}
	return out
}

func (c *CloudWatch) state() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]any{}
	for key, s := range c.series {
		var points []any
		for _, p := range s.points {
			points = append(points, map[string]any{"at": timeState(p.At), "value": p.Value})
		}
		out["cloudwatch/metric/"+key] = map[string]any{"namespace": s.namespace, "name": s.name, "dimensions": s.dims, "points": points}
	}
	return out
}

func (b *Bedrock) state() map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]any{"bedrock/model-invocation-logging": b.logging}
	for id, g := range b.guardrails {
		out["bedrock/guardrail/"+id] = map[string]any{"draft": g.draft, "versions": g.versions, "client_tokens": g.tokens}
	}
	return out
}

func (b *BedrockAgent) state() map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]any{}
	for id, a := range b.agents {
		out["bedrock-agent/agent/"+id] = a.agent
	}
	for key, a := range b.aliases {
		out["bedrock-agent/alias/"+key] = a.alias
	}
	for key, kb := range b.agentKBs {
		out["bedrock-agent/agent-knowledge-base/"+key] = kb
	}
	for key, g := range b.actionGroups {
		out["bedrock-agent/agent-action-group/"+key] = g
	}
	for id, kb := range b.kbs {
		out["bedrock-agent/knowledge-base/"+id] = kb
	}
	for key, ds := range b.dataSources {
		out["bedrock-agent/data-source/"+key] = ds
	}
	for key, jobs := range b.jobs {
		var list []any
		for _, j := range jobs {
			list = append(list, j.job)
		}
		out["bedrock-agent/ingestion-jobs/"+key] = list
	}
	if len(b.jobTokens) > 0 {
		out["bedrock-agent/ingestion-job-client-tokens"] = b.jobTokens
	}
	for key, docs := range b.docs {
		if len(docs) > 0 {
			out["bedrock-agent/knowledge-base-documents/"+key] = docs
		}
	}
	return out
}

func (s *S3) state() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for name, b := range s.buckets {
		out["s3/bucket/"+name] = map[string]any{"versioned": b.versioned, "policy": b.policy}
		byKey := map[string][]any{}
		for _, v := range b.versions {
			byKey[v.Key] = append(byKey[v.Key], map[string]any{
				"version_id": v.VersionID, "delete_marker": v.DeleteMarker, "etag": v.ETag, "size": v.Size, "last_modified": timeState(v.Modified),
			})
		}
		for key, versions := range byKey {
			out["s3/object/"+name+"/"+key] = versions
		}
	}
	return out
}

func (c *CloudTrail) state() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]any{}
	for _, e := range c.events {
		out["cloudtrail/event/"+e.Region+"/"+e.ID] = e.record()
	}
	return out
}
