package slackapp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

var deadline = time.Date(2026, 11, 28, 14, 17, 0, 0, time.UTC)

func approvalRequest() contract.ApprovalRequest {
	return contract.ApprovalRequest{
		Incident: contract.IncidentRef{ID: "inc-7f3a", Runbook: "compromised-data-source", Severity: "high"},
		Step:     "approve-pause",
		Message:  "Pause agent AGENT12345?",
		Approvers: runbooks.Approvers{
			SlackUsers:  []string{"U01ABCDEF"},
			SlackGroups: []string{"S02AIRESP"},
			CLIUsers:    []string{"alice"},
		},
		MinApprovals: 2,
		Requester:    "bob",
		Deadline:     deadline,
		Planned: []contract.PlannedChange{{
			Step:    "pause-agent",
			Action:  "bedrock.pause_agent_alias",
			Summary: "would set alias live of agent AGENT12345 to REJECT_INVOCATIONS",
			Prior:   map[string]any{"invocation_state": "ACCEPT_INVOCATIONS", "alias_id": "live"},
		}},
		Thread: contract.Thread{Channel: "#ai-incidents"},
	}
}

func buttons(blocks slack.Blocks) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	for _, b := range blocks.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out = append(out, btn)
				}
			}
		}
	}
	return out
}

func TestRequestApprovalPostsBlocksAndStartsThread(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)

	res, err := n.RequestApproval(context.Background(), approvalRequest())
	if err != nil {
		t.Fatalf("RequestApproval: %v", err)
	}
	if !res.Delivered || res.MessageTS == "" {
		t.Fatalf("result = %+v, want delivered with a message ts", res)
	}
	if res.Thread.Channel != "CAI-INCIDENTS" || res.Thread.TS != res.MessageTS {
		t.Errorf("thread = %+v, want the channel id Slack answered and the request's ts", res.Thread)
	}

	calls := srv.Calls(slackfake.PostMessage)
	if len(calls) != 1 {
		t.Fatalf("got %d chat.postMessage calls, want 1", len(calls))
	}
	if got := calls[0].Form.Get("channel"); got != "#ai-incidents" {
		t.Errorf("posted to %q, want the runbook channel #ai-incidents", got)
	}
	if calls[0].Form.Get("thread_ts") != "" {
		t.Errorf("first request was posted into a thread")
	}
	blocks, err := calls[0].Blocks()
	if err != nil {
		t.Fatal(err)
	}
	text := blockTexts(blocks)
	for id, want := range map[string][]string{
		slackapp.BlockHeader:    {"inc-7f3a", "compromised-data-source", "high"},
		slackapp.BlockMessage:   {"Pause agent AGENT12345?"},
		slackapp.BlockPlanned:   {"What will change", "`pause-agent`", "bedrock.pause_agent_alias", "REJECT_INVOCATIONS", "now: alias_id=live, invocation_state=ACCEPT_INVOCATIONS"},
		slackapp.BlockApprovers: {"<@U01ABCDEF>", "<!subteam^S02AIRESP>", "`alice` (CLI)", "*Approvals needed:* 2", fmt.Sprintf("<!date^%d^", deadline.Unix()), "|2026-11-28 14:17 UTC>", "`bob`"},
	} {
		for _, w := range want {
			if !strings.Contains(text[id], w) {
				t.Errorf("block %s = %q, want it to contain %q", id, text[id], w)
			}
		}
	}
	if _, ok := text[slackapp.BlockEscalated]; ok {
		t.Errorf("a first request says it is escalated")
	}

	btns := buttons(blocks)
	if len(btns) != 2 {
		t.Fatalf("got %d buttons, want Approve and Deny", len(btns))
	}
	if btns[0].ActionID != slackapp.ActionApprove || btns[0].Style != slack.StylePrimary || btns[0].Text.Text != "Approve" {
		t.Errorf("first button = %s/%s/%s, want Approve (quench_approve, primary)", btns[0].ActionID, btns[0].Style, btns[0].Text.Text)
	}
	if btns[1].ActionID != slackapp.ActionDeny || btns[1].Style != slack.StyleDanger || btns[1].Text.Text != "Deny" {
		t.Errorf("second button = %s/%s/%s, want Deny (quench_deny, danger)", btns[1].ActionID, btns[1].Style, btns[1].Text.Text)
	}
	for _, btn := range btns {
		v, err := slackapp.DecodeApprovalButton(btn.Value)
		if err != nil {
			t.Fatalf("button %s: %v", btn.ActionID, err)
		}
		if v.Incident != "inc-7f3a" || v.Step != "approve-pause" || len(v.Groups) != 1 || v.Groups[0] != "S02AIRESP" {
			t.Errorf("button %s value = %+v, want incident, step and the approver groups", btn.ActionID, v)
		}
	}
	if fallback := calls[0].Form.Get("text"); !strings.Contains(fallback, "inc-7f3a") {
		t.Errorf("notification text %q does not name the incident", fallback)
	}
}

