package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	runtimepprof "runtime/pprof"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/bench"
)

type benchOptions struct {
	peer    string
	sync    string
	only    []string
	short   bool
	work    string
	profile string
	burst   int
	storm   time.Duration
	conns   int
	output  output
}

func newCmdBench(a *app) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure quench dev under load: latency, bursts, storms, memory, start-up, engine overhead, crash recovery",
		Long: `Bench runs this quench binary as a subprocess (quench dev, and quench worker
where a scenario needs one) on fresh data dirs, loads it over HTTP as alert
senders would, and prints a table: each figure, the issue's target, the
machine (CPUs, model, Go version, date, load average) and the command
behind each row. BENCHMARKS.md records one full run.

Scenarios (--only, repeatable): latency, burst, storm, rss, startup,
overhead, crash. With --peer (or QUENCH_BENCH_TEMPORAL) set to the official
temporal CLI, every scenario also runs against
"temporal server start-dev" + "quench worker" + "quench serve", right after
it runs on quench dev, in the same run. The "before" column is what the
issue measured when it was filed. With --profile DIR, quench dev serves profiles (QUENCH_PPROF) and the
burst and the storm each leave a CPU profile and two allocation profiles
in DIR; read them with go tool pprof.

A full run takes about ten minutes on two cores; --short runs every
scenario with tiny sizes in well under a minute. Figures depend on what
else the machine is doing: the load average is printed with them.

Any quench command serves net/http/pprof on QUENCH_PPROF=host:port when
it is set, with POST /debug/quench/cpu/start and /debug/quench/cpu/stop
around a CPU profile of exactly the load in between.`,
		Example: `  quench bench
  quench bench --peer "$(command -v temporal)" --profile bench-profiles
  quench bench --only storm --storm 30s
  quench bench --short -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runBench(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.peer, "peer", os.Getenv("QUENCH_BENCH_TEMPORAL"), "temporal CLI for the peer rows (env QUENCH_BENCH_TEMPORAL); empty skips them")
	f.StringVar(&o.sync, "sync", "", "passed to quench dev as --sync (full or normal); empty: its default")
	f.StringArrayVar(&o.only, "only", nil, "run only this scenario (repeatable): latency, burst, storm, rss, startup, overhead, crash")
	f.BoolVar(&o.short, "short", false, "tiny sizes: checks that every scenario works, measures little")
	f.StringVar(&o.work, "work-dir", "", "where data dirs and process logs go (default: a new temp dir, kept)")
	f.StringVar(&o.profile, "profile", "", "write CPU and allocation profiles of quench dev under the burst and the storm to this dir")
	f.IntVar(&o.burst, "burst", 0, "distinct alerts of the burst and incidents of the RSS row (default 1000; 20 with --short)")
	f.DurationVar(&o.storm, "storm", 0, "how long the storm lasts (default 10s; 1s with --short)")
	f.IntVar(&o.conns, "conns", 0, "connections of the burst and the storm (default 64; 8 with --short)")
	o.output.add(cmd)
	return cmd
}

func (a *app) runBench(ctx context.Context, o benchOptions) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the quench binary to run: %w", err)
	}
	cfg := bench.Full()
	if o.short {
		cfg = bench.Short()
	}
	cfg.Quench, cfg.Temporal, cfg.Sync, cfg.Only, cfg.Work, cfg.ProfileDir = self, o.peer, o.sync, o.only, o.work, o.profile
	if o.burst > 0 {
		cfg.Burst, cfg.Waiting = o.burst, o.burst
	}
	if o.storm > 0 {
		cfg.Storm = o.storm
	}
	if o.conns > 0 {
		cfg.Conns = o.conns
	}
	cfg.Log = a.errOut
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if o.output.json() {
		err = writeJSON(a.out, res)
	} else {
		err = res.WriteTable(a.out)
	}
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d scenario(s) failed: %w", len(res.Errors), errors.Join(res.Errors...))
	}
	return nil
}

// Profiling on request: QUENCH_PPROF=host:port makes any quench command
// serve net/http/pprof there, on its own listener (never on the alert or
// Slack endpoints), plus a CPU profile with an explicit start and stop so
// a harness profiles exactly the load it sends.
func init() { cobra.OnInitialize(servePprofFromEnv) }

func servePprofFromEnv() {
	addr := os.Getenv("QUENCH_PPROF")
	if addr == "" {
		return
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "quench: QUENCH_PPROF=%s: %v (profiling off)\n", addr, err)
		return
	}
	fmt.Fprintf(os.Stderr, "quench: profiling on http://%s/debug/pprof/\n", l.Addr())
	go func() { _ = http.Serve(l, pprofMux(&cpuProfile{})) }()
}

func pprofMux(cpu *cpuProfile) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST "+bench.PathCPUStart, cpu.start)
	mux.HandleFunc("POST "+bench.PathCPUStop, cpu.stop)
	return mux
}

// cpuProfile is a CPU profile between two requests, written to a temp
// file and handed to the stop request.
type cpuProfile struct {
	mu  sync.Mutex
	buf *os.File
}

func (c *cpuProfile) start(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		http.Error(w, "a CPU profile is already running", http.StatusConflict)
		return
	}
	f, err := os.CreateTemp("", "quench-cpu-*.pb.gz")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := runtimepprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	c.buf = f
}

func (c *cpuProfile) stop(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		http.Error(w, "no CPU profile is running", http.StatusConflict)
		return
	}
	runtimepprof.StopCPUProfile()
	f := c.buf
	c.buf = nil
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = io.Copy(w, f)
}
