package main

import (
	"context"
	"fmt"
	"net/http"

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
  GET  /healthz              GET  /readyz (Temporal reachable)`,
		Example: `  QUENCH_ROUTES=routes.yaml SLACK_SIGNING_SECRET=... quench serve --listen :8080`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			stop, addr, err := a.startHTTP(cmd.Context(), o.listen)
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
	return cmd
}

// httpHandler builds the HTTP endpoints.
func (a *app) httpHandler(ctx context.Context) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	return mux, nil
}
