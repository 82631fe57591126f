package slackapp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// TestRequestClickDecideFlow runs the Slack side end to end without
// Temporal: the Notifier posts a request, a user clicks Approve on the
// message as posted, the handler decides and replaces the message, and the
// workflow's later notify.approval_decided rewrites the same message.
func TestRequestClickDecideFlow(t *testing.T) {
	f := newFixture(t)
	f.srv.SetGroupMembers("S02AIRESP", "U0GROUPIE")
	ctx := context.Background()
	n := slackapp.NewNotifier(f.srv.Client(), "C0DEFAULT", nil)

	req := request()
	req.Thread.Channel = "#ai-incidents"
	posted, err := n.RequestApproval(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := f.srv.LastApprovalRequest()
	if err != nil {
		t.Fatal(err)
	}
	if msg.TS != posted.MessageTS || msg.Channel != posted.Thread.Channel {
		t.Fatalf("recorded message %s/%s, notifier reported %+v", msg.Channel, msg.TS, posted)
	}

	payload, err := slackfake.ClickPayload(msg, slackfake.Click{
		User: "U0GROUPIE", ActionID: slackapp.ActionApprove, ResponseURL: f.srv.ResponseURL("click-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	httpReq, err := slackfake.SignedRequest(ctx, f.http.URL+slackapp.InteractionsPath, secret, now, payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f.h.Wait()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	calls := f.decider.Calls()
	if len(calls) != 1 || calls[0].ID != "inc-7f3a" || calls[0].D.Actor != "U0GROUPIE" || calls[0].D.SlackUserGroups[0] != "S02AIRESP" {
		t.Fatalf("decide calls = %+v", calls)
	}
	_, blocks := responseMessage(t, f.srv)
	clicked := blockTexts(blocks)[slackapp.BlockDecision]

	// The workflow then reports the decision; the same message gets the same words.
	if _, err := n.ApprovalDecided(ctx, contract.ApprovalDecided{
		Incident: req.Incident, Step: req.Step, Decision: contract.StepApproved, Actors: []string{"U0GROUPIE"},
		At: now, Thread: posted.Thread, MessageTS: posted.MessageTS,
	}); err != nil {
		t.Fatal(err)
	}
	upd := f.srv.Calls(slackfake.Update)
	if len(upd) != 1 || upd[0].TS != posted.MessageTS || upd[0].Channel != posted.Thread.Channel {
		t.Fatalf("chat.update calls = %+v", upd)
	}
	updBlocks, _ := upd[0].Blocks()
	if got := blockTexts(updBlocks)[slackapp.BlockDecision]; got != clicked || !strings.Contains(got, "Approved by <@U0GROUPIE>") {
		t.Errorf("workflow's update %q differs from the click's %q", got, clicked)
	}
}
