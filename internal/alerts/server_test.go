package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

func TestPayloadsStartTheRoutedRunbookWithParams(t *testing.T) {
	haiku := "anthropic.claude-3-haiku-20240307-v1:0"
	type want struct {
		id       string
		runbook  string
		params   map[string]any
		severity string
		alert    string
	}
	tests := []struct {
		name   string
		path   string
		source string
		body   func(t *testing.T) []byte
		want   []want
	}{
		{
			name: "alertmanager webhook with two alerts starts two incidents", path: "/alerts/alertmanager", source: SourceAlertmanager,
			body: func(t *testing.T) []byte { return readTestdata(t, "alertmanager.json") },
			want: []want{
				{IncidentID("usage-spike", "usage-spike|model_id="+haiku), "usage-spike",
					map[string]any{"model_id": haiku, "usage_plan_id": "up7x9k2"}, "critical", "BedrockTokenSpike"},
				{IncidentID("usage-spike", "usage-spike|model_id=amazon.titan-text-express-v1"), "usage-spike",
					map[string]any{"model_id": "amazon.titan-text-express-v1", "usage_plan_id": "up7x9k2"}, "critical", "BedrockTokenSpike"},
			},
		},
		{
			name: "cloudwatch alarm through sns", path: "/alerts/sns", source: SourceSNS,
			body: func(t *testing.T) []byte { return snsBody(t, "sns-cloudwatch-alarm.json", nil) },
			want: []want{{IncidentID("usage-spike", "usage-spike|"+haiku), "usage-spike",
				map[string]any{"model_id": haiku, "usage_plan_id": "abc123"}, "high", "bedrock-claude-haiku-token-spike"}},
		},
		{
			name: "eventbridge alarm state change", path: "/alerts/eventbridge", source: SourceEventBridge,
			body: func(t *testing.T) []byte { return readTestdata(t, "eventbridge-alarm.json") },
			want: []want{{IncidentID("usage-spike", "usage-spike|model_id=amazon.titan-text-express-v1"), "usage-spike",
				map[string]any{"model_id": "amazon.titan-text-express-v1", "usage_plan_id": ""}, "", "bedrock-titan-token-spike"}},
		},
		{
			name: "guardduty finding through eventbridge", path: "/alerts/eventbridge", source: SourceEventBridge,
			body: func(t *testing.T) []byte { return readTestdata(t, "eventbridge-guardduty.json") },
			want: []want{{IncidentID("compromised-credentials", "compromised-credentials|role_name=bedrock-app-role"), "compromised-credentials",
				map[string]any{"role_name": "bedrock-app-role", "access_key_id": "ASIASZ3ZEXAMPLE7H2KD"}, "critical", "Impact:IAMUser/AnomalousBehavior"}},
		},
		{
			name: "generic json", path: "/alerts/generic", source: SourceGeneric,
			body: func(t *testing.T) []byte { return readTestdata(t, "generic.json") },
			want: []want{{IncidentID("compromised-data-source", "compromised-data-source|knowledge_base_id=KB12345678"), "compromised-data-source",
				map[string]any{"knowledge_base_id": "KB12345678", "agent_id": "AGENT00001", "attempts": 3}, "", "agent-kb-exfiltration"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			body := tt.body(t)
			code, resp, _ := ts.post(t, tt.path, body, authFor(ts, tt.source, body))
			if code != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %v", code, resp)
			}
			if resp["routed"] != true {
				t.Errorf("routed = %v, want true", resp["routed"])
			}
			if got := len(ts.starter.inputs); got != len(tt.want) {
				t.Fatalf("FoldAlert called %d times, want %d", got, len(tt.want))
			}
			incs := resp["incidents"].([]any)
			for i, w := range tt.want {
				// Alerts for different incidents are signalled concurrently.
				j := slices.IndexFunc(ts.starter.inputs, func(in contract.IncidentInput) bool { return in.ID == w.id })
				if j < 0 {
					t.Fatalf("no incident %s started; started %d others", w.id, len(ts.starter.inputs))
				}
				in, sig := ts.starter.inputs[j], ts.starter.signals[j]
				if in.ID != w.id || in.Runbook.Metadata.Name != w.runbook || in.Severity != w.severity || in.Source != tt.source {
					t.Errorf("incident %d = {id %s runbook %s severity %q source %s}, want {%s %s %q %s}",
						i, in.ID, in.Runbook.Metadata.Name, in.Severity, in.Source, w.id, w.runbook, w.severity, tt.source)
				}
				if !reflect.DeepEqual(in.Params, w.params) {
					t.Errorf("incident %d params = %#v, want %#v", i, in.Params, w.params)
				}
				if sig.Name != w.alert || sig.Status != StatusFiring || sig.Source != tt.source || !sig.ReceivedAt.Equal(testNow) {
					t.Errorf("signal %d = %+v, want alert %s firing from %s at %s", i, sig, w.alert, tt.source, testNow)
				}
				got := incs[i].(map[string]any)
				if got["id"] != w.id || got["runbook"] != w.runbook || got["started"] != true || got["folded"] != true {
					t.Errorf("response incident %d = %v", i, got)
				}
			}
		})
	}
}

