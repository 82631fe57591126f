package slackapp

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/workflows/contract"
)

// notConfigured is NotifyResult.Reason when there is no Slack token.
const notConfigured = "slack not configured"

// Poster is the part of *slack.Client the Notifier uses.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// Notifier posts an incident's messages to Slack: approval requests (the
// first post of an incident starts its thread, later ones reply in it),
// decisions replacing the request, updates and one-off notes. Without a
// Slack client it logs every message and reports it as not delivered, so
// runbooks work (and approvals stay possible from the CLI) on a machine
// without Slack. Failed posts are *Error, classified for retrying.
type Notifier struct {
	api            Poster
	defaultChannel string
	log            *slog.Logger
}

// NewNotifier returns a Notifier posting through api to defaultChannel
// (QUENCH_SLACK_CHANNEL) when neither the incident thread nor the runbook
// names one. A nil api (or a nil *slack.Client) means Slack is not configured.
func NewNotifier(api Poster, defaultChannel string, logger *slog.Logger) *Notifier {
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

func (n *Notifier) channel(t contract.Thread) string { return n.ChannelFor(t.Channel) }

// RequestApproval posts an approval request. The first post of an incident
// becomes its thread; later requests and escalations go into that thread.
func (n *Notifier) RequestApproval(ctx context.Context, req contract.ApprovalRequest) (contract.NotifyResult, error) {
	op := fmt.Sprintf("request approval of incident %s step %s", req.Incident.ID, req.Step)
	blocks, fallback, err := ApprovalRequestBlocks(req)
	if err != nil {
		return contract.NotifyResult{}, invalidArgument(op, err)
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
		return contract.NotifyResult{}, classify(op, channel, err)
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
			return contract.NotifyResult{}, classify(op, channel+"/"+d.MessageTS, err)
		}
		return contract.NotifyResult{Delivered: true, Thread: threadAfter(d.Thread, channel, ch, d.Thread.TS), MessageTS: ts}, nil
	}
	if d.Thread.TS != "" {
		opts = append(opts, slack.MsgOptionTS(d.Thread.TS))
	}
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return contract.NotifyResult{}, classify(op, channel, err)
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
		return contract.NotifyResult{}, classify(op, channel, err)
	}
	return contract.NotifyResult{Delivered: true, Thread: threadAfter(u.Thread, channel, ch, ts), MessageTS: ts}, nil
}

// Note is a one-off message about an incident (the slack.notify action).
type Note struct {
	Incident, Step string
	// Channel defaults to the Notifier's default channel.
	Channel string
	Message string
}

// ChannelFor returns where a note for channel goes: channel, else the
// default channel (empty when neither is set).
func (n *Notifier) ChannelFor(channel string) string {
	if channel != "" {
		return channel
	}
	return n.defaultChannel
}

// Notify posts a note as a top-level message naming the incident. The
// result's Thread.Channel is the channel id Slack answered with.
func (n *Notifier) Notify(ctx context.Context, note Note) (contract.NotifyResult, error) {
	if n.api == nil {
		n.log.InfoContext(ctx, "slack.notify not sent: "+notConfigured, "incident", note.Incident, "step", note.Step, "message", note.Message)
		return contract.NotifyResult{Reason: notConfigured}, nil
	}
	op := fmt.Sprintf("slack.notify for incident %s step %s", note.Incident, note.Step)
	channel := n.ChannelFor(note.Channel)
	if channel == "" {
		return contract.NotifyResult{}, noChannel(op)
	}
	text := fmt.Sprintf("*Incident %s*: %s", EscapeText(note.Incident), EscapeText(note.Message))
	ch, ts, err := n.api.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return contract.NotifyResult{}, classify(op, channel, err)
	}
	if ch == "" {
		ch = channel
	}
	return contract.NotifyResult{Delivered: true, Thread: contract.Thread{Channel: ch}, MessageTS: ts}, nil
}
