package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/httpapi/respond"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/metrics"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/runbooks"
)

// Options are what the endpoints need.
type Options struct {
	Incidents *incidents.Client
	// Namespace is the Temporal namespace /readyz probes.
	Namespace string
	// Ready overrides the /readyz check (default: TemporalReady on the
	// incidents client's connection and Namespace).
	Ready   ReadyFunc
	Library *runbooks.Library
	// Routes maps alerts to runbooks; nil answers alert posts 503 with the reason.
	Routes *alerts.Routes
	// Slack holds the signing secret (and tokens); SlackClient is built from
	// it (nil without a bot token).
	Slack       slackapp.Secrets
	SlackClient *slack.Client
	// SlackResponseURLPrefixes overrides where response_url may point (tests).
	SlackResponseURLPrefixes []string
	Logger                   *slog.Logger
	Now                      func() time.Time
	// Metrics, when set, is served at GET /metrics and counts alerts.
	Metrics *metrics.Metrics
}

// Endpoints is the assembled handler plus the Slack handler (for Socket Mode).
type Endpoints struct {
	http.Handler
	Slack *slackapp.Handler
}

// New builds the endpoints.
func New(opts Options) (*Endpoints, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Ready == nil {
		opts.Ready = TemporalReady(opts.Incidents.Temporal().WorkflowService(), opts.Namespace)
	}
	mux := http.NewServeMux()
	MountHealth(mux, opts.Ready)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	if opts.Routes != nil {
		cfg := alerts.Config{
			Routes: opts.Routes, Library: opts.Library, Starter: alerts.NewTemporalStarter(opts.Incidents),
			Logger: opts.Logger, Now: opts.Now,
		}
		if opts.Metrics != nil {
			cfg.Counter = opts.Metrics
		}
		alerts.NewServer(cfg).Mount(mux)
	} else {
		mux.HandleFunc("/alerts/", func(w http.ResponseWriter, r *http.Request) {
			respond.Error(w, http.StatusServiceUnavailable, "no alert routes configured: start with --routes FILE or QUENCH_ROUTES")
		})
	}

	cfg := slackapp.Config{
		SigningSecret: opts.Slack.SigningSecret, Incidents: opts.Incidents, Logger: opts.Logger, Now: opts.Now,
		ResponseURLPrefixes: opts.SlackResponseURLPrefixes,
	}
	if opts.SlackClient != nil {
		cfg.Slack = opts.SlackClient
		cfg.Groups = slackapp.NewGroupCache(opts.SlackClient, time.Minute, opts.Now)
	}
	sh, err := slackapp.NewHandler(cfg)
	if err != nil {
		return nil, fmt.Errorf("slack interactions: %w", err)
	}
	if opts.Slack.SigningSecret == "" {
		opts.Logger.Warn("SLACK_SIGNING_SECRET is not set: /slack/interactions refuses every request")
	}
	mux.Handle("POST /slack/interactions", sh)
	return &Endpoints{Handler: mux, Slack: sh}, nil
}

// RunSocketMode connects to Slack over Socket Mode when an app token is set,
// feeding clicks to the same handler as the HTTP endpoint.
func (e *Endpoints) RunSocketMode(ctx context.Context, opts Options) error {
	if opts.Slack.AppToken == "" || opts.SlackClient == nil {
		return nil
	}
	return slackapp.RunSocketMode(ctx, opts.SlackClient, e.Slack)
}