func TestRepeatedAlertFoldsIntoTheOpenIncident(t *testing.T) {
	ts := newTestServer(t, nil)
	body := snsBody(t, "sns-cloudwatch-alarm.json", nil)
	_, first, _ := ts.post(t, "/alerts/sns", body, nil)
	code, second, _ := ts.post(t, "/alerts/sns", body, nil)
	if code != http.StatusAccepted {
		t.Fatalf("status %d: %v", code, second)
	}
	a, b := first["incidents"].([]any)[0].(map[string]any), second["incidents"].([]any)[0].(map[string]any)
	if a["id"] != b["id"] || a["started"] != true || b["started"] != false || b["folded"] != true {
		t.Errorf("first %v, second %v: want the same id, started then folded", a, b)
	}
	if ts.fetcher.fetched != 1 {
		t.Errorf("certificate fetched %d times, want 1 (cached)", ts.fetcher.fetched)
	}
}

func TestResolvedAlerts(t *testing.T) {
	t.Run("alertmanager resolved is recorded and resolves with the runbook's mode", func(t *testing.T) {
		ts := newTestServer(t, nil)
		ts.post(t, "/alerts/alertmanager", readTestdata(t, "alertmanager.json"), bearer(amToken))
		code, resp, _ := ts.post(t, "/alerts/alertmanager", readTestdata(t, "alertmanager-resolved.json"), bearer(amToken))
		if code != http.StatusAccepted {
			t.Fatalf("status %d: %v", code, resp)
		}
		want := IncidentID("usage-spike", "usage-spike|model_id=anthropic.claude-3-haiku-20240307-v1:0")
		if len(ts.starter.signaled) != 1 || ts.starter.signaled[0] != want {
			t.Fatalf("signalled %v, want [%s]", ts.starter.signaled, want)
		}
		if last := ts.starter.signals[len(ts.starter.signals)-1]; last.Status != StatusResolved {
			t.Errorf("signal status %q, want resolved", last.Status)
		}
		if len(ts.starter.resolves) != 1 || ts.starter.resolves[0].Mode != "" || ts.starter.resolves[0].Actor != "alert:alertmanager" {
			t.Errorf("resolves = %+v, want one with the runbook's default mode", ts.starter.resolves)
		}
		inc := resp["incidents"].([]any)[0].(map[string]any)
		if inc["resolve_requested"] != true || inc["status"] != "resolved" {
			t.Errorf("response incident %v", inc)
		}
		if len(ts.starter.inputs) != 2 {
			t.Errorf("FoldAlert called %d times, want 2 (only the firing ones)", len(ts.starter.inputs))
		}
	})
	t.Run("alarm back to OK with no open incident starts nothing", func(t *testing.T) {
		ts := newTestServer(t, nil)
		code, resp, _ := ts.post(t, "/alerts/sns", snsBody(t, "sns-cloudwatch-ok.json", nil), nil)
		if code != http.StatusAccepted {
			t.Fatalf("status %d: %v", code, resp)
		}
		if ts.starter.calls() != 0 {
			t.Errorf("starter called %d times, want 0", ts.starter.calls())
		}
		inc := resp["incidents"].([]any)[0].(map[string]any)
		if inc["folded"] != false || !strings.Contains(inc["note"].(string), "no open incident") {
			t.Errorf("response incident %v", inc)
		}
	})
}

