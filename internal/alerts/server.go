package alerts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quenchhq/quench/internal/httpapi/respond"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// DefaultMaxBodyBytes bounds a request body; real alert payloads are a few KiB.
const DefaultMaxBodyBytes = 1 << 20

// Config configures the alert server. Routes, Library and Starter are required.
type Config struct {
	Routes  *Routes
	Library *runbooks.Library
	Starter Starter
	// Getenv reads the secrets routes.yaml names (default os.Getenv).
	Getenv func(string) string
	// Now is the clock for HMAC windows, rate limits and certificates.
	Now func() time.Time
	// HTTPClient confirms SNS subscriptions (default: 10s timeout).
	HTTPClient *http.Client
	// CertFetcher fetches SNS signing certificates (default: HTTPS GET).
	CertFetcher CertFetcher
	// SNSRoots are the CAs SNS certificates must chain to (default: system roots).
	SNSRoots *x509.CertPool
	// SNSMaxAge refuses SNS messages whose Timestamp is older (default 1h), so
	// a captured message cannot be replayed days later.
	SNSMaxAge    time.Duration
	MaxBodyBytes int64 // default DefaultMaxBodyBytes
	MaxDepth     int   // default DefaultMaxDepth
	Logger       *slog.Logger

	// MaxWaiting bounds the alert requests handled at once (read, checked,
	// waiting for the signal that carries them). One more is answered 503
	// with Retry-After at once, so a sender that outruns Temporal is told to
	// come back instead of being queued without bound (default
	// DefaultMaxWaiting). Memory held is at most MaxWaiting × MaxBodyBytes.
	MaxWaiting int
	// MaxSignalsInFlight bounds the signals sent to Temporal at once, at most
	// one per incident and status (default DefaultMaxSignalsInFlight).
	MaxSignalsInFlight int
	// CoalesceWindow is how long the first alert for an incident waits for
	// others to share its signal (default DefaultCoalesceWindow; negative:
	// no wait, alerts still share a signal while one is in flight).
	CoalesceWindow time.Duration
	// SignalTimeout bounds one signal to Temporal (default DefaultSignalTimeout).
	SignalTimeout time.Duration
	// Counter counts alerts received, folded, unrouted and requests
	// refused (internal/metrics); nil counts nothing.
	Counter Counter
}

// Counter counts what the server does with alerts, by source endpoint.
type Counter interface {
	AlertsReceived(source string, n int)
	AlertsFolded(source string, n int)
	AlertsUnrouted(source string, n int)
	// AlertRequestRefused counts a request answered status instead of 202.
	AlertRequestRefused(source string, status int)
}

type noCounter struct{}

func (noCounter) AlertsReceived(string, int)      {}
func (noCounter) AlertsFolded(string, int)        {}
func (noCounter) AlertsUnrouted(string, int)      {}
func (noCounter) AlertRequestRefused(string, int) {}

// SourceUnknown is the source counted for a path under /alerts/ that names none.
const SourceUnknown = "unknown"

// Server is the HTTP handler for alert webhooks. Health (/healthz, /readyz)
// belongs to internal/httpapi.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	auth    map[string]*authenticator
	limits  map[string]*bucket
	sns     *SNSVerifier
	folds   *coalescer
	waiting atomic.Int64 // requests being handled
}

