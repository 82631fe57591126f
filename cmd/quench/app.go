package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/internal/httpapi"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/metrics"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// app is the composition root: the one place that turns configuration
// into clients and clients into a worker or HTTP endpoints. Commands ask
// it for what they need and build nothing themselves.
//
//	config: defaults → environment → flags (worker.Config, --runbooks, --routes)
//	   ├─ client()        Temporal client, dialled once per command, with the
//	   │                  payload codec (QUENCH_CODEC_KEYS) when keys are set
//	   │    └─ incidents  incidentsAPI for CLI commands (the test seam)
//	   ├─ library()       built-in runbooks + --runbooks, checked against catalog()
//	   ├─ runtime()       records, Slack, AWS → action registry   (worker, dev)
//	   ├─ startHTTP()     routes + incidents + Slack → httpapi      (serve, dev)
//	   └─ enableMetrics() one Prometheus registry: the SDK's handler in the
//	                      client, step/AWS/Slack hooks in runtime(), alert
//	                      counters and incident gauges in httpHandler()
//	                      (worker, serve, dev; call it before client())
type app struct {
	out, errOut io.Writer
	cfg         worker.Config
	runbookDirs []string
	logLevel    string
	routesFile  string

	// incidents gives CLI commands their incidents client. It dials
	// Temporal on first use; tests replace it with a fake to run a
	// command's parsing and printing without a server.
	incidents func(ctx context.Context) (incidentsAPI, error)

	conn client.Client // dialled once, see client
	// localWorker is set once a worker runs on conn in this process (quench
	// dev): alerts then start incidents eagerly (incidents.WithEagerStart).
	localWorker bool

	metrics *metrics.Metrics // nil unless enableMetrics was called
}

// incidentsAPI is what CLI commands ask of incidents: *incidents.Client in
// the binary, a fake in tests.
type incidentsAPI interface {
	Start(ctx context.Context, in contract.IncidentInput) (runID string, err error)
	Decide(ctx context.Context, id, kind string, d contract.Decision) (contract.DecisionResult, error)
	Resolve(ctx context.Context, id string, req contract.ResolveRequest) error
	Cancel(ctx context.Context, id string, req contract.CancelRequest) error
	StatusOfRun(ctx context.Context, id, runID string) (contract.Status, error)
	TimelineOfRun(ctx context.Context, id, runID string) ([]contract.Event, error)
	List(ctx context.Context, filter string) ([]incidents.Summary, error)
	Targets(ctx context.Context) ([]contract.TargetState, error)
	WithHolders(ctx context.Context, st contract.Status) (contract.Status, error)
}

var _ incidentsAPI = (*incidents.Client)(nil)

func newApp(out, errOut io.Writer) *app {
	a := &app{out: out, errOut: errOut, cfg: worker.ConfigFromEnv()}
	a.incidents = func(ctx context.Context) (incidentsAPI, error) { return a.incidentsClient(ctx) }
	return a
}

func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: lvl}))
}

// client dials Temporal once per command.
func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	if err := a.loadCodec(); err != nil {
		return nil, err
	}
	// The CLI's own SDK chatter would drown its output: warnings only.
	quiet := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := worker.Dial(ctx, a.cfg, quiet)
	if err != nil {
		return nil, err
	}
	a.conn = c
	return c, nil
}

// enableMetrics gives this process its metrics registry and sends the
// Temporal SDK's metrics to it; call it before client().
func (a *app) enableMetrics() error {
	m, err := metrics.New()
	if err != nil {
		return err
	}
	a.metrics = m
	a.cfg.MetricsHandler = m.TemporalHandler()
	return nil
}

// incidentsClient is the real incidents client, for commands and for the
// HTTP endpoints (which need the concrete type).
func (a *app) incidentsClient(ctx context.Context) (*incidents.Client, error) {
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	inc := incidents.New(c, a.cfg.TaskQueue).WithNamespace(a.cfg.Namespace).WithDataConverter(codec.DataConverter(a.cfg.Codec))
	if a.localWorker {
		inc = inc.WithEagerStart()
	}
	return inc, nil
}

// loadCodec reads the payload encryption keys (QUENCH_CODEC_KEYS or
// QUENCH_CODEC_KEYS_FILE) into the config every client is dialled with.
// Without keys payloads stay plaintext.
func (a *app) loadCodec() error {
	if a.cfg.Codec != nil {
		return nil
	}
	c, err := codec.FromEnv()
	if err != nil {
		return err
	}
	a.cfg.Codec = c
	return nil
}

// catalog is the registry of every action, used for validation. Building
// it touches no network: AWS clients are made per call.
func (a *app) catalog(ctx context.Context) (*activities.Registry, error) {
	return worker.BuildRegistry(ctx, worker.ActionOptions{AWS: activities.NewAWSProvider(aws.Config{})})
}

// library loads the built-in runbooks plus --runbooks and QUENCH_RUNBOOKS dirs.
func (a *app) library(ctx context.Context) (*runbooks.Library, error) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	dirs := append(append([]string(nil), a.runbookDirs...), runbooks.DirsFromEnv()...)
	return runbooks.NewLibrary(cat, dirs...)
}

