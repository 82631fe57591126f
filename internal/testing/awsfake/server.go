package awsfake

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Call is one request the server received.
type Call struct {
	Service   string // signing name: iam, sts, ssm, lambda, apigateway, bedrock, monitoring
	Operation string // API operation name, e.g. PutRolePolicy
	Mutating  bool   // true for calls that change state
	Faulted   bool   // true when an injected fault answered it
	At        time.Time
}

// Fault makes the next Times calls of Operation fail.
type Fault struct {
	Operation string // API operation name; "" matches every operation
	// Code is the AWS error code: ThrottlingException, AccessDenied,
	// AccessDeniedException, InternalFailure, ...
	Code    string
	Status  int // HTTP status: 400 for throttling (IAM uses 400 Throttling), 403, 500
	Message string
	Times   int // how many calls to fail; 0 means 1
	// After lets that many matching calls through before failing, e.g. to
	// fail a verification read but not the read before a write.
	After int
}

// ServiceHandler serves one service's protocol. op is filled in by the
// handler (the operation it parsed) so the call log names it.
type ServiceHandler interface {
	// Operation parses which operation a request is, without consuming the body.
	Operation(r *http.Request) string
	// Serve handles the request; it may assume no fault applies.
	Serve(w http.ResponseWriter, r *http.Request, op string)
	// WriteError writes an AWS error in this protocol's shape.
	WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string)
	// Mutating reports whether op changes state.
	Mutating(op string) bool
}

// Server is the fake AWS endpoint.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	calls    []Call
	faults   []Fault
	services map[string]ServiceHandler // by signing name, plus "bedrock-agent"
	now      func() time.Time
	// observers see every call as it is recorded, even after ResetCalls;
	// served see it once it has been served.
	observers []func(Call)
	served    []func(Call)
}

// New starts an empty server; the service handlers register themselves in
// Handle. Close it with t.Cleanup(srv.Close).
func New() *Server {
	s := &Server{services: map[string]ServiceHandler{}, now: time.Now}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Handle registers the handler for a signing name ("iam", "ssm", ...). For
// bedrock, register "bedrock-agent" and "bedrock" separately.
func (s *Server) Handle(service string, h ServiceHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[service] = h
}

// InjectFault queues a fault; faults are consumed in order.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// Calls returns a copy of the call log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// MutatingCalls returns the calls that changed (or tried to change) state.
func (s *Server) MutatingCalls() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Mutating {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls clears the call log (state is kept).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Config returns an aws.Config whose clients all talk to this server with
// static credentials in us-east-1.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(s.URL),
		// Keep SDK retries fast in tests; the retry count stays the SDK default (3 attempts).
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.NewExponentialJitterBackoff(2 * time.Millisecond)
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	service := ""
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		service = m[1]
	}
	if service == "bedrock" && isBedrockAgentPath(r.URL.Path) {
		service = "bedrock-agent"
	}
	s.mu.Lock()
	h := s.services[service]
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "awsfake: no handler for service "+service, http.StatusNotImplemented)
		return
	}
	op := h.Operation(r)
	call := Call{Service: service, Operation: op, Mutating: h.Mutating(op), At: s.now()}
	if f, ok := s.takeFault(op); ok {
		call.Faulted = true
		s.record(call)
		h.WriteError(w, r, f.Status, f.Code, f.Message)
		return
	}
	s.record(call)
	h.Serve(w, r, op)
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	for _, f := range served {
		f(call)
	}
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	observers := s.observers
	s.mu.Unlock()
	for _, f := range observers {
		f(c)
	}
}

func (s *Server) takeFault(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Operation != "" && f.Operation != op {
			continue
		}
		if f.After > 0 {
			f.After--
			return Fault{}, false
		}
		out := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		if out.Message == "" {
			out.Message = "injected fault " + out.Code
		}
		return out, true
	}
	return Fault{}, false
}

var bedrockAgentPrefixes = regexp.MustCompile(`^/(agents|knowledgebases)(/|$)`)

func isBedrockAgentPath(p string) bool { return bedrockAgentPrefixes.MatchString(p) }

// Handler returns the handler registered for a signing name, so tests that
// build the server generically can reach a service's seeding helpers:
// srv.Handler("iam").(*awsfake.IAM).
func (s *Server) Handler(service string) ServiceHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.services[service]
}

// OnCall registers f to see every call as it is recorded. Unlike Calls,
// it is not affected by ResetCalls, so a test helper can check every call
// a test made (for example against the worker's IAM policy).
func (s *Server) OnCall(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, f)
}

// AfterServe registers f to see every call once it has been served: its
// change is made and its answer written, but not yet flushed to the
// caller. A test kills the caller there to lose the answer of a write
// that landed.
func (s *Server) AfterServe(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served = append(s.served, f)
}
