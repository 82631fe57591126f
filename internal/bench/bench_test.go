package bench_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/bench"
)

// buildQuench builds the quench binary the harness runs as a subprocess.
func buildQuench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quench")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/quenchhq/quench/cmd/quench")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/quench: %v\n%s", err, out)
	}
	return bin
}

// TestShortRun runs every scenario of the harness with tiny sizes — the
// same code paths as the recorded run — and checks what a benchmark must
// get right whatever the machine: every alert answered, every
// acknowledged alert counted by its incident, one incident per dedup key,
// every incident contained. It never checks a duration. With
// QUENCH_BENCH_TEMPORAL set to the temporal CLI, the peer runs too.
//
//	go test ./internal/bench/
func TestShortRun(t *testing.T) {
	cfg := bench.Short()
	cfg.Quench = buildQuench(t)
	cfg.Temporal = os.Getenv("QUENCH_BENCH_TEMPORAL")
	cfg.Work = t.TempDir()
	cfg.Log = testWriter{t}
	res, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range res.Errors {
		t.Error(err)
	}
	if res.Latency != nil {
		if got := len(res.Latency.Samples); got != cfg.Latency {
			t.Errorf("latency: %d samples, want %d", got, cfg.Latency)
		}
		for _, d := range res.Latency.Samples {
			if d <= 0 {
				t.Errorf("latency: sample %s: the first step finished before its alert arrived", d)
			}
		}
	}
	if res.PeerLatency != nil && len(res.PeerLatency.Samples) != cfg.Latency {
		t.Errorf("peer latency: %d samples, want %d", len(res.PeerLatency.Samples), cfg.Latency)
	}
	for _, b := range []*bench.BurstResult{res.Burst, res.PeerBurst} {
		if b == nil {
			continue
		}
		if b.Failed != 0 || b.Incidents != cfg.Burst || b.Contained != cfg.Burst {
			t.Errorf("burst on %s: %d alerts failed, %d incidents, %d contained; want 0, %d, %d", b.Target, b.Failed, b.Incidents, b.Contained, cfg.Burst, cfg.Burst)
		}
	}
	for _, s := range []*bench.StormResult{res.Storm, res.PeerStorm} {
		if s == nil {
			continue
		}
		if s.Accepted == 0 {
			t.Errorf("storm on %s: no alert acknowledged", s.Target)
		}
		if s.Lost != 0 || s.Folded != s.Accepted {
			t.Errorf("storm on %s: %d acknowledged, %d folded into incidents (%d lost)", s.Target, s.Accepted, s.Folded, s.Lost)
		}
		if s.Incidents != cfg.StormKeys || s.Running != int64(cfg.StormKeys) {
			t.Errorf("storm on %s: %d incidents in the answers, %d running; want %d", s.Target, s.Incidents, s.Running, cfg.StormKeys)
		}
		if s.Failed != 0 {
			t.Errorf("storm on %s: %d answers were errors", s.Target, s.Failed)
		}
	}
	for _, m := range []*bench.RSSResult{res.RSS, res.PeerRSS} {
		if m != nil && (m.Idle <= 0 || m.Loaded <= 0) {
			t.Errorf("rss: idle %d, loaded %d bytes", m.Idle, m.Loaded)
		}
		// VmRSS = RssAnon + RssFile + RssShmem.
		if m != nil && (m.LoadedAnon <= 0 || m.LoadedFile <= 0 || m.LoadedAnon+m.LoadedFile > m.Loaded) {
			t.Errorf("rss: loaded %d bytes split into %d own + %d file", m.Loaded, m.LoadedAnon, m.LoadedFile)
		}
	}
	for _, s := range []*bench.StartupResult{res.Startup, res.PeerStartup} {
		if s != nil && (len(s.Fresh) != cfg.Starts || len(s.Warm) != cfg.Starts) {
			t.Errorf("startup: %d fresh and %d warm starts, want %d each", len(s.Fresh), len(s.Warm), cfg.Starts)
		}
	}
	for _, o := range []*bench.OverheadResult{res.Overhead, res.PeerOverhead} {
		if o != nil && (len(o.Runbook) != cfg.OverheadRuns || len(o.Handwritten) != cfg.OverheadRuns) {
			t.Errorf("overhead: %d runbook and %d hand-written runs, want %d each", len(o.Runbook), len(o.Handwritten), cfg.OverheadRuns)
		}
	}
	for _, c := range []*bench.CrashResult{res.Crash, res.PeerCrash} {
		if c != nil && len(c.Done) != cfg.Crashes {
			t.Errorf("crash: %d crashes measured, want %d", len(c.Done), cfg.Crashes)
		}
	}
	if res.Latency == nil || res.Burst == nil || res.Storm == nil || res.RSS == nil || res.Startup == nil || res.Overhead == nil || res.Crash == nil {
		t.Errorf("a scenario left no result: %+v", res)
	}
	if cfg.Temporal != "" && (res.PeerLatency == nil || res.PeerBurst == nil || res.PeerStorm == nil || res.PeerRSS == nil ||
		res.PeerStartup == nil || res.PeerOverhead == nil || res.PeerCrash == nil) {
		t.Errorf("a peer scenario left no result: %+v", res)
	}
	if cfg.Temporal == "" {
		t.Log(res.PeerNote)
	}
	var table strings.Builder
	if err := res.WriteTable(&table); err != nil {
		t.Error(err)
	}
	t.Log("\n" + table.String())
}

