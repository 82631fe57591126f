package slackapp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

const (
	secret    = "8f742231b10e8888abcd99yyyzzz85a5"
	channelID = "C0INC"
	requestTS = "1700000000.000042"
)

var now = time.Date(2026, 11, 28, 14, 2, 31, 0, time.UTC)

func clock() time.Time { return now }

// decideCall is one call the fake Decider received.
type decideCall struct {
	ID, Kind string
	D        contract.Decision
}

// fakeDecider stands in for *incidents.Client.
type fakeDecider struct {
	mu     sync.Mutex
	calls  []decideCall
	result contract.DecisionResult
	err    error
}

func (f *fakeDecider) Decide(_ context.Context, id, kind string, d contract.Decision) (contract.DecisionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, decideCall{id, kind, d})
	return f.result, f.err
}

func (f *fakeDecider) Calls() []decideCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]decideCall(nil), f.calls...)
}

// rejected is what the real incidents client returns for a refused decision.
func rejected(reason string) error { return &incidents.RejectedError{Reason: reason} }

type fixture struct {
	srv     *slackfake.Server
	decider *fakeDecider
	h       *slackapp.Handler
	http    *httptest.Server
}

func newFixture(t *testing.T, mutate ...func(*slackapp.Config)) *fixture {
	t.Helper()
	srv := slackfake.New(t)
	f := &fixture{srv: srv, decider: &fakeDecider{result: contract.DecisionResult{Step: "approve-pause", Outcome: "approved", Approvals: 1, Needed: 1}}}
	api := srv.Client()
	cfg := slackapp.Config{
		SigningSecret:       secret,
		Incidents:           f.decider,
		Groups:              slackapp.NewGroupCache(api, time.Minute, clock),
		Slack:               api,
		ResponseURLPrefixes: []string{srv.GetAPIURL() + "response/"},
		Now:                 clock,
		Logger:              slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := slackapp.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	mux := http.NewServeMux()
	mux.Handle("POST "+slackapp.InteractionsPath, h)
	f.http = httptest.NewServer(mux)
	t.Cleanup(f.http.Close)
	return f
}

func request() contract.ApprovalRequest {
	return contract.ApprovalRequest{
		Incident:     contract.IncidentRef{ID: "inc-7f3a", Runbook: "compromised-data-source", Severity: "high"},
		Step:         "approve-pause",
		Message:      "Pause agent AGENT12345?",
		Approvers:    runbooks.Approvers{SlackUsers: []string{"U01ABCDEF"}, SlackGroups: []string{"S02AIRESP"}},
		MinApprovals: 1,
		Deadline:     now.Add(15 * time.Minute),
	}
}

// clickPayload is the block_actions payload Slack sends when user clicks
// actionID on the message built from req (plus blocks earlier clicks added).
func clickPayload(t *testing.T, f *fixture, req contract.ApprovalRequest, actionID, user string, extra ...slack.Block) map[string]any {
	t.Helper()
	blocks, text, err := slackapp.ApprovalRequestBlocks(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		last := blocks[len(blocks)-1]
		blocks = append(append(blocks[:len(blocks)-1:len(blocks)-1], extra...), last)
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	msg := slackfake.Call{
		Method: slackfake.PostMessage, Channel: channelID, TS: requestTS,
		Form: url.Values{"channel": {channelID}, "text": {text}, "blocks": {string(raw)}},
	}
	payload, err := slackfake.ClickPayload(msg, slackfake.Click{
		User: user, ActionID: actionID, ResponseURL: f.srv.ResponseURL("T0TEAM/1337/click"), TriggerID: "1337.42.abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// formBody encodes a payload the way Slack posts it.
func formBody(t *testing.T, payload any) []byte {
	t.Helper()
	body, err := slackfake.FormBody(payload)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post sends body to the handler with the given signature headers.
func (f *fixture) post(t *testing.T, body []byte, ts, sig string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.http.URL+slackapp.InteractionsPath, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ts != "" {
		req.Header.Set(slackapp.HeaderTimestamp, ts)
	}
	if sig != "" {
		req.Header.Set(slackapp.HeaderSignature, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// send signs payload as Slack does (now) and posts it, then waits for the
// background decision.
func (f *fixture) send(t *testing.T, payload any) *http.Response {
	t.Helper()
	body := formBody(t, payload)
	ts, sig := slackapp.Sign(secret, now, body)
	resp := f.post(t, body, ts, sig)
	f.h.Wait()
	return resp
}

// blockTexts flattens blocks to text by block id.
func blockTexts(blocks slack.Blocks) map[string]string { return slackfake.BlockText(blocks) }
