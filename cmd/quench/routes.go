package main

import (
	"context"

	"github.com/quenchhq/quench/internal/alerts"
)

// validateRoutes checks a routing file against the runbook library.
func validateRoutes(ctx context.Context, a *app, file string, data []byte) error {
	lib, err := a.library(ctx)
	if err != nil {
		return err
	}
	_, err = alerts.ParseRoutes(file, data, lib)
	return err
}