// runtime is what a worker process runs with.
type runtime struct {
	registry *activities.Registry
	notifier *activities.Notifier
	records  *activities.RecordStore
	dryRun   string // how AWS actions are forced to dry run, if they are
}

// runtime builds the worker's side: the record store, Slack, AWS and the
// action registry over them.
func (a *app) runtime(ctx context.Context, recordsFile string) (*runtime, error) {
	records, err := activities.NewRecordStore(recordsFile)
	if err != nil {
		return nil, err
	}
	sl, err := a.loadSlack()
	if err != nil {
		return nil, err
	}
	notifier := sl.notifier(a.logger())
	provider, err := activities.LoadAWSProvider(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if a.metrics != nil {
		provider = provider.WithAPIOptions(a.metrics.AWSAPIOption)
	}
	rt := &runtime{notifier: notifier, records: records}
	opts := worker.ActionOptions{Records: records, Logger: a.logger(), AWS: provider, Notifier: notifier}
	if !provider.HasCredentials(ctx) {
		rt.dryRun = opts.WithoutAWSCredentials()
		a.logger().Warn("no AWS credentials found: every AWS action runs as a dry run and changes nothing; incidents show as dry runs", "mode", rt.dryRun)
	}
	rt.registry, err = worker.BuildRegistry(ctx, opts)
	if err == nil && a.metrics != nil {
		rt.registry.SetObserver(a.metrics.ObserveStep)
	}
	return rt, err
}

// slackSetup is the Slack configuration from the environment: secrets
// (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, or their _FILE
// variants) and the default channel (QUENCH_SLACK_CHANNEL).
type slackSetup struct {
	secrets slackapp.Secrets
	channel string
	opts    []slack.Option // the metrics' HTTP client, when enabled
}

func (a *app) loadSlack() (slackSetup, error) {
	s, err := slackapp.LoadSecrets()
	if err != nil {
		return slackSetup{}, err
	}
	sl := slackSetup{secrets: s, channel: os.Getenv("QUENCH_SLACK_CHANNEL")}
	if a.metrics != nil {
		sl.opts = []slack.Option{slack.OptionHTTPClient(a.metrics.SlackHTTPClient(nil))}
	}
	return sl, nil
}

// client is the Slack Web API client, nil without a bot token.
func (s slackSetup) client() *slack.Client { return s.secrets.Client(s.opts...) }

func (s slackSetup) notifier(logger *slog.Logger) *activities.Notifier {
	if c := s.client(); c != nil {
		return activities.NewNotifier(c, s.channel, logger)
	}
	logger.Info("SLACK_BOT_TOKEN not set: approval requests and updates are logged, approve from the CLI")
	return activities.NewNotifier(nil, s.channel, logger)
}

// routes loads and validates the alert routing file, if one is configured,
// before anything starts: a bad file is reported with its line:col.
func (a *app) routes(ctx context.Context) (*alerts.Routes, error) {
	file := firstNonEmpty(a.routesFile, os.Getenv("QUENCH_ROUTES"))
	if file == "" {
		return nil, nil
	}
	lib, err := a.library(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := alerts.LoadRoutes(file, lib)
	if err != nil {
		return nil, &rejectedError{msg: err.Error()}
	}
	return routes, nil
}

// httpHandler builds the HTTP endpoints and, with SLACK_APP_TOKEN set,
// starts Socket Mode next to them (it stops with ctx).
func (a *app) httpHandler(ctx context.Context, routes *alerts.Routes) (http.Handler, error) {
	inc, err := a.incidentsClient(ctx)
	if err != nil {
		return nil, err
	}
	lib, err := a.library(ctx)
	if err != nil {
		return nil, err
	}
	sl, err := a.loadSlack()
	if err != nil {
		return nil, err
	}
	opts := httpapi.Options{Incidents: inc, Namespace: a.cfg.Namespace, Library: lib, Routes: routes, Slack: sl.secrets, SlackClient: sl.client(), Logger: a.logger(), Metrics: a.metrics}
	a.metrics.WatchIncidents(ctx, inc, metrics.DefaultIncidentsTTL, a.logger())
	if routes == nil {
		a.logger().Warn("no alert routes (--routes or QUENCH_ROUTES): alert endpoints answer 503")
	}
	ep, err := httpapi.New(opts)
	if err != nil {
		return nil, err
	}
	if sl.secrets.AppToken != "" {
		go func() {
			if err := ep.RunSocketMode(ctx, opts); err != nil {
				a.logger().Error("slack socket mode stopped", "error", err)
			}
		}()
	}
	return ep, nil
}

// validateRoutes checks a routing file against the runbook library.
func validateRoutes(ctx context.Context, a *app, file string, data []byte) error {
	lib, err := a.library(ctx)
	if err != nil {
		return err
	}
	_, err = alerts.ParseRoutes(file, data, lib)
	return err
}

// startHTTP serves the HTTP endpoints until stop is called.
func (a *app) startHTTP(ctx context.Context, listen string, routes *alerts.Routes) (stop func(), addr string, err error) {
	handler, err := a.httpHandler(ctx, routes)
	if err != nil {
		return nil, "", err
	}
	return httpapi.Listen(ctx, listen, handler, httpapi.DefaultLimits, a.logger())
}
