package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the harness started: quench dev, quench worker,
// quench serve, or the official temporal dev server.
type proc struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{}
	waitErr error
	started time.Time
}

// procSpec says how to start a process and how to know it is ready.
type procSpec struct {
	name  string
	bin   string
	args  []string
	env   []string // added to the harness's environment
	dir   string   // where its log goes
	ready *regexp.Regexp
	// probe, when set, is polled instead of waiting for a ready line.
	probe func(ctx context.Context) error
	// noWait returns as soon as the process runs.
	noWait  bool
	timeout time.Duration
}

// command is the shell form of the spec, for the report.
func (s procSpec) command() string {
	parts := append([]string{filepath.Base(s.bin)}, s.args...)
	return strings.Join(parts, " ")
}

// start starts the process and waits until it is ready. It returns the
// submatches of the ready line and how long the process took to get there.
func start(ctx context.Context, s procSpec) (*proc, []string, time.Duration, error) {
	logf, err := os.OpenFile(filepath.Join(s.dir, s.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open log of %s: %w", s.name, err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, nil, 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, nil, 0, err
	}
	p := &proc{name: s.name, cmd: cmd, log: logf, done: make(chan struct{})}
	fmt.Fprintf(logf, "--- %s: %s\n", time.Now().Format(time.RFC3339Nano), s.command())
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, 0, fmt.Errorf("start %s: %w", s.command(), err)
	}
	ready := make(chan []string, 1)
	var mu sync.Mutex
	var tail []string // the last lines, for an error message
	scan := func(r io.Reader, wg *sync.WaitGroup) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			fmt.Fprintln(logf, line)
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			mu.Unlock()
			if s.ready != nil {
				if m := s.ready.FindStringSubmatch(line); m != nil {
					select {
					case ready <- m:
					default:
					}
				}
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go scan(stdout, &wg)
	go scan(stderr, &wg)
	go func() {
		wg.Wait()
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if s.noWait {
		return p, nil, 0, nil
	}
	if s.probe != nil {
		go func() {
			for {
				pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := s.probe(pctx)
				cancel()
				if err == nil {
					ready <- nil
					return
				}
				select {
				case <-p.done:
					return
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	timeout := s.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	select {
	case m := <-ready:
		return p, m, time.Since(p.started), nil
	case <-p.done:
		mu.Lock()
		defer mu.Unlock()
		return nil, nil, 0, fmt.Errorf("%s exited before it was ready (%v):\n%s", s.command(), p.waitErr, strings.Join(tail, "\n"))
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	p.kill()
	mu.Lock()
	defer mu.Unlock()
	return nil, nil, 0, fmt.Errorf("%s not ready after %s:\n%s", s.command(), timeout, strings.Join(tail, "\n"))
}

// stop asks the process to stop (SIGINT, as Ctrl-C does) and kills it if
// it has not stopped after 20 s.
func (p *proc) stop() error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		return nil
	case <-time.After(20 * time.Second):
		p.kill()
		return fmt.Errorf("%s did not stop within 20 s of SIGINT; killed", p.name)
	}
}

// kill sends SIGKILL to the process group, as a crash would end it.
func (p *proc) kill() {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// memUsage is resident memory in bytes. Anon is the process's own memory
// (heap, stacks); File is mapped files, nearly all of it the executable's
// code and read-only data, which the kernel may map in 2 MB pages and can
// drop and read back at any time.
type memUsage struct {
	RSS, Peak, Anon, File int64
}

func (m memUsage) plus(o memUsage) memUsage {
	return memUsage{RSS: m.RSS + o.RSS, Peak: m.Peak + o.Peak, Anon: m.Anon + o.Anon, File: m.File + o.File}
}

// memory reads the process's resident memory from /proc.
func (p *proc) memory() (memUsage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memUsage{}, fmt.Errorf("read memory of %s: %w", p.name, err)
	}
	field := func(name string) int64 {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, name+":"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					return kb << 10
				}
			}
		}
		return 0
	}
	m := memUsage{RSS: field("VmRSS"), Peak: field("VmHWM"), Anon: field("RssAnon"), File: field("RssFile")}
	if m.RSS == 0 {
		return memUsage{}, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
