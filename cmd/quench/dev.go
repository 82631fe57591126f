package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/devserver"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

type devOptions struct {
	dataDir      string
	temporalPort int
	listen       string
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
a dry run, and says so. Ctrl-C stops it; start it again to continue.`,
		Example: `  quench dev
  quench dev --data-dir /var/lib/quench --temporal-port 7233 --listen 127.0.0.1:8080
  quench dev --runbooks ./my-runbooks`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDev(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", ".quench", "directory for the Temporal SQLite database and records")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "port of the embedded Temporal frontend (on 127.0.0.1)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the HTTP endpoints (alerts, Slack, health); empty disables them")
	f.StringVar(&a.routesFile, "routes", "", "alert routing file (env QUENCH_ROUTES); see examples/routes.yaml")
	return cmd
}

func (a *app) runDev(ctx context.Context, o devOptions) error {
	if o.temporalPort < 0 || o.temporalPort > 65535 {
		return usagef(fmt.Sprintf("--temporal-port %d: want 0-65535", o.temporalPort))
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
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir: o.dataDir, FrontendPort: o.temporalPort, Namespace: a.cfg.Namespace, SearchAttributes: attrs, Logger: log,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	a.cfg.TemporalAddress = srv.FrontendAddress()

	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	rt, err := a.runtime(ctx, defaultRecordsFile(o.dataDir))
	if err != nil {
		return err
	}
	w := worker.New(c, a.cfg, rt.registry, rt.notifier)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	httpAddr := "disabled"
	if o.listen != "" {
		stopHTTP, addr, err := a.startHTTP(ctx, o.listen, routes)
		if err != nil {
			return err
		}
		defer stopHTTP()
		httpAddr = "http://" + addr
	}
	mode := "AWS actions live"
	if rt.dryRun != "" {
		mode = "AWS actions dry run (" + rt.dryRun + ")"
	}
	fmt.Fprintf(a.out, "quench dev ready: temporal %s namespace %s, http %s, data %s, %s\n", srv.FrontendAddress(), a.cfg.Namespace, httpAddr, o.dataDir, mode)
	<-ctx.Done()
	fmt.Fprintln(a.errOut, "quench dev: stopping (open incidents continue on the next start)")
	return nil
}

// startHTTP serves the HTTP endpoints until ctx ends; stop shuts it down.
func (a *app) startHTTP(ctx context.Context, listen string, routes *alerts.Routes) (stop func(), addr string, err error) {
	handler, err := a.httpHandler(ctx, routes)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w (choose another with --listen)", listen, err)
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger().Error("http server", "error", err)
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}, ln.Addr().String(), nil
}
