package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/workflows/contract"
)

// fakeIncidents stands in for the incidents client through the app's seam,
// for tests of parsing, checking and printing. Anything that needs the
// workflow's behaviour is tested against a real embedded Temporal instead.
type fakeIncidents struct {
	mu     sync.Mutex
	calls  []string
	status contract.Status
	rows   []incidents.Summary

	targets []contract.TargetState
}

func (f *fakeIncidents) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeIncidents) Start(_ context.Context, in contract.IncidentInput) (string, error) {
	f.record("start " + in.ID)
	return "run-1", nil
}

func (f *fakeIncidents) Decide(_ context.Context, id, kind string, _ contract.Decision) (contract.DecisionResult, error) {
	f.record(kind + " " + id)
	return contract.DecisionResult{Step: "s", Outcome: "approved"}, nil
}

func (f *fakeIncidents) Resolve(_ context.Context, id string, _ contract.ResolveRequest) error {
	f.record("resolve " + id)
	return nil
}

func (f *fakeIncidents) Cancel(_ context.Context, id string, _ contract.CancelRequest) error {
	f.record("cancel " + id)
	return nil
}

func (f *fakeIncidents) StatusOfRun(_ context.Context, id, runID string) (contract.Status, error) {
	f.record("status " + id + " " + runID)
	st := f.status
	st.ID = id
	return st, nil
}

func (f *fakeIncidents) TimelineOfRun(_ context.Context, id, runID string) ([]contract.Event, error) {
	f.record("timeline " + id + " " + runID)
	return nil, nil
}

func (f *fakeIncidents) Targets(context.Context) ([]contract.TargetState, error) {
	f.record("targets")
	return f.targets, nil
}

func (f *fakeIncidents) WithHolders(_ context.Context, st contract.Status) (contract.Status, error) {
	f.record("holders " + st.ID)
	return st, nil
}

func (f *fakeIncidents) List(_ context.Context, filter string) ([]incidents.Summary, error) {
	f.record("list " + filter)
	return f.rows, nil
}

// runFake runs one quench command with fake as its incidents client. Any
// attempt to reach incidents is recorded in fake.calls.
func runFake(t *testing.T, fake *fakeIncidents, args ...string) cliResult {
	t.Helper()
	t.Setenv("QUENCH_RUNBOOKS", "")
	t.Setenv("QUENCH_USER", "alice")
	return execute(func(out, errOut io.Writer) *app {
		a := newApp(out, errOut)
		a.cfg.TemporalAddress = "127.0.0.1:1" // nothing listens: a dial would fail
		a.incidents = func(context.Context) (incidentsAPI, error) {
			fake.record("connect")
			return fake, nil
		}
		return a
	}, args)
}

// Ids travel in gRPC headers: a bad one is a usage error (exit 2) with the
// rule, found before the command asks for a Temporal connection.
func TestInvalidIDsAreUsageErrorsBeforeAnyTemporalCall(t *testing.T) {
	bad := map[string]string{
		"newline":   "demo\n1",
		"non-ASCII": "démo-1",
		"space":     "demo 1",
		"too long":  strings.Repeat("d", 201),
		"empty":     "",
	}
	commands := [][]string{
		{"status", "ID"}, {"timeline", "ID"}, {"approve", "ID"}, {"deny", "ID"}, {"resolve", "ID"}, {"cancel", "ID"},
		{"run", "quench-selftest", "--incident", "ID"},
		{"status", "demo-1", "--run", "ID"}, {"timeline", "demo-1", "--run", "ID"},
	}
	for name, id := range bad {
		for _, args := range commands {
			args = append([]string(nil), args...)
			what := "invalid incident id"
			for i := range args {
				if args[i] == "ID" {
					args[i] = id
					if i > 0 && args[i-1] == "--run" {
						what = "invalid run id"
					}
				}
			}
			t.Run(name+"/"+args[0]+"/"+what, func(t *testing.T) {
				fake := &fakeIncidents{}
				r := runFake(t, fake, args...)
				if r.code != exitUsage || !strings.Contains(r.stderr, what) || !strings.Contains(r.stderr, "printable ASCII characters, no spaces") {
					t.Errorf("exit %d (want %d), stderr:\n%s", r.code, exitUsage, r.stderr)
				}
				if len(fake.calls) != 0 {
					t.Errorf("reached incidents: %v", fake.calls)
				}
			})
		}
	}
}

// The seam itself: a command runs end to end against the fake, and what
// the fake answers is what the user reads.
func TestStatusThroughTheSeam(t *testing.T) {
	fake := &fakeIncidents{status: contract.Status{Runbook: "contain-demo", Severity: "medium", State: contract.StateContained,
		Steps: []contract.StepStatus{{ID: "block", State: contract.StepSucceeded, Attempts: 1, Summary: "recorded blocked/chatbot"}}}}
	r := runFake(t, fake, "status", "demo-1", "--run", "run-7")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"incident  demo-1", "state     contained", "recorded blocked/chatbot"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := strings.Join(fake.calls, "; "); got != "connect; status demo-1 run-7" {
		t.Errorf("calls = %s", got)
	}
}

// run --wait exits 5 (and prints the status) when the incident ends
// failed or cancelled; awaiting approval and contained are success.
func TestRunWaitExitCodeFollowsHowTheIncidentEnded(t *testing.T) {
	tests := []struct {
		state string
		code  int
		says  string
	}{
		{contract.StateFailed, exitIncidentFailed, "incident demo-1 ended failed: step boom failed"},
		{contract.StateCancelled, exitIncidentFailed, "incident demo-1 ended cancelled"},
		{contract.StateContained, exitOK, ""},
		{contract.StateAwaitingApproval, exitOK, ""},
		{contract.StateRolledBack, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			st := contract.Status{Runbook: "quench-selftest", State: tt.state}
			if tt.state == contract.StateFailed {
				st.Error = "step boom failed"
			}
			fake := &fakeIncidents{status: st}
			r := runFake(t, fake, "run", "quench-selftest", "--incident", "demo-1", "--wait")
			if r.code != tt.code || !strings.Contains(r.stderr, tt.says) {
				t.Errorf("exit %d (want %d), stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "state     "+tt.state) {
				t.Errorf("status not printed:\n%s", r.stdout)
			}
		})
	}
}

// Two incidents that share an id (an alert fired again after the first
// closed) are two rows a user can tell apart by run id.
func TestListShowsRunIDs(t *testing.T) {
	started := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	fake := &fakeIncidents{rows: []incidents.Summary{
		{ID: "spike-1", RunID: "run-new", Runbook: "usage-spike", Severity: "high", State: "contained", Started: started.Add(time.Hour)},
		{ID: "spike-1", RunID: "run-old", Runbook: "usage-spike", Severity: "high", State: "rolled_back", Started: started},
	}}
	r := runFake(t, fake, "list")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "RUN") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	if !strings.Contains(lines[1], "run-new") || !strings.Contains(lines[2], "run-old") || lines[1] == lines[2] {
		t.Errorf("rows cannot be told apart:\n%s", r.stdout)
	}
}