func TestUnroutedAlertIsAnsweredNotDropped(t *testing.T) {
	ts := newTestServer(t, nil)
	body := []byte(`{"name": "disk-full", "labels": {"host": "db1"}}`)
	code, resp, _ := ts.post(t, "/alerts/generic", body, hmacHeaders(ts, body))
	if code != http.StatusAccepted || resp["routed"] != false {
		t.Fatalf("status %d %v, want 202 routed false", code, resp)
	}
	un := resp["unrouted"].([]any)[0].(map[string]any)
	if un["alert"] != "disk-full" || un["reason"] != "no route matches" {
		t.Errorf("unrouted = %v", un)
	}
	if ts.starter.calls() != 0 {
		t.Error("starter was called for an unrouted alert")
	}
}

func TestInsufficientDataIsNotAnIncident(t *testing.T) {
	ts := newTestServer(t, nil)
	body := bytes.Replace(readTestdata(t, "eventbridge-alarm.json"), []byte(`"value": "ALARM"`), []byte(`"value": "INSUFFICIENT_DATA"`), 1)
	code, resp, _ := ts.post(t, "/alerts/eventbridge", body, bearer(ebToken))
	if code != http.StatusAccepted || resp["routed"] != false || ts.starter.calls() != 0 {
		t.Fatalf("status %d %v calls %d, want 202 routed false and nothing started", code, resp, ts.starter.calls())
	}
}

