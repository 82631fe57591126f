package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/httpapi"
	"github.com/quenchhq/quench/worker"
)

type workerOptions struct {
	recordsFile   string
	metricsListen string
}

func newCmdWorker(a *app) *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: executes incident workflows and their actions (scale horizontally)",
		Long: `Worker polls the task queue and runs Incident workflows and their actions.
Run as many as you like against a Temporal cluster. AWS credentials come from
the default chain (env, profile, instance/task role); Slack from
SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE). SIGTERM stops it gracefully.

With --metrics-listen (or QUENCH_METRICS_LISTEN) it serves GET /metrics in
Prometheus' format: step attempts and failures by action, AWS and Slack
call errors, and the Temporal SDK's worker metrics.`,
		Example: `  TEMPORAL_ADDRESS=temporal:7233 quench worker
  quench worker --address 127.0.0.1:7233 --task-queue quench
  quench worker --metrics-listen :9464`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.enableMetrics(); err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			if o.metricsListen != "" {
				mux := http.NewServeMux()
				mux.Handle("GET /metrics", a.metrics.Handler())
				stop, addr, err := httpapi.Listen(cmd.Context(), o.metricsListen, mux, httpapi.DefaultLimits, a.logger())
				if err != nil {
					return fmt.Errorf("--metrics-listen: %w", err)
				}
				defer stop()
				a.logger().Info("metrics", "url", "http://"+addr+"/metrics")
			}
			rt, err := a.runtime(cmd.Context(), o.recordsFile)
			if err != nil {
				return err
			}
			w := worker.New(c, a.cfg, rt.registry, rt.notifier)
			a.logger().Info("worker started", "address", a.cfg.TemporalAddress, "namespace", a.cfg.Namespace, "taskQueue", a.cfg.TaskQueue)
			return worker.Run(cmd.Context(), w)
		},
	}
	cmd.Flags().StringVar(&o.recordsFile, "records-file", "", "where core.record keeps values (default: in memory)")
	cmd.Flags().StringVar(&o.metricsListen, "metrics-listen", os.Getenv("QUENCH_METRICS_LISTEN"), "address to serve GET /metrics on (env QUENCH_METRICS_LISTEN; default: not served)")
	return cmd
}

func defaultRecordsFile(dataDir string) string { return filepath.Join(dataDir, "records.json") }
