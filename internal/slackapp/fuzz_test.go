package slackapp_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/workflows/contract"
)

// noNetwork fails every request: fuzzed payloads must not reach anything.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("network disabled in fuzz test")
}

func seedPayloads(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "payloads", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed payloads in testdata/payloads: %v", err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add(`{"type":"block_actions","actions":[{"action_id":"quench_approve","value":"{}"}]}`)
	f.Add(`{"type":"view_submission","view":{"callback_id":"quench_deny_reason","private_metadata":"null"}}`)
}

// FuzzInteraction sends signed, arbitrary payloads through the handler: it
// must never panic, must answer 200 or 400, and may only ask the workflow
// to decide for a user id it was given.
func FuzzInteraction(f *testing.F) {
	seedPayloads(f)
	f.Fuzz(func(t *testing.T, payload string) {
		dec := &fakeDecider{result: contract.DecisionResult{Outcome: "approved"}}
		h, err := slackapp.NewHandler(slackapp.Config{
			SigningSecret: secret,
			Incidents:     dec,
			HTTPClient:    &http.Client{Transport: noNetwork{}},
			Now:           clock,
			DecideTimeout: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte("payload=" + url.QueryEscape(payload))
		ts, sig := slackapp.Sign(secret, now, body)
		r := httptest.NewRequest(http.MethodPost, slackapp.InteractionsPath, strings.NewReader(string(body)))
		r.Header.Set(slackapp.HeaderTimestamp, ts)
		r.Header.Set(slackapp.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		h.Wait()
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for a signed payload", rec.Code)
		}
		for _, c := range dec.Calls() {
			if c.D.Actor == "" || c.ID == "" || c.D.Via != "slack" {
				t.Fatalf("decided without an actor or incident: %+v", c)
			}
		}
	})
}

// FuzzVerifyRequest: arbitrary headers and bodies never verify unless they
// carry the signature of exactly that body and timestamp.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("1764338551", "v0=00", []byte("payload=%7B%7D"))
	f.Add("", "", []byte{})
	f.Add("-9223372036854775808", "v0=", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, slackapp.InteractionsPath, nil)
		r.Header.Set(slackapp.HeaderTimestamp, ts)
		r.Header.Set(slackapp.HeaderSignature, sig)
		err := slackapp.VerifyRequest(r, body, secret, clock)
		if err == nil {
			wantTS, wantSig := slackapp.Sign(secret, unixOf(t, ts), body)
			if wantTS != ts || wantSig != strings.ToLower(sig) {
				t.Fatalf("verified a request that was not signed: ts=%q sig=%q", ts, sig)
			}
		}
	})
}

func unixOf(t *testing.T, ts string) time.Time {
	t.Helper()
	var n int64
	for _, c := range ts {
		if c < '0' || c > '9' {
			t.Fatalf("verified a malformed timestamp %q", ts)
		}
		n = n*10 + int64(c-'0')
	}
	return time.Unix(n, 0)
}