func TestEscalationPostsIntoThreadMentioningEscalationApprovers(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
	req := approvalRequest()
	req.Thread = contract.Thread{Channel: "C0INC", TS: "1700000000.000001"}
	req.Escalation = true
	req.Approvers = runbooks.Approvers{SlackUsers: []string{"U0ONCALL2"}}

	res, err := n.RequestApproval(context.Background(), req)
	if err != nil {
		t.Fatalf("RequestApproval: %v", err)
	}
	if res.Thread != req.Thread {
		t.Errorf("thread = %+v, want it unchanged %+v", res.Thread, req.Thread)
	}
	call := srv.Calls(slackfake.PostMessage)[0]
	if call.Form.Get("channel") != "C0INC" || call.Form.Get("thread_ts") != req.Thread.TS {
		t.Errorf("escalation posted to %s thread %q, want the incident thread", call.Form.Get("channel"), call.Form.Get("thread_ts"))
	}
	if call.Form.Get("reply_broadcast") != "true" {
		t.Errorf("escalation is not broadcast to the channel")
	}
	blocks, _ := call.Blocks()
	if got := blockTexts(blocks)[slackapp.BlockEscalated]; !strings.Contains(got, "<@U0ONCALL2>") {
		t.Errorf("escalation block = %q, want it to mention the escalation approver", got)
	}
	if len(buttons(blocks)) != 2 {
		t.Errorf("escalation has no buttons")
	}
}

