package incidents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/server/temporaltest"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// No worker runs here: what is checked is what the client writes into an
// incident's history, which Temporal records before any worker sees it.
func TestAlertsAreBoundedBeforeTheyReachHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	srv := temporaltest.NewServer(temporaltest.WithT(t))
	c := New(srv.GetDefaultClient(), "").WithNamespace(srv.GetDefaultNamespace())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	registerSearchAttributes(ctx, t, srv)

	huge := map[string]string{"target": "bedrock-app"}
	for _, k := range []string{"a", "b", "c", "d"} {
		huge[k] = strings.Repeat(k, 250_000)
	}
	in := contract.IncidentInput{ID: "storm-1", Runbook: runbooks.Runbook{Metadata: runbooks.Metadata{Name: "storm"}},
		Source: "generic", Requester: "alert:generic", Labels: huge}
	sig := contract.AlertSignal{Source: "generic", Name: "storm", Status: "firing", Labels: huge, ReceivedAt: time.Now()}
	started, runID, err := c.FoldAlert(ctx, in, sig)
	if err != nil || !started {
		t.Fatalf("first alert: started %v, %v", started, err)
	}
	if again, again2, err := c.FoldAlert(ctx, in, sig); err != nil || again || again2 != runID {
		t.Fatalf("second alert: started %v run %s (first %s), %v; want folded into the same run", again, again2, runID, err)
	}
	if err := c.SignalAlert(ctx, in.ID, contract.AlertSignal{Source: "generic", Name: "storm", Status: "resolved", Labels: huge}); err != nil {
		t.Fatalf("resolved alert: %v", err)
	}

	signals := 0
	for _, ev := range historyEvents(ctx, t, c, in.ID, runID) {
		var size int
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			size = ev.GetWorkflowExecutionStartedEventAttributes().GetInput().Size()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals++
			size = ev.GetWorkflowExecutionSignaledEventAttributes().GetInput().Size()
		default:
			continue
		}
		// One bounded alert is under 13 KB (contract.AlertSignal.Bounded).
		if size > 16<<10 {
			t.Errorf("%s event carries %d bytes of a 1 MB alert: not bounded", ev.GetEventType(), size)
		}
	}
	if signals != 3 {
		t.Errorf("%d signals in history, want 3", signals)
	}
}

func TestResolvedAlertWithoutAnOpenIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	srv := temporaltest.NewServer(temporaltest.WithT(t))
	c := New(srv.GetDefaultClient(), "").WithNamespace(srv.GetDefaultNamespace())
	err := c.SignalAlert(t.Context(), "never-started", contract.AlertSignal{Source: "generic", Name: "x", Status: "resolved"})
	if !errors.Is(err, ErrNoOpenIncident) || !strings.Contains(err.Error(), "never-started") {
		t.Errorf("err = %v, want ErrNoOpenIncident naming the incident", err)
	}
}

// registerSearchAttributes adds quench's search attributes to the test
// server's namespace, as quench dev and the compose file do: new
// incidents are started with them.
func registerSearchAttributes(ctx context.Context, t *testing.T, srv *temporaltest.TestServer) {
	t.Helper()
	sas := map[string]enumspb.IndexedValueType{}
	for _, name := range contract.SearchAttributes {
		sas[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := srv.GetDefaultClient().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: srv.GetDefaultNamespace(), SearchAttributes: sas,
	}); err != nil {
		t.Fatalf("add search attributes: %v", err)
	}
}

// With every eager start slot taken (a burst), FoldAlert starts the
// incident with SignalWithStart; with a slot free, with the alert in the
// input. Either way the alert is in history exactly once.
func TestEagerStartFallsBackUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	srv := temporaltest.NewServer(temporaltest.WithT(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	registerSearchAttributes(ctx, t, srv)
	c := New(srv.GetDefaultClient(), "").WithNamespace(srv.GetDefaultNamespace()).WithEagerStart()
	rb := runbooks.Runbook{Metadata: runbooks.Metadata{Name: "burst", Severity: "high"}}
	sig := contract.AlertSignal{Source: "generic", Name: "burst", Status: "firing", ReceivedAt: time.Now()}

	for _, busy := range []bool{false, true} {
		if busy {
			for range maxEagerStarts {
				c.eagerSlots <- struct{}{}
			}
		}
		id := fmt.Sprintf("burst-busy-%v", busy)
		started, runID, err := c.FoldAlert(ctx, contract.IncidentInput{ID: id, Runbook: rb, Source: "generic"}, sig)
		if err != nil || !started {
			t.Fatalf("busy=%v: started %v, %v", busy, started, err)
		}
		var signals, inInput int
		for _, ev := range historyEvents(ctx, t, c, id, runID) {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				signals++
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				var in contract.IncidentInput
				if err := converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
					t.Fatal(err)
				}
				if in.Alert != nil {
					inInput++
				}
			}
		}
		want := [2]int{0, 1} // signals, alerts in the input
		if busy {
			want = [2]int{1, 0}
		}
		if got := [2]int{signals, inInput}; got != want {
			t.Errorf("busy=%v: %d signals and %d alerts in the input, want %d and %d", busy, signals, inInput, want[0], want[1])
		}
	}
}

// A namespace without quench's search attributes refuses the start; the
// error says how to register them, and nothing starts.
func TestStartWithoutSearchAttributesSaysHowToRegisterThem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	srv := temporaltest.NewServer(temporaltest.WithT(t))
	ns := srv.GetDefaultNamespace()
	in := contract.IncidentInput{ID: "no-attrs", Runbook: runbooks.Runbook{Metadata: runbooks.Metadata{Name: "x", Severity: "high"}}, Source: "cli"}
	sig := contract.AlertSignal{Source: "generic", Name: "x", Status: "firing", ReceivedAt: time.Now()}
	plain := New(srv.GetDefaultClient(), "").WithNamespace(ns)
	eager := New(srv.GetDefaultClient(), "").WithNamespace(ns).WithEagerStart()
	for name, start := range map[string]func() error{
		"cli":   func() error { _, err := plain.Start(t.Context(), in); return err },
		"alert": func() error { _, _, err := plain.FoldAlert(t.Context(), in, sig); return err },
		"eager": func() error { _, _, err := eager.FoldAlert(t.Context(), in, sig); return err },
	} {
		err := start()
		if err == nil || !strings.Contains(err.Error(), "register quench's search attributes") || !strings.Contains(err.Error(), ns) {
			t.Errorf("%s: err = %v, want the hint naming namespace %s", name, err, ns)
		}
	}
	if _, err := plain.Status(t.Context(), in.ID); err == nil {
		t.Errorf("incident %s exists after refused starts", in.ID)
	}
}

// historyEvents reads a run's whole history.
func historyEvents(ctx context.Context, t *testing.T, c *Client, id, runID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.Temporal().GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	return events
}
