package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// containment is what one incident's runbook sets on the shared targets.
type containment struct {
	reserved int32
	rate     float64
	burst    int32
}

// sharedTargetsRunbook contains the same Lambda, usage plan, agent alias
// and access key at c's values.
func sharedTargetsRunbook(t *testing.T, cat runbooks.Catalog, c containment) runbooks.Runbook {
	t.Helper()
	return load(t, cat, fmt.Sprintf(`apiVersion: quench/v1
kind: Runbook
metadata: {name: contain-shared, severity: high}
steps:
  - {id: limit, action: lambda.limit_concurrency, with: {function_name: chat-backend, reserved: %d}}
  - {id: throttle, action: apigateway.throttle_usage_plan, with: {usage_plan_id: abc123, rate_limit: %g, burst_limit: %d}}
  - {id: pause-alias, action: bedrock.pause_agent_alias, with: {agent_id: %s, alias_id: %s}}
  - {id: deactivate-key, action: iam.deactivate_access_key, with: {access_key_id: AKIAIOSFODNN7EXAMPLE, user_name: Alice}}
on_resolve: rollback
`, c.reserved, c.rate, c.burst, agentID, aliasID))
}

// sharedState is the fake's state of the four shared targets.
type sharedState struct {
	reserved int32
	rate     float64
	burst    int32
	alias    string
	key      string
}

func (w *genaiWorld) sharedState(t *testing.T) sharedState {
	t.Helper()
	var s sharedState
	s.reserved, _ = w.lambda.ReservedConcurrency("chat-backend")
	if th := w.apigw.UsagePlanThrottle("abc123"); th != nil {
		s.rate, s.burst = th.RateLimit, th.BurstLimit
	}
	if a, ok := w.agents.Alias(agentID, aliasID); ok {
		s.alias = string(a.AliasInvocationState)
	}
	s.key = w.iam.AccessKeyStatus("Alice", "AKIAIOSFODNN7EXAMPLE")
	return s
}

func contained(c containment) sharedState {
	return sharedState{reserved: c.reserved, rate: c.rate, burst: c.burst, alias: "REJECT_INVOCATIONS", key: "Inactive"}
}

func tighter(a, b containment) containment {
	return containment{reserved: min(a.reserved, b.reserved), rate: min(a.rate, b.rate), burst: min(a.burst, b.burst)}
}

