package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// ErrSlackRateLimited is the (retryable) application error type of a Slack
// rate limit; its NextRetryDelay follows Slack's Retry-After.
const ErrSlackRateLimited = "SlackRateLimited"

// ActionSlackNotify is the runbook action that posts a message to Slack.
const ActionSlackNotify = "slack.notify"

// Notifier implements the notification activities and the slack.notify
// action on top of internal/slackapp, which builds and posts the messages;
// here its failures become Temporal's retry policy.
type Notifier struct {
	slack *slackapp.Notifier
}

// NewNotifier returns a Notifier posting through api to defaultChannel
// (QUENCH_SLACK_CHANNEL) when neither the incident thread nor the runbook
// names one. A nil api (or a nil *slack.Client) means Slack is not
// configured: messages are logged and reported as not delivered.
func NewNotifier(api slackapp.Poster, defaultChannel string, logger *slog.Logger) *Notifier {
	return &Notifier{slack: slackapp.NewNotifier(api, defaultChannel, logger)}
}

// Configured reports whether messages go to Slack.
func (n *Notifier) Configured() bool { return n.slack.Configured() }

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

// RequestApproval posts an approval request (activity notify.request_approval).
func (n *Notifier) RequestApproval(ctx context.Context, req contract.ApprovalRequest) (contract.NotifyResult, error) {
	res, err := n.slack.RequestApproval(ctx, req)
	return res, retryPolicy(err)
}

// ApprovalDecided replaces the request with the decision (activity
// notify.approval_decided).
func (n *Notifier) ApprovalDecided(ctx context.Context, d contract.ApprovalDecided) (contract.NotifyResult, error) {
	res, err := n.slack.ApprovalDecided(ctx, d)
	return res, retryPolicy(err)
}

// PostUpdate posts one line into the incident thread (activity
// notify.post_update).
func (n *Notifier) PostUpdate(ctx context.Context, u contract.IncidentUpdate) (contract.NotifyResult, error) {
	res, err := n.slack.PostUpdate(ctx, u)
	return res, retryPolicy(err)
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
	if in.DryRun {
		channel := n.slack.ChannelFor(args.Channel)
		if channel == "" {
			channel = "(no channel configured)"
		}
		return contract.ActionResult{DryRun: true, Summary: fmt.Sprintf("would post to %s: %s", channel, args.Message)}, nil
	}
	res, err := n.slack.Notify(ctx, slackapp.Note{Incident: in.Incident.ID, Step: in.Step, Channel: args.Channel, Message: args.Message})
	if err != nil {
		return contract.ActionResult{}, retryPolicy(err)
	}
	if !res.Delivered {
		return contract.ActionResult{Summary: "slack not configured; message logged"}, nil
	}
	return contract.ActionResult{
		Summary: "posted to " + res.Thread.Channel,
		Output:  map[string]any{"channel": res.Thread.Channel, "ts": res.MessageTS},
	}, nil
}

// retryPolicy turns a failed Slack post into what Temporal's retry policy
// reads: rate limits are retried after Slack's Retry-After, transient
// failures with backoff, and the rest fail at once with the error type
// the workflow and the CLI match on.
func retryPolicy(err error) error {
	var se *slackapp.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Kind {
	case slackapp.KindRateLimited:
		return temporal.NewApplicationErrorWithOptions(se.Error(), ErrSlackRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: se.RetryAfter, Cause: err})
	case slackapp.KindAccessDenied:
		return NonRetryable(ErrAccessDenied, err)
	case slackapp.KindNotFound:
		return NonRetryable(ErrNotFound, err)
	case slackapp.KindRefused:
		return NonRetryable(ErrValidation, err)
	case slackapp.KindInvalidArgument:
		return NonRetryable(ErrInvalidArgument, err)
	}
	return err
}
