package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/workflows/contract"
)

// InteractionsPath is where Slack's Interactivity Request URL points.
const InteractionsPath = "/slack/interactions"

// Identifiers of the deny-reason modal.
const (
	DenyModalCallbackID = "quench_deny_reason"
	DenyReasonBlockID   = "quench_reason"
	DenyReasonActionID  = "quench_reason_input"
)

// Defaults for Config.
const (
	DefaultDecideTimeout = 2 * time.Minute
	DefaultMaxBodyBytes  = 1 << 20
)

// DefaultResponseURLPrefixes are the hosts Slack's response_url points at.
var DefaultResponseURLPrefixes = []string{"https://hooks.slack.com/", "https://hooks.slack-gov.com/"}

// Decider decides approvals; *incidents.Client implements it. Decide waits
// for the Update to complete and returns an error with a
// RejectionReason() string method when the workflow's validator refused.
type Decider interface {
	Decide(ctx context.Context, incidentID, kind string, d contract.Decision) (contract.DecisionResult, error)
}

// rejection is how a Decider's error says the validator refused.
type rejection interface{ RejectionReason() string }

// SlackAPI is the part of *slack.Client the handler uses.
type SlackAPI interface {
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
}

// Config configures a Handler.
type Config struct {
	// SigningSecret verifies HTTP requests; empty refuses every HTTP
	// request (Socket Mode does not need it).
	SigningSecret string
	// Incidents decides approvals (required).
	Incidents Decider
	// Groups resolves the clicker's user groups; nil resolves none, so only
	// approvers listed by user id can approve from Slack.
	Groups GroupResolver
	// Slack posts ephemerals, opens the deny modal and updates messages;
	// nil (no bot token) falls back to response_url and cannot ask for a
	// deny reason.
	Slack SlackAPI
	// HTTPClient posts to response_url (default: 10s timeout).
	HTTPClient *http.Client
	// ResponseURLPrefixes are the allowed response_url prefixes
	// (default DefaultResponseURLPrefixes); tests point them at a local server.
	ResponseURLPrefixes []string
	// Now is the clock for signature windows and "decided at" (default time.Now).
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// DecideTimeout bounds the background decision after a click.
	DecideTimeout time.Duration
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
}

// Handler serves POST /slack/interactions and Socket Mode interactions.
type Handler struct {
	secret        string
	decider       Decider
	groups        GroupResolver
	slack         SlackAPI
	httpClient    *http.Client
	urlPrefixes   []string
	now           func() time.Time
	log           *slog.Logger
	decideTimeout time.Duration
	maxBody       int64

	wg sync.WaitGroup
}

