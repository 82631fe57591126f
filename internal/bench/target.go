package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/workflows/contract"
)

// target is a system under test: quench dev alone, or the peer (the
// official dev server, a quench worker and quench serve).
type target struct {
	name     string
	dir      string // logs and data
	http     string // base URL of the alert endpoints
	temporal string // frontend host:port
	procs    []*proc
	dev      *proc // quench dev (RSS, profiles); nil for the peer
	pprof    string
	c        client.Client
	command  string
	ready    time.Duration
}

// starter starts a fresh target for one scenario.
type starter func(ctx context.Context, scenario string) (*target, error)

func (t *target) close() {
	if t == nil {
		return
	}
	if t.c != nil {
		t.c.Close()
	}
	for i := len(t.procs) - 1; i >= 0; i-- {
		_ = t.procs[i].stop()
	}
}

var devReady = regexp.MustCompile(`quench dev ready: temporal (\S+) namespace \S+, http (\S+),`)

// devSpec is quench dev on dataDir with the bench runbooks and routes.
func (h *harness) devSpec(dataDir string, temporalPort, httpPort, pprofPort int) procSpec {
	args := []string{"dev", "--data-dir", dataDir, "--temporal-port", strconv.Itoa(temporalPort),
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort), "--routes", h.routes, "--runbooks", h.rbDir, "--log-level", "warn",
		// The engine is measured, not the Web UI; and a derived UI port
		// (temporal port + 1000) may be taken on a busy machine.
		"--headless"}
	if h.cfg.Sync != "" {
		args = append(args, "--sync", h.cfg.Sync)
	}
	env := []string{"QUENCH_BENCH_TOKEN=" + h.token}
	if pprofPort > 0 {
		env = append(env, "QUENCH_PPROF=127.0.0.1:"+strconv.Itoa(pprofPort))
	}
	return procSpec{name: "quench-dev", bin: h.cfg.Quench, args: args, env: env, dir: filepath.Dir(dataDir), ready: devReady, timeout: 3 * time.Minute}
}

// memory is the resident memory of the target's processes, summed (each
// process's peak too).
func (t *target) memory() (memUsage, error) {
	var sum memUsage
	for _, p := range t.procs {
		m, err := p.memory()
		if err != nil {
			return memUsage{}, err
		}
		sum = sum.plus(m)
	}
	return sum, nil
}

// startDev starts quench dev on a fresh data dir.
func (h *harness) startDev(ctx context.Context, scenario string) (*target, error) {
	dir, err := h.dataDir("dev-" + scenario)
	if err != nil {
		return nil, err
	}
	return h.startDevIn(ctx, dir, h.cfg.ProfileDir != "")
}

// startDevIn starts quench dev on dir (fresh or not) and dials it.
func (h *harness) startDevIn(ctx context.Context, dir string, profile bool) (*target, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if !profile {
		ports[2] = 0
	}
	spec := h.devSpec(filepath.Join(dir, "data"), ports[0], ports[1], ports[2])
	spec.dir = dir
	p, m, took, err := start(ctx, spec)
	if err != nil {
		return nil, err
	}
	t := &target{name: "quench dev", dir: dir, temporal: m[1], http: m[2], procs: []*proc{p}, dev: p, command: spec.command(), ready: took}
	if profile {
		t.pprof = "http://127.0.0.1:" + strconv.Itoa(ports[2])
	}
	if t.c, err = dial(ctx, t.temporal); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// startPeer starts the official Temporal dev server with quench's search
// attributes, a quench worker and quench serve, each its own process.
func (h *harness) startPeer(ctx context.Context, scenario string) (*target, error) {
	dir, err := h.dataDir("peer-" + scenario)
	if err != nil {
		return nil, err
	}
	return h.startPeerIn(ctx, dir)
}

// startPeerIn starts the peer on dir (fresh or not); its ready is the time
// from the server's exec to quench serve's ready line.
func (h *harness) startPeerIn(ctx context.Context, dir string) (*target, error) {
	began := time.Now()
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{"server", "start-dev", "--headless", "--db-filename", filepath.Join(dir, "temporal.db"),
		"--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]), "--log-level", "warn"}
	for _, sa := range contract.SearchAttributes {
		args = append(args, "--search-attribute", sa+"=Keyword")
	}
	t := &target{name: "peer", dir: dir, temporal: addr}
	server := procSpec{name: "temporal", bin: h.cfg.Temporal, args: args, dir: dir, timeout: 3 * time.Minute,
		probe: func(ctx context.Context) error {
			c, err := dial(ctx, addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: contract.SearchAttrState + " = 'x'"})
			return err
		}}
	p, _, _, err := start(ctx, server)
	if err != nil {
		return nil, err
	}
	t.procs = append(t.procs, p)
	if t.c, err = dial(ctx, addr); err != nil {
		t.close()
		return nil, err
	}
	env := []string{"QUENCH_BENCH_TOKEN=" + h.token}
	worker := procSpec{name: "quench-worker", bin: h.cfg.Quench, dir: dir, env: env,
		args:  []string{"worker", "--address", addr, "--runbooks", h.rbDir, "--records-file", filepath.Join(dir, "records.json"), "--log-level", "warn"},
		probe: pollersOn(t.c, contract.DefaultTaskQueue)}
	if p, _, _, err = start(ctx, worker); err != nil {
		t.close()
		return nil, err
	}
	t.procs = append(t.procs, p)
	serve := procSpec{name: "quench-serve", bin: h.cfg.Quench, dir: dir, env: env, ready: regexp.MustCompile(`quench serve ready: (\S+)`),
		args: []string{"serve", "--address", addr, "--listen", "127.0.0.1:" + strconv.Itoa(ports[3]), "--routes", h.routes, "--runbooks", h.rbDir, "--log-level", "warn"}}
	p, m, _, err := start(ctx, serve)
	if err != nil {
		t.close()
		return nil, err
	}
	t.procs = append(t.procs, p)
	t.http = m[1]
	if !strings.HasPrefix(t.http, "http") {
		t.http = "http://" + t.http
	}
	t.command = strings.Join([]string{server.command(), worker.command(), serve.command()}, " + ")
	t.ready = time.Since(began)
	return t, nil
}

// pollersOn is a probe: ready once a worker polls the task queue.
func pollersOn(c client.Client, queue string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return err
		}
		if len(resp.GetPollers()) == 0 {
			return errors.New("no pollers yet")
		}
		return nil
	}
}

// dial connects an SDK client, retrying while the frontend comes up.
func dial(ctx context.Context, addr string) (client.Client, error) {
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: quiet})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("dial temporal at %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
