package alerts

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

// TemporalStarter is the Starter used in production: the incidents client
// plus a plain signal for resolved alerts, which must never start an incident.
type TemporalStarter struct {
	*incidents.Client
}

// NewTemporalStarter wraps an incidents client as a Starter.
func NewTemporalStarter(c *incidents.Client) *TemporalStarter {
	return &TemporalStarter{Client: c}
}

// SignalAlert records the alert on the open incident id.
func (t *TemporalStarter) SignalAlert(ctx context.Context, id string, sig contract.AlertSignal) error {
	err := t.Temporal().SignalWorkflow(ctx, id, "", contract.SignalAlert, sig)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("signal incident %s: %w", id, ErrNoOpenIncident)
	}
	if err != nil {
		return fmt.Errorf("signal incident %s: %w", id, err)
	}
	return nil
}
