package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/buildid"
	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/workflows"
	"github.com/quenchhq/quench/workflows/contract"
)

// Registrar is what both a real worker and the test environment offer.
type Registrar interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// Notifier registers the notification activities (Slack, or log-only).
type Notifier interface {
	Register(w action.ActivityRegistrar)
}

// Register registers the Incident workflow, every action in reg, and the
// notifier's activities. Every activity heartbeats: the registry wraps the
// actions, and the notifications are registered through a keeper too.
func Register(w Registrar, reg *action.Registry, n Notifier) {
	w.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: contract.IncidentWorkflow})
	w.RegisterWorkflowWithOptions(workflows.TargetLease, workflow.RegisterOptions{Name: contract.TargetWorkflow})
	reg.RegisterActivities(w)
	n.Register(action.Heartbeating(w))
}

// Dial connects to Temporal with the SDK logging through slog, over TLS
// and with an API key when cfg.Connection says so.
func Dial(ctx context.Context, cfg Config, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
		// Payloads and failure messages, encrypted when cfg.Codec is set.
		DataConverter:    codec.DataConverter(cfg.Codec),
		FailureConverter: codec.FailureConverter(cfg.Codec),
		MetricsHandler:   cfg.MetricsHandler,
	}
	if err := cfg.Connection.apply(&opts); err != nil {
		return nil, fmt.Errorf("temporal connection settings: %w", err)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		hint := "is `quench dev` or a Temporal server running? set TEMPORAL_ADDRESS"
		if cfg.Connection.Configured() {
			hint = "is TEMPORAL_ADDRESS right, and do the TLS settings match the server's: its CA, its name, a client certificate it accepts?"
		}
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w (%s)", cfg.TemporalAddress, cfg.Namespace, err, hint)
	}
	return c, nil
}

// New builds a worker on cfg.TaskQueue with everything registered.
func New(c client.Client, cfg Config, reg *action.Registry, n Notifier) sdkworker.Worker {
	buildid.Install() // spares the SDK hashing the whole executable
	// The SDK's defaults are kept on purpose: measured with quench bench
	// (2 cores, 500-alert burst, 20-step runbook, 1,000 waiting), 8
	// pollers per kind instead of 2 and autoscaling pollers were within
	// the noise, turning eager activity dispatch off made the 20 steps
	// slower (766 vs 596–672 ms), and a sticky cache of 100 instead of
	// 10,000 saved 10 of 423 MB. See BENCHMARKS.md.
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{})
	// Targeted actions lease their target through this worker's client.
	reg.SetLeaser(activities.NewTargets(c, cfg.TaskQueue))
	Register(w, reg, n)
	return w
}

// Run runs a worker until ctx is done (SIGTERM/SIGINT in the CLI), then
// stops it gracefully: polling stops and running activities get to finish.
func Run(ctx context.Context, w sdkworker.Worker) error {
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