// NewHandler builds a Handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Incidents == nil {
		return nil, errors.New("new slack handler: Config.Incidents is required")
	}
	h := &Handler{
		secret:        cfg.SigningSecret,
		decider:       cfg.Incidents,
		groups:        cfg.Groups,
		slack:         cfg.Slack,
		httpClient:    cfg.HTTPClient,
		urlPrefixes:   cfg.ResponseURLPrefixes,
		now:           cfg.Now,
		log:           cfg.Logger,
		decideTimeout: cfg.DecideTimeout,
		maxBody:       cfg.MaxBodyBytes,
	}
	if h.httpClient == nil {
		h.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	if h.urlPrefixes == nil {
		h.urlPrefixes = DefaultResponseURLPrefixes
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.decideTimeout <= 0 {
		h.decideTimeout = DefaultDecideTimeout
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h, nil
}

// Wait blocks until every decision started by a click has finished (for
// graceful shutdown, and for tests).
func (h *Handler) Wait() { h.wg.Wait() }

// badRequest is a payload Slack signed but quench cannot act on.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badRequestf(format string, args ...any) error {
	return badRequest{msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP verifies the request's signature before reading anything from
// the body, then handles the interaction.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "slack interactions accept POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "read request body: "+err.Error())
		return
	}
	if err := VerifyRequest(r, body, h.secret, h.now); err != nil {
		h.log.WarnContext(r.Context(), "slack interaction refused", "remote", r.RemoteAddr, "error", err)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse form body: "+err.Error())
		return
	}
	payload := form.Get("payload")
	if payload == "" {
		writeError(w, http.StatusBadRequest, "form field payload is missing")
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		writeError(w, http.StatusBadRequest, "decode payload: "+err.Error())
		return
	}
	resp, err := h.HandleInteraction(r.Context(), ic)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// HandleInteraction handles a verified interaction (from HTTP after the
// signature check, or from Socket Mode). It returns what to answer Slack
// with (nil: an empty 200) and an error for a payload it cannot act on.
// Decisions run in the background; Wait waits for them.
func (h *Handler) HandleInteraction(ctx context.Context, ic slack.InteractionCallback) (any, error) {
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range ic.ActionCallback.BlockActions {
			switch a.ActionID {
			case ActionApprove:
				return nil, h.onApprove(ctx, ic, a)
			case ActionDeny:
				return nil, h.onDeny(ctx, ic, a)
			}
		}
	case slack.InteractionTypeViewSubmission:
		if ic.View.CallbackID == DenyModalCallbackID {
			return h.onDenySubmit(ctx, ic)
		}
	}
	// Not ours (another button of the app, a closed view): acknowledge.
	return nil, nil
}

// click is everything needed to decide and to answer the clicker.
type click struct {
	Button    ApprovalButton `json:"b"`
	User      string         `json:"u"`
	Channel   string         `json:"c,omitempty"`
	MessageTS string         `json:"t,omitempty"`
	// ThreadTS is set when the message is a thread reply (an escalation),
	// so the ephemeral answer shows up in that thread.
	ThreadTS    string `json:"h,omitempty"`
	ResponseURL string `json:"r,omitempty"`
	// original is the request message's blocks (block_actions only).
	original []slack.Block
}

func clickFrom(ic slack.InteractionCallback, a *slack.BlockAction) (click, error) {
	btn, err := DecodeApprovalButton(a.Value)
	if err != nil {
		return click{}, badRequestf("button %s: %v", a.ActionID, err)
	}
	if ic.User.ID == "" {
		return click{}, badRequestf("button %s: payload has no user id", a.ActionID)
	}
	c := click{
		Button:      btn,
		User:        ic.User.ID,
		Channel:     ic.Container.ChannelID,
		MessageTS:   ic.Container.MessageTs,
		ThreadTS:    ic.Container.ThreadTs,
		ResponseURL: ic.ResponseURL,
		original:    ic.Message.Blocks.BlockSet,
	}
	if c.Channel == "" {
		c.Channel = ic.Channel.ID
	}
	if c.MessageTS == "" {
		c.MessageTS = ic.Message.Timestamp
	}
	if c.ThreadTS == "" {
		c.ThreadTS = ic.Message.ThreadTimestamp
	}
	return c, nil
}

func (h *Handler) onApprove(ctx context.Context, ic slack.InteractionCallback, a *slack.BlockAction) error {
	c, err := clickFrom(ic, a)
	if err != nil {
		return err
	}
	h.background(ctx, func(ctx context.Context) { h.decide(ctx, c, contract.UpdateApprove, "") })
	return nil
}

// onDeny asks for a reason in a modal; the decision happens when the modal
// is submitted. views.open runs before the ack because the trigger_id
// expires 3 seconds after the click.
func (h *Handler) onDeny(ctx context.Context, ic slack.InteractionCallback, a *slack.BlockAction) error {
	c, err := clickFrom(ic, a)
	if err != nil {
		return err
	}
	if h.slack == nil || ic.TriggerID == "" {
		h.background(ctx, func(ctx context.Context) {
			h.ephemeral(ctx, c, fmt.Sprintf("Denying needs a reason, and this Slack app cannot open the dialog for it (no bot token). Deny from the CLI: `quench deny %s --step %s --reason …`", c.Button.Incident, c.Button.Step))
		})
		return nil
	}
	meta, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode deny dialog state: %w", err)
	}
	if len(meta) > 3000 {
		// private_metadata holds 3000 characters; without the response_url
		// the message is replaced through chat.update instead.
		c.ResponseURL = ""
		if meta, err = json.Marshal(c); err != nil {
			return fmt.Errorf("encode deny dialog state: %w", err)
		}
	}
	openCtx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	if _, err := h.slack.OpenViewContext(openCtx, ic.TriggerID, denyModal(c, string(meta))); err != nil {
		h.log.ErrorContext(ctx, "open deny dialog", "incident", c.Button.Incident, "step", c.Button.Step, "user", c.User, "error", err)
		h.background(ctx, func(ctx context.Context) {
			h.ephemeral(ctx, c, fmt.Sprintf("Could not open the deny dialog (%v). Try again, or deny from the CLI: `quench deny %s --step %s --reason …`", err, c.Button.Incident, c.Button.Step))
		})
	}
	return nil
}

func denyModal(c click, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(
		slack.NewTextBlockObject(slack.PlainTextType, "Why deny? (recorded in the incident timeline)", false, false),
		DenyReasonActionID).WithMultiline(true)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      DenyModalCallbackID,
		PrivateMetadata: meta,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Deny step", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
				fmt.Sprintf("Deny step `%s` of incident `%s`?", EscapeText(c.Button.Step), EscapeText(c.Button.Incident)), false, false), nil, nil),
			slack.NewInputBlock(DenyReasonBlockID, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil, input),
		}},
	}
}

