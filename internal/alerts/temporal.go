package alerts

import (
	"github.com/quenchhq/quench/internal/incidents"
)

// Every Temporal call goes through internal/incidents: this package sees
// Temporal only as a Starter, and *incidents.Client is the one that talks
// to it.
var _ Starter = (*incidents.Client)(nil)

// ErrNoOpenIncident says a resolved alert found no incident to record on.
var ErrNoOpenIncident = incidents.ErrNoOpenIncident

// NewTemporalStarter returns the production Starter: the incidents client.
func NewTemporalStarter(c *incidents.Client) Starter { return c }
