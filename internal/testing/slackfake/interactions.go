package slackfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/slack-go/slack"
)

// Click is a user clicking a button of a posted message.
type Click struct {
	// User is the clicker's Slack user id.
	User string
	// ActionID is the button's action_id (slackapp.ActionApprove / ActionDeny).
	ActionID string
	// ResponseURL is where the handler answers (see Server.ResponseURL).
	ResponseURL string
	// TriggerID lets the handler open a modal; a default is used when empty.
	TriggerID string
}

// ClickPayload is the block_actions payload Slack sends when c.User clicks
// c.ActionID on the message msg (a recorded chat.postMessage or
// chat.update call), carrying the message as it is now.
func ClickPayload(msg Call, c Click) (map[string]any, error) {
	blocks, err := msg.Blocks()
	if err != nil {
		return nil, err
	}
	var action map[string]any
	for _, b := range blocks.BlockSet {
		ab, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range ab.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == c.ActionID {
				action = map[string]any{
					"action_id": btn.ActionID, "block_id": ab.BlockID, "type": "button",
					"text": btn.Text, "value": btn.Value, "style": btn.Style,
					"action_ts": fmt.Sprintf("%d.000100", time.Now().Unix()),
				}
			}
		}
	}
	if action == nil {
		return nil, fmt.Errorf("click %s: the message %s has no such button", c.ActionID, msg.TS)
	}
	trigger := c.TriggerID
	if trigger == "" {
		trigger = "1337.42.trigger"
	}
	return map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": c.User, "username": c.User, "team_id": "T0TEAM"},
		"api_app_id": "A0APP",
		"token":      "legacy-verification-token",
		"trigger_id": trigger,
		"team":       map[string]any{"id": "T0TEAM", "domain": "example"},
		"container":  map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": msg.Channel, "is_ephemeral": false},
		"channel":    map[string]any{"id": msg.Channel},
		"message": map[string]any{
			"type": "message", "ts": msg.TS, "text": msg.Form.Get("text"), "user": "U0BOT",
			"blocks": blocks,
		},
		"response_url": c.ResponseURL,
		"actions":      []map[string]any{action},
	}, nil
}

// OpenedView decodes a views.open call: the trigger it answered and the modal.
func (c Call) OpenedView() (triggerID string, view slack.ModalViewRequest, err error) {
	if c.Method != ViewsOpen {
		return "", view, fmt.Errorf("call is %s, not %s", c.Method, ViewsOpen)
	}
	var req struct {
		TriggerID string                 `json:"trigger_id"`
		View      slack.ModalViewRequest `json:"view"`
	}
	if err := json.Unmarshal(c.Body, &req); err != nil {
		return "", view, fmt.Errorf("decode views.open: %w", err)
	}
	return req.TriggerID, req.View, nil
}

// FormBody encodes payload as Slack posts interactions: a form with one
// field, payload, holding the JSON.
func FormBody(payload any) ([]byte, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode interaction payload: %w", err)
	}
	return []byte("payload=" + url.QueryEscape(string(raw))), nil
}

// LastApprovalRequest returns the latest posted message that has Approve
// and Deny buttons (an approval request or an escalation).
func (s *Server) LastApprovalRequest() (Call, error) {
	calls := s.Calls(PostMessage)
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].TS == "" {
			continue
		}
		blocks, err := calls[i].Blocks()
		if err != nil {
			continue
		}
		for _, b := range blocks.BlockSet {
			if _, ok := b.(*slack.ActionBlock); ok {
				return calls[i], nil
			}
		}
	}
	return Call{}, errors.New("no approval request was posted")
}
