package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"go.temporal.io/sdk/activity"

	"github.com/quenchhq/quench/workflows/contract"
)

// awsMaxAttempts is how many times the SDK tries a call (throttling and 5xx
// are retried with jittered backoff) before the activity's own retry policy
// takes over.
const awsMaxAttempts = 5

// LoadAWSProvider builds the worker's AWS provider from the default chain:
// AWS_PROFILE, AWS_REGION, environment keys, SSO, instance and task roles,
// and endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
func LoadAWSProvider(ctx context.Context) (*AWSProvider, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws configuration: %w", err)
	}
	// AWS_MAX_ATTEMPTS or max_attempts in the profile win; otherwise ride
	// out a little more throttling than the SDK's default 3 attempts.
	if cfg.RetryMaxAttempts == 0 {
		cfg.RetryMaxAttempts = awsMaxAttempts
	}
	return NewAWSProvider(cfg), nil
}

// HasCredentials reports whether the base config can produce credentials.
// Without them `quench dev` runs every incident as a dry run.
func (p *AWSProvider) HasCredentials(ctx context.Context) bool {
	if p == nil || p.base.Credentials == nil {
		return false
	}
	// The chain ends with instance metadata, which can take seconds to give
	// up where there is none.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	creds, err := p.base.Credentials.Retrieve(ctx)
	return err == nil && creds.HasKeys()
}

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
// backoff between calls. beat (may be nil) is called on every round so a
// long wait heartbeats. An error from check ends the wait at once.
func PollUntil(ctx context.Context, cfg PollConfig, what string, beat func(), check func(context.Context) (bool, error)) error {
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
		if beat != nil {
			beat()
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

// checkpoint keeps an action's prior state across attempts of one activity.
// An attempt that wrote and then failed (a lost response, a worker crash
// after the write) would otherwise read its own change back as the prior
// state and undo to it; the first attempt records what it read as
// heartbeat details and later attempts use that.
type checkpoint[T any] struct {
	ctx   context.Context
	prior T
}

// newCheckpoint returns the prior recorded by an earlier attempt if there
// is one, else records read. Outside an activity (tests, dry runs through
// the CLI) it just returns read.
func newCheckpoint[T any](ctx context.Context, read T) *checkpoint[T] {
	c := &checkpoint[T]{ctx: ctx, prior: read}
	if !activity.IsActivity(ctx) {
		return c
	}
	if activity.HasHeartbeatDetails(ctx) {
		var earlier T
		if err := activity.GetHeartbeatDetails(ctx, &earlier); err == nil {
			c.prior = earlier
			return c
		}
	}
	c.beat()
	return c
}

// beat re-records the checkpoint (heartbeat details are replaced on every heartbeat).
func (c *checkpoint[T]) beat() {
	if activity.IsActivity(c.ctx) {
		activity.RecordHeartbeat(c.ctx, c.prior)
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

// clientsFrom returns a function that builds a service client for an
// incident (its region and assumed role applied). build is the service's
// NewFromConfig, so AWS_ENDPOINT_URL_<SERVICE> is honoured.
func clientsFrom[C any](p *AWSProvider, build func(aws.Config) C) func(context.Context, contract.IncidentRef) (C, error) {
	return func(ctx context.Context, ref contract.IncidentRef) (C, error) {
		cfg, err := p.Config(ctx, ref)
		if err != nil {
			var zero C
			return zero, fmt.Errorf("aws configuration for incident %s: %w", ref.ID, err)
		}
		return build(cfg), nil
	}
}

// invalidArg is the error for a bad action argument.
func invalidArg(action, format string, args ...any) error {
	return NonRetryable(ErrInvalidArgument, fmt.Errorf(action+": "+format, args...))
}

// RegisterAWSCommon registers the IAM, Lambda, API Gateway and SSM actions
// (and their undo actions). The Bedrock and CloudWatch actions register
// separately.
func RegisterAWSCommon(reg *Registry, p *AWSProvider) {
	RegisterIAMActions(reg, p)
	RegisterLambdaActions(reg, p)
	RegisterAPIGatewayActions(reg, p)
	RegisterSSMActions(reg, p)
}

// scalarText is an argument stored as text that a runbook may give as a
// string, a number or a bool (a ${{ }} expression keeps its type).
type scalarText string

func (s *scalarText) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*s = scalarText(v)
	case float64, bool:
		*s = scalarText(strings.TrimSpace(string(b)))
	default:
		// An UnmarshalTypeError gets the argument's name added by the decoder.
		return &json.UnmarshalTypeError{Value: "non-scalar " + string(b), Type: reflect.TypeFor[string]()}
	}
	return nil
}

// number is a numeric argument a runbook may give as a number or as a
// numeric string.
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*n = number(v)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return &json.UnmarshalTypeError{Value: fmt.Sprintf("string %q", v), Type: reflect.TypeFor[float64]()}
		}
		*n = number(f)
	default:
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[float64]()}
	}
	return nil
}
