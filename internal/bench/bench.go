package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Config sizes a run. Full is the run BENCHMARKS.md records; Short is
// the one CI runs (seconds of load, tiny counts, same code paths).
type Config struct {
	// Quench is the quench binary to run as a subprocess.
	Quench string
	// Temporal is the official temporal CLI for the peer rows; empty skips them.
	Temporal string
	// Sync is passed to quench dev as --sync when set (full | normal).
	Sync string
	// Work is where data dirs, logs and profiles go; empty: a temp dir.
	Work string
	// Only runs these scenarios (names in Scenarios); empty runs all.
	Only []string
	// ProfileDir, when set, gets CPU and allocation profiles of quench dev
	// under the burst and the storm (QUENCH_PPROF, see cmd/quench/bench.go).
	ProfileDir string

	Latency       int           // alerts sent one at a time
	Burst         int           // distinct alerts sent at once
	Conns         int           // connections of the burst and the storm
	StormKeys     int           // dedup keys of the storm
	Storm         time.Duration // how long the storm lasts
	Waiting       int           // incidents waiting for approval (RSS row)
	Starts        int           // starts of quench dev per kind (fresh, warm)
	OverheadRuns  int           // runs of each variant (engine overhead)
	OverheadSteps int           // steps of each run
	Crashes       int           // worker crashes
	// Settle is how long the RSS row waits after the last incident
	// reached its approval, for history writes and requests to finish.
	Settle time.Duration

	// Log gets progress lines; nil discards them.
	Log io.Writer
}

// Full is the configuration of the recorded run (the sizes).
func Full() Config {
	return Config{
		Latency: 100, Burst: 1000, Conns: 64, StormKeys: 10, Storm: 10 * time.Second,
		Waiting: 1000, Starts: 5, OverheadRuns: 15, OverheadSteps: 20, Crashes: 3, Settle: 3 * time.Second,
	}
}

// Short is the CI configuration: every scenario, tiny sizes.
func Short() Config {
	return Config{
		Latency: 3, Burst: 20, Conns: 8, StormKeys: 3, Storm: time.Second,
		Waiting: 10, Starts: 1, OverheadRuns: 2, OverheadSteps: 3, Crashes: 1,
	}
}

// Scenarios are the names Config.Only accepts, in the order they run.
var Scenarios = []string{"latency", "burst", "storm", "rss", "startup", "overhead", "crash"}

// Results are the measurements of one run, for the report and for tests.
type Results struct {
	Machine  Machine
	Latency  *LatencyResult
	Burst    *BurstResult
	Storm    *StormResult
	RSS      *RSSResult
	Startup  *StartupResult
	Overhead *OverheadResult
	Crash    *CrashResult
	// The same scenarios against the official dev server + quench worker +
	// quench serve, each run right after quench dev's.
	PeerLatency  *LatencyResult
	PeerBurst    *BurstResult
	PeerStorm    *StormResult
	PeerRSS      *RSSResult
	PeerStartup  *StartupResult
	PeerOverhead *OverheadResult
	PeerCrash    *CrashResult
	PeerNote     string // why the peer rows are missing, if they are
	Errors       []error
}

// Run runs the scenarios of cfg and returns what it measured. A scenario
// that fails is recorded in Results.Errors and the others still run.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Quench == "" {
		return nil, errors.New("bench: no quench binary")
	}
	for _, s := range cfg.Only {
		if !slices.Contains(Scenarios, s) {
			return nil, fmt.Errorf("bench: unknown scenario %q (want one of %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	h, err := newHarness(cfg)
	if err != nil {
		return nil, err
	}
	r := &Results{Machine: readMachine()}
	want := func(name string) bool { return len(cfg.Only) == 0 || slices.Contains(cfg.Only, name) }
	step := func(name string, fn func() error) {
		if !want(strings.TrimPrefix(name, "peer ")) || ctx.Err() != nil {
			return
		}
		h.logf("%s: start (load %s)", name, loadAverage())
		t0 := time.Now()
		if err := fn(); err != nil {
			h.logf("%s: %v", name, err)
			r.Errors = append(r.Errors, fmt.Errorf("%s: %w", name, err))
			return
		}
		h.logf("%s: done in %s (load %s)", name, time.Since(t0).Round(time.Millisecond), loadAverage())
	}
	peer := cfg.Temporal != ""
	if !peer {
		r.PeerNote = "peer skipped: no temporal binary (quench bench --peer PATH or QUENCH_BENCH_TEMPORAL=PATH)"
	}
	// Each scenario runs on quench dev, then at once on the peer, so both
	// see the same machine.
	both := func(name string, dev, onPeer func() error) {
		step(name, dev)
		if peer {
			step("peer "+name, onPeer)
		}
	}
	devIn := func(ctx context.Context, dir string) (*target, error) { return h.startDevIn(ctx, dir, false) }
	both("latency",
		func() (err error) { r.Latency, err = h.latency(ctx, h.startDev); return },
		func() (err error) { r.PeerLatency, err = h.latency(ctx, h.startPeer); return })
	both("burst",
		func() (err error) { r.Burst, err = h.burst(ctx, h.startDev, "burst"); return },
		func() (err error) { r.PeerBurst, err = h.burst(ctx, h.startPeer, ""); return })
	both("storm",
		func() (err error) { r.Storm, err = h.storm(ctx, h.startDev, "storm"); return },
		func() (err error) { r.PeerStorm, err = h.storm(ctx, h.startPeer, ""); return })
	both("rss",
		func() (err error) { r.RSS, err = h.rss(ctx, h.startDev); return },
		func() (err error) { r.PeerRSS, err = h.rss(ctx, h.startPeer); return })
	both("startup",
		func() (err error) { r.Startup, err = h.startup(ctx, "dev", devIn); return },
		func() (err error) { r.PeerStartup, err = h.startup(ctx, "peer", h.startPeerIn); return })
	both("overhead",
		func() (err error) { r.Overhead, err = h.overhead(ctx, h.startDev); return },
		func() (err error) { r.PeerOverhead, err = h.overhead(ctx, h.startPeer); return })
	both("crash",
		func() (err error) { r.Crash, err = h.crash(ctx, h.startDev); return },
		func() (err error) { r.PeerCrash, err = h.crash(ctx, h.startPeer); return })
	r.Machine.LoadAfter = loadAverage()
	return r, ctx.Err()
}

// harness holds what every scenario shares.
type harness struct {
	cfg    Config
	work   string
	rbDir  string
	routes string
	token  string
	runs   int // data dirs handed out
}

func newHarness(cfg Config) (*harness, error) {
	work := cfg.Work
	if work == "" {
		d, err := os.MkdirTemp("", "quench-bench-")
		if err != nil {
			return nil, err
		}
		work = d
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	rbDir, routes, err := writeFiles(work, cfg.OverheadSteps)
	if err != nil {
		return nil, fmt.Errorf("write bench runbooks: %w", err)
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o700); err != nil {
			return nil, err
		}
	}
	return &harness{cfg: cfg, work: work, rbDir: rbDir, routes: routes, token: fmt.Sprintf("bench-%d", time.Now().UnixNano())}, nil
}

func (h *harness) logf(format string, args ...any) {
	if h.cfg.Log != nil {
		fmt.Fprintf(h.cfg.Log, "bench: "+format+"\n", args...)
	}
}

// dataDir returns a new, empty directory for one process's state.
func (h *harness) dataDir(name string) (string, error) {
	h.runs++
	dir := fmt.Sprintf("%s/%02d-%s", h.work, h.runs, name)
	return dir, os.MkdirAll(dir, 0o700)
}
