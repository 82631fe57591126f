package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/internal/httpapi"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

type devOptions struct {
	dataDir      string
	temporalPort int
	listen       string
	sync         string
	reset        bool
	retention    time.Duration
	uiPort       int
	headless     bool
}

func newCmdDev(a *app) *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded Temporal server, worker and HTTP endpoints",
		Long: `Dev starts a real Temporal server in this process (state in a SQLite file
under --data-dir, so open incidents survive a restart), a worker, and the
HTTP endpoints (alerts, Slack interactions, health). It prints one line with
"ready" and the Temporal address once it accepts work; then use the other
commands from another terminal. Without AWS credentials every AWS action is
a dry run, and says so: read-only ones are skipped (or read from the
endpoint AWS_ENDPOINT_URL names, if set), the others report their plan, and
incidents run to the end marked as dry runs. Ctrl-C stops it; start it
again to continue.

"ready" means the store works: before printing it, dev reads the namespace,
writes a sentinel workflow and reads it back, and queries visibility (the
same probe as GET /readyz). On start an existing database is checked with
SQLite's quick_check; a damaged one, or a data dir whose database is missing,
is refused with what was found. To recover, restore temporal.db from a
backup, or start again with --reset: it moves every file of the data dir
aside into DATA_DIR/reset-<time> (nothing is deleted) and starts empty.

The database runs in SQLite's WAL mode. --sync full (the default) syncs
every commit to disk: nothing acknowledged is lost, even on power loss.
--sync normal syncs only at checkpoints: faster under load, and still loses
nothing when the process is killed, but an OS crash or power loss may lose
the last transactions (alerts acknowledged, steps recorded).

Closed incidents stay readable (status, timeline, list) for --retention,
30 days by default, then Temporal deletes them.

The Temporal Web UI is served on 127.0.0.1, on --ui-port (default: the
temporal port + 1000, 8233, as temporal server start-dev does; a free port
when --temporal-port is 0); --headless serves none. With QUENCH_CODEC_KEYS set, the HTTP endpoints also serve the
codec route (/codec/decode, /codec/encode, as quench codec-server does) for
the UI and the temporal CLI: it needs QUENCH_CODEC_AUTH_TOKEN, or a token
made for this run and printed, and browsers may call it from the UI only.
The UI sends no token: open the printed /codec/signin link once and the
browser keeps it in a cookie.`,
		Example: `  quench dev
  quench dev --data-dir /var/lib/quench --temporal-port 7233 --listen 127.0.0.1:8080
  quench dev --runbooks ./my-runbooks
  quench dev --retention 2160h  # keep closed incidents 90 days (default 30)
  quench dev --sync normal      # faster; may lose the last transactions on power loss
  quench dev --headless         # no Temporal UI
  quench dev --reset            # after a refusal: move the old data aside, start empty`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDev(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", ".quench", "directory for the Temporal SQLite database and records")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "port of the embedded Temporal frontend (on 127.0.0.1)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the HTTP endpoints (alerts, Slack, health); empty disables them")
	f.StringVar(&a.routesFile, "routes", "", "alert routing file (env QUENCH_ROUTES); see examples/routes.yaml")
	f.StringVar(&o.sync, "sync", string(devserver.DefaultSync), "SQLite sync: full (every commit survives power loss) or normal (faster; survives a process kill, may lose the last transactions on OS crash or power loss)")
	f.DurationVar(&o.retention, "retention", devserver.DefaultRetention, "how long closed incidents stay readable (the namespace's retention; at least 1h); an existing namespace is updated")
	f.IntVar(&o.uiPort, "ui-port", 0, "port of the Temporal Web UI (on 127.0.0.1); default the temporal port + 1000")
	f.BoolVar(&o.headless, "headless", false, "serve no Temporal Web UI")
	f.BoolVar(&o.reset, "reset", false, "move every file of the data dir aside into DATA_DIR/reset-<time> and start empty (nothing is deleted)")
	return cmd
}

