package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/quenchhq/quench/internal/httpapi/respond"
)

// Call is one request the server received.
type Call struct {
	Method string
	// Form holds form-encoded parameters (chat.*, usergroups.*).
	Form url.Values
	// Body is the raw body (JSON for views.open and response_url posts).
	Body []byte
	// Channel and TS are where a chat.postMessage or chat.update landed
	// (the channel id Slack answered with and the message timestamp).
	Channel, TS string
}

// Blocks decodes the call's Block Kit blocks (form field "blocks", or the
// "blocks" of a JSON body).
func (c Call) Blocks() (slack.Blocks, error) {
	var blocks slack.Blocks
	raw := c.Form.Get("blocks")
	if raw == "" {
		var body struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			return blocks, fmt.Errorf("decode %s body: %w", c.Method, err)
		}
		raw = string(body.Blocks)
	}
	if raw == "" {
		return blocks, nil
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return blocks, fmt.Errorf("decode %s blocks: %w", c.Method, err)
	}
	return blocks, nil
}

// JSON decodes the call's JSON body into v.
func (c Call) JSON(v any) error { return json.Unmarshal(c.Body, v) }

// Fault makes the next requests to a method fail.
type Fault struct {
	// Status is an HTTP status (500, 503, 429); 0 means 200 with SlackError.
	Status int
	// RetryAfter is the Retry-After header (seconds) sent with Status 429.
	RetryAfter string
	// SlackError is the "error" of an {"ok":false} answer.
	SlackError string
}

// Server is the recording fake.
type Server struct {
	*slacktest.Server
	mu     sync.Mutex
	calls  []Call
	faults map[string][]Fault
	groups map[string][]string
	seq    int
}

// Methods the server records (besides "response_url").
const (
	PostMessage   = "chat.postMessage"
	Update        = "chat.update"
	PostEphemeral = "chat.postEphemeral"
	ViewsOpen     = "views.open"
	GroupMembers  = "usergroups.users.list"
	ResponseURL   = "response_url"
)

// New starts a server and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{faults: map[string][]Fault{}, groups: map[string][]string{}}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range []string{PostMessage, Update, PostEphemeral, ViewsOpen, GroupMembers} {
			c.Handle("/"+m, s.handler(m))
		}
		c.Handle("/response/", s.handler(ResponseURL))
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Client returns a slack-go client for this server.
func (s *Server) Client() *slack.Client {
	return slack.New("xoxb-test-token", slack.OptionAPIURL(s.GetAPIURL()))
}

// ResponseURL returns a response_url pointing at this server.
func (s *Server) ResponseURL(name string) string {
	return s.GetAPIURL() + "response/" + name
}

// Fail makes the next n requests to method fail with f.
func (s *Server) Fail(method string, f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// SetGroupMembers sets a user group's members for usergroups.users.list.
func (s *Server) SetGroupMembers(group string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = users
}

// Calls returns the calls to method, in order ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		call := Call{Method: method, Body: body, Form: url.Values{}}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if call.Form, err = url.ParseQuery(string(body)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		s.mu.Lock()
		var fault *Fault
		if q := s.faults[method]; len(q) > 0 {
			fault = &q[0]
			s.faults[method] = q[1:]
		}
		s.seq++
		ts := fmt.Sprintf("1700000000.%06d", s.seq)
		if fault == nil && (method == PostMessage || method == Update) {
			call.Channel = call.Form.Get("channel")
			if strings.HasPrefix(call.Channel, "#") {
				// Slack answers with the channel id even when given a name.
				call.Channel = "C" + strings.ToUpper(strings.TrimPrefix(call.Channel, "#"))
			}
			call.TS = ts
			if method == Update {
				call.TS = call.Form.Get("ts")
			}
		}
		s.calls = append(s.calls, call)
		members := s.groups[call.Form.Get("usergroup")]
		s.mu.Unlock()

		if fault != nil {
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			if fault.Status != 0 {
				http.Error(w, "injected fault", fault.Status)
				return
			}
			respond.JSON(w, http.StatusOK, map[string]any{"ok": false, "error": fault.SlackError})
			return
		}
		switch method {
		case PostMessage, Update:
			respond.JSON(w, http.StatusOK, map[string]any{"ok": true, "channel": call.Channel, "ts": call.TS})
		case PostEphemeral:
			respond.JSON(w, http.StatusOK, map[string]any{"ok": true, "message_ts": ts})
		case ViewsOpen:
			respond.JSON(w, http.StatusOK, map[string]any{"ok": true, "view": map[string]any{"id": "V" + ts}})
		case GroupMembers:
			if members == nil {
				members = []string{}
			}
			respond.JSON(w, http.StatusOK, map[string]any{"ok": true, "users": members})
		case ResponseURL:
			_, _ = w.Write([]byte("ok"))
		}
	}
}
