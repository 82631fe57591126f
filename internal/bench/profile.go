package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// Paths of the profiling endpoint quench serves when QUENCH_PPROF is set
// (cmd/quench/bench.go). A CPU profile runs from start to stop, so it
// covers exactly one scenario's load.
const (
	PathCPUStart = "/debug/quench/cpu/start"
	PathCPUStop  = "/debug/quench/cpu/stop"
	PathAllocs   = "/debug/pprof/allocs"
	PathHeap     = "/debug/pprof/heap"
)

// profiling is a CPU profile in progress and the allocation profile taken
// when it started; the zero value profiles nothing.
type profiling struct {
	base, dir, name string
}

func (h *harness) startProfile(ctx context.Context, t *target, name string) (*profiling, error) {
	if name == "" || t.pprof == "" || h.cfg.ProfileDir == "" {
		return &profiling{}, nil
	}
	p := &profiling{base: t.pprof, dir: h.cfg.ProfileDir, name: name}
	if _, err := p.fetch(ctx, PathAllocs, "GET", name+"-allocs-before.pb.gz"); err != nil {
		return nil, err
	}
	if _, err := p.fetch(ctx, PathCPUStart, "POST", ""); err != nil {
		return nil, err
	}
	return p, nil
}

// stop ends the CPU profile and takes the second allocation profile; it
// returns the files written. Compare the allocation profiles with
// go tool pprof -sample_index=alloc_space -base BEFORE AFTER.
func (p *profiling) stop(ctx context.Context) ([]string, error) {
	if p.base == "" {
		return nil, nil
	}
	cpu, err := p.fetch(ctx, PathCPUStop, "POST", p.name+"-cpu.pb.gz")
	if err != nil {
		return nil, err
	}
	allocs, err := p.fetch(ctx, PathAllocs, "GET", p.name+"-allocs-after.pb.gz")
	if err != nil {
		return nil, err
	}
	return []string{cpu, filepath.Join(p.dir, p.name+"-allocs-before.pb.gz"), allocs}, nil
}

// heapProfile writes a heap profile of t (in use now) to the profile dir.
func (h *harness) heapProfile(ctx context.Context, t *target, name string) (string, error) {
	if t.pprof == "" || h.cfg.ProfileDir == "" {
		return "", nil
	}
	p := &profiling{base: t.pprof, dir: h.cfg.ProfileDir, name: name}
	return p.fetch(ctx, PathHeap+"?gc=1", "GET", name+"-heap.pb.gz")
}

func (p *profiling) fetch(ctx context.Context, path, method, file string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("profile %s: %s: %s", path, resp.Status, b)
	}
	if file == "" {
		return "", nil
	}
	out := filepath.Join(p.dir, file)
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", err
	}
	return out, f.Close()
}
