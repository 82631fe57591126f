package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives interactions over Slack's Socket Mode, for teams
// that cannot expose /slack/interactions. The app-level token (xapp-…)
// authenticates the connection, so there is no request signature to check;
// every interaction goes through the same HandleInteraction as HTTP.
//
// api must carry the app-level token: build it with Secrets.Client (or
// slack.New(bot, slack.OptionAppLevelToken(app))). RunSocketMode returns
// when ctx ends (nil) or the connection fails for good.
func RunSocketMode(ctx context.Context, api *slack.Client, h *Handler) error {
	if api == nil {
		return errors.New("run slack socket mode: no slack client (SLACK_BOT_TOKEN and SLACK_APP_TOKEN are needed)")
	}
	smc := socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- smc.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("run slack socket mode: %w", err)
		case evt := <-smc.Events:
			if err := h.DispatchSocketEvent(ctx, smc, evt); err != nil {
				return fmt.Errorf("run slack socket mode: %w", err)
			}
		}
	}
}

// SocketAcker acknowledges a Socket Mode envelope; *socketmode.Client implements it.
type SocketAcker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// DispatchSocketEvent handles one Socket Mode event: interactions go to
// HandleInteraction and are acknowledged with its answer (the modal errors
// for an empty deny reason); envelopes quench does not use are
// acknowledged so Slack does not redeliver them. It returns an error only
// when the connection cannot work (invalid app token).
func (h *Handler) DispatchSocketEvent(ctx context.Context, ack SocketAcker, evt socketmode.Event) error {
	switch evt.Type {
	case socketmode.EventTypeInvalidAuth:
		return errors.New("slack refused the app-level token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
		h.log.DebugContext(ctx, "slack socket mode", "event", string(evt.Type))
		return nil
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		// The client reconnects by itself; say so, in case it keeps failing.
		h.log.WarnContext(ctx, "slack socket mode", "event", string(evt.Type), "detail", fmt.Sprint(evt.Data))
		return nil
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return nil
		}
		var resp any
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			h.log.WarnContext(ctx, "slack socket mode: interactive event without an interaction", "type", fmt.Sprintf("%T", evt.Data))
		} else {
			var err error
			if resp, err = h.HandleInteraction(ctx, ic); err != nil {
				h.log.WarnContext(ctx, "slack socket mode: interaction not handled", "error", err)
				resp = nil
			}
		}
		if err := ackOrNil(ack, *evt.Request, resp); err != nil {
			h.log.WarnContext(ctx, "slack socket mode: ack", "error", err)
		}
		return nil
	}
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		if err := ack.Ack(*evt.Request); err != nil {
			h.log.WarnContext(ctx, "slack socket mode: ack", "error", err)
		}
	}
	return nil
}

func ackOrNil(ack SocketAcker, req socketmode.Request, payload any) error {
	if payload == nil {
		return ack.Ack(req)
	}
	return ack.Ack(req, payload)
}
