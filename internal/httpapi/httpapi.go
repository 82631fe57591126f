// Package httpapi assembles quench's HTTP endpoints — alert webhooks, Slack
// interactions, health — into one handler, so `quench serve`, `quench dev`
// and the end-to-end tests serve exactly the same thing.
package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/runbooks"
)

// Options are what the endpoints need.
type Options struct {
	Incidents *incidents.Client
	Library   *runbooks.Library
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
	mux := http.NewServeMux()
	ready := alerts.TemporalReady(opts.Incidents.Temporal())
	if opts.Routes != nil {
		alerts.NewServer(alerts.Config{
			Routes: opts.Routes, Library: opts.Library, Starter: alerts.NewTemporalStarter(opts.Incidents),
			Ready: ready, Logger: opts.Logger, Now: opts.Now,
		}).Mount(mux)
	} else {
		mux.HandleFunc("/alerts/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no alert routes configured: start with --routes FILE or QUENCH_ROUTES"})
		})
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"ok": true})
		})
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := ready(r.Context()); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ok": true})
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
