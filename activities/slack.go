package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// ErrSlackRateLimited is the (retryable) application error type of a Slack
// rate limit; its NextRetryDelay follows Slack's Retry-After.
const ErrSlackRateLimited = "SlackRateLimited"

// ActionSlackNotify is the runbook action that posts a message to Slack.
const ActionSlackNotify = "slack.notify"

// notConfigured is NotifyResult.Reason when there is no Slack token.
const notConfigured = "slack not configured"

// SlackPoster is the part of *slack.Client the Notifier uses.
type SlackPoster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// Notifier implements the notification activities and the slack.notify
// action. Without a Slack client it logs every message and reports it as
// not delivered, so runbooks work (and approvals stay possible from the
// CLI) on a machine without Slack.
type Notifier struct {
	api            SlackPoster
	defaultChannel string
	log            *slog.Logger
}

// NewNotifier returns a Notifier posting through api to defaultChannel
// (QUENCH_SLACK_CHANNEL) when neither the incident thread nor the runbook
// names one. A nil api (or a nil *slack.Client) means Slack is not configured.
func NewNotifier(api SlackPoster, defaultChannel string, logger *slog.Logger) *Notifier {
	if api != nil {
		if v := reflect.ValueOf(api); v.Kind() == reflect.Pointer && v.IsNil() {
			api = nil
		}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Notifier{api: api, defaultChannel: defaultChannel, log: logger}
}

// Configured reports whether messages go to Slack.
func (n *Notifier) Configured() bool { return n.api != nil }

// Register registers the three notification activities under their names.
func (n *Notifier) Register(w ActivityRegistrar) {
	w.RegisterActivityWithOptions(n.RequestApproval, activity.RegisterOptions{Name: contract.ActivityRequestApproval})
	w.RegisterActivityWithOptions(n.ApprovalDecided, activity.RegisterOptions{Name: contract.ActivityApprovalDecided})
	w.RegisterActivityWithOptions(n.PostUpdate, activity.RegisterOptions{Name: contract.ActivityPostUpdate})
}

// Actions returns the runbook actions the Notifier provides (slack.notify),
// to be added to the Registry.
func (n *Notifier) Actions() []Action {
	return []Action{{
		Spec: runbooks.ActionSpec{
			Name:        ActionSlackNotify,
			Description: "Post a message to Slack (the channel argument, else the default channel); logged when Slack is not configured.",
			Args: []runbooks.ArgSpec{
				{Name: "message", Type: "string", Required: true, Description: "Text to post (mrkdwn; <, > and & are escaped)."},
				{Name: "channel", Type: "string", Description: "Channel id or name; defaults to QUENCH_SLACK_CHANNEL."},
			},
		},
		Run: n.Notify,
	}}
}

func (n *Notifier) channel(t contract.Thread) string {
	if t.Channel != "" {
		return t.Channel
	}
	return n.defaultChannel
}

func noChannel(op string) error {
	return NonRetryable(ErrInvalidArgument, fmt.Errorf("%s: no slack channel: set slack.channel in the runbook or QUENCH_SLACK_CHANNEL", op))
}

// RequestApproval posts an approval request. The first post of an incident
// becomes its thread; later requests and escalations go into that thread.
func (n *Notifier) RequestApproval(ctx context.Context, req contract.ApprovalRequest) (contract.NotifyResult, error) {
	op := fmt.Sprintf("request approval of incident %s step %s", req.Incident.ID, req.Step)
	blocks, fallback, err := ApprovalRequestBlocks(req)
	if err != nil {
		return contract.NotifyResult{}, NonRetryable(ErrInvalidArgument, fmt.Errorf("%s: %w", op, err))
	}
	if n.api == nil {
		n.log.InfoContext(ctx, "approval request not sent: "+notConfigured,
			"incident", req.Incident.ID, "step", req.Step, "message", req.Message,
			"escalation", req.Escalation, "approvers", MentionApprovers(req.Approvers), "deadline", req.Deadline)
		return contract.NotifyResult{Thread: req.Thread, Reason: notConfigured}, nil
	}
	channel := n.channel(req.Thread)
	if channel == "" {
		return contract.NotifyResult{}, noChannel(op)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)}
	if req.Thread.TS != "" {
		opts = append(opts, slack.MsgOptionTS(req.Thread.TS))
		if req.Escalation {
			// Escalation must be seen: show the thread reply in the channel too.
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return contract.NotifyResult{}, SlackError(op, channel, err)
	}
	return contract.NotifyResult{Delivered: true, Thread: threadAfter(req.Thread, channel, ch, ts), MessageTS: ts}, nil
}

// threadAfter returns the incident thread after a post: unchanged if there
// was one, else the post just made. Slack answers with the channel id,
// which chat.update needs even when the runbook named the channel.
func threadAfter(t contract.Thread, requested, gotChannel, ts string) contract.Thread {
	if t.TS != "" {
		if gotChannel != "" {
			t.Channel = gotChannel
		}
		return t
	}
	if gotChannel == "" {
		gotChannel = requested
	}
	return contract.Thread{Channel: gotChannel, TS: ts}
}

// ApprovalDecided replaces the request message (buttons removed) with who
// decided and when. Without the request's timestamp it posts the decision
// into the thread instead.
func (n *Notifier) ApprovalDecided(ctx context.Context, d contract.ApprovalDecided) (contract.NotifyResult, error) {
	op := fmt.Sprintf("report decision on incident %s step %s", d.Incident.ID, d.Step)
	blocks, fallback := ApprovalDecidedBlocks(d)
	if n.api == nil {
		n.log.InfoContext(ctx, "approval decision not sent: "+notConfigured,
			"incident", d.Incident.ID, "step", d.Step, "decision", d.Decision, "actors", d.Actors, "reason", d.Reason)
		return contract.NotifyResult{Thread: d.Thread, Reason: notConfigured}, nil
	}
	channel := n.channel(d.Thread)
	if channel == "" {
		return contract.NotifyResult{}, noChannel(op)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)}
	if d.MessageTS != "" {
		ch, ts, _, err := n.api.UpdateMessageContext(ctx, channel, d.MessageTS, opts...)
		if err != nil {
			return contract.NotifyResult{}, SlackError(op, channel+"/"+d.MessageTS, err)
		}
		return contract.NotifyResult{Delivered: true, Thread: threadAfter(d.Thread, channel, ch, d.Thread.TS), MessageTS: ts}, nil
	}
	if d.Thread.TS != "" {
		opts = append(opts, slack.MsgOptionTS(d.Thread.TS))
	}
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return contract.NotifyResult{}, SlackError(op, channel, err)
	}
	return contract.NotifyResult{Delivered: true, Thread: threadAfter(d.Thread, channel, ch, ts), MessageTS: ts}, nil
}