// Two incidents contain the same Lambda, usage plan, agent alias and
// access key, in both orders, and are resolved with rollback in both
// orders. After every step the fake shows the containment of every
// incident still open (a tighter value from either wins while it holds),
// the first resolve's timeline says what stays and why, and the last
// resolve leaves the account exactly as it was.
func TestSharedTargetsAreRestoredOnlyWhenTheLastHolderResolves(t *testing.T) {
	quenchBinary(t)
	srv := startServer(t, t.TempDir(), 0)
	t.Cleanup(func() { _ = srv.Stop() })
	c := dial(t, srv.FrontendAddress())
	t.Cleanup(c.Close)

	values := map[string]containment{"a": {reserved: 1, rate: 10, burst: 20}, "b": {reserved: 0, rate: 5, burst: 10}}
	original := sharedState{reserved: 50, rate: 100, burst: 200, alias: "ACCEPT_INVOCATIONS", key: "Active"}
	for n, tc := range []struct{ contain, resolve [2]string }{
		{[2]string{"a", "b"}, [2]string{"a", "b"}},
		{[2]string{"a", "b"}, [2]string{"b", "a"}},
		{[2]string{"b", "a"}, [2]string{"a", "b"}},
		{[2]string{"b", "a"}, [2]string{"b", "a"}},
	} {
		name := fmt.Sprintf("contain %s then %s, resolve %s then %s", tc.contain[0], tc.contain[1], tc.resolve[0], tc.resolve[1])
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := newGenAIWorld(t, c, srv.FrontendAddress(), false)
			seedUsageSpike(t, w)
			seedAgent(w)
			before := w.aws.State()
			check := func(when string, want sharedState) {
				t.Helper()
				if got := w.sharedState(t); got != want {
					t.Fatalf("%s: targets are %+v, want %+v", when, got, want)
				}
			}
			check("before any incident", original)
			ids := map[string]string{}
			for i, who := range tc.contain {
				ids[who] = fmt.Sprintf("usage-spike-%s-%d", who, n)
				rb := sharedTargetsRunbook(t, w.slack.reg, values[who])
				if _, err := w.inc.Start(ctx, contract.IncidentInput{ID: ids[who], Runbook: rb, Source: "cli", Requester: "oncall-lead"}); err != nil {
					t.Fatal(err)
				}
				w.waitState(t, ids[who], contract.StateContained)
				want := values[tc.contain[0]]
				if i == 1 {
					want = tighter(values["a"], values["b"])
				}
				check(who+" contained", contained(want))
			}

			// Both hold all four targets; only the first one's prior is kept.
			var targets []contract.TargetState
			if err := json.Unmarshal([]byte(w.cli(t, "--task-queue", w.taskQueue, "targets", "-o", "json")), &targets); err != nil {
				t.Fatal(err)
			}
			if len(targets) != 4 {
				t.Fatalf("quench targets lists %d targets, want 4: %+v", len(targets), targets)
			}
			for _, tg := range targets {
				holders := []string{}
				for _, h := range tg.Holders {
					holders = append(holders, h.Incident)
				}
				if !slices.Equal(holders, []string{ids[tc.contain[0]], ids[tc.contain[1]]}) {
					t.Errorf("target %s held by %v, want both incidents in the order they contained", tg.Key, holders)
				}
				if len(tg.Changes) == 0 || tg.Changes[0].Incident != ids[tc.contain[0]] {
					t.Errorf("target %s: first change %+v, want the first incident's (its undo is the original state)", tg.Key, tg.Changes)
				}
			}
			var st contract.Status
			if err := json.Unmarshal([]byte(w.cli(t, "--task-queue", w.taskQueue, "status", ids[tc.contain[1]], "-o", "json")), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Leases) != 4 || len(st.Leases[0].Holders) != 2 {
				t.Errorf("status of %s shows leases %+v, want 4 targets each with both holders", ids[tc.contain[1]], st.Leases)
			}

			first, last := tc.resolve[0], tc.resolve[1]
			w.cli(t, "resolve", ids[first], "--rollback")
			w.waitState(t, ids[first], contract.StateRolledBack)
			// The one still open keeps its own containment, or the tighter
			// one it found in place.
			want := values[last]
			if tc.contain[0] == first {
				want = tighter(values["a"], values["b"])
			}
			check(first+" resolved while "+last+" is open", contained(want))
			timeline, err := w.inc.Timeline(ctx, ids[first])
			if err != nil {
				t.Fatal(err)
			}
			deferred := 0
			for _, e := range timeline {
				if e.Type == contract.EventRollbackDeferred {
					deferred++
					if !strings.Contains(e.Detail, "still held by incident "+ids[last]) || !strings.Contains(e.Detail, "when that one resolves") {
						t.Errorf("deferred rollback says %q, want it to name %s and when the target is restored", e.Detail, ids[last])
					}
				}
			}
			if deferred == 0 {
				t.Errorf("the timeline of %s has no rollback_deferred event: %+v", ids[first], timeline)
			}

			w.cli(t, "resolve", ids[last], "--rollback")
			w.waitState(t, ids[last], contract.StateRolledBack)
			check("both resolved", original)
			// Only the history AWS keeps of the alias differs; the alias
			// was paused once and restored once, whoever resolved first.
			var got, all []string
			for _, ch := range before.Diff(w.aws.State()) {
				got, all = append(got, ch.Resource+" "+ch.Path), append(all, ch.String())
			}
			if !slices.Equal(got, []string{aliasHistory, aliasUpdated}) {
				t.Errorf("after both rollbacks the account differs from before:\n  %s", strings.Join(all, "\n  "))
			}
			if n := len(w.calledAny("UpdateAgentAlias")); n != 2 {
				t.Errorf("UpdateAgentAlias called %d times, want 2 (the first incident's pause, the last one's restore)", n)
			}
			if out := strings.TrimSpace(w.cli(t, "--task-queue", w.taskQueue, "targets", "-o", "json")); out != "[]" {
				t.Errorf("targets after both resolved = %s, want none held", out)
			}
		})
	}
}

const leaseHistoryRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: limit-shared, severity: high}
steps:
  - {id: limit, action: lambda.limit_concurrency, with: {function_name: chat-backend, reserved: 1}}
on_resolve: rollback
`

// TestRecordLeaseHistory records, with -record-history, the histories of
// two incidents sharing a leased Lambda: the first resolved while the
// other holds it (release, rollback deferred), the last one restoring the
// original (release, then the undo the release hands back). The replay
// test proves the lease commands replay deterministically.
func TestRecordLeaseHistory(t *testing.T) {
	if !*recordHistory {
		t.Skip("pass -record-history to re-record workflows/testdata/histories/")
	}
	srv := startServer(t, t.TempDir(), 0)
	defer srv.Stop()
	c := dial(t, srv.FrontendAddress())
	defer c.Close()
	w := newGenAIWorld(t, c, srv.FrontendAddress(), false)
	w.lambda.AddFunction("chat-backend")
	w.lambda.SetReservedConcurrency("chat-backend", 50)
	ctx := context.Background()
	rb := load(t, w.slack.reg, leaseHistoryRunbook)
	for _, id := range []string{"replay-lease-first", "replay-lease-last"} {
		if _, err := w.inc.Start(ctx, contract.IncidentInput{ID: id, Runbook: rb, Source: "cli", Requester: "carol"}); err != nil {
			t.Fatal(err)
		}
		w.waitState(t, id, contract.StateContained)
	}
	dir := filepath.Join("..", "..", "workflows", "testdata", "histories")
	for _, tc := range []struct{ id, file string }{
		{"replay-lease-first", "lease-rollback-deferred.json"},
		{"replay-lease-last", "lease-last-holder-restores.json"},
	} {
		if err := w.inc.Resolve(ctx, tc.id, contract.ResolveRequest{Actor: "carol", Mode: "rollback"}); err != nil {
			t.Fatal(err)
		}
		w.waitState(t, tc.id, contract.StateRolledBack)
		writeHistory(t, c, tc.id, filepath.Join(dir, tc.file))
	}
	if n, _ := w.lambda.ReservedConcurrency("chat-backend"); n != 50 {
		t.Errorf("reserved = %d after both resolved, want 50", n)
	}
}