func (a *app) runDev(ctx context.Context, o devOptions) error {
	if o.temporalPort < 0 || o.temporalPort > 65535 {
		return usagef(fmt.Sprintf("--temporal-port %d: want 0-65535", o.temporalPort))
	}
	if o.uiPort < 0 || o.uiPort > 65535 {
		return usagef(fmt.Sprintf("--ui-port %d: want 1-65535", o.uiPort))
	}
	if o.headless && o.uiPort != 0 {
		return usagef("--ui-port with --headless: drop one")
	}
	if o.retention < devserver.MinRetention {
		return usagef(fmt.Sprintf("--retention %s: want at least %s (e.g. 720h for 30 days)", o.retention, devserver.MinRetention))
	}
	if !slices.Contains(devserver.Syncs, devserver.Sync(o.sync)) {
		return usagef(fmt.Sprintf("--sync %q: want full or normal", o.sync))
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", o.dataDir, err)
	}
	routes, err := a.routes(ctx)
	if err != nil {
		return err
	}
	log := a.logger()
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range contract.SearchAttributes {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	records := defaultRecordsFile(o.dataDir)
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir: o.dataDir, FrontendPort: o.temporalPort, Namespace: a.cfg.Namespace, SearchAttributes: attrs, Logger: log,
		Sync: devserver.Sync(o.sync), Reset: o.reset, Retention: o.retention, StateFiles: []string{records},
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if aside := srv.MovedAside(); aside != "" {
		fmt.Fprintf(a.errOut, "quench dev: --reset moved the old data to %s\n", aside)
	}
	a.cfg.TemporalAddress = srv.FrontendAddress()
	// The embedded server speaks plaintext on loopback: TLS and API key
	// settings for a real cluster do not apply to it.
	if a.cfg.Connection.Configured() {
		log.Warn("quench dev ignores the TLS and API key settings (TEMPORAL_TLS_*, TEMPORAL_API_KEY, --tls-*): its embedded Temporal serves plaintext on loopback")
	}
	a.cfg.Connection = worker.Connection{}
	if err := a.enableMetrics(); err != nil { // GET /metrics on --listen: worker and serve series in one
		return err
	}

	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if a.cfg.Codec == nil {
		log.Warn("QUENCH_CODEC_KEYS not set: incident params, alert labels and action results are stored in Temporal's history in plaintext")
	}
	rt, err := a.runtime(ctx, records)
	if err != nil {
		return err
	}
	w := worker.New(c, a.cfg, rt.registry, rt.notifier)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	a.localWorker = true

	uiPort, err := devUIPort(o, srv.FrontendAddress())
	if err != nil {
		return err
	}
	dc, err := a.newDevCodec(uiOrigin(uiPort))
	if err != nil {
		return err
	}
	httpAddr, codecURL := "disabled", ""
	if o.listen != "" {
		stopHTTP, addr, err := a.startDevHTTP(ctx, o.listen, routes, dc)
		if err != nil {
			return err
		}
		defer stopHTTP()
		httpAddr = "http://" + addr
		if dc != nil {
			codecURL = browserURL(addr) + codecPath
		}
	} else if dc != nil {
		log.Warn("--listen is empty: no codec route, the Temporal UI shows incident payloads encrypted")
	}
	uiAddr := "off"
	if uiPort != 0 {
		ui, err := devserver.StartUI(ctx, devserver.UIOptions{Port: uiPort, TemporalAddress: srv.FrontendAddress(), Namespace: a.cfg.Namespace, CodecEndpoint: codecURL})
		if err != nil {
			return err
		}
		defer ui.Stop()
		uiAddr = ui.URL()
	}
	// Ready means the store works, not only that the frontend answers.
	pctx, cancel := context.WithTimeout(ctx, storeProbeTimeout)
	err = httpapi.TemporalReady(c.WorkflowService(), a.cfg.Namespace)(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("temporal store in %s does not work: %w; to recover, restore %s from a backup, or start again with --reset (moves the old data aside)",
			o.dataDir, err, filepath.Join(o.dataDir, devserver.DBFileName))
	}
	mode := "AWS actions live"
	if rt.dryRun != "" {
		mode = rt.dryRun
	}
	if codecURL != "" {
		fmt.Fprintln(a.out, dc.hint(codecURL, uiPort != 0))
	}
	fmt.Fprintf(a.out, "quench dev ready: temporal %s namespace %s, http %s, ui %s, data %s, %s\n", srv.FrontendAddress(), a.cfg.Namespace, httpAddr, uiAddr, o.dataDir, mode)
	<-ctx.Done()
	fmt.Fprintln(a.errOut, "quench dev: stopping (open incidents continue on the next start)")
	return nil
}

// storeProbeTimeout bounds the store probe before the ready line; on an
// idle machine it takes milliseconds.
const storeProbeTimeout = 30 * time.Second
