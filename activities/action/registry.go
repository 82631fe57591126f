package action

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Func is the signature every action activity has, so the Incident
// workflow can run any action by name and the Temporal UI shows which
// action ran:
//
//	func(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error)
type Func func(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error)

// Action is an action's spec and the function behind it.
type Action struct {
	Spec runbooks.ActionSpec
	Run  Func
}

// New declares an action whose body receives its arguments decoded into A
// (json struct tags name them). By the time it runs, the Registry has
// checked the arguments against spec: every required one is there and not
// blank, and each has its declared type, enum and minimum. The body adds
// only what a spec cannot say (an ARN's shape, two arguments that go
// together).
func New[A any](spec runbooks.ActionSpec, run func(ctx context.Context, in contract.ActionInput, args A) (contract.ActionResult, error)) Action {
	return Action{Spec: spec, Run: func(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
		var args A
		if err := decode(in.Args, &args); err != nil {
			return contract.ActionResult{}, NonRetryable(ErrInvalidArgument, fmt.Errorf("arguments of action %s: %w", spec.Name, err))
		}
		return run(ctx, in, args)
	}}
}

// DecodeArgs converts an action's arguments into its typed argument struct
// (through JSON, so struct tags name the arguments). Unknown arguments are
// errors: the validator should have caught them, and silently ignoring one
// at 3 a.m. would be worse than failing. Actions declared with New do not
// call it.
func DecodeArgs(args map[string]any, into any) error {
	if err := decode(args, into); err != nil {
		return NonRetryable(ErrInvalidArgument, err)
	}
	return nil
}

func decode(args map[string]any, into any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode arguments: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("decode arguments: %w", err)
	}
	return nil
}

// Registry holds the actions a worker can run. It implements runbooks.Catalog.
type Registry struct {
	mu       sync.RWMutex
	actions  map[string]Action
	interval time.Duration
	observe  Observer
	leaser   Leaser
}

// Observer sees every attempt of every action as Activity runs it: the
// action's name, whether it was a dry run (an approval's plan, a drift
// check, a dry-run incident), how long the attempt took and the error it
// returned (nil on success). The worker's metrics (internal/metrics) are one.
type Observer func(action string, dryRun bool, took time.Duration, err error)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]Action{}, interval: contract.ActionHeartbeatInterval}
}

// SetHeartbeatInterval changes how often actions heartbeat (default
// contract.ActionHeartbeatInterval); tests shorten it.
func (r *Registry) SetHeartbeatInterval(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interval = d
}

// SetObserver sets the observer of every action attempt (nil: none). Set
// it before RegisterActivities.
func (r *Registry) SetObserver(o Observer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observe = o
}

// Register adds actions; a duplicate name is a programming error and panics.
func (r *Registry) Register(actions ...Action) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range actions {
		if _, dup := r.actions[a.Spec.Name]; dup {
			panic("action: registered twice: " + a.Spec.Name)
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

// Lookup returns the action as registered, without the checks and the
// heartbeats Activity adds.
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

// Activity returns the function registered with Temporal for an action:
// a heartbeat keeper runs for the whole attempt, the arguments are checked
// against the spec before the action runs, and an error carries the
// attempt's checkpoint (see Checkpoint) so the next attempt gets it.
func (r *Registry) Activity(name string) (Func, bool) {
	r.mu.RLock()
	a, ok := r.actions[name]
	interval, observe, leaser := r.interval, r.observe, r.leaser
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return func(ctx context.Context, in contract.ActionInput) (res contract.ActionResult, err error) {
		if observe != nil {
			defer func(began time.Time) { observe(name, in.DryRun, time.Since(began), err) }(time.Now())
		}
		ctx, k := startKeeper(ctx, in.Checkpoint, interval, in.DryRun)
		defer k.stop()
		if err := runbooks.CheckArgs(a.Spec, in.Args); err != nil {
			return contract.ActionResult{}, NonRetryable(ErrInvalidArgument, err)
		}
		key, err := TargetKey(a.Spec, in)
		if err != nil {
			return contract.ActionResult{}, NonRetryable(ErrInvalidArgument, err)
		}
		if leaser != nil && key != "" && !in.DryRun {
			res, err = leased(ctx, leaser, key, in, func() (contract.ActionResult, error) { return a.Run(ctx, in) })
		} else {
			res, err = a.Run(ctx, in)
		}
		if err != nil {
			return res, k.failure(err)
		}
		return res, nil
	}, true
}

// ActivityRegistrar is the part of worker.Worker (and the test
// environments) that registers activities.
type ActivityRegistrar interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// RegisterActivities registers every action as an activity named after it,
// and the leaser's release activity when there is a leaser.
func (r *Registry) RegisterActivities(w ActivityRegistrar) {
	for _, spec := range r.Specs() {
		fn, _ := r.Activity(spec.Name)
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: spec.Name})
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.leaser != nil {
		w.RegisterActivityWithOptions(r.leaser.Release, activity.RegisterOptions{Name: contract.ActivityTargetRelease})
	}
}
