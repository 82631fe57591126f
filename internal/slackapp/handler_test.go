package slackapp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// responseMessage decodes the single response_url post.
func responseMessage(t *testing.T, srv *slackfake.Server) (map[string]any, slack.Blocks) {
	t.Helper()
	calls := srv.Calls(slackfake.ResponseURL)
	if len(calls) != 1 {
		t.Fatalf("got %d response_url posts, want 1", len(calls))
	}
	var msg map[string]any
	if err := calls[0].JSON(&msg); err != nil {
		t.Fatal(err)
	}
	blocks, err := calls[0].Blocks()
	if err != nil {
		t.Fatal(err)
	}
	return msg, blocks
}

func TestApproveClickDecidesAndReplacesMessage(t *testing.T) {
	f := newFixture(t)
	f.srv.SetGroupMembers("S02AIRESP", "U0OTHER", "U0GROUPIE")

	resp := f.send(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U0GROUPIE"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}

	calls := f.decider.Calls()
	if len(calls) != 1 {
		t.Fatalf("decider called %d times, want 1", len(calls))
	}
	want := decideCall{ID: "inc-7f3a", Kind: contract.UpdateApprove, D: contract.Decision{
		Step: "approve-pause", Actor: "U0GROUPIE", Via: "slack", SlackUserGroups: []string{"S02AIRESP"},
	}}
	if got, _ := json.Marshal(calls[0]); string(got) != mustJSON(t, want) {
		t.Errorf("decide call = %s, want %s", got, mustJSON(t, want))
	}

	msg, blocks := responseMessage(t, f.srv)
	if msg["replace_original"] != true {
		t.Errorf("response does not replace the original: %v", msg)
	}
	texts := blockTexts(blocks)
	if got := texts[slackapp.BlockDecision]; got != ":white_check_mark: Approved by <@U0GROUPIE> at 14:02 UTC" {
		t.Errorf("decision line = %q", got)
	}
	if _, ok := texts[slackapp.BlockActions]; ok {
		t.Errorf("buttons still there after approval")
	}
	if len(f.srv.Calls(slackfake.PostEphemeral)) != 0 {
		t.Errorf("an ephemeral was posted on success")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestPartialApprovalKeepsButtonsAndCountsVotes(t *testing.T) {
	f := newFixture(t)
	req := request()
	req.MinApprovals = 3

	f.decider.result = contract.DecisionResult{Step: "approve-pause", Outcome: "recorded", Approvals: 1, Needed: 3}
	f.send(t, clickPayload(t, f, req, slackapp.ActionApprove, "U01ABCDEF"))
	_, blocks := responseMessage(t, f.srv)
	texts := blockTexts(blocks)
	if got := texts[slackapp.BlockVotes]; got != "1 of 3 approvals: <@U01ABCDEF>" {
		t.Errorf("votes = %q, want 1 of 3 approvals: <@U01ABCDEF>", got)
	}
	if _, ok := texts[slackapp.BlockActions]; !ok {
		t.Errorf("buttons removed after a partial approval")
	}
	if !strings.Contains(texts[slackapp.BlockMessage], "Pause agent") {
		t.Errorf("request text lost: %v", texts)
	}

	// The second approver clicks on the message as it is now; the votes add up.
	f2 := newFixture(t)
	f2.decider.result = contract.DecisionResult{Step: "approve-pause", Outcome: "recorded", Approvals: 2, Needed: 3}
	f2.send(t, clickPayload(t, f2, req, slackapp.ActionApprove, "U0SECOND", slackapp.ApprovalVotesBlock(1, 3, []string{"U01ABCDEF"})))
	_, blocks = responseMessage(t, f2.srv)
	texts = blockTexts(blocks)
	if got := texts[slackapp.BlockVotes]; got != "2 of 3 approvals: <@U01ABCDEF>, <@U0SECOND>" {
		t.Errorf("votes = %q", got)
	}
	votesBlocks := 0
	for _, b := range blocks.BlockSet {
		if cb, ok := b.(*slack.ContextBlock); ok && cb.BlockID == slackapp.BlockVotes {
			votesBlocks++
		}
	}
	if votesBlocks != 1 {
		t.Errorf("%d votes blocks, want 1", votesBlocks)
	}

	// The last approval names everyone who approved.
	f3 := newFixture(t)
	f3.decider.result = contract.DecisionResult{Step: "approve-pause", Outcome: "approved", Approvals: 3, Needed: 3}
	f3.send(t, clickPayload(t, f3, req, slackapp.ActionApprove, "U0THIRD", slackapp.ApprovalVotesBlock(2, 3, []string{"U01ABCDEF", "U0SECOND"})))
	_, blocks = responseMessage(t, f3.srv)
	if got := blockTexts(blocks)[slackapp.BlockDecision]; got != ":white_check_mark: Approved by <@U01ABCDEF>, <@U0SECOND>, <@U0THIRD> at 14:02 UTC" {
		t.Errorf("decision = %q", got)
	}
}

func TestRejectedClickTellsClickerAndKeepsMessage(t *testing.T) {
	tests := []struct{ name, user, reason string }{
		{"non-approver", "U0RANDOM", "U0RANDOM is not an approver of step approve-pause"},
		{"requester", "U01ABCDEF", "the requester may not approve their own run"},
		{"second vote", "U01ABCDEF", "U01ABCDEF already voted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.decider.err = rejected(tt.reason)
			resp := f.send(t, clickPayload(t, f, request(), slackapp.ActionApprove, tt.user))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			eph := f.srv.Calls(slackfake.PostEphemeral)
			if len(eph) != 1 {
				t.Fatalf("got %d ephemerals, want 1", len(eph))
			}
			if eph[0].Form.Get("user") != tt.user || eph[0].Form.Get("channel") != channelID {
				t.Errorf("ephemeral to %s in %s, want %s in %s", eph[0].Form.Get("user"), eph[0].Form.Get("channel"), tt.user, channelID)
			}
			if text := eph[0].Form.Get("text"); !strings.Contains(text, "refused") || !strings.Contains(text, tt.reason) {
				t.Errorf("ephemeral %q does not give the reason %q", text, tt.reason)
			}
			if n := len(f.srv.Calls(slackfake.ResponseURL)) + len(f.srv.Calls(slackfake.Update)); n != 0 {
				t.Errorf("the request message was changed after a rejection (%d calls)", n)
			}
		})
	}
}

func TestRejectionOfEscalationClickAnswersInThread(t *testing.T) {
	f := newFixture(t)
	f.decider.err = rejected("step approve-pause is not pending approval")
	payload := clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF")
	payload["container"].(map[string]any)["thread_ts"] = "1700000000.000001"
	f.send(t, payload)
	eph := f.srv.Calls(slackfake.PostEphemeral)
	if len(eph) != 1 || eph[0].Form.Get("thread_ts") != "1700000000.000001" {
		t.Fatalf("ephemerals = %+v, want one in the incident thread", eph)
	}
}

func TestDecideFailureTellsClicker(t *testing.T) {
	f := newFixture(t)
	f.decider.err = errors.New("incident inc-7f3a not found")
	f.send(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF"))
	eph := f.srv.Calls(slackfake.PostEphemeral)
	if len(eph) != 1 || !strings.Contains(eph[0].Form.Get("text"), "not found") {
		t.Fatalf("ephemerals = %+v, want one explaining the failure", eph)
	}
}

func TestDenyOpensReasonDialogThenDenies(t *testing.T) {
	f := newFixture(t)
	resp := f.send(t, clickPayload(t, f, request(), slackapp.ActionDeny, "U01ABCDEF"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := len(f.decider.Calls()); n != 0 {
		t.Fatalf("deny click decided at once (%d calls); it must ask for a reason first", n)
	}
	views := f.srv.Calls(slackfake.ViewsOpen)
	if len(views) != 1 {
		t.Fatalf("got %d views.open calls, want 1", len(views))
	}
	trigger, view, err := views[0].OpenedView()
	if err != nil {
		t.Fatal(err)
	}
	if trigger != "1337.42.abcdef" || view.CallbackID != slackapp.DenyModalCallbackID {
		t.Fatalf("views.open = %s %+v", trigger, view)
	}
	submit := func(user, reason string) map[string]any { return slackfake.DenySubmission(view, user, reason) }

	// An empty reason keeps the dialog open with an error.
	resp = f.send(t, submit("U01ABCDEF", "   "))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"response_action":"errors"`) {
		t.Fatalf("empty reason: %d %s, want a modal error", resp.StatusCode, body)
	}
	if n := len(f.decider.Calls()); n != 0 {
		t.Fatalf("empty reason decided")
	}

	f.decider.result = contract.DecisionResult{Step: "approve-pause", Outcome: "denied"}
	resp = f.send(t, submit("U01ABCDEF", "false positive: load test"))
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(strings.TrimSpace(string(body))) != 0 {
		t.Fatalf("submit: %d %q, want an empty 200 closing the dialog", resp.StatusCode, body)
	}
	calls := f.decider.Calls()
	if len(calls) != 1 || calls[0].Kind != contract.UpdateDeny || calls[0].ID != "inc-7f3a" ||
		calls[0].D.Actor != "U01ABCDEF" || calls[0].D.Reason != "false positive: load test" || calls[0].D.Step != "approve-pause" {
		t.Fatalf("decide calls = %+v", calls)
	}
	_, blocks := responseMessage(t, f.srv)
	texts := blockTexts(blocks)
	if got := texts[slackapp.BlockDecision]; got != ":no_entry: Denied by <@U01ABCDEF> at 14:02 UTC: false positive: load test" {
		t.Errorf("decision = %q", got)
	}
	if _, ok := texts[slackapp.BlockActions]; ok {
		t.Errorf("buttons still there after denial")
	}
}

func TestResponseURLOutsideSlackFallsBackToChatUpdate(t *testing.T) {
	f := newFixture(t, func(c *slackapp.Config) { c.ResponseURLPrefixes = []string{"https://hooks.slack.com/"} })
	f.send(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF"))
	if n := len(f.srv.Calls(slackfake.ResponseURL)); n != 0 {
		t.Fatalf("posted to a response_url outside the allowed prefixes")
	}
	upd := f.srv.Calls(slackfake.Update)
	if len(upd) != 1 || upd[0].Form.Get("channel") != channelID || upd[0].Form.Get("ts") != requestTS {
		t.Fatalf("chat.update calls = %+v, want one for %s/%s", upd, channelID, requestTS)
	}
}

func TestMalformedPayloadsAreRefused(t *testing.T) {
	f := newFixture(t)
	badValue := clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF")
	badValue["actions"].([]map[string]any)[0]["value"] = "not json"
	noUser := clickPayload(t, f, request(), slackapp.ActionApprove, "")
	for name, body := range map[string][]byte{
		"no payload field":    []byte("foo=bar"),
		"payload not json":    []byte("payload=%7Bnope"),
		"bad button value":    formBody(t, badValue),
		"no user":             formBody(t, noUser),
		"deny dialog garbage": formBody(t, map[string]any{"type": "view_submission", "user": map[string]any{"id": "U1"}, "view": map[string]any{"callback_id": slackapp.DenyModalCallbackID, "private_metadata": "{"}}),
	} {
		t.Run(name, func(t *testing.T) {
			ts, sig := slackapp.Sign(secret, now, body)
			resp := f.post(t, body, ts, sig)
			f.h.Wait()
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), `"error"`) {
				t.Errorf("status %d body %s, want 400 with a reason", resp.StatusCode, msg)
			}
		})
	}
	if n := len(f.decider.Calls()); n != 0 {
		t.Errorf("decider called %d times for malformed payloads", n)
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	f := newFixture(t, func(c *slackapp.Config) { c.MaxBodyBytes = 1024 })
	body := []byte("payload=" + strings.Repeat("a", 2048))
	ts, sig := slackapp.Sign(secret, now, body)
	if resp := f.post(t, body, ts, sig); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestOtherInteractionsAreAcknowledged(t *testing.T) {
	f := newFixture(t)
	other := clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF")
	other["actions"].([]map[string]any)[0]["action_id"] = "someone_elses_button"
	if resp := f.send(t, other); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if n := len(f.decider.Calls()); n != 0 {
		t.Errorf("decider called for a foreign button")
	}
}