// TestRefusalsStartNothing covers every refusal: a 4xx with a JSON reason
// naming the problem, and the starter never called.
func TestRefusalsStartNothing(t *testing.T) {
	am := readTestdata(t, "alertmanager.json")
	deep := []byte(`{"name":"x","labels":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`)
	tests := []struct {
		name    string
		mutate  func(*Config)
		path    string
		body    []byte
		headers func(ts *testServer, body []byte) map[string]string
		code    int
		reason  string
	}{
		{name: "no bearer token", path: "/alerts/alertmanager", body: am, code: 401, reason: "missing bearer token"},
		{name: "wrong bearer token", path: "/alerts/alertmanager", body: am, code: 401, reason: "not valid",
			headers: func(*testServer, []byte) map[string]string { return bearer("guess") }},
		{name: "another source's token", path: "/alerts/alertmanager", body: am, code: 401, reason: "not valid",
			headers: func(*testServer, []byte) map[string]string { return bearer(ebToken) }},
		{name: "hmac missing", path: "/alerts/generic", body: readTestdata(t, "generic.json"), code: 401, reason: "missing X-Quench-Signature"},
		{name: "hmac over another body", path: "/alerts/generic", body: readTestdata(t, "generic.json"), code: 401, reason: "does not match",
			headers: func(ts *testServer, _ []byte) map[string]string { return hmacHeaders(ts, []byte(`{"name":"other"}`)) }},
		{name: "hmac timestamp too old", path: "/alerts/generic", body: readTestdata(t, "generic.json"), code: 401, reason: "more than 5 minutes",
			headers: func(ts *testServer, body []byte) map[string]string {
				stamp := "1795896000" // hours before testNow
				return map[string]string{HeaderTimestamp: stamp, HeaderSignature: SignHMAC([]byte(genericKey), stamp, body)}
			}},
		{name: "source secret unset", path: "/alerts/alertmanager", body: am, code: 403, reason: "no credentials configured",
			mutate:  func(c *Config) { c.Getenv = func(string) string { return "" } },
			headers: func(*testServer, []byte) map[string]string { return bearer("") }},
		{name: "source not in routes.yaml", path: "/alerts/eventbridge", body: readTestdata(t, "eventbridge-alarm.json"), code: 403, reason: "no credentials configured",
			mutate: func(c *Config) {
				rs := *c.Routes
				rs.Sources = map[string]*SourceConfig{SourceAlertmanager: c.Routes.Sources[SourceAlertmanager]}
				c.Routes = &rs
			},
			headers: func(*testServer, []byte) map[string]string { return bearer(ebToken) }},
		{name: "oversized body", path: "/alerts/alertmanager", body: bytes.Repeat([]byte(" "), DefaultMaxBodyBytes+1), code: 413, reason: "larger than 1048576 bytes",
			headers: func(*testServer, []byte) map[string]string { return bearer(amToken) }},
		{name: "malformed json", path: "/alerts/alertmanager", body: []byte(`{"version": "4", "alerts": [}`), code: 400, reason: "malformed alertmanager JSON at byte offset 29",
			headers: func(*testServer, []byte) map[string]string { return bearer(amToken) }},
		{name: "truncated json", path: "/alerts/eventbridge", body: []byte(`{"detail-type": "GuardDuty Finding", "detail": {`), code: 400, reason: "unexpected end",
			headers: func(*testServer, []byte) map[string]string { return bearer(ebToken) }},
		{name: "unknown field in the generic shape", path: "/alerts/generic", body: []byte(`{"name": "x", "lables": {"env": "prod"}}`), code: 400, reason: `unknown field "lables"`},
		{name: "wrong type in the generic shape", path: "/alerts/generic", body: []byte(`{"name": "x", "labels": {"env": 1}}`), code: 400, reason: "field labels at byte offset"},
		{name: "too deep", path: "/alerts/generic", body: deep, code: 400, reason: "nested deeper than 32 levels"},
		{name: "alertmanager version 3", path: "/alerts/alertmanager", body: []byte(`{"version": "3", "alerts": []}`), code: 400, reason: `version "3" is not supported`,
			headers: func(*testServer, []byte) map[string]string { return bearer(amToken) }},
		{name: "unsupported eventbridge detail-type", path: "/alerts/eventbridge", body: []byte(`{"detail-type": "EC2 Instance State-change Notification", "detail": {}}`), code: 400, reason: "not supported",
			headers: func(*testServer, []byte) map[string]string { return bearer(ebToken) }},
		{name: "params the runbook refuses", path: "/alerts/alertmanager", code: 422, reason: "usage_plan_id",
			body:    bytes.ReplaceAll(am, []byte(`"usage_plan_id": "up7x9k2"}`), []byte(`"usage_plan_id": "UP-7"}`)),
			headers: func(*testServer, []byte) map[string]string { return bearer(amToken) }},
		{name: "param label missing", path: "/alerts/alertmanager", code: 422, reason: "param usage_plan_id",
			body:    bytes.Replace(am, []byte(`, "usage_plan_id": "up7x9k2"}`), []byte(`}`), 1),
			headers: func(*testServer, []byte) map[string]string { return bearer(amToken) }},
		{name: "unknown source", path: "/alerts/pagerduty", body: am, code: 404, reason: "unknown alert source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, tt.mutate)
			body := tt.body
			headers := map[string]string{}
			if tt.headers != nil {
				headers = tt.headers(ts, body)
			}
			if tt.path == "/alerts/generic" && tt.headers == nil && tt.code != 401 {
				headers = hmacHeaders(ts, body)
			}
			code, resp, _ := ts.post(t, tt.path, body, headers)
			if code != tt.code {
				t.Errorf("status %d, want %d: %v", code, tt.code, resp)
			}
			if msg, _ := resp["error"].(string); !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not say %q", msg, tt.reason)
			}
			if n := ts.starter.calls(); n != 0 {
				t.Errorf("starter called %d times on a refused request", n)
			}
		})
	}
}

