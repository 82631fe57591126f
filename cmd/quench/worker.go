package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/worker"
)

type workerOptions struct {
	recordsFile string
}

func newCmdWorker(a *app) *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: executes incident workflows and their actions (scale horizontally)",
		Long: `Worker polls the task queue and runs Incident workflows and their actions.
Run as many as you like against a Temporal cluster. AWS credentials come from
the default chain (env, profile, instance/task role); Slack from
SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE). SIGTERM stops it gracefully.`,
		Example: `  TEMPORAL_ADDRESS=temporal:7233 quench worker
  quench worker --address 127.0.0.1:7233 --task-queue quench`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
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
	return cmd
}

// runtime is what a worker process runs with.
type runtime struct {
	registry *activities.Registry
	notifier *activities.Notifier
	records  *activities.RecordStore
	dryRun   string // why AWS actions are forced to dry run, if they are
}

func (a *app) runtime(ctx context.Context, recordsFile string) (*runtime, error) {
	records, err := activities.NewRecordStore(recordsFile)
	if err != nil {
		return nil, err
	}
	secrets, err := loadSlack()
	if err != nil {
		return nil, err
	}
	notifier := secrets.notifier(a.logger())
	provider, err := activities.LoadAWSProvider(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	rt := &runtime{notifier: notifier, records: records}
	if !provider.HasCredentials(ctx) {
		rt.dryRun = "no AWS credentials"
		a.logger().Warn("no AWS credentials found: every AWS action runs as a dry run (reads nothing it cannot, changes nothing)")
	}
	rt.registry, err = worker.BuildRegistry(ctx, worker.ActionOptions{
		Records: records, Logger: a.logger(), AWS: provider, Notifier: notifier, ForceDryRunAWS: rt.dryRun,
	})
	return rt, err
}

func defaultRecordsFile(dataDir string) string { return filepath.Join(dataDir, "records.json") }
