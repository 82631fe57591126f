package action

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/workflows/contract"
)

// maxHeartbeatThrottle is the SDK's default cap on how long it holds a
// heartbeat back (worker.Options.MaxHeartbeatThrottleInterval, unset here).
const maxHeartbeatThrottle = 60 * time.Second

// flushMargin is added to the SDK's batching window when waiting for a
// held-back heartbeat to reach the server.
const flushMargin = 2 * time.Second

// keeper heartbeats one activity attempt from start to end, so the
// workflow notices a dead worker within contract.ActionHeartbeatTimeout.
// Each heartbeat's one detail is a contract.AttemptCheckpoint holding the
// latest checkpoint: heartbeat details are replaced by every heartbeat, so
// every heartbeat re-sends it, and nothing else in the attempt may
// heartbeat.
type keeper struct {
	ctx      context.Context // the activity's; nil outside an activity
	interval time.Duration
	// window is how long the SDK may hold a heartbeat back after it sent
	// one (it batches to 80% of the heartbeat timeout); 0 when the attempt
	// has no heartbeat timeout, or writes nothing (a dry run), so nothing
	// waits for a checkpoint to go out.
	window time.Duration

	mu      sync.Mutex
	handed  json.RawMessage // the previous attempt's checkpoint (ActionInput.Checkpoint)
	latest  json.RawMessage // what every heartbeat carries
	durable json.RawMessage // what the server is known to hold
	sent    bool            // a heartbeat went out in this attempt

	quit chan struct{}
	done chan struct{}
}

type keeperKey struct{}

func keeperFrom(ctx context.Context) *keeper {
	k, _ := ctx.Value(keeperKey{}).(*keeper)
	return k
}

// startKeeper starts heartbeating for the attempt ctx runs (outside an
// activity it only holds the checkpoint). handed is the checkpoint the
// workflow passed on from a failed attempt: it is the first heartbeat, so
// the server has it again before this attempt does anything. dryRun
// attempts write nothing, so a checkpoint need not reach the server first.
func startKeeper(ctx context.Context, handed json.RawMessage, interval time.Duration, dryRun bool) (context.Context, *keeper) {
	k := &keeper{interval: interval}
	if len(handed) > 0 {
		k.handed, k.latest = handed, handed
	}
	ctx = context.WithValue(ctx, keeperKey{}, k)
	if !activity.IsActivity(ctx) {
		return ctx, k
	}
	k.ctx = ctx
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		if !dryRun {
			k.window = min(time.Duration(0.8*float64(hb)), maxHeartbeatThrottle)
		}
		if k.interval <= 0 || k.interval > hb/3 {
			k.interval = hb / 3
		}
	}
	if k.interval <= 0 {
		k.interval = contract.ActionHeartbeatInterval
	}
	if len(k.handed) > 0 {
		k.beat()
	}
	k.quit, k.done = make(chan struct{}), make(chan struct{})
	go k.run()
	return ctx, k
}

func (k *keeper) run() {
	defer close(k.done)
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		select {
		case <-k.quit:
			return
		case <-k.ctx.Done():
			return
		case <-t.C:
			k.beat()
		}
	}
}

// stop ends the heartbeats; the attempt is over.
func (k *keeper) stop() {
	if k.quit == nil {
		return
	}
	close(k.quit)
	<-k.done
}

func (k *keeper) beat() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.beatLocked()
}

// beatLocked records a heartbeat and reports whether it was the attempt's
// first. The SDK sends the first heartbeat at once (and waits for the
// server); later ones within its batching window are held back and only
// the last is sent when the window ends.
func (k *keeper) beatLocked() (first bool) {
	if k.ctx == nil {
		return false
	}
	activity.RecordHeartbeat(k.ctx, contract.AttemptCheckpoint{Checkpoint: k.latest})
	first = !k.sent
	k.sent = true
	if first {
		k.durable = k.latest
	}
	return first
}

// earlier is the checkpoint an earlier attempt of this step left: handed
// over by the workflow, or (when Temporal itself retried the activity) in
// this activity's heartbeat details.
func (k *keeper) earlier() json.RawMessage {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	handed := k.handed
	k.mu.Unlock()
	if len(handed) > 0 {
		return handed
	}
	if k.ctx != nil && activity.HasHeartbeatDetails(k.ctx) {
		var cp contract.AttemptCheckpoint
		if activity.GetHeartbeatDetails(k.ctx, &cp) == nil && len(cp.Checkpoint) > 0 {
			return cp.Checkpoint
		}
	}
	return nil
}

// record makes cp the attempt's checkpoint and returns once the server
// holds it, as far as the worker can know: the caller is about to write,
// and a worker that dies after the write must leave the checkpoint behind.
// When an earlier heartbeat opened the SDK's batching window, that means
// waiting for the window to end.
func (k *keeper) record(cp json.RawMessage) {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.latest = cp
	if k.ctx == nil || bytes.Equal(k.durable, cp) {
		k.mu.Unlock()
		return
	}
	first := k.beatLocked()
	k.mu.Unlock()
	if first || k.window == 0 {
		return
	}
	t := time.NewTimer(k.window + flushMargin)
	defer t.Stop()
	select {
	case <-t.C:
		k.mu.Lock()
		if bytes.Equal(k.latest, cp) {
			k.durable = cp
		}
		k.mu.Unlock()
	case <-k.ctx.Done():
	}
}

// failure is the error the attempt returns for err (see activityError),
// carrying the checkpoint when there is one.
func (k *keeper) failure(err error) error {
	k.mu.Lock()
	cp := k.latest
	k.mu.Unlock()
	if len(cp) == 0 {
		return activityError(err, nil)
	}
	return activityError(err, contract.AttemptCheckpoint{Checkpoint: cp})
}

// Heartbeating returns a registrar that registers each activity through w
// with a keeper around it, as the Registry does for actions: for
// activities that are not actions, such as the notifications. Activity
// functions take a context first; anything else is registered as is.
func Heartbeating(w ActivityRegistrar) ActivityRegistrar {
	return heartbeating{w: w, interval: contract.ActionHeartbeatInterval}
}

type heartbeating struct {
	w        ActivityRegistrar
	interval time.Duration
}

var contextType = reflect.TypeFor[context.Context]()
var errorType = reflect.TypeFor[error]()

func (h heartbeating) RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions) {
	fn := reflect.ValueOf(a)
	t := fn.Type()
	if t.Kind() != reflect.Func || t.NumIn() == 0 || t.In(0) != contextType || t.IsVariadic() ||
		t.NumOut() == 0 || t.Out(t.NumOut()-1) != errorType {
		h.w.RegisterActivityWithOptions(a, options)
		return
	}
	if options.Name == "" {
		// What the SDK would have named it; the wrapper's own name is reflect's.
		name := runtime.FuncForPC(fn.Pointer()).Name()
		options.Name = strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
	}
	interval := h.interval
	wrapped := reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		ctx, k := startKeeper(args[0].Interface().(context.Context), nil, interval, true)
		defer k.stop()
		args[0] = reflect.ValueOf(ctx)
		out := fn.Call(args)
		if e := out[len(out)-1]; !e.IsNil() {
			if err := k.failure(e.Interface().(error)); err != nil {
				out[len(out)-1] = reflect.ValueOf(&err).Elem()
			}
		}
		return out
	})
	h.w.RegisterActivityWithOptions(wrapped.Interface(), options)
}