// NewServer builds the alert server. Secrets are read from the environment
// now; a source whose secret is unset refuses every request (and is logged).
func NewServer(cfg Config) *Server {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.CertFetcher == nil {
		cfg.CertFetcher = HTTPCertFetcher{Client: cfg.HTTPClient}
	}
	if cfg.SNSMaxAge == 0 {
		cfg.SNSMaxAge = time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Routes == nil {
		cfg.Routes = &Routes{}
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = DefaultMaxWaiting
	}
	if cfg.MaxSignalsInFlight <= 0 {
		cfg.MaxSignalsInFlight = DefaultMaxSignalsInFlight
	}
	if cfg.CoalesceWindow == 0 {
		cfg.CoalesceWindow = DefaultCoalesceWindow
	}
	if cfg.SignalTimeout <= 0 {
		cfg.SignalTimeout = DefaultSignalTimeout
	}
	if cfg.Counter == nil {
		cfg.Counter = noCounter{}
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "alerts"),
		auth:   map[string]*authenticator{},
		limits: map[string]*bucket{},
	}
	s.folds = newCoalescer(cfg.CoalesceWindow, cfg.MaxSignalsInFlight, s.flush)
	var topics []string
	for _, src := range Sources {
		sc := cfg.Routes.Sources[src]
		if sc == nil {
			sc = &SourceConfig{}
		}
		s.limits[src] = newBucket(sc.RatePerSecond, sc.Burst, cfg.Now)
		if src == SourceSNS {
			topics = sc.TopicARNs
			continue
		}
		a := &authenticator{source: src, now: cfg.Now}
		if sc.RejectReplays {
			a.replays = newReplayGuard(cfg.Now)
		}
		if sc.BearerTokenEnv != "" {
			a.bearer = []byte(cfg.Getenv(sc.BearerTokenEnv))
		}
		if sc.HMACSecretEnv != "" {
			a.hmac = []byte(cfg.Getenv(sc.HMACSecretEnv))
		}
		switch {
		case cfg.Routes.Sources[src] == nil:
			s.log.Info("alert source not configured; its endpoint refuses every request", "source", src)
		case len(a.bearer) == 0 && len(a.hmac) == 0:
			s.log.Warn("alert source secret is unset; its endpoint refuses every request",
				"source", src, "env", sc.BearerTokenEnv+sc.HMACSecretEnv)
		}
		s.auth[src] = a
	}
	s.sns = NewSNSVerifier(topics, cfg.CertFetcher, cfg.SNSRoots, cfg.Now)
	s.mux = http.NewServeMux()
	s.Mount(s.mux)
	return s
}

// Mount registers the alert endpoints on mux, so `quench serve` can serve
// them next to /slack/interactions and the health endpoints.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /alerts/alertmanager", s.handle(SourceAlertmanager, ParseAlertmanager))
	mux.HandleFunc("POST /alerts/eventbridge", s.handle(SourceEventBridge, ParseEventBridge))
	mux.HandleFunc("POST /alerts/generic", s.handle(SourceGeneric, ParseGeneric))
	mux.HandleFunc("POST /alerts/sns", s.handleSNS)
	mux.HandleFunc("/alerts/", s.notFound)
}

// ServeHTTP serves the endpoints Mount registers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	src := r.URL.Path[len("/alerts/"):]
	if slices.Contains(Sources, src) {
		s.cfg.Counter.AlertRequestRefused(src, http.StatusMethodNotAllowed)
		w.Header().Set("Allow", http.MethodPost)
		respond.JSON(w, http.StatusMethodNotAllowed, errorBody{Error: "use POST to send alerts to /alerts/" + src})
		return
	}
	s.cfg.Counter.AlertRequestRefused(SourceUnknown, http.StatusNotFound)
	respond.JSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("unknown alert source %q (known: alertmanager, sns, eventbridge, generic)", src)})
}

type errorBody struct {
	Error string `json:"error"`
}

// IncidentResult is one incident an alert request touched.
type IncidentResult struct {
	ID      string `json:"id"`
	Runbook string `json:"runbook"`
	Route   string `json:"route"`
	Alert   string `json:"alert"`
	Status  string `json:"status"` // the alert's: firing | resolved
	Started bool   `json:"started"`
	Folded  bool   `json:"folded"`
	RunID   string `json:"run_id,omitempty"`
	// Note explains a resolved alert that found no open incident.
	Note string `json:"note,omitempty"`
	// ResolveRequested is set when resolve_on_ok asked the incident to resolve.
	ResolveRequested bool   `json:"resolve_requested,omitempty"`
	ResolveError     string `json:"resolve_error,omitempty"`
}

