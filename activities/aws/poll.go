package aws

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
)

// PollConfig bounds how an action waits for a change to become visible
// (IAM is eventually consistent; Bedrock prepares agents asynchronously).
type PollConfig struct {
	// Interval is the first wait between reads; it doubles up to MaxInterval.
	Interval    time.Duration
	MaxInterval time.Duration
	// Timeout gives up waiting; the activity then fails with a retryable error.
	Timeout time.Duration
}

// DefaultPollConfig is what the worker uses.
var DefaultPollConfig = PollConfig{Interval: time.Second, MaxInterval: 10 * time.Second, Timeout: 2 * time.Minute}

// PollUntil calls check until it reports done, waiting with exponential
// backoff between calls. An error from check ends the wait at once. The
// Registry's keeper heartbeats however long the wait is.
func PollUntil(ctx context.Context, cfg PollConfig, what string, check func(context.Context) (bool, error)) error {
	if cfg.Interval <= 0 {
		cfg = DefaultPollConfig
	}
	if cfg.MaxInterval < cfg.Interval {
		cfg.MaxInterval = cfg.Interval
	}
	deadline := time.Now().Add(cfg.Timeout)
	wait := cfg.Interval
	for {
		done, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if cfg.Timeout > 0 && time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("verify %s: change not visible after %s", what, cfg.Timeout)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("verify %s: %w", what, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, cfg.MaxInterval)
	}
}

// startTime is when the current activity attempt started, or now outside an activity.
func startTime(ctx context.Context, now func() time.Time) time.Time {
	if activity.IsActivity(ctx) {
		if t := activity.GetInfo(ctx).StartedTime; !t.IsZero() {
			return t.UTC()
		}
	}
	return now().UTC()
}
