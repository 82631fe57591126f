package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/httpapi"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

const (
	slackSecret  = "s3cret"
	slackChannel = "C0INCIDENTS"
)

// slackWorld is one quench deployment wired to a recording Slack: a worker
// whose Notifier posts to the fake, and the HTTP endpoints `quench serve`
// mounts, verifying clicks with slackSecret. Each world has its own task
// queue, so worlds of parallel tests share the Temporal server and nothing else.
type slackWorld struct {
	fake      *slackfake.Server
	inc       *incidents.Client
	records   *activities.RecordStore
	reg       *activities.Registry
	endpoints *httpapi.Endpoints
	// url is POST /slack/interactions.
	url    string
	clicks atomic.Int64
}

var queueSeq atomic.Int64

func newSlackWorld(t *testing.T, c client.Client) *slackWorld {
	t.Helper()
	fake := slackfake.New(t)
	api := fake.Client()
	taskQueue := "slack-e2e-" + strconv.FormatInt(queueSeq.Add(1), 10)
	n := activities.NewNotifier(api, slackChannel, quiet)
	records, err := activities.NewRecordStore("")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Records: records, Logger: quiet, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, worker.Config{TaskQueue: taskQueue}, reg, n)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	inc := incidents.New(c, taskQueue)
	lib, err := runbooks.NewLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := httpapi.New(httpapi.Options{
		Incidents: inc, Library: lib,
		Slack:                    slackapp.Secrets{SigningSecret: slackSecret, BotToken: "xoxb-test-token"},
		SlackClient:              api,
		SlackResponseURLPrefixes: []string{fake.GetAPIURL() + "response/"},
		Logger:                   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ep)
	t.Cleanup(hs.Close)
	// Runs first: decisions still in flight finish before the server and worker go.
	t.Cleanup(ep.Slack.Wait)
	return &slackWorld{fake: fake, inc: inc, records: records, reg: reg, endpoints: ep, url: hs.URL + slackapp.InteractionsPath}
}

// slackRunbook is a runbook whose gate approves the throttle step, with the
// given approvals block (YAML, indented by two spaces).
func slackRunbook(approvals string) string {
	return `apiVersion: quench/v1
kind: Runbook
metadata: {name: slack-approval, severity: critical}
approvals:
` + approvals + `
steps:
  - {id: block, action: core.record, with: {key: blocked, value: true}}
  - id: gate
    approval: {message: 'Throttle chat-handler to zero?'}
  - {id: throttle, action: core.record, with: {key: throttle, value: 0}}
on_resolve: rollback
`
}

// start starts an incident and waits until it awaits approval.
func (w *slackWorld) start(t *testing.T, id, requester, yaml string) {
	t.Helper()
	rb := load(t, w.reg, yaml)
	if _, err := w.inc.Start(context.Background(), contract.IncidentInput{ID: id, Runbook: rb, Source: "cli", Requester: requester}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.inc, id, "awaiting approval", func(st contract.Status) bool { return st.State == contract.StateAwaitingApproval })
}

// request waits for the n-th (1-based) message with Approve/Deny buttons.
func (w *slackWorld) request(t *testing.T, n int) slackfake.Call {
	t.Helper()
	var got []slackfake.Call
	eventually(t, 30*time.Second, "approval request posted", func() bool {
		got = got[:0]
		for _, c := range w.fake.Calls(slackfake.PostMessage) {
			if c.TS != "" && blockTexts(t, c)[slackapp.BlockActions] != "" {
				got = append(got, c)
			}
		}
		return len(got) >= n
	})
	return got[n-1]
}

// clickResult is what a click produced: the HTTP answer and what the
// handler then told Slack.
type clickResult struct {
	status int
	body   string
	// ephemeral is the chat.postEphemeral text to the clicker, if any.
	ephemeral string
	// ephemeralTo is the user the ephemeral was shown to.
	ephemeralTo string
	// response is the response_url post, if any.
	response *slackfake.Call
}

