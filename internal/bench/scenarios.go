package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

// LatencyResult: alert → first containment step done, one alert at a time.
type LatencyResult struct {
	Alerts   int
	P50, P99 time.Duration
	Samples  []time.Duration // step 1 finished − alert received, both from the incident's status
	Command  string
}

func (h *harness) latency(ctx context.Context, startTarget starter) (*LatencyResult, error) {
	t, err := startTarget(ctx, "latency")
	if err != nil {
		return nil, err
	}
	defer t.close()
	p := newPoster(t.http, h.token, 1)
	defer p.close()
	res := &LatencyResult{Alerts: h.cfg.Latency, Command: t.command}
	for i := range h.cfg.Latency {
		a, err := p.post(ctx, alertBody(containRunbook, fmt.Sprintf("latency-%d", i), int64(i)))
		if err != nil {
			return nil, err
		}
		var st contract.Status
		deadline := time.Now().Add(time.Minute)
		for {
			st, err = status(ctx, t.c, a.incident)
			if err == nil && len(st.Steps) > 0 && st.Steps[0].Finished != nil {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("incident %s: first step not done after a minute (%v)", a.incident, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st.Alerts.FirstSeen.IsZero() {
			return nil, fmt.Errorf("incident %s: status has no alert received time", a.incident)
		}
		res.Samples = append(res.Samples, st.Steps[0].Finished.Sub(st.Alerts.FirstSeen))
	}
	res.P50, res.P99 = percentile(res.Samples, 0.5), percentile(res.Samples, 0.99)
	return res, nil
}

// BurstResult: distinct alerts at once until every incident is contained.
type BurstResult struct {
	Target    string
	Alerts    int
	Incidents int // distinct incident ids in the answers
	Contained int // incidents whose timeline says contained
	Post      time.Duration
	Wall      time.Duration // first request → last "contained" in the timelines
	PerSecond float64       // incidents contained per second of Wall
	Shed      int64         // 429/503 answers (retried)
	Failed    int64
	Command   string
	Profiles  []string
}

// send posts n alerts from conns connections; next gives the i-th body.
func send(ctx context.Context, p *poster, n, conns int, next func(i int) []byte) ([]accepted, error) {
	out := make([]accepted, n)
	var idx atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(conns, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(idx.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				a, err := p.post(ctx, next(i))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				out[i] = a
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

func (h *harness) burst(ctx context.Context, startTarget starter, profile string) (*BurstResult, error) {
	t, err := startTarget(ctx, "burst")
	if err != nil {
		return nil, err
	}
	defer t.close()
	n := h.cfg.Burst
	p := newPoster(t.http, h.token, h.cfg.Conns)
	defer p.close()
	res := &BurstResult{Target: t.name, Alerts: n, Command: t.command}
	prof, err := h.startProfile(ctx, t, profile)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	acks, err := send(ctx, p, n, h.cfg.Conns, func(i int) []byte { return alertBody(containRunbook, fmt.Sprintf("burst-%d", i), int64(i)) })
	res.Post = time.Since(t0)
	res.Shed, res.Failed = p.shed.Load(), p.failed.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: %d alerts failed, first: %w", t.name, res.Failed, err)
	}
	ids := distinct(acks)
	res.Incidents = len(ids)
	if _, err := waitCount(ctx, t.c, stateQuery(containRunbook, contract.StateContained), int64(len(ids)), 15*time.Minute); err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	if res.Profiles, err = prof.stop(ctx); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var last time.Time
	err = forEach(ctx, ids, func(ctx context.Context, id string) error {
		ev, err := timeline(ctx, t.c, id)
		if err != nil {
			return err
		}
		at := eventTime(ev, contract.EventContained)
		if at.IsZero() {
			return fmt.Errorf("incident %s: no %s in its timeline", id, contract.EventContained)
		}
		mu.Lock()
		defer mu.Unlock()
		res.Contained++
		if at.After(last) {
			last = at
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Wall = last.Sub(t0)
	res.PerSecond = float64(res.Contained) / res.Wall.Seconds()
	return res, nil
}

func distinct(acks []accepted) []string {
	seen := map[string]bool{}
	var ids []string
	for _, a := range acks {
		if a.incident != "" && !seen[a.incident] {
			seen[a.incident] = true
			ids = append(ids, a.incident)
		}
	}
	return ids
}

// StormResult: a few dedup keys, many connections, a fixed time.
type StormResult struct {
	Target    string
	Keys      int
	Conns     int
	Duration  time.Duration // first request → last answer
	Accepted  int64         // 2xx answers
	PerSecond float64
	P50, P99  time.Duration // of the acknowledged attempt
	P99Total  time.Duration // first attempt → acknowledged, retries included
	Shed      int64
	Failed    int64
	Incidents int   // distinct incident ids in the answers
	Running   int64 // running Incident workflows of the runbook (visibility)
	Folded    int64 // sum of the incidents' alert counts
	Lost      int64 // acknowledged but not folded
	Command   string
	Profiles  []string
}

func (h *harness) storm(ctx context.Context, startTarget starter, profile string) (*StormResult, error) {
	t, err := startTarget(ctx, "storm")
	if err != nil {
		return nil, err
	}
	defer t.close()
	p := newPoster(t.http, h.token, h.cfg.Conns)
	defer p.close()
	res := &StormResult{Target: t.name, Keys: h.cfg.StormKeys, Conns: h.cfg.Conns, Command: t.command}
	prof, err := h.startProfile(ctx, t, profile)
	if err != nil {
		return nil, err
	}
	var seq atomic.Int64
	var mu sync.Mutex
	var lat, total []time.Duration
	acked := map[string]int64{}
	var firstErr error
	t0 := time.Now()
	deadline := t0.Add(h.cfg.Storm)
	var wg sync.WaitGroup
	for range h.cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := seq.Add(1)
				key := fmt.Sprintf("storm-%d", i%int64(h.cfg.StormKeys))
				a, err := p.post(ctx, alertBody(containRunbook, key, i))
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					acked[a.incident]++
					lat = append(lat, a.latency)
					total = append(total, a.total)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Duration = time.Since(t0)
	if res.Profiles, err = prof.stop(ctx); err != nil {
		return nil, err
	}
	res.Shed, res.Failed = p.shed.Load(), p.failed.Load()
	for _, n := range acked {
		res.Accepted += n
	}
	res.PerSecond = float64(res.Accepted) / res.Duration.Seconds()
	res.P50, res.P99, res.P99Total = percentile(lat, 0.5), percentile(lat, 0.99), percentile(total, 0.99)
	res.Incidents = len(acked)
	if firstErr != nil {
		h.logf("%s storm: %d answers failed, first: %v", t.name, res.Failed, firstErr)
	}
	// Every acknowledged alert must be counted by its incident; folding
	// may lag the answers, so wait for it (a minute at most).
	var folded atomic.Int64
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	err = forEach(ctx, ids, func(ctx context.Context, id string) error {
		end := time.Now().Add(time.Minute)
		for {
			st, err := status(ctx, t.c, id)
			if err == nil && (int64(st.Alerts.Count) >= acked[id] || time.Now().After(end)) {
				folded.Add(int64(st.Alerts.Count))
				return nil
			}
			if err != nil && time.Now().After(end) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err != nil {
		return nil, err
	}
	res.Folded = folded.Load()
	res.Lost = max(0, res.Accepted-res.Folded)
	// Visibility lags the workflows a little: wait for it (30 s at most),
	// then take what it says.
	running := fmt.Sprintf("ExecutionStatus = 'Running' AND %s = '%s'", contract.SearchAttrRunbook, containRunbook)
	end := time.Now().Add(30 * time.Second)
	for {
		res.Running, err = count(ctx, t.c, running)
		if err != nil || res.Running == int64(res.Incidents) || time.Now().After(end) {
			return res, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// RSSResult: resident memory of quench dev idle and with incidents
// waiting; for the peer, the sum over its three processes.
type RSSResult struct {
	Incidents int
	Idle      int64 // bytes, after ready
	Loaded    int64 // bytes, with every incident awaiting approval
	Peak      int64 // VmHWM at the end (the peer: the sum of each process's)
	// LoadedAnon and LoadedFile split Loaded: the processes' own memory,
	// and mapped files (the executables).
	LoadedAnon, LoadedFile int64
	LoadedTook             time.Duration
	Command                string
	Profile                string // heap profile with every incident waiting, when profiling
}

func (h *harness) rss(ctx context.Context, startTarget starter) (*RSSResult, error) {
	t, err := startTarget(ctx, "rss")
	if err != nil {
		return nil, err
	}
	defer t.close()
	res := &RSSResult{Incidents: h.cfg.Waiting, Command: t.command}
	time.Sleep(time.Second)
	idle, err := t.memory()
	if err != nil {
		return nil, err
	}
	res.Idle = idle.RSS
	p := newPoster(t.http, h.token, h.cfg.Conns)
	defer p.close()
	t0 := time.Now()
	acks, err := send(ctx, p, h.cfg.Waiting, h.cfg.Conns, func(i int) []byte {
		return alertBody(approvalRunbook, fmt.Sprintf("waiting-%d", i), int64(i))
	})
	if err != nil {
		return nil, err
	}
	if n := len(distinct(acks)); n != h.cfg.Waiting {
		return nil, fmt.Errorf("%d alerts started %d incidents", h.cfg.Waiting, n)
	}
	at, err := waitCount(ctx, t.c, stateQuery(approvalRunbook, contract.StateAwaitingApproval), int64(h.cfg.Waiting), 15*time.Minute)
	if err != nil {
		return nil, err
	}
	res.LoadedTook = at.Sub(t0)
	time.Sleep(h.cfg.Settle)
	loaded, err := t.memory()
	if err != nil {
		return nil, err
	}
	res.Loaded, res.Peak, res.LoadedAnon, res.LoadedFile = loaded.RSS, loaded.Peak, loaded.Anon, loaded.File
	res.Profile, err = h.heapProfile(ctx, t, "rss")
	return res, err
}

// StartupResult: quench dev from exec to its ready line; for the peer,
// from the exec of the temporal dev server to quench serve's ready line,
// the three processes started one after the other as a user would.
type StartupResult struct {
	Fresh, Warm []time.Duration
	Command     string
}

// startIn starts a target on dir, fresh or not (startup).
type startIn func(ctx context.Context, dir string) (*target, error)

func (h *harness) startup(ctx context.Context, name string, startTarget startIn) (*StartupResult, error) {
	res := &StartupResult{}
	for range h.cfg.Starts {
		dir, err := h.dataDir(name + "-startup")
		if err != nil {
			return nil, err
		}
		for _, warm := range []bool{false, true} {
			t, err := startTarget(ctx, dir)
			if err != nil {
				return nil, err
			}
			res.Command = t.command
			if warm {
				res.Warm = append(res.Warm, t.ready)
			} else {
				res.Fresh = append(res.Fresh, t.ready)
			}
			t.close()
			for _, p := range t.procs {
				if p.waitErr != nil && !isInterrupted(p.waitErr) {
					return nil, fmt.Errorf("%s in %s did not stop cleanly: %w (log: %s)", p.name, dir, p.waitErr, filepath.Join(dir, p.name+".log"))
				}
			}
		}
	}
	return res, nil
}

// isInterrupted is true for the exit of a process stopped by SIGINT.
func isInterrupted(err error) bool {
	return err == nil || errors.Is(err, context.Canceled) || err.Error() == "signal: interrupt" || err.Error() == "exit status 130"
}