// Unrouted is an alert no route took.
type Unrouted struct {
	Alert  string `json:"alert"`
	Source string `json:"source"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// Response is the body of a 202 answer.
type Response struct {
	Routed    bool             `json:"routed"`
	Incidents []IncidentResult `json:"incidents"`
	Unrouted  []Unrouted       `json:"unrouted,omitempty"`
}

type parseFunc func([]byte) ([]Alert, error)

// handle serves a source authenticated by bearer token or HMAC. Order
// matters: shed load, check the media type, bound the body, authenticate,
// rate-limit, and only then parse.
func (s *Server) handle(source string, parse parseFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, done, err := s.receive(w, r, "application/json")
		defer done()
		if err != nil {
			s.refuse(w, source, err)
			return
		}
		release, rerr := s.auth[source].check(r, body)
		if rerr != nil {
			s.refuse(w, source, rerr)
			return
		}
		accepted := false
		defer func() {
			if !accepted {
				release() // a refused request may be sent again as it is
			}
		}()
		if err := s.limit(source); err != nil {
			s.refuse(w, source, err)
			return
		}
		if err := checkDepth(body, s.cfg.MaxDepth); err != nil {
			s.refuse(w, source, err)
			return
		}
		alerts, err := parse(body)
		if err != nil {
			s.refuse(w, source, err)
			return
		}
		accepted = s.ingest(r.Context(), w, source, alerts)
	}
}

func (s *Server) handleSNS(w http.ResponseWriter, r *http.Request) {
	// SNS posts its JSON envelope as text/plain; charset=UTF-8.
	body, done, err := s.receive(w, r, "text/plain")
	defer done()
	if err != nil {
		s.refuse(w, SourceSNS, err)
		return
	}
	if err := checkDepth(body, s.cfg.MaxDepth); err != nil {
		s.refuse(w, SourceSNS, err)
		return
	}
	env, err := ParseSNSEnvelope(body)
	if err != nil {
		s.refuse(w, SourceSNS, err)
		return
	}
	if h := r.Header.Get("x-amz-sns-message-type"); h != "" && h != env.Type {
		s.refuse(w, SourceSNS, badRequest("x-amz-sns-message-type %q does not match Type %q", h, env.Type))
		return
	}
	if err := s.sns.Verify(r.Context(), env); err != nil {
		s.refuse(w, SourceSNS, err)
		return
	}
	if ts := cloudWatchTime(env.Timestamp); ts.IsZero() || s.cfg.Now().Sub(ts) > s.cfg.SNSMaxAge {
		s.refuse(w, SourceSNS, &RequestError{Status: http.StatusForbidden,
			Msg: fmt.Sprintf("sns message %s Timestamp %q is missing or older than %s", env.MessageID, env.Timestamp, s.cfg.SNSMaxAge)})
		return
	}
	if err := s.limit(SourceSNS); err != nil {
		s.refuse(w, SourceSNS, err)
		return
	}
	switch env.Type {
	case SNSSubscriptionConfirmation:
		if err := ConfirmSubscription(r.Context(), s.cfg.HTTPClient, env); err != nil {
			var rerr *RequestError
			if !errors.As(err, &rerr) {
				rerr = &RequestError{Status: http.StatusBadGateway, Msg: err.Error(), Err: err}
			}
			s.refuse(w, SourceSNS, rerr)
			return
		}
		s.log.Info("confirmed sns subscription", "topic", env.TopicArn)
		respond.JSON(w, http.StatusOK, map[string]any{"confirmed": true, "topic": env.TopicArn})
	case SNSUnsubscribeConfirmation:
		s.log.Warn("sns subscription removed; alerts from this topic stop", "topic", env.TopicArn)
		respond.JSON(w, http.StatusOK, map[string]any{"unsubscribed": true, "topic": env.TopicArn})
	default:
		if err := checkDepth([]byte(env.Message), s.cfg.MaxDepth); err != nil {
			s.refuse(w, SourceSNS, err)
			return
		}
		alerts, err := ParseSNSMessage(env)
		if err != nil {
			s.refuse(w, SourceSNS, err)
			return
		}
		s.ingest(r.Context(), w, SourceSNS, alerts)
	}
}

// receive admits a request (load shedding), checks its declared media
// type and reads its bounded body. done, never nil, counts the request out
// once it is answered.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, mediaType string) (body []byte, done func(), err error) {
	if err := s.admit(); err != nil {
		return nil, func() {}, err
	}
	done = func() { s.waiting.Add(-1) }
	if err := checkContentType(r, mediaType); err != nil {
		return nil, done, err
	}
	body, err = s.readBody(w, r)
	return body, done, err
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &RequestError{Status: http.StatusRequestEntityTooLarge,
				Msg: fmt.Sprintf("body is larger than %d bytes", s.cfg.MaxBodyBytes)}
		}
		return nil, badRequest("read body: %v", err)
	}
	return body, nil
}

// admit counts a request in, or refuses it when MaxWaiting requests are
// already being handled.
func (s *Server) admit() error {
	if s.waiting.Add(1) <= int64(s.cfg.MaxWaiting) {
		return nil
	}
	s.waiting.Add(-1)
	return &RequestError{Status: http.StatusServiceUnavailable, RetryAfter: time.Second,
		Msg: fmt.Sprintf("overloaded: %d alert requests are already waiting for Temporal; retry later", s.cfg.MaxWaiting)}
}

// checkContentType refuses a body not declared as the media type its
// format defines, before it is read.
func checkContentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Msg: "missing Content-Type: send " + want}
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Type %q is not %s", ct, want)}
	}
	return nil
}

func (s *Server) limit(source string) error {
	ok, wait := s.limits[source].take()
	if ok {
		return nil
	}
	return &RequestError{Status: http.StatusTooManyRequests, RetryAfter: wait,
		Msg: fmt.Sprintf("rate limit for source %s exceeded; retry in %s", source, wait.Round(time.Millisecond))}
}

// refuse answers a refusal with its status and reason, and logs it.
func (s *Server) refuse(w http.ResponseWriter, source string, err error) {
	var rerr *RequestError
	if !errors.As(err, &rerr) {
		rerr = &RequestError{Status: http.StatusInternalServerError, Msg: err.Error(), Err: err}
	}
	if rerr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(rerr.RetryAfter.Seconds())))))
	}
	s.log.Warn("alert refused", "source", source, "status", rerr.Status, "reason", rerr.Msg)
	s.cfg.Counter.AlertRequestRefused(source, rerr.Status)
	respond.JSON(w, rerr.Status, errorBody{Error: rerr.Msg})
}

// ingest routes alerts and folds them into incidents, and reports whether
// it answered 202. Every alert is planned first, so a request with one bad
// alert starts nothing; then each alert joins the next signal for its
// incident (group commit, fold.go), and the answer waits for all of them.
func (s *Server) ingest(ctx context.Context, w http.ResponseWriter, source string, alerts []Alert) bool {
	s.cfg.Counter.AlertsReceived(source, len(alerts))
	resp := Response{Incidents: []IncidentResult{}}
	var plans []*plan
	for _, a := range alerts {
		if a.Status == StatusUnknown {
			resp.Unrouted = append(resp.Unrouted, Unrouted{Alert: a.Name, Source: a.Source, Status: a.Status,
				Reason: "alarm state is neither ALARM nor OK (insufficient data is not an incident)"})
			continue
		}
		p, err := planAlert(a, s.cfg.Routes, s.cfg.Library)
		if err != nil {
			s.refuse(w, source, err)
			return false
		}
		if p == nil {
			s.log.Info("alert matched no route", "source", a.Source, "alert", a.Name, "status", a.Status, "fingerprint", a.Fingerprint)
			resp.Unrouted = append(resp.Unrouted, Unrouted{Alert: a.Name, Source: a.Source, Status: a.Status, Reason: "no route matches"})
			continue
		}
		plans = append(plans, p)
	}
	now := s.cfg.Now().UTC()
	folds := make([]*fold, len(plans))
	for i, p := range plans {
		folds[i] = &fold{plan: p, sig: p.alert.Signal(now)}
		s.folds.add(ctx, folds[i])
	}
	var failed error
	folded := 0
	for _, f := range folds {
		res, err := s.folds.wait(ctx, f)
		if err != nil && failed == nil {
			failed = err
		}
		if res.Folded {
			folded++
		}
		resp.Incidents = append(resp.Incidents, res)
	}
	// Counted even when the request is refused below: those alerts are in
	// their incidents already.
	s.cfg.Counter.AlertsFolded(source, folded)
	s.cfg.Counter.AlertsUnrouted(source, len(resp.Unrouted))
	switch {
	case ctx.Err() != nil:
		s.log.Warn("alert sender left before its answer", "source", source, "err", ctx.Err())
		return false
	case failed != nil:
		// The sender retries; alerts of this request that were folded
		// already will be counted again then (at least once, never lost).
		s.refuse(w, source, &RequestError{Status: http.StatusServiceUnavailable, RetryAfter: time.Second, Msg: failed.Error(), Err: failed})
		return false
	}
	resp.Routed = len(plans) > 0
	respond.JSON(w, http.StatusAccepted, resp)
	return true
}

// flush sends the one signal that carries folds (one incident, one status)
// and sets each fold's result. The signal stands for all of them (Count)
// and carries the first alert as its sample; a firing signal starts the
// incident with the first alert's input if none is open.
func (s *Server) flush(ctx context.Context, folds []*fold) {
	first := folds[0]
	id := first.plan.input.ID
	sig := first.sig
	sig.Count = 0
	for _, f := range folds {
		sig.Count += max(f.sig.Count, 1)
		f.res = IncidentResult{ID: id, Runbook: f.plan.input.Runbook.Metadata.Name, Route: f.plan.route.Name, Alert: f.plan.alert.Name, Status: f.sig.Status}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SignalTimeout)
	defer cancel()
	fail := func(err error) {
		s.log.Error("fold alerts into incident", "incident", id, "status", sig.Status, "alerts", sig.Count, "err", err)
		for _, f := range folds {
			f.err = err
		}
	}
	if sig.Status == StatusFiring {
		started, runID, err := s.cfg.Starter.FoldAlert(ctx, first.plan.input, sig)
		if err != nil {
			fail(err)
			return
		}
		for i, f := range folds {
			f.res.Started, f.res.Folded, f.res.RunID = started && i == 0, true, runID
		}
		s.log.Info("alerts folded into incident", "source", sig.Source, "alert", sig.Name, "route", first.plan.route.Name,
			"runbook", first.res.Runbook, "incident", id, "alerts", sig.Count, "started", started)
		return
	}
	// Resolved: record it on the open incident, never start one for it.
	err := s.cfg.Starter.SignalAlert(ctx, id, sig)
	if errors.Is(err, ErrNoOpenIncident) {
		s.log.Info("resolved alert has no open incident", "alert", sig.Name, "incident", id, "alerts", sig.Count)
		for _, f := range folds {
			f.res.Note = "no open incident for this resolved alert"
		}
		return
	}
	if err != nil {
		fail(err)
		return
	}
	var asked []*fold
	for _, f := range folds {
		f.res.Folded = true
		if f.plan.route.ResolveOnOK {
			asked = append(asked, f)
		}
	}
	if len(asked) == 0 {
		return
	}
	// One resolve for the signal, however many alerts asked for it.
	a := asked[0]
	err = s.cfg.Starter.Resolve(ctx, id, contract.ResolveRequest{
		Actor:  "alert:" + a.sig.Source,
		Reason: fmt.Sprintf("alert %s resolved (route %s, resolve_on_ok)", a.sig.Name, a.plan.route.Name),
	})
	if err != nil {
		// The alert is recorded; a refused resolve (already resolving,
		// awaiting approval) is reported, not retried by the sender.
		s.log.Warn("resolve on ok failed", "incident", id, "err", err)
	}
	for _, f := range asked {
		if err != nil {
			f.res.ResolveError = err.Error()
		} else {
			f.res.ResolveRequested = true
		}
	}
}
