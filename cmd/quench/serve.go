package main

import (
	"fmt"

	"github.com/spf13/cobra"
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
  GET  /metrics (Prometheus: alerts, open incidents, pending approvals, Temporal SDK)

Every connection is bounded (httpapi.DefaultLimits): 10 s for headers, 30 s
for the whole request, 60 s for the answer, 120 s idle, 64 KiB of headers.`,
		Example: `  QUENCH_ROUTES=routes.yaml SLACK_SIGNING_SECRET=... quench serve --listen :8080`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.enableMetrics(); err != nil {
				return err
			}
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