// TestRowsCoverTheIssue checks the report has a row for every figure of
// the issue's table and the two added ones, each with its commands.
func TestRowsCoverTheIssue(t *testing.T) {
	ms := time.Millisecond
	r := &bench.Results{
		Latency:      &bench.LatencyResult{Alerts: 1, P50: ms, P99: ms},
		PeerLatency:  &bench.LatencyResult{Alerts: 1, P50: 2 * ms, P99: 2 * ms},
		Burst:        &bench.BurstResult{Alerts: 1, Wall: ms},
		PeerBurst:    &bench.BurstResult{Alerts: 1, Wall: 4 * ms},
		Storm:        &bench.StormResult{Keys: 1},
		PeerStorm:    &bench.StormResult{Keys: 1},
		RSS:          &bench.RSSResult{},
		PeerRSS:      &bench.RSSResult{},
		Startup:      &bench.StartupResult{},
		PeerStartup:  &bench.StartupResult{},
		Overhead:     &bench.OverheadResult{},
		PeerOverhead: &bench.OverheadResult{},
		Crash:        &bench.CrashResult{},
		PeerCrash:    &bench.CrashResult{},
	}
	rows := r.Rows()
	if len(rows) != len(bench.Scenarios) {
		t.Fatalf("%d rows for %d scenarios", len(rows), len(bench.Scenarios))
	}
	for i, row := range rows {
		if row.Figure == "" || row.Before == "" || row.Quench == "" || row.Target == "" || row.Rerun == "" {
			t.Errorf("row %+v is missing a field", row)
		}
		if row.Peer == "—" || !strings.Contains(row.Command, "peer: ") {
			t.Errorf("row %d (%s) has no peer figure or command: %q / %q", i+1, row.Figure, row.Peer, row.Command)
		}
	}
	// The issue's table has figures for its five rows; the two added rows
	// say they were not measured then rather than inventing a figure.
	for i, row := range rows[:5] {
		if strings.HasPrefix(row.Before, "—") {
			t.Errorf("row %d (%s) lacks the issue's figure", i+1, row.Figure)
		}
	}
	if !strings.Contains(rows[1].Peer, "4.0× faster") {
		t.Errorf("burst row does not compare with the peer: %q", rows[1].Peer)
	}
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil || !strings.Contains(table.String(), "p50 83 ms, p99 111 ms") {
		t.Errorf("table lacks the before column (%v):\n%s", err, table.String())
	}
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
