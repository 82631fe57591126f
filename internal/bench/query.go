package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/workflows/contract"
)

// status queries an incident's status (its own record of what happened).
func status(ctx context.Context, c client.Client, id string) (contract.Status, error) {
	var st contract.Status
	v, err := c.QueryWorkflow(ctx, id, "", contract.QueryStatus)
	if err != nil {
		return st, fmt.Errorf("query status of %s: %w", id, err)
	}
	return st, v.Get(&st)
}

// timeline queries an incident's timeline.
func timeline(ctx context.Context, c client.Client, id string) ([]contract.Event, error) {
	var ev []contract.Event
	v, err := c.QueryWorkflow(ctx, id, "", contract.QueryTimeline)
	if err != nil {
		return nil, fmt.Errorf("query timeline of %s: %w", id, err)
	}
	return ev, v.Get(&ev)
}

// eventTime is the time of the first event of type typ, or zero.
func eventTime(events []contract.Event, typ string) time.Time {
	for _, e := range events {
		if e.Type == typ {
			return e.Time
		}
	}
	return time.Time{}
}

// count counts workflow executions matching a visibility query.
func count(ctx context.Context, c client.Client, query string) (int64, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", query, err)
	}
	return resp.GetCount(), nil
}

// stateQuery matches the incidents of a runbook in a state.
func stateQuery(runbook, state string) string {
	return fmt.Sprintf("%s = '%s' AND %s = '%s'", contract.SearchAttrRunbook, runbook, contract.SearchAttrState, state)
}

// waitCount polls visibility every interval until query matches want
// executions, and returns when that was seen.
func waitCount(ctx context.Context, c client.Client, query string, want int64, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var n int64
	var err error
	for {
		n, err = count(ctx, c, query)
		if err == nil && n >= want {
			return time.Now(), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				return time.Time{}, err
			}
			return time.Time{}, fmt.Errorf("%d of %d incidents match %q after %s", n, want, query, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// forEach runs fn on every id with a few queries in flight.
func forEach(ctx context.Context, ids []string, fn func(ctx context.Context, id string) error) error {
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, id); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// history reads a workflow's whole history.
func history(ctx context.Context, c client.Client, id string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	return events, nil
}
