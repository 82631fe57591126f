package worker

import (
	"context"
	"log/slog"

	"github.com/quenchhq/quench/activities"
)

// ActionOptions configure the action registry a worker runs.
type ActionOptions struct {
	// Records backs core.record; nil means in memory.
	Records *activities.RecordStore
	Logger  *slog.Logger
}

// BuildRegistry returns the registry of every action this worker can run.
func BuildRegistry(ctx context.Context, opts ActionOptions) (*activities.Registry, error) {
	if opts.Records == nil {
		opts.Records, _ = activities.NewRecordStore("")
	}
	reg := activities.NewRegistry()
	core := &activities.Core{Records: opts.Records, Logger: opts.Logger}
	reg.Register(core.Actions()...)
	return reg, nil
}
