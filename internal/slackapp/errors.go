package slackapp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// Kind says whether retrying a failed Slack post can help. The activities
// that call the Notifier turn it into Temporal's retry policy.
type Kind int

const (
	// KindTransient failed in a way the next attempt may not: Slack's 5xx,
	// network failures, timeouts, Slack errors not known to be permanent.
	KindTransient Kind = iota
	// KindRateLimited is Slack's 429; retry after Error.RetryAfter.
	KindRateLimited
	// KindAccessDenied is a bad, revoked or under-scoped token.
	KindAccessDenied
	// KindNotFound is an unknown channel, message, thread or user.
	KindNotFound
	// KindRefused is a request Slack refused as it is (invalid blocks,
	// archived channel, a 4xx answer).
	KindRefused
	// KindInvalidArgument is a post quench could not make: no channel is
	// configured, or the message cannot be built. Nothing was sent.
	KindInvalidArgument
)

// Retryable reports whether another attempt may succeed.
func (k Kind) Retryable() bool { return k == KindTransient || k == KindRateLimited }

// Error is a failed post, classified for retrying. Its message names the
// operation and the target (channel, or channel/ts).
type Error struct {
	Kind Kind
	// RetryAfter is Slack's Retry-After (KindRateLimited only).
	RetryAfter time.Duration
	msg        string
	err        error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// invalidArgument is a post that was not attempted.
func invalidArgument(op string, err error) *Error {
	return &Error{Kind: KindInvalidArgument, msg: fmt.Sprintf("%s: %v", op, err), err: err}
}

func noChannel(op string) *Error {
	return invalidArgument(op, errors.New("no slack channel: set slack.channel in the runbook or QUENCH_SLACK_CHANNEL"))
}

// Slack error codes retrying cannot fix, by kind.
var permanentSlackErrors = map[string]Kind{
	"invalid_auth":           KindAccessDenied,
	"not_authed":             KindAccessDenied,
	"account_inactive":       KindAccessDenied,
	"token_revoked":          KindAccessDenied,
	"token_expired":          KindAccessDenied,
	"no_permission":          KindAccessDenied,
	"missing_scope":          KindAccessDenied,
	"not_allowed_token_type": KindAccessDenied,
	"ekm_access_denied":      KindAccessDenied,
	"restricted_action":      KindAccessDenied,
	"channel_not_found":      KindNotFound,
	"message_not_found":      KindNotFound,
	"thread_not_found":       KindNotFound,
	"user_not_found":         KindNotFound,
	"not_in_channel":         KindRefused,
	"is_archived":            KindRefused,
	"msg_too_long":           KindRefused,
	"no_text":                KindRefused,
	"invalid_blocks":         KindRefused,
	"invalid_blocks_format":  KindRefused,
	"invalid_arguments":      KindRefused,
	"cant_update_message":    KindRefused,
	"edit_window_closed":     KindRefused,
	"invalid_ts_latest":      KindRefused,
}

// classify turns a Slack API error into an *Error: rate limits carry
// Slack's Retry-After, 5xx and network failures are transient, and
// permanent problems (bad token, unknown channel, invalid message) say so.
func classify(op, target string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return &Error{Kind: KindRateLimited, RetryAfter: rl.RetryAfter, err: err,
			msg: fmt.Sprintf("%s %s: rate limited by slack, retry after %s", op, target, rl.RetryAfter)}
	case errors.As(err, &sc):
		if sc.Code >= 500 || sc.Code == http.StatusTooManyRequests {
			return &Error{Kind: KindTransient, err: err, msg: fmt.Sprintf("%s %s: slack answered %d, will retry: %v", op, target, sc.Code, err)}
		}
		return &Error{Kind: KindRefused, err: err, msg: fmt.Sprintf("%s %s: slack answered %d: %v", op, target, sc.Code, err)}
	case errors.As(err, &se):
		if kind, ok := permanentSlackErrors[se.Err]; ok {
			return &Error{Kind: kind, err: err, msg: fmt.Sprintf("%s %s: slack error %s: %v", op, target, se.Err, err)}
		}
		return &Error{Kind: KindTransient, err: err, msg: fmt.Sprintf("%s %s: slack error %s, will retry: %v", op, target, se.Err, err)}
	}
	// Network failures, timeouts: Slack may be back on the next attempt.
	return &Error{Kind: KindTransient, err: err, msg: fmt.Sprintf("%s %s: %v", op, target, err)}
}
