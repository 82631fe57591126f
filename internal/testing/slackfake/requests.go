package slackfake

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/slackapp"
)

// DenySubmission is the view_submission payload Slack sends when user
// submits the deny modal with reason.
func DenySubmission(view slack.ModalViewRequest, user, reason string) map[string]any {
	return map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": user, "team_id": "T0TEAM"},
		"team": map[string]any{"id": "T0TEAM"},
		"view": map[string]any{
			"id": "V0MODAL", "type": "modal", "callback_id": view.CallbackID,
			"private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{
				slackapp.DenyReasonBlockID: map[string]any{
					slackapp.DenyReasonActionID: map[string]any{"type": "plain_text_input", "value": reason},
				},
			}},
		},
	}
}

// SignedRequest builds the POST Slack would send to endpoint with payload,
// signed with secret at time at.
func SignedRequest(ctx context.Context, endpoint, secret string, at time.Time, payload any) (*http.Request, error) {
	body, err := FormBody(payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts, sig := slackapp.Sign(secret, at, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slackapp.HeaderTimestamp, ts)
	req.Header.Set(slackapp.HeaderSignature, sig)
	return req, nil
}
