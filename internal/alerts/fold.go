package alerts

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

// Group commit. A storm sends the same alert thousands of times a second,
// and each signal is a write to Temporal's store and an event in the
// incident's history. So alerts for one incident and status are folded
// together before they become signals: while a signal for the incident is
// in flight (and for a few milliseconds before the first one), arriving
// alerts join the next signal, which carries their count. Each request is
// answered only after the signal carrying its alert is durably recorded, or
// with that signal's error; an alert is never acknowledged and then lost.
//
//	request ─┐                 ┌─ in flight: signal(count=1) ─▶ Temporal
//	request ─┼─▶ queue(id, st) ┤
//	request ─┘                 └─ next:      signal(count=2) ─▶ Temporal

// Defaults for Config's group commit and load shedding fields.
const (
	DefaultCoalesceWindow     = 2 * time.Millisecond
	DefaultMaxSignalsInFlight = 64
	DefaultMaxWaiting         = 512
	DefaultSignalTimeout      = 10 * time.Second
)

// fold is one alert of one request waiting for the signal that carries it.
type fold struct {
	plan *plan
	sig  contract.AlertSignal
	// res and err are set before done is closed.
	res  IncidentResult
	err  error
	done chan struct{}
}

// foldKey names the signals alerts may share: one incident, one status.
type foldKey struct{ id, status string }

func (f *fold) key() foldKey { return foldKey{f.plan.input.ID, f.sig.Status} }

// coalescer runs one sender per key with alerts waiting; a key's sender
// sends one signal at a time and exits when nothing is left to send.
type coalescer struct {
	// flush sends one signal for folds (all with the same key) and sets
	// each one's result.
	flush  func(ctx context.Context, folds []*fold)
	window time.Duration
	slots  chan struct{} // signals in flight, across keys

	mu     sync.Mutex
	queues map[foldKey][]*fold // alerts for each key's next signal; present while its sender runs
}

func newCoalescer(window time.Duration, inFlight int, flush func(context.Context, []*fold)) *coalescer {
	return &coalescer{flush: flush, window: window, slots: make(chan struct{}, inFlight), queues: map[foldKey][]*fold{}}
}

// add queues f for the next signal of its key, starting the key's sender
// if none runs. The sender outlives the request that started it, so it
// keeps ctx's values but not its cancellation.
func (c *coalescer) add(ctx context.Context, f *fold) {
	f.done = make(chan struct{})
	k := f.key()
	c.mu.Lock()
	q, running := c.queues[k]
	c.queues[k] = append(q, f)
	c.mu.Unlock()
	if !running {
		go c.send(context.WithoutCancel(ctx), k)
	}
}

// wait returns f's result once its signal is done. If ctx ends first and
// the alert was not yet taken into a signal, it is withdrawn, so an alert
// whose sender gave up is not counted; once taken, it counts.
func (c *coalescer) wait(ctx context.Context, f *fold) (IncidentResult, error) {
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	k := f.key()
	if q := c.queues[k]; slices.Contains(q, f) {
		c.queues[k] = slices.DeleteFunc(q, func(g *fold) bool { return g == f })
		c.mu.Unlock()
		return IncidentResult{}, ctx.Err()
	}
	c.mu.Unlock()
	select {
	case <-f.done: // it was in flight and finished meanwhile
		return f.res, f.err
	default:
		return IncidentResult{}, ctx.Err()
	}
}

// send is a key's sender: after the window, it takes everything queued for
// the key into one signal, and repeats while more arrived during it.
func (c *coalescer) send(ctx context.Context, k foldKey) {
	if c.window > 0 {
		time.Sleep(c.window)
	}
	for {
		c.mu.Lock()
		folds := c.queues[k]
		if len(folds) == 0 {
			delete(c.queues, k)
			c.mu.Unlock()
			return
		}
		c.queues[k] = nil // taken; the key stays while its sender runs
		c.mu.Unlock()

		c.slots <- struct{}{}
		c.flush(ctx, folds)
		<-c.slots
		for _, f := range folds {
			close(f.done)
		}
	}
}
