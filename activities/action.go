// Package activities holds every Temporal activity quench runs: the runbook
// actions (core, AWS), their undo actions, and the Slack notifications.
//
// Every runbook action is registered as its own activity, named after the
// action ("iam.revoke_role_sessions"), with one signature:
//
//	func(ctx context.Context, in ActionInput) (ActionResult, error)
//
// so the Incident workflow can run any action by name and the Temporal UI
// shows which action ran.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// ActionFunc is the Go function behind an action.
type ActionFunc func(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error)

// Action is a registered action: its spec and its activity.
type Action struct {
	Spec runbooks.ActionSpec
	Run  ActionFunc
}

// Registry holds the actions a worker can run. It implements runbooks.Catalog.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]Action
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{actions: map[string]Action{}} }

// Register adds actions; a duplicate name is a programming error and panics.
func (r *Registry) Register(actions ...Action) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range actions {
		if _, dup := r.actions[a.Spec.Name]; dup {
			panic("activities: action registered twice: " + a.Spec.Name)
		}
		r.actions[a.Spec.Name] = a
	}
}

// Action implements runbooks.Catalog.
func (r *Registry) Action(name string) (runbooks.ActionSpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[name]
	return a.Spec, ok
}

// Lookup returns the full action.
func (r *Registry) Lookup(name string) (Action, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[name]
	return a, ok
}

// Specs lists every action's spec, sorted by name.
func (r *Registry) Specs() []runbooks.ActionSpec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]runbooks.ActionSpec, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a.Spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ActivityRegistrar is the part of worker.Worker (and the test environment)
// that registers activities.
type ActivityRegistrar interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// RegisterActivities registers every action as an activity named after it.
func (r *Registry) RegisterActivities(w ActivityRegistrar) {
	for _, spec := range r.Specs() {
		a, _ := r.Lookup(spec.Name)
		w.RegisterActivityWithOptions(a.Run, activity.RegisterOptions{Name: spec.Name})
	}
}

// DecodeArgs converts an action's arguments into its typed argument struct
// (through JSON, so struct tags name the arguments). Unknown arguments are
// errors: the validator should have caught them, and silently ignoring one
// at 3 a.m. would be worse than failing.
func DecodeArgs(args map[string]any, into any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return NonRetryable(ErrInvalidArgument, fmt.Errorf("encode arguments: %w", err))
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return NonRetryable(ErrInvalidArgument, fmt.Errorf("decode arguments: %w", err))
	}
	return nil
}
