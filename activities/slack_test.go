package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/workflows/contract"
)

// The message building and posting is tested in internal/slackapp; these
// tests check what the activities add: Temporal's retry policy, the
// slack.notify action and the activity names.

func slackRequest() contract.ApprovalRequest {
	return contract.ApprovalRequest{
		Incident: contract.IncidentRef{ID: "inc-7f3a", Runbook: "compromised-data-source", Severity: "high"},
		Step:     "approve-pause",
		Message:  "Pause agent AGENT12345?",
		Thread:   contract.Thread{Channel: "#ai-incidents"},
	}
}

var quietLog = slog.New(slog.DiscardHandler)

// retryOf reads an error the way Temporal's retry policy does.
func retryOf(err error) (retryable bool, typ string, delay time.Duration) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable(), appErr.Type(), appErr.NextRetryDelay()
	}
	return true, "", 0
}

func TestNotifierFailuresFollowTheRetryPolicy(t *testing.T) {
	tests := []struct {
		name          string
		fault         slackfake.Fault
		wantRetryable bool
		wantType      string
		wantDelay     time.Duration
	}{
		{"server error is retried", slackfake.Fault{Status: 500}, true, "", 0},
		{"rate limit is retried after Retry-After", slackfake.Fault{Status: 429, RetryAfter: "7"}, true, activities.ErrSlackRateLimited, 7 * time.Second},
		{"slack internal_error is retried", slackfake.Fault{SlackError: "internal_error"}, true, "", 0},
		{"invalid_auth is permanent", slackfake.Fault{SlackError: "invalid_auth"}, false, activities.ErrAccessDenied, 0},
		{"channel_not_found is permanent", slackfake.Fault{SlackError: "channel_not_found"}, false, activities.ErrNotFound, 0},
		{"invalid_blocks is permanent", slackfake.Fault{SlackError: "invalid_blocks"}, false, activities.ErrValidation, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.New(t)
			srv.Fail(slackfake.PostMessage, tt.fault, 3)
			n := activities.NewNotifier(srv.Client(), "C0DEFAULT", nil)
			ctx := context.Background()
			ref := slackRequest().Incident
			for name, call := range map[string]func() error{
				"notify.request_approval": func() error { _, err := n.RequestApproval(ctx, slackRequest()); return err },
				"notify.post_update": func() error {
					_, err := n.PostUpdate(ctx, contract.IncidentUpdate{Incident: ref, Text: "contained"})
					return err
				},
				"notify.approval_decided": func() error {
					_, err := n.ApprovalDecided(ctx, contract.ApprovalDecided{Incident: ref, Step: "approve-pause", Decision: "approved", Actors: []string{"alice"}})
					return err
				},
			} {
				err := call()
				if err == nil {
					t.Fatalf("%s succeeded, want an error", name)
				}
				if !strings.Contains(err.Error(), "inc-7f3a") {
					t.Errorf("%s: error %q does not name the incident", name, err)
				}
				retryable, typ, delay := retryOf(err)
				if retryable != tt.wantRetryable || typ != tt.wantType || delay != tt.wantDelay {
					t.Errorf("%s: retryable=%v type=%q delay=%s, want %v %q %s (err: %v)", name, retryable, typ, delay, tt.wantRetryable, tt.wantType, tt.wantDelay, err)
				}
			}
		})
	}
}

func TestRequestWithoutChannelIsPermanentError(t *testing.T) {
	req := slackRequest()
	req.Thread = contract.Thread{}
	_, err := activities.NewNotifier(slackfake.New(t).Client(), "", nil).RequestApproval(context.Background(), req)
	if retryable, typ, _ := retryOf(err); err == nil || retryable || typ != activities.ErrInvalidArgument {
		t.Fatalf("err = %v, want a non-retryable InvalidArgument", err)
	}
}

func TestSlackNotifyAction(t *testing.T) {
	srv := slackfake.New(t)
	n := activities.NewNotifier(srv.Client(), "C0DEFAULT", nil)
	actions := n.Actions()
	if len(actions) != 1 || actions[0].Spec.Name != "slack.notify" || actions[0].Spec.Mutating {
		t.Fatalf("actions = %+v, want one non-mutating slack.notify", actions)
	}
	reg := activities.NewRegistry()
	reg.Register(actions...)
	spec, ok := reg.Action("slack.notify")
	if !ok || len(spec.Args) != 2 || spec.Args[0].Name != "message" || !spec.Args[0].Required {
		t.Fatalf("spec = %+v, want message (required) and channel", spec)
	}
	run := actions[0].Run
	in := contract.ActionInput{
		Incident: contract.IncidentRef{ID: "inc-7f3a"},
		Step:     "tell-team",
		Args:     map[string]any{"message": "agent paused", "channel": "C0OPS"},
	}

	dry := in
	dry.DryRun = true
	res, err := run(context.Background(), dry)
	if err != nil || !res.DryRun || !strings.Contains(res.Summary, "would post to C0OPS") {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if len(srv.Calls("")) != 0 {
		t.Fatalf("dry run posted to slack")
	}

	res, err = run(context.Background(), in)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Changed || res.Undo != nil || res.Output["channel"] != "C0OPS" || res.Output["ts"] == "" {
		t.Errorf("result = %+v, want unchanged, no undo, channel and ts", res)
	}
	calls := srv.Calls(slackfake.PostMessage)
	if len(calls) != 1 || calls[0].Form.Get("channel") != "C0OPS" || !strings.Contains(calls[0].Form.Get("text"), "agent paused") {
		t.Errorf("posted %+v", calls)
	}

	for name, args := range map[string]map[string]any{
		"missing message":  {"channel": "C0OPS"},
		"unknown argument": {"message": "x", "chanel": "C0OPS"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(context.Background(), contract.ActionInput{Step: "tell-team", Args: args})
			if retryable, typ, _ := retryOf(err); err == nil || retryable || typ != activities.ErrInvalidArgument {
				t.Errorf("err = %v, want non-retryable InvalidArgument", err)
			}
		})
	}

	t.Run("without slack the message is logged", func(t *testing.T) {
		res, err := activities.NewNotifier(nil, "", quietLog).Actions()[0].Run(context.Background(), in)
		if err != nil || res.Summary != "slack not configured; message logged" {
			t.Errorf("got %+v, %v; want a logged message without error", res, err)
		}
	})

	t.Run("dry run without a channel says so", func(t *testing.T) {
		res, err := activities.NewNotifier(nil, "", quietLog).Actions()[0].Run(context.Background(),
			contract.ActionInput{Step: "tell-team", DryRun: true, Args: map[string]any{"message": "x"}})
		if err != nil || res.Summary != "would post to (no channel configured): x" {
			t.Errorf("got %+v, %v", res, err)
		}
	})
}

type registrar struct{ names []string }

func (r *registrar) RegisterActivityWithOptions(_ interface{}, o activity.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

func TestRegisterNamesTheNotifyActivities(t *testing.T) {
	var r registrar
	activities.NewNotifier(nil, "", nil).Register(&r)
	got, _ := json.Marshal(r.names)
	want := `["notify.request_approval","notify.approval_decided","notify.post_update"]`
	if string(got) != want {
		t.Errorf("registered %s, want %s", got, want)
	}
}
