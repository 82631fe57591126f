package slackapp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/slackapp"
)

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
func TestVerifyRequestMatchesSlackExample(t *testing.T) {
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", nil)
	r.Header.Set(slackapp.HeaderTimestamp, "1531420618")
	r.Header.Set(slackapp.HeaderSignature, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
	at := func() time.Time { return time.Unix(1531420618, 0).Add(30 * time.Second) }
	if err := slackapp.VerifyRequest(r, body, secret, at); err != nil {
		t.Fatalf("Slack's own example was refused: %v", err)
	}
}

func TestVerifyRequestRefusesForgeries(t *testing.T) {
	f := newFixture(t)
	body := formBody(t, clickPayload(t, f, request(), slackapp.ActionApprove, "U01ABCDEF"))
	goodTS, goodSig := slackapp.Sign(secret, now, body)
	oldTS, oldSig := slackapp.Sign(secret, now.Add(-6*time.Minute), body)
	freshTS, _ := slackapp.Sign(secret, now, body)
	_, wrongSecretSig := slackapp.Sign("not-the-secret", now, body)
	futureTS, futureSig := slackapp.Sign(secret, now.Add(6*time.Minute), body)
	tampered := []byte(strings.Replace(string(body), "U01ABCDEF", "U0MALLORY", 1))

	tests := []struct {
		name   string
		secret string
		body   []byte
		ts     string
		sig    string
		ok     bool
		want   string
	}{
		{"good signature", secret, body, goodTS, goodSig, true, ""},
		{"forged signature", secret, body, goodTS, "v0=" + strings.Repeat("ab", 32), false, "signature mismatch"},
		{"wrong secret", secret, body, goodTS, wrongSecretSig, false, "signature mismatch"},
		{"timestamp 6 minutes old", secret, body, oldTS, oldSig, false, "timestamp"},
		{"timestamp 6 minutes ahead", secret, body, futureTS, futureSig, false, "timestamp"},
		{"replayed body, fresh timestamp, old signature", secret, body, freshTS, oldSig, false, "signature mismatch"},
		{"tampered body", secret, tampered, goodTS, goodSig, false, "signature mismatch"},
		{"missing timestamp", secret, body, "", goodSig, false, "missing"},
		{"missing signature", secret, body, goodTS, "", false, "missing"},
		{"malformed timestamp", secret, body, "yesterday", goodSig, false, "malformed"},
		{"unknown version", secret, body, goodTS, "v1=" + strings.TrimPrefix(goodSig, "v0="), false, "version"},
		{"signature not hex", secret, body, goodTS, "v0=zz", false, "malformed signature"},
		{"empty secret", "", body, goodTS, goodSig, false, "no signing secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, slackapp.InteractionsPath, nil)
			if tt.ts != "" {
				r.Header.Set(slackapp.HeaderTimestamp, tt.ts)
			}
			if tt.sig != "" {
				r.Header.Set(slackapp.HeaderSignature, tt.sig)
			}
			err := slackapp.VerifyRequest(r, tt.body, tt.secret, clock)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused a good request: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, slackapp.ErrUnverified) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrUnverified mentioning %q", err, tt.want)
			}

			// Through the handler: 401 with the reason, and nothing happens.
			h := newFixture(t, func(c *slackapp.Config) { c.SigningSecret = tt.secret })
			resp := h.post(t, tt.body, tt.ts, tt.sig)
			h.h.Wait()
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(msg), tt.want) {
				t.Errorf("handler answered %d %s, want 401 mentioning %q", resp.StatusCode, msg, tt.want)
			}
			if n := len(h.decider.Calls()); n != 0 {
				t.Errorf("decider called %d times for an unverified request", n)
			}
			if n := len(h.srv.Calls("")); n != 0 {
				t.Errorf("%d slack calls for an unverified request", n)
			}
		})
	}
}

func TestHandlerAcceptsOnlyPost(t *testing.T) {
	f := newFixture(t)
	h := f.h
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, slackapp.InteractionsPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", rec.Code)
	}
}