// PostUpdate posts one line (folded alerts, outcomes, notify steps) into
// the incident thread, starting the thread if there is none yet.
func (n *Notifier) PostUpdate(ctx context.Context, u contract.IncidentUpdate) (contract.NotifyResult, error) {
	op := fmt.Sprintf("post update for incident %s", u.Incident.ID)
	if n.api == nil {
		n.log.InfoContext(ctx, "incident update not sent: "+notConfigured, "incident", u.Incident.ID, "text", u.Text)
		return contract.NotifyResult{Thread: u.Thread, Reason: notConfigured}, nil
	}
	channel := n.channel(u.Thread)
	if channel == "" {
		return contract.NotifyResult{}, noChannel(op)
	}
	text := EscapeText(u.Text)
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl()}
	if u.Thread.TS != "" {
		opts = append(opts, slack.MsgOptionTS(u.Thread.TS))
	} else {
		// A thread root must say which incident it is about.
		opts[0] = slack.MsgOptionText(fmt.Sprintf("*Incident %s* (%s, %s): %s", EscapeText(u.Incident.ID), EscapeText(u.Incident.Runbook), EscapeText(u.Incident.Severity), text), false)
	}
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return contract.NotifyResult{}, SlackError(op, channel, err)
	}
	return contract.NotifyResult{Delivered: true, Thread: threadAfter(u.Thread, channel, ch, ts), MessageTS: ts}, nil
}

type notifyArgs struct {
	Message string `json:"message"`
	Channel string `json:"channel,omitempty"`
}

