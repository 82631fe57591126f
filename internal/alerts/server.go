package alerts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
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
}

// Server is the HTTP handler for alert webhooks. Health (/healthz, /readyz)
// belongs to internal/httpapi.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	auth   map[string]*authenticator
	limits map[string]*bucket
	sns    *SNSVerifier
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
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "alerts"),
		auth:   map[string]*authenticator{},
		limits: map[string]*bucket{},
	}
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
		w.Header().Set("Allow", http.MethodPost)
		respond.JSON(w, http.StatusMethodNotAllowed, errorBody{Error: "use POST to send alerts to /alerts/" + src})
		return
	}
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
// matters: bound the body, authenticate, rate-limit, and only then parse.
func (s *Server) handle(source string, parse parseFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := s.readBody(w, r)
		if err != nil {
			s.refuse(w, source, err)
			return
		}
		if rerr := s.auth[source].check(r, body); rerr != nil {
			s.refuse(w, source, rerr)
			return
		}
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
		s.ingest(r.Context(), w, source, alerts)
	}
}

func (s *Server) handleSNS(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
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
	if rerr.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(rerr.RetryAfter.Seconds())))))
	}
	s.log.Warn("alert refused", "source", source, "status", rerr.Status, "reason", rerr.Msg)
	respond.JSON(w, rerr.Status, errorBody{Error: rerr.Msg})
}

// ingest routes alerts and folds them into incidents. Every alert is
// planned first, so a request with one bad alert starts nothing.
func (s *Server) ingest(ctx context.Context, w http.ResponseWriter, source string, alerts []Alert) {
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
			return
		}
		if p == nil {
			s.log.Info("alert matched no route", "source", a.Source, "alert", a.Name, "status", a.Status, "fingerprint", a.Fingerprint)
			resp.Unrouted = append(resp.Unrouted, Unrouted{Alert: a.Name, Source: a.Source, Status: a.Status, Reason: "no route matches"})
			continue
		}
		plans = append(plans, p)
	}
	now := s.cfg.Now().UTC()
	for _, p := range plans {
		res, err := s.apply(ctx, p, now)
		if err != nil {
			s.log.Error("fold alert into incident", "source", source, "alert", p.alert.Name, "incident", p.input.ID, "err", err)
			respond.JSON(w, http.StatusServiceUnavailable, errorBody{Error: err.Error()})
			return
		}
		resp.Incidents = append(resp.Incidents, res)
	}
	resp.Routed = len(plans) > 0
	respond.JSON(w, http.StatusAccepted, resp)
}

func (s *Server) apply(ctx context.Context, p *plan, now time.Time) (IncidentResult, error) {
	a, id := p.alert, p.input.ID
	res := IncidentResult{ID: id, Runbook: p.input.Runbook.Metadata.Name, Route: p.route.Name, Alert: a.Name, Status: a.Status}
	sig := a.Signal(now)
	if a.Status == StatusFiring {
		started, runID, err := s.cfg.Starter.FoldAlert(ctx, p.input, sig)
		if err != nil {
			return res, err
		}
		res.Started, res.Folded, res.RunID = started, true, runID
		s.log.Info("alert folded into incident", "source", a.Source, "alert", a.Name, "route", p.route.Name,
			"runbook", res.Runbook, "incident", id, "started", started)
		return res, nil
	}
	// Resolved: record it on the open incident, never start one for it.
	err := s.cfg.Starter.SignalAlert(ctx, id, sig)
	if errors.Is(err, ErrNoOpenIncident) {
		res.Note = "no open incident for this resolved alert"
		s.log.Info("resolved alert has no open incident", "alert", a.Name, "incident", id)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Folded = true
	if p.route.ResolveOnOK {
		err := s.cfg.Starter.Resolve(ctx, id, contract.ResolveRequest{
			Actor:  "alert:" + a.Source,
			Reason: fmt.Sprintf("alert %s resolved (route %s, resolve_on_ok)", a.Name, p.route.Name),
		})
		if err != nil {
			// The alert is recorded; a refused resolve (already resolving,
			// awaiting approval) is reported, not retried by the sender.
			res.ResolveError = err.Error()
			s.log.Warn("resolve on ok failed", "incident", id, "err", err)
		} else {
			res.ResolveRequested = true
		}
	}
	return res, nil
}