func TestSNS(t *testing.T) {
	t.Run("subscription confirmation for a configured topic is confirmed", func(t *testing.T) {
		ts := newTestServer(t, nil)
		code, resp, _ := ts.post(t, "/alerts/sns", snsBody(t, "sns-subscription-confirmation.json", nil),
			map[string]string{"x-amz-sns-message-type": SNSSubscriptionConfirmation})
		if code != http.StatusOK || resp["confirmed"] != true {
			t.Fatalf("status %d %v, want 200 confirmed", code, resp)
		}
		if len(ts.rt.urls) != 1 || !strings.HasPrefix(ts.rt.urls[0], "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription") {
			t.Errorf("GETs %v, want the SubscribeURL once", ts.rt.urls)
		}
	})
	other := "arn:aws:sns:us-east-1:999999999999:someone-elses-topic"
	tests := []struct {
		name   string
		file   string
		mutate func(*SNSEnvelope)
		after  func(*SNSEnvelope) // applied after signing
		code   int
		reason string
	}{
		{name: "subscription to an unlisted topic", file: "sns-subscription-confirmation.json", code: 403, reason: "topic " + other + " is not configured",
			mutate: func(e *SNSEnvelope) { e.TopicArn = other }},
		{name: "notification from an unlisted topic", file: "sns-cloudwatch-alarm.json", code: 403, reason: "is not configured",
			mutate: func(e *SNSEnvelope) { e.TopicArn = other }},
		{name: "tampered message", file: "sns-cloudwatch-alarm.json", code: 403, reason: "signature does not verify",
			after: func(e *SNSEnvelope) { e.Message = strings.Replace(e.Message, "anthropic", "amazon", 1) }},
		{name: "tampered subscribe url", file: "sns-subscription-confirmation.json", code: 403, reason: "signature does not verify",
			after: func(e *SNSEnvelope) {
				e.SubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=other"
			}},
		{name: "certificate over http", file: "sns-cloudwatch-alarm.json", code: 403, reason: "is not https",
			mutate: func(e *SNSEnvelope) { e.SigningCertURL = strings.Replace(testCertURL, "https:", "http:", 1) }},
		{name: "certificate from another host", file: "sns-cloudwatch-alarm.json", code: 403, reason: "not on an sns.<region>.amazonaws.com host",
			mutate: func(e *SNSEnvelope) { e.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem" }},
		{name: "certificate host with a port", file: "sns-cloudwatch-alarm.json", code: 403, reason: "not on an sns",
			mutate: func(e *SNSEnvelope) { e.SigningCertURL = "https://sns.us-east-1.amazonaws.com:8443/cert.pem" }},
		{name: "signature version 3", file: "sns-cloudwatch-alarm.json", code: 403, reason: "SignatureVersion",
			mutate: func(e *SNSEnvelope) { e.SignatureVersion = "3" }},
		{name: "replayed a day later", file: "sns-cloudwatch-alarm.json", code: 403, reason: "older than",
			mutate: func(e *SNSEnvelope) { e.Timestamp = "2026-11-27T20:15:03.187Z" }},
		{name: "message that is not an alarm", file: "sns-cloudwatch-alarm.json", code: 400, reason: "is not a CloudWatch alarm",
			mutate: func(e *SNSEnvelope) { e.Message = `{"hello": "world"}` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			var env SNSEnvelope
			if err := json.Unmarshal(readTestdata(t, tt.file), &env); err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(&env)
			}
			signSNS(t, &env, testCA(t).key)
			if tt.after != nil {
				tt.after(&env)
			}
			body, _ := json.Marshal(env)
			code, resp, _ := ts.post(t, "/alerts/sns", body, nil)
			if code != tt.code {
				t.Errorf("status %d, want %d: %v", code, tt.code, resp)
			}
			if msg, _ := resp["error"].(string); !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not say %q", msg, tt.reason)
			}
			if ts.starter.calls() != 0 || len(ts.rt.urls) != 0 {
				t.Errorf("starter calls %d, confirmation GETs %v: want none", ts.starter.calls(), ts.rt.urls)
			}
		})
	}
	t.Run("certificate from an untrusted CA", func(t *testing.T) {
		ts := newTestServer(t, nil)
		testCA(t)
		ts.fetcher.certs[testCertURL] = otherCA.certPEM
		var env SNSEnvelope
		_ = json.Unmarshal(readTestdata(t, "sns-cloudwatch-alarm.json"), &env)
		signSNS(t, &env, otherCA.key)
		body, _ := json.Marshal(env)
		code, resp, _ := ts.post(t, "/alerts/sns", body, nil)
		if msg, _ := resp["error"].(string); code != 403 || !strings.Contains(msg, "is not trusted") {
			t.Errorf("status %d %v, want 403 not trusted", code, resp)
		}
		if ts.starter.calls() != 0 {
			t.Error("starter called")
		}
	})
	t.Run("eventbridge event forwarded by sns is parsed", func(t *testing.T) {
		ts := newTestServer(t, nil)
		finding := string(readTestdata(t, "eventbridge-guardduty.json"))
		body := snsBody(t, "sns-cloudwatch-alarm.json", func(e *SNSEnvelope) { e.Message, e.Subject = finding, nil })
		code, resp, _ := ts.post(t, "/alerts/sns", body, nil)
		if code != http.StatusAccepted || resp["routed"] != false {
			t.Fatalf("status %d %v, want 202 unrouted (the GuardDuty route takes eventbridge only)", code, resp)
		}
		un := resp["unrouted"].([]any)[0].(map[string]any)
		if un["alert"] != "Impact:IAMUser/AnomalousBehavior" || un["source"] != SourceSNS {
			t.Errorf("unrouted = %v", un)
		}
	})
	t.Run("signature version 2 verifies", func(t *testing.T) {
		ts := newTestServer(t, nil)
		body := snsBody(t, "sns-cloudwatch-alarm.json", func(e *SNSEnvelope) { e.SignatureVersion = "2" })
		if code, resp, _ := ts.post(t, "/alerts/sns", body, nil); code != http.StatusAccepted {
			t.Errorf("status %d %v, want 202", code, resp)
		}
	})
}

