package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/httpapi"
)

type serveOptions struct {
	listen string
}

func newCmdServe(a *app) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP endpoints: alert webhooks, Slack interactions, health",
		Long: `Serve runs the HTTP endpoints against a Temporal cluster (put it behind a load
balancer; run workers separately with quench worker):

  POST /alerts/alertmanager  POST /alerts/sns  POST /alerts/eventbridge
  POST /alerts/generic       POST /slack/interactions
  GET  /healthz              GET  /readyz (Temporal's store reads and writes)

Every connection is bounded (httpapi.DefaultLimits): 10 s for headers, 30 s
for the whole request, 60 s for the answer, 120 s idle, 64 KiB of headers.`,
		Example: `  QUENCH_ROUTES=routes.yaml SLACK_SIGNING_SECRET=... quench serve --listen :8080`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			routes, err := a.routes(cmd.Context())
			if err != nil {
				return err
			}
			stop, addr, err := a.startHTTP(cmd.Context(), o.listen, routes)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(a.out, "quench serve ready: http://%s\n", addr)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&a.routesFile, "routes", "", "alert routing file (env QUENCH_ROUTES); see examples/routes.yaml")
	return cmd
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
	inc, err := a.incidents(ctx)
	if err != nil {
		return nil, err
	}
	lib, err := a.library(ctx)
	if err != nil {
		return nil, err
	}
	sl, err := loadSlack()
	if err != nil {
		return nil, err
	}
	opts := httpapi.Options{Incidents: inc, Namespace: a.cfg.Namespace, Library: lib, Routes: routes, Slack: sl.secrets, SlackClient: sl.secrets.Client(), Logger: a.logger()}
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
