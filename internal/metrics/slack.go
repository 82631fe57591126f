package metrics

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strconv"
)

// maxSlackBody bounds how much of a Slack answer is read to find its error;
// the Web API's answers to quench's calls are a few KiB.
const maxSlackBody = 4 << 20

// SlackHTTPClient returns an HTTP client for slack.OptionHTTPClient that
// counts failed Slack Web API calls: transport failures, HTTP errors
// (429 included) and {"ok": false, "error": "..."} answers, by method.
// Counting at the transport sees every call (posts, updates, user group
// lookups, Socket Mode's connection) in one place.
func (m *Metrics) SlackHTTPClient(base *http.Client) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	if m == nil {
		return base
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *base
	c.Transport = slackTransport{next: next, m: m}
	return &c
}

type slackTransport struct {
	next http.RoundTripper
	m    *Metrics
}

func (t slackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path) // /api/chat.postMessage
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.m.slackErrors.WithLabelValues(method, "transport").Inc()
		return resp, err
	}
	if resp.StatusCode >= 400 {
		t.m.slackErrors.WithLabelValues(method, "http_"+strconv.Itoa(resp.StatusCode)).Inc()
		return resp, nil
	}
	// Slack reports most failures as 200 with ok false: read the answer
	// and hand the same bytes on.
	orig := resp.Body
	body, rerr := io.ReadAll(io.LimitReader(orig, maxSlackBody))
	if rerr != nil {
		_ = orig.Close()
		t.m.slackErrors.WithLabelValues(method, "transport").Inc()
		return nil, rerr
	}
	// What was read, then whatever the bound left unread.
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), orig), orig}
	var answer struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &answer) == nil && answer.OK != nil && !*answer.OK {
		code := answer.Error
		if code == "" {
			code = "unknown"
		}
		t.m.slackErrors.WithLabelValues(method, code).Inc()
	}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
