package incidents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/quenchhq/quench/workflows/contract"
)

// Targets lists the targets leased now in this client's deployment (task
// queue; see contract.TargetWorkflow): one entry per running target
// workflow that has holders or a change in flight, sorted by key.
func (c *Client) Targets(ctx context.Context) ([]contract.TargetState, error) {
	if strings.ContainsAny(c.taskQueue, `'"\`) {
		return nil, fmt.Errorf("list targets: task queue %q has a quote or backslash, which a visibility query cannot hold", c.taskQueue)
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND TaskQueue = '%s'", contract.TargetWorkflow, c.taskQueue)
	out := []contract.TargetState{}
	var token []byte
	for {
		resp, err := c.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.namespace, Query: query, NextPageToken: token, PageSize: 200,
		})
		if err != nil {
			return nil, fmt.Errorf("list targets: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			st, err := c.targetState(ctx, e.GetExecution().GetWorkflowId())
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue // ended since it was listed
			}
			if err != nil {
				return nil, err
			}
			if len(st.Holders) > 0 || st.InFlight != nil {
				out = append(out, st)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Target returns the lease state of the target key; a target no workflow
// keeps has no holders.
func (c *Client) Target(ctx context.Context, key string) (contract.TargetState, error) {
	st, err := c.targetState(ctx, contract.TargetWorkflowID(c.taskQueue, key))
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return contract.TargetState{Key: key, Holders: []contract.TargetHolder{}}, nil
	}
	return st, err
}

func (c *Client) targetState(ctx context.Context, workflowID string) (contract.TargetState, error) {
	var st contract.TargetState
	v, err := c.c.QueryWorkflow(ctx, workflowID, "", contract.QueryTarget)
	if err != nil {
		return st, fmt.Errorf("query target workflow %s: %w", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode target workflow %s: %w", workflowID, err)
	}
	return st, nil
}

// WithHolders fills in who holds each target the incident still holds.
func (c *Client) WithHolders(ctx context.Context, st contract.Status) (contract.Status, error) {
	for i := range st.Leases {
		l := &st.Leases[i]
		if l.Released {
			continue
		}
		t, err := c.Target(ctx, l.Target)
		if err != nil {
			return st, err
		}
		l.Holders = t.Holders
	}
	return st, nil
}