func TestRequestMessageIsEscaped(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
	req := approvalRequest()
	req.Message = "Pause agent <!channel> & <https://evil.example|click>?"
	if _, err := n.RequestApproval(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	blocks, _ := srv.Calls(slackfake.PostMessage)[0].Blocks()
	got := blockTexts(blocks)[slackapp.BlockMessage]
	if strings.Contains(got, "<!channel>") || !strings.Contains(got, "&lt;!channel&gt; &amp;") {
		t.Errorf("message block = %q, want alert-controlled text escaped", got)
	}
}

func TestApprovalDecidedReplacesRequest(t *testing.T) {
	at := time.Date(2026, 11, 28, 14, 2, 31, 0, time.UTC)
	ref := contract.IncidentRef{ID: "inc-7f3a", Runbook: "compromised-data-source", Severity: "high"}
	tests := []struct {
		name string
		d    contract.ApprovalDecided
		want string
	}{
		{"approved", contract.ApprovalDecided{Decision: "approved", Actors: []string{"U01ABCDEF", "alice"}}, ":white_check_mark: Approved by <@U01ABCDEF>, `alice` at 14:02 UTC"},
		{"denied with reason", contract.ApprovalDecided{Decision: "denied", Actors: []string{"U01ABCDEF"}, Reason: "false positive <ok>"}, ":no_entry: Denied by <@U01ABCDEF> at 14:02 UTC: false positive &lt;ok&gt;"},
		{"denied, reason as the workflow words it", contract.ApprovalDecided{Decision: "denied", Actors: []string{"U01ABCDEF"}, Reason: "denied by U01ABCDEF: false positive"}, ":no_entry: Denied by <@U01ABCDEF> at 14:02 UTC: false positive"},
		{"denied without reason", contract.ApprovalDecided{Decision: "denied", Actors: []string{"U01ABCDEF"}, Reason: "denied by U01ABCDEF"}, ":no_entry: Denied by <@U01ABCDEF> at 14:02 UTC"},
		{"timed out", contract.ApprovalDecided{Decision: "denied", Reason: "timed out"}, ":no_entry: Denied at 14:02 UTC: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.New(t)
			n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
			d := tt.d
			d.Incident, d.Step, d.At = ref, "approve-pause", at
			d.Thread = contract.Thread{Channel: "C0INC", TS: "1700000000.000001"}
			d.MessageTS = "1700000000.000005"
			res, err := n.ApprovalDecided(context.Background(), d)
			if err != nil {
				t.Fatalf("ApprovalDecided: %v", err)
			}
			if !res.Delivered {
				t.Errorf("not delivered: %+v", res)
			}
			calls := srv.Calls(slackfake.Update)
			if len(calls) != 1 {
				t.Fatalf("got %d chat.update calls, want 1", len(calls))
			}
			if calls[0].Form.Get("channel") != "C0INC" || calls[0].Form.Get("ts") != d.MessageTS {
				t.Errorf("updated %s/%s, want C0INC/%s", calls[0].Form.Get("channel"), calls[0].Form.Get("ts"), d.MessageTS)
			}
			blocks, _ := calls[0].Blocks()
			if len(buttons(blocks)) != 0 {
				t.Errorf("decided message still has buttons")
			}
			if got := blockTexts(blocks)[slackapp.BlockDecision]; got != tt.want {
				t.Errorf("decision = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPostUpdateStartsThreadThenReplies(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
	ref := contract.IncidentRef{ID: "inc-7f3a", Runbook: "compromised-data-source", Severity: "high"}
	first, err := n.PostUpdate(context.Background(), contract.IncidentUpdate{Incident: ref, Text: "contained"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Thread.Channel != "C0DEFAULT" || first.Thread.TS == "" {
		t.Fatalf("thread = %+v, want a new thread in the default channel", first.Thread)
	}
	if _, err := n.PostUpdate(context.Background(), contract.IncidentUpdate{Incident: ref, Thread: first.Thread, Text: "alert folded: 3 more"}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls(slackfake.PostMessage)
	if !strings.Contains(calls[0].Form.Get("text"), "inc-7f3a") {
		t.Errorf("thread root %q does not name the incident", calls[0].Form.Get("text"))
	}
	if calls[1].Form.Get("thread_ts") != first.Thread.TS || calls[1].Form.Get("text") != "alert folded: 3 more" {
		t.Errorf("second update = %v, want a reply in the thread", calls[1].Form)
	}
}

func TestNotifierErrorsAreClassifiedForRetry(t *testing.T) {
	tests := []struct {
		name      string
		fault     slackfake.Fault
		wantKind  slackapp.Kind
		wantDelay time.Duration
	}{
		{"server error is retried", slackfake.Fault{Status: 500}, slackapp.KindTransient, 0},
		{"unavailable is retried", slackfake.Fault{Status: 503}, slackapp.KindTransient, 0},
		{"rate limit is retried after Retry-After", slackfake.Fault{Status: 429, RetryAfter: "7"}, slackapp.KindRateLimited, 7 * time.Second},
		{"slack internal_error is retried", slackfake.Fault{SlackError: "internal_error"}, slackapp.KindTransient, 0},
		{"invalid_auth is permanent", slackfake.Fault{SlackError: "invalid_auth"}, slackapp.KindAccessDenied, 0},
		{"channel_not_found is permanent", slackfake.Fault{SlackError: "channel_not_found"}, slackapp.KindNotFound, 0},
		{"invalid_blocks is permanent", slackfake.Fault{SlackError: "invalid_blocks"}, slackapp.KindRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.New(t)
			srv.Fail(slackfake.PostMessage, tt.fault, 1)
			n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
			_, err := n.RequestApproval(context.Background(), approvalRequest())
			if err == nil {
				t.Fatal("RequestApproval succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "inc-7f3a") || !strings.Contains(err.Error(), "#ai-incidents") {
				t.Errorf("error %q does not name the incident and the channel", err)
			}
			var se *slackapp.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *slackapp.Error", err)
			}
			if se.Kind != tt.wantKind || se.RetryAfter != tt.wantDelay {
				t.Errorf("kind=%d retryAfter=%s, want %d %s (err: %v)", se.Kind, se.RetryAfter, tt.wantKind, tt.wantDelay, err)
			}
			// The next attempt, after a transient fault, goes through.
			if se.Kind.Retryable() {
				if res, err := n.RequestApproval(context.Background(), approvalRequest()); err != nil || !res.Delivered {
					t.Errorf("retry: %+v, %v", res, err)
				}
			}
		})
	}

	t.Run("unreachable slack is retried", func(t *testing.T) {
		srv := slackfake.New(t)
		api := srv.Client()
		srv.Stop()
		n := slackapp.NewNotifier(api, "C0DEFAULT", nil)
		_, err := n.RequestApproval(context.Background(), approvalRequest())
		if err == nil {
			t.Fatal("RequestApproval succeeded against a stopped server")
		}
		var se *slackapp.Error
		if !errors.As(err, &se) || !se.Kind.Retryable() {
			t.Errorf("unreachable slack gave a non-retryable error: %v", err)
		}
	})
}

func TestNotifierWithoutSlackLogsAndReportsUndelivered(t *testing.T) {
	var nilClient *slack.Client
	for name, api := range map[string]slackapp.Poster{"nil interface": nil, "nil client": nilClient} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			n := slackapp.NewNotifier(api, "", slog.New(slog.NewTextHandler(&logs, nil)))
			if n.Configured() {
				t.Fatal("Configured() = true without a client")
			}
			res, err := n.RequestApproval(context.Background(), approvalRequest())
			if err != nil {
				t.Fatalf("RequestApproval: %v", err)
			}
			if res.Delivered || res.Reason != "slack not configured" {
				t.Errorf("result = %+v, want undelivered, slack not configured", res)
			}
			if !strings.Contains(logs.String(), "Pause agent AGENT12345?") || !strings.Contains(logs.String(), "inc-7f3a") {
				t.Errorf("log %q does not carry the request", logs.String())
			}
			for _, call := range []func() (contract.NotifyResult, error){
				func() (contract.NotifyResult, error) {
					return n.ApprovalDecided(context.Background(), contract.ApprovalDecided{Decision: "approved", Actors: []string{"alice"}})
				},
				func() (contract.NotifyResult, error) {
					return n.PostUpdate(context.Background(), contract.IncidentUpdate{Text: "contained"})
				},
			} {
				if res, err := call(); err != nil || res.Delivered || res.Reason != "slack not configured" {
					t.Errorf("got %+v, %v; want undelivered without error", res, err)
				}
			}
		})
	}
}

func TestRequestWithoutChannelIsNotSent(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "", nil)
	req := approvalRequest()
	req.Thread = contract.Thread{}
	_, err := n.RequestApproval(context.Background(), req)
	var se *slackapp.Error
	if !errors.As(err, &se) || se.Kind != slackapp.KindInvalidArgument {
		t.Fatalf("err = %v, want a KindInvalidArgument *slackapp.Error", err)
	}
	if !strings.Contains(err.Error(), "QUENCH_SLACK_CHANNEL") {
		t.Errorf("error %q does not say how to configure a channel", err)
	}
	if len(srv.Calls("")) != 0 {
		t.Errorf("something was sent to slack")
	}
}

func TestNotifyPostsANoteNamingTheIncident(t *testing.T) {
	srv := slackfake.New(t)
	n := slackapp.NewNotifier(srv.Client(), "C0DEFAULT", nil)
	note := slackapp.Note{Incident: "inc-7f3a", Step: "tell-team", Message: "agent <paused>"}

	res, err := n.Notify(context.Background(), note)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Delivered || res.Thread.Channel != "C0DEFAULT" || res.MessageTS == "" {
		t.Errorf("result = %+v, want delivered to the default channel with a ts", res)
	}
	note.Channel = "C0OPS"
	if _, err := n.Notify(context.Background(), note); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls(slackfake.PostMessage)
	if len(calls) != 2 || calls[1].Form.Get("channel") != "C0OPS" {
		t.Fatalf("posted %+v, want the second note in C0OPS", calls)
	}
	if got := calls[0].Form.Get("text"); got != "*Incident inc-7f3a*: agent &lt;paused&gt;" {
		t.Errorf("text = %q, want the incident named and the message escaped", got)
	}
	if calls[0].Form.Get("thread_ts") != "" {
		t.Errorf("a note was posted into a thread")
	}
}
