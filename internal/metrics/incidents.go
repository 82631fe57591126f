package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

// IncidentSource is what the incident gauges read: *incidents.Client.
type IncidentSource interface {
	List(ctx context.Context, filter string) ([]incidents.Summary, error)
	StatusOfRun(ctx context.Context, id, runID string) (contract.Status, error)
}

// Defaults for WatchIncidents.
const (
	// DefaultIncidentsTTL is how long one read of Temporal serves scrapes:
	// a scrape storm (several Prometheus replicas, a dashboard refreshing)
	// costs one visibility query per TTL.
	DefaultIncidentsTTL = 15 * time.Second
	// maxStatusQueries bounds the status queries of one refresh (one per
	// pending approval, to read when it was requested).
	maxStatusQueries = 100
	refreshTimeout   = 10 * time.Second
)

var (
	descOpen = prometheus.NewDesc("quench_incidents_open",
		"Open incidents, by runbook and state (running, awaiting_approval, contained, rolling_back), from Temporal visibility.",
		[]string{"runbook", "state"}, nil)
	descPending = prometheus.NewDesc("quench_approvals_pending",
		"Approval steps waiting for a decision (incidents in state awaiting_approval), by runbook.",
		[]string{"runbook"}, nil)
	descPendingAge = prometheus.NewDesc("quench_approvals_pending_age_seconds",
		"Age of the oldest approval waiting for a decision, by runbook (since its step started).",
		[]string{"runbook"}, nil)
	descReadErrors = prometheus.NewDesc("quench_incidents_read_errors_total",
		"Reads of Temporal for the incident gauges that failed; while they fail the gauges are absent rather than stale.",
		nil, nil)
)

// WatchIncidents adds the incident and approval gauges, read from src at
// scrape time and cached for ttl (DefaultIncidentsTTL when 0). ctx bounds
// the reads (the process's context).
func (m *Metrics) WatchIncidents(ctx context.Context, src IncidentSource, ttl time.Duration, logger *slog.Logger) {
	if m == nil {
		return
	}
	if ttl <= 0 {
		ttl = DefaultIncidentsTTL
	}
	if logger == nil {
		logger = slog.Default()
	}
	m.reg.MustRegister(&incidentCollector{ctx: ctx, src: src, ttl: ttl, now: time.Now, log: logger})
}

// incidentCollector reads open incidents from visibility and, for each
// pending approval, the incident's status (when the approval step started).
type incidentCollector struct {
	ctx context.Context
	src IncidentSource
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex // one refresh at a time; scrapes meanwhile wait for it
	at     time.Time
	snap   *incidentSnapshot
	errors float64
}

type stateKey struct{ runbook, state string }

type incidentSnapshot struct {
	open    map[stateKey]int
	pending map[string]int
	oldest  map[string]time.Time // runbook → earliest approval request
}

func (c *incidentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descOpen
	ch <- descPending
	ch <- descPendingAge
	ch <- descReadErrors
}

func (c *incidentCollector) Collect(ch chan<- prometheus.Metric) {
	snap, errs := c.snapshot()
	ch <- prometheus.MustNewConstMetric(descReadErrors, prometheus.CounterValue, errs)
	if snap == nil {
		return
	}
	for k, n := range snap.open {
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(n), k.runbook, k.state)
	}
	for rb, n := range snap.pending {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(n), rb)
	}
	// Ages grow between refreshes: computed now, from when each was requested.
	now := c.now()
	for rb, t := range snap.oldest {
		ch <- prometheus.MustNewConstMetric(descPendingAge, prometheus.GaugeValue, now.Sub(t).Seconds(), rb)
	}
}

// snapshot returns the cached read, refreshing it when older than ttl.
func (c *incidentCollector) snapshot() (*incidentSnapshot, float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.ttl {
		return c.snap, c.errors
	}
	ctx, cancel := context.WithTimeout(c.ctx, refreshTimeout)
	defer cancel()
	snap, err := c.read(ctx)
	c.at = c.now()
	c.snap = snap
	if err != nil {
		c.errors++
		c.log.Warn("read incidents for metrics", "err", err)
	}
	return c.snap, c.errors
}

func (c *incidentCollector) read(ctx context.Context) (*incidentSnapshot, error) {
	open, err := c.src.List(ctx, incidents.FilterOpen)
	if err != nil {
		return nil, err
	}
	snap := &incidentSnapshot{open: map[stateKey]int{}, pending: map[string]int{}, oldest: map[string]time.Time{}}
	queries, unread := 0, 0
	var lastErr error
	for _, s := range open {
		snap.open[stateKey{s.Runbook, s.State}]++
		if s.State != contract.StateAwaitingApproval {
			continue
		}
		snap.pending[s.Runbook]++
		if queries == maxStatusQueries {
			continue
		}
		queries++
		at, ok, err := requestedAt(ctx, c.src, s)
		if err != nil {
			unread, lastErr = unread+1, err
		}
		if !ok {
			continue
		}
		if old, seen := snap.oldest[s.Runbook]; !seen || at.Before(old) {
			snap.oldest[s.Runbook] = at
		}
	}
	if unread > 0 {
		// One line per refresh, however many incidents did not answer.
		c.log.Warn("read pending approvals for metrics: left out of the age", "unread", unread, "lastErr", lastErr)
	}
	return snap, nil
}

// requestedAt is when s's pending approval step started. Visibility does
// not hold it, so the incident's status is queried; an incident whose
// worker does not answer is left out of the age, not guessed.
func requestedAt(ctx context.Context, src IncidentSource, s incidents.Summary) (time.Time, bool, error) {
	st, err := src.StatusOfRun(ctx, s.ID, s.RunID)
	if err != nil {
		return time.Time{}, false, err
	}
	if st.PendingApproval == nil {
		return time.Time{}, false, nil
	}
	for _, step := range st.Steps {
		if step.ID == st.PendingApproval.Step && step.Started != nil {
			return *step.Started, true, nil
		}
	}
	return time.Time{}, false, nil
}
