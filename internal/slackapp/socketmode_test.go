package slackapp_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/workflows"
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
	ic := interaction(t, clickPayload(t, f, request(), activities.ActionApprove, "U0GROUPIE"))
	evt := socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic, Request: &socketmode.Request{Type: "interactive", EnvelopeID: "env-1"}}

	if err := f.h.DispatchSocketEvent(context.Background(), &acker, evt); err != nil {
		t.Fatal(err)
	}
	f.h.Wait()
	if len(acker.acks) != 1 || acker.acks[0].envelope != "env-1" || len(acker.acks[0].payload) != 0 {
		t.Fatalf("acks = %+v, want env-1 acknowledged without payload", acker.acks)
	}
	calls := f.decider.Calls()
	if len(calls) != 1 || calls[0].Kind != workflows.UpdateApprove || calls[0].D.Actor != "U0GROUPIE" ||
		calls[0].D.Via != "slack" || len(calls[0].D.SlackUserGroups) != 1 {
		t.Fatalf("decide calls = %+v", calls)
	}
	_, blocks := responseMessage(t, f.srv)
	if got := blockTexts(blocks)[activities.BlockDecision]; !strings.Contains(got, "Approved by <@U0GROUPIE>") {
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