func TestRateLimitPerSource(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		rs := *c.Routes
		rs.Sources = map[string]*SourceConfig{}
		for k, v := range c.Routes.Sources {
			cp := *v
			rs.Sources[k] = &cp
		}
		rs.Sources[SourceAlertmanager].RatePerSecond = 1
		rs.Sources[SourceAlertmanager].Burst = 2
		c.Routes = &rs
	})
	body := readTestdata(t, "alertmanager.json")
	for i := range 2 {
		if code, resp, _ := ts.post(t, "/alerts/alertmanager", body, bearer(amToken)); code != http.StatusAccepted {
			t.Fatalf("post %d: status %d %v", i, code, resp)
		}
	}
	before := ts.starter.calls()
	code, resp, h := ts.post(t, "/alerts/alertmanager", body, bearer(amToken))
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || !strings.Contains(resp["error"].(string), "rate limit for source alertmanager") {
		t.Fatalf("status %d Retry-After %q %v, want 429 with Retry-After 1", code, h.Get("Retry-After"), resp)
	}
	if ts.starter.calls() != before {
		t.Error("a rate-limited request reached the starter")
	}
	// Another source has its own bucket.
	gb := readTestdata(t, "generic.json")
	if code, resp, _ := ts.post(t, "/alerts/generic", gb, hmacHeaders(ts, gb)); code != http.StatusAccepted {
		t.Errorf("generic: status %d %v", code, resp)
	}
	ts.clock.Add(time.Second)
	if code, resp, _ := ts.post(t, "/alerts/alertmanager", body, bearer(amToken)); code != http.StatusAccepted {
		t.Errorf("after a second: status %d %v", code, resp)
	}
}

func TestTemporalUnavailableIs503(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.starter.err = errors.New("connection refused")
	code, resp, _ := ts.post(t, "/alerts/alertmanager", readTestdata(t, "alertmanager.json"), bearer(amToken))
	if code != http.StatusServiceUnavailable || !strings.Contains(resp["error"].(string), "connection refused") {
		t.Errorf("status %d %v, want 503 so the sender retries", code, resp)
	}
}

// Health (/healthz, /readyz) is internal/httpapi's; see its tests.
func TestGetOnAlertEndpointIsMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t, nil)
	rec := httptest.NewRecorder()
	ts.Server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alerts/sns", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /alerts/sns: %d, want 405", rec.Code)
	}
}