// onDenySubmit reads the reason from the modal and denies in the
// background; the empty answer closes the modal.
func (h *Handler) onDenySubmit(ctx context.Context, ic slack.InteractionCallback) (any, error) {
	var c click
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &c); err != nil {
		return nil, badRequestf("deny dialog: decode private_metadata: %v", err)
	}
	if c.Button.Incident == "" || c.Button.Step == "" {
		return nil, badRequestf("deny dialog: private_metadata names no incident and step")
	}
	// The submitter is who denies, whatever the metadata says.
	c.User = ic.User.ID
	if c.User == "" {
		return nil, badRequestf("deny dialog: payload has no user id")
	}
	reason := ""
	if ic.View.State != nil {
		reason = strings.TrimSpace(ic.View.State.Values[DenyReasonBlockID][DenyReasonActionID].Value)
	}
	if reason == "" {
		return map[string]any{
			"response_action": "errors",
			"errors":          map[string]string{DenyReasonBlockID: "Give a reason for denying."},
		}, nil
	}
	h.background(ctx, func(ctx context.Context) { h.decide(ctx, c, contract.UpdateDeny, reason) })
	return nil, nil
}

// background runs fn after the request is answered. Slack wants an answer
// within 3 seconds, but an Update waits for the workflow (a busy or
// restarting worker can take longer), so the click is acknowledged at once
// and decided here. The context keeps the request's values but not its
// cancellation (the request ends with the ack) and gets its own deadline,
// well inside the 30 minutes a response_url stays valid.
func (h *Handler) background(ctx context.Context, fn func(context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.decideTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// decide asks the workflow and tells Slack the outcome: the request is
// replaced on success, the clicker gets an ephemeral message on refusal.
func (h *Handler) decide(ctx context.Context, c click, kind, reason string) {
	log := h.log.With("incident", c.Button.Incident, "step", c.Button.Step, "user", c.User, "kind", kind)
	var groups []string
	var groupErr error
	if h.groups != nil && len(c.Button.Groups) > 0 {
		groups, groupErr = h.groups.UserGroups(ctx, c.User, c.Button.Groups)
		if groupErr != nil {
			log.WarnContext(ctx, "resolve slack user groups", "error", groupErr)
		}
	}
	res, err := h.decider.Decide(ctx, c.Button.Incident, kind, contract.Decision{
		Step:            c.Button.Step,
		Actor:           c.User,
		Via:             "slack",
		Reason:          reason,
		SlackUserGroups: groups,
	})
	verb := "approval"
	if kind == contract.UpdateDeny {
		verb = "denial"
	}
	if err != nil {
		var rj rejection
		if errors.As(err, &rj) {
			log.InfoContext(ctx, "slack decision rejected", "reason", rj.RejectionReason())
			msg := fmt.Sprintf("Your %s of step `%s` (incident `%s`) was refused: %s",
				verb, EscapeText(c.Button.Step), EscapeText(c.Button.Incident), EscapeText(rj.RejectionReason()))
			if groupErr != nil {
				msg += "\n(Some approver groups could not be checked just now; if you are in one, try again in a minute.)"
			}
			h.ephemeral(ctx, c, msg)
			return
		}
		log.ErrorContext(ctx, "slack decision failed", "error", err)
		h.ephemeral(ctx, c, fmt.Sprintf("Could not record your %s of step `%s` (incident `%s`): %s. Try again, or use the CLI.",
			verb, EscapeText(c.Button.Step), EscapeText(c.Button.Incident), EscapeText(err.Error())))
		return
	}
	log.InfoContext(ctx, "slack decision recorded", "outcome", res.Outcome, "approvals", res.Approvals, "needed", res.Needed)

	voters := appendVoter(previousVoters(c.original), c.User)
	if kind == contract.UpdateApprove && res.Outcome != "approved" && res.Outcome != "denied" {
		// More approvals needed: show the count, keep the buttons.
		blocks := withVotes(c.original, ApprovalVotesBlock(res.Approvals, res.Needed, voters))
		text := fmt.Sprintf("%d of %d approvals for incident %s step %s", res.Approvals, res.Needed, c.Button.Incident, c.Button.Step)
		h.replace(ctx, c, blocks, text)
		return
	}
	step := res.Step
	if step == "" {
		step = c.Button.Step
	}
	d := contract.ApprovalDecided{
		Incident: c.Button.Ref(),
		Step:     step,
		Decision: "approved",
		Actors:   voters,
		At:       h.now(),
	}
	if kind == contract.UpdateDeny || res.Outcome == "denied" {
		d.Decision, d.Actors, d.Reason = "denied", []string{c.User}, reason
	}
	blocks, text := ApprovalDecidedBlocks(d)
	h.replace(ctx, c, blocks, text)
}

var mentionRE = regexp.MustCompile(`<@([UW][A-Z0-9]+)>`)

// previousVoters reads who already approved from the votes block of the
// request message (Slack sends the message back with each click).
func previousVoters(blocks []slack.Block) []string {
	var out []string
	for _, b := range blocks {
		cb, ok := b.(*slack.ContextBlock)
		if !ok || cb.BlockID != BlockVotes {
			continue
		}
		for _, e := range cb.ContextElements.Elements {
			if t, ok := e.(*slack.TextBlockObject); ok {
				for _, m := range mentionRE.FindAllStringSubmatch(t.Text, -1) {
					out = appendVoter(out, m[1])
				}
			}
		}
	}
	return out
}

func appendVoter(voters []string, v string) []string {
	if slices.Contains(voters, v) {
		return voters
	}
	return append(voters, v)
}

// withVotes replaces the votes block of a request, or puts one above the
// buttons.
func withVotes(blocks []slack.Block, votes slack.Block) []slack.Block {
	out := make([]slack.Block, 0, len(blocks)+1)
	placed := false
	for _, b := range blocks {
		switch blockID(b) {
		case BlockVotes:
			continue
		case BlockActions:
			out = append(out, votes)
			placed = true
		}
		out = append(out, b)
	}
	if !placed {
		out = append(out, votes)
	}
	return out
}

func blockID(b slack.Block) string {
	switch b := b.(type) {
	case *slack.ContextBlock:
		return b.BlockID
	case *slack.ActionBlock:
		return b.BlockID
	case *slack.SectionBlock:
		return b.BlockID
	case *slack.HeaderBlock:
		return b.BlockID
	}
	return ""
}

// replace rewrites the request message through response_url, falling back
// to chat.update (response_url expires after 30 minutes and 5 uses).
func (h *Handler) replace(ctx context.Context, c click, blocks []slack.Block, text string) {
	log := h.log.With("incident", c.Button.Incident, "step", c.Button.Step)
	if c.ResponseURL != "" {
		err := h.postResponse(ctx, c.ResponseURL, &slack.WebhookMessage{
			Text:            text,
			Blocks:          &slack.Blocks{BlockSet: blocks},
			ReplaceOriginal: true,
		})
		if err == nil {
			return
		}
		log.WarnContext(ctx, "replace slack message via response_url", "error", err)
	}
	if h.slack == nil || c.Channel == "" || c.MessageTS == "" {
		log.ErrorContext(ctx, "cannot replace slack message: response_url missing or failed, and no bot token or message reference for chat.update")
		return
	}
	if _, _, _, err := h.slack.UpdateMessageContext(ctx, c.Channel, c.MessageTS,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		log.ErrorContext(ctx, "replace slack message via chat.update", "channel", c.Channel, "ts", c.MessageTS, "error", err)
	}
}

// ephemeral tells only the clicker, leaving the message as it is.
func (h *Handler) ephemeral(ctx context.Context, c click, text string) {
	log := h.log.With("incident", c.Button.Incident, "step", c.Button.Step, "user", c.User)
	if h.slack != nil && c.Channel != "" {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if c.ThreadTS != "" && c.ThreadTS != c.MessageTS {
			opts = append(opts, slack.MsgOptionTS(c.ThreadTS))
		}
		_, err := h.slack.PostEphemeralContext(ctx, c.Channel, c.User, opts...)
		if err == nil {
			return
		}
		log.WarnContext(ctx, "post ephemeral via chat.postEphemeral", "channel", c.Channel, "error", err)
	}
	if c.ResponseURL == "" {
		log.ErrorContext(ctx, "cannot tell the clicker: no bot token and no response_url", "message", text)
		return
	}
	if err := h.postResponse(ctx, c.ResponseURL, &slack.WebhookMessage{
		Text:         text,
		ResponseType: slack.ResponseTypeEphemeral,
	}); err != nil {
		log.ErrorContext(ctx, "post ephemeral via response_url", "error", err)
	}
}

// postResponse posts to a response_url, which must point at Slack: the
// payload is signed, but a URL quench posts to is still checked before use.
func (h *Handler) postResponse(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	if !slices.ContainsFunc(h.urlPrefixes, func(p string) bool { return strings.HasPrefix(responseURL, p) }) {
		return fmt.Errorf("post to response_url: %q is not a slack response url", responseURL)
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, h.httpClient, msg); err != nil {
		return fmt.Errorf("post to response_url: %w", err)
	}
	return nil
}
