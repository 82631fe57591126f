package slackapp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/workflows/contract"
)

type fakeAcker struct {
	mu   sync.Mutex
	acks []ack
}

type ack struct {
	envelope string
	payload  []any
}

func (a *fakeAcker) Ack(req socketmode.Request, payload ...any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acks = append(a.acks, ack{req.EnvelopeID, payload})
	return nil
}

// interaction decodes a payload into what socketmode hands the handler.
func interaction(t *testing.T, payload map[string]any) slack.InteractionCallback {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal(raw, &ic); err != nil {
		t.Fatal(err)
	}
	return ic
}

func TestSocketModeInteractionTakesTheSameDecidePath(t *testing.T) {
	f := newFixture(t, func(c *slackapp.Config) { c.SigningSecret = "" })
	f.srv.SetGroupMembers("S02AIRESP", "U0GROUPIE")
	var acker fakeAcker
	ic := interaction(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U0GROUPIE"))
	evt := socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic, Request: &socketmode.Request{Type: "interactive", EnvelopeID: "env-1"}}

	if err := f.h.DispatchSocketEvent(context.Background(), &acker, evt); err != nil {
		t.Fatal(err)
	}
	f.h.Wait()
	if len(acker.acks) != 1 || acker.acks[0].envelope != "env-1" || len(acker.acks[0].payload) != 0 {
		t.Fatalf("acks = %+v, want env-1 acknowledged without payload", acker.acks)
	}
	calls := f.decider.Calls()
	if len(calls) != 1 || calls[0].Kind != contract.UpdateApprove || calls[0].D.Actor != "U0GROUPIE" ||
		calls[0].D.Via != "slack" || len(calls[0].D.SlackUserGroups) != 1 {
		t.Fatalf("decide calls = %+v", calls)
	}
	_, blocks := responseMessage(t, f.srv)
	if got := blockTexts(blocks)[slackapp.BlockDecision]; !strings.Contains(got, "Approved by <@U0GROUPIE>") {
		t.Errorf("decision = %q", got)
	}
}

func TestSocketModeAcksWithModalErrors(t *testing.T) {
	f := newFixture(t)
	var acker fakeAcker
	meta, _ := json.Marshal(map[string]any{"b": map[string]any{"i": "inc-7f3a", "s": "approve-pause"}, "u": "U01ABCDEF", "c": channelID})
	ic := interaction(t, map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": "U01ABCDEF"},
		"view": map[string]any{"callback_id": "quench_deny_reason", "private_metadata": string(meta),
			"state": map[string]any{"values": map[string]any{}}},
	})
	evt := socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic, Request: &socketmode.Request{EnvelopeID: "env-2"}}
	if err := f.h.DispatchSocketEvent(context.Background(), &acker, evt); err != nil {
		t.Fatal(err)
	}
	if len(acker.acks) != 1 || len(acker.acks[0].payload) != 1 {
		t.Fatalf("acks = %+v, want one with the modal errors", acker.acks)
	}
	raw, _ := json.Marshal(acker.acks[0].payload[0])
	if !strings.Contains(string(raw), `"response_action":"errors"`) {
		t.Errorf("ack payload = %s", raw)
	}
}

func TestSocketModeOtherEvents(t *testing.T) {
	f := newFixture(t)
	var acker fakeAcker
	if err := f.h.DispatchSocketEvent(context.Background(), &acker, socketmode.Event{Type: socketmode.EventTypeInvalidAuth}); err == nil || !strings.Contains(err.Error(), "SLACK_APP_TOKEN") {
		t.Errorf("invalid auth: err = %v, want a fatal error naming SLACK_APP_TOKEN", err)
	}
	evt := socketmode.Event{Type: socketmode.EventTypeSlashCommand, Request: &socketmode.Request{EnvelopeID: "env-3"}}
	if err := f.h.DispatchSocketEvent(context.Background(), &acker, evt); err != nil {
		t.Fatal(err)
	}
	if len(acker.acks) != 1 || acker.acks[0].envelope != "env-3" {
		t.Errorf("acks = %+v, want an unused envelope acknowledged", acker.acks)
	}
	if n := len(f.decider.Calls()); n != 0 {
		t.Errorf("decider called %d times", n)
	}
}

// fakeSocketModeSlack is Slack's side of Socket Mode: apps.connections.open
// hands out a WebSocket URL; the socket says hello, delivers one
// interactive envelope and reports the ack it gets back.
func fakeSocketModeSlack(t *testing.T, payload map[string]any) (apiURL string, acked <-chan map[string]any) {
	t.Helper()
	ackc := make(chan map[string]any, 1)
	// The client sends Origin: https://api.slack.com, as to the real Slack.
	upgrader := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer xapp-1-test" {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(srv.URL, "http") + "/link"})
	})
	mux.HandleFunc("/link", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		_ = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		_ = conn.WriteJSON(map[string]any{"type": "interactive", "envelope_id": "env-ws-1", "payload": payload, "accepts_response_payload": false})
		for {
			var msg map[string]any
			if err := conn.ReadJSON(&msg); err != nil {
				return
			}
			if msg["envelope_id"] == "env-ws-1" {
				ackc <- msg
			}
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/", ackc
}

func TestRunSocketModeOverAWebSocket(t *testing.T) {
	f := newFixture(t, func(c *slackapp.Config) { c.SigningSecret = "" })
	apiURL, acked := fakeSocketModeSlack(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF"))
	api := slackapp.Secrets{BotToken: "xoxb-test", AppToken: "xapp-1-test"}.Client(slack.OptionAPIURL(apiURL))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- slackapp.RunSocketMode(ctx, api, f.h) }()

	select {
	case msg := <-acked:
		if _, has := msg["payload"]; has {
			t.Errorf("ack carries a payload: %v", msg)
		}
	case err := <-done:
		t.Fatalf("RunSocketMode returned before acknowledging: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no ack within 10s")
	}
	// The decision runs in the background after the ack.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.decider.Calls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	f.h.Wait()
	calls := f.decider.Calls()
	if len(calls) != 1 || calls[0].D.Actor != "U01ABCDEF" || calls[0].Kind != contract.UpdateApprove {
		t.Fatalf("decide calls = %+v", calls)
	}
	if _, blocks := responseMessage(t, f.srv); !strings.Contains(blockTexts(blocks)[slackapp.BlockDecision], "Approved by <@U01ABCDEF>") {
		t.Errorf("message not replaced: %v", blockTexts(blocks))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
}

func TestRunSocketModeRefusesBadAppToken(t *testing.T) {
	f := newFixture(t)
	apiURL, _ := fakeSocketModeSlack(t, map[string]any{})
	api := slackapp.Secrets{BotToken: "xoxb-test", AppToken: "xapp-1-wrong"}.Client(slack.OptionAPIURL(apiURL))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := slackapp.RunSocketMode(ctx, api, f.h)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("err = %v (ctx %v), want a prompt error for a refused app token", err, ctx.Err())
	}
	if err := slackapp.RunSocketMode(ctx, nil, f.h); err == nil {
		t.Errorf("RunSocketMode without a client succeeded")
	}
}