// Notify is the slack.notify action. It changes no containment state, so
// it has no undo record and reports Changed false.
func (n *Notifier) Notify(ctx context.Context, in contract.ActionInput) (contract.ActionResult, error) {
	var args notifyArgs
	if err := DecodeArgs(in.Args, &args); err != nil {
		return contract.ActionResult{}, err
	}
	if args.Message == "" {
		return contract.ActionResult{}, NonRetryable(ErrInvalidArgument, fmt.Errorf("%s step %s: argument message is required", ActionSlackNotify, in.Step))
	}
	channel := args.Channel
	if channel == "" {
		channel = n.defaultChannel
	}
	if in.DryRun {
		return contract.ActionResult{DryRun: true, Summary: fmt.Sprintf("would post to %s: %s", orUnset(channel), args.Message)}, nil
	}
	if n.api == nil {
		n.log.InfoContext(ctx, "slack.notify not sent: "+notConfigured, "incident", in.Incident.ID, "step", in.Step, "message", args.Message)
		return contract.ActionResult{Summary: "slack not configured; message logged"}, nil
	}
	op := fmt.Sprintf("%s for incident %s step %s", ActionSlackNotify, in.Incident.ID, in.Step)
	if channel == "" {
		return contract.ActionResult{}, noChannel(op)
	}
	text := fmt.Sprintf("*Incident %s*: %s", EscapeText(in.Incident.ID), EscapeText(args.Message))
	ch, ts, err := n.api.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return contract.ActionResult{}, SlackError(op, channel, err)
	}
	if ch == "" {
		ch = channel
	}
	return contract.ActionResult{
		Summary: "posted to " + ch,
		Output:  map[string]any{"channel": ch, "ts": ts},
	}, nil
}

func orUnset(channel string) string {
	if channel == "" {
		return "(no channel configured)"
	}
	return channel
}

// Slack error codes retrying cannot fix, by application error type.
var permanentSlackErrors = map[string]string{
	"invalid_auth":           ErrAccessDenied,
	"not_authed":             ErrAccessDenied,
	"account_inactive":       ErrAccessDenied,
	"token_revoked":          ErrAccessDenied,
	"token_expired":          ErrAccessDenied,
	"no_permission":          ErrAccessDenied,
	"missing_scope":          ErrAccessDenied,
	"not_allowed_token_type": ErrAccessDenied,
	"ekm_access_denied":      ErrAccessDenied,
	"restricted_action":      ErrAccessDenied,
	"channel_not_found":      ErrNotFound,
	"message_not_found":      ErrNotFound,
	"thread_not_found":       ErrNotFound,
	"user_not_found":         ErrNotFound,
	"not_in_channel":         ErrValidation,
	"is_archived":            ErrValidation,
	"msg_too_long":           ErrValidation,
	"no_text":                ErrValidation,
	"invalid_blocks":         ErrValidation,
	"invalid_blocks_format":  ErrValidation,
	"invalid_arguments":      ErrValidation,
	"cant_update_message":    ErrValidation,
	"edit_window_closed":     ErrValidation,
	"invalid_ts_latest":      ErrValidation,
}

// SlackError classifies a Slack API error for Temporal's retry policy:
// rate limits are retried after Slack's Retry-After, 5xx and network
// failures are retried with backoff, and permanent problems (bad token,
// unknown channel, invalid message) fail at once as non-retryable errors
// naming the operation and the target.
func SlackError(op, target string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("%s %s: rate limited by slack, retry after %s", op, target, rl.RetryAfter),
			ErrSlackRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: rl.RetryAfter, Cause: err})
	case errors.As(err, &sc):
		if sc.Code >= 500 || sc.Code == http.StatusTooManyRequests {
			return fmt.Errorf("%s %s: slack answered %d, will retry: %w", op, target, sc.Code, err)
		}
		return NonRetryable(ErrValidation, fmt.Errorf("%s %s: slack answered %d: %w", op, target, sc.Code, err))
	case errors.As(err, &se):
		if typ, ok := permanentSlackErrors[se.Err]; ok {
			return NonRetryable(typ, fmt.Errorf("%s %s: slack error %s: %w", op, target, se.Err, err))
		}
		return fmt.Errorf("%s %s: slack error %s, will retry: %w", op, target, se.Err, err)
	}
	// Network failures, timeouts: Slack may be back on the next attempt.
	return fmt.Errorf("%s %s: %w", op, target, err)
}