// click sends the interaction Slack sends when user clicks actionID on msg,
// signed as Slack signs it, and waits for the background decision.
func (w *slackWorld) click(t *testing.T, msg slackfake.Call, user, actionID string) clickResult {
	t.Helper()
	payload, err := slackfake.ClickPayload(msg, slackfake.Click{
		User: user, ActionID: actionID, ResponseURL: w.fake.ResponseURL("T0TEAM/" + strconv.FormatInt(w.clicks.Add(1), 10)),
	})
	if err != nil {
		t.Fatal(err)
	}
	body, err := slackfake.FormBody(payload)
	if err != nil {
		t.Fatal(err)
	}
	ts, sig := slackapp.Sign(slackSecret, time.Now(), body)
	return w.send(t, body, ts, sig)
}

// send posts body with the given signature headers and waits for what the
// handler does in the background.
func (w *slackWorld) send(t *testing.T, body []byte, ts, sig string) clickResult {
	t.Helper()
	ephemerals := len(w.fake.Calls(slackfake.PostEphemeral))
	responses := len(w.fake.Calls(slackfake.ResponseURL))
	req, err := http.NewRequest(http.MethodPost, w.url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slackapp.HeaderTimestamp, ts)
	req.Header.Set(slackapp.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	w.endpoints.Slack.Wait()
	res := clickResult{status: resp.StatusCode, body: string(raw)}
	if calls := w.fake.Calls(slackfake.PostEphemeral); len(calls) > ephemerals {
		res.ephemeral = calls[len(calls)-1].Form.Get("text")
		res.ephemeralTo = calls[len(calls)-1].Form.Get("user")
	}
	if calls := w.fake.Calls(slackfake.ResponseURL); len(calls) > responses {
		res.response = &calls[len(calls)-1]
	}
	return res
}

// asMessage is the request message as Slack holds it after a response_url
// replacement (what the next click carries).
func asMessage(orig slackfake.Call, replaced *slackfake.Call) slackfake.Call {
	m := *replaced
	m.Method, m.Channel, m.TS = slackfake.PostMessage, orig.Channel, orig.TS
	return m
}

// update waits for the chat.update of the message at ts.
func (w *slackWorld) update(t *testing.T, ts string) slackfake.Call {
	t.Helper()
	var got slackfake.Call
	eventually(t, 30*time.Second, "chat.update of "+ts, func() bool {
		for _, c := range w.fake.Calls(slackfake.Update) {
			if c.Form.Get("ts") == ts {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

func (w *slackWorld) timeline(t *testing.T, id string) []contract.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := w.inc.Timeline(ctx, id)
	if err != nil {
		t.Fatalf("timeline of %s: %v", id, err)
	}
	return ev
}

func (w *slackWorld) status(t *testing.T, id string) contract.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := w.inc.Status(ctx, id)
	if err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

// waitEvent waits for a timeline event of type typ matching cond.
func (w *slackWorld) waitEvent(t *testing.T, id, typ string, within time.Duration, cond func(contract.Event) bool) contract.Event {
	t.Helper()
	var got contract.Event
	eventually(t, within, typ+" in the timeline of "+id, func() bool {
		for _, e := range w.timeline(t, id) {
			if e.Type == typ && (cond == nil || cond(e)) {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

func eventsOf(evs []contract.Event, types ...string) []contract.Event {
	var out []contract.Event
	for _, e := range evs {
		for _, typ := range types {
			if e.Type == typ {
				out = append(out, e)
			}
		}
	}
	return out
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// blockTexts flattens a message's blocks to text by block id (buttons as
// their action ids).
func blockTexts(t *testing.T, c slackfake.Call) map[string]string {
	t.Helper()
	blocks, err := c.Blocks()
	if err != nil {
		t.Fatalf("%s: %v", c.Method, err)
	}
	return slackfake.BlockText(blocks)
}

// buttons returns the message's buttons by action id.
func buttons(t *testing.T, c slackfake.Call) map[string]*slack.ButtonBlockElement {
	t.Helper()
	blocks, err := c.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*slack.ButtonBlockElement{}
	for _, b := range blocks.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn
				}
			}
		}
	}
	return out
}

// mustContain reports each want missing from got.
func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, missing %q", what, got, w)
		}
	}
}
