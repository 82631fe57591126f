package awsfake

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// STS is the fake STS service: AssumeRole hands out fixed temporary
// credentials and remembers which roles were assumed.
type STS struct {
	q queryProtocol

	mu      sync.Mutex
	assumed []string
	now     func() time.Time
}

// RegisterSTS adds the STS service to srv.
func RegisterSTS(srv *Server) *STS {
	s := &STS{q: queryProtocol{xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"}, now: time.Now}
	srv.Handle("sts", s)
	return s
}

// AssumedRoles lists the role ARNs assumed so far, in order.
func (s *STS) AssumedRoles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assumed...)
}

// Operation implements ServiceHandler.
func (s *STS) Operation(r *http.Request) string { return s.q.operation(r) }

// WriteError implements ServiceHandler.
func (s *STS) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	s.q.writeError(w, status, code, message)
}

// Mutating implements ServiceHandler: STS calls change no resource state.
func (s *STS) Mutating(string) bool { return false }

// Serve implements ServiceHandler.
func (s *STS) Serve(w http.ResponseWriter, r *http.Request, op string) {
	f := readForm(r)
	switch op {
	case "AssumeRole":
		arn, session := f.Get("RoleArn"), f.Get("RoleSessionName")
		if arn == "" || session == "" {
			s.q.writeError(w, http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
			return
		}
		s.mu.Lock()
		s.assumed = append(s.assumed, arn)
		n := len(s.assumed)
		s.mu.Unlock()
		exp := s.now().Add(time.Hour).UTC().Format(time.RFC3339)
		s.q.result(w, op, "<Credentials>"+el("AccessKeyId", fmt.Sprintf("ASIAFAKE%08d", n))+el("SecretAccessKey", "fake-secret")+
			el("SessionToken", "fake-session-token")+el("Expiration", exp)+"</Credentials>"+
			"<AssumedRoleUser>"+el("Arn", arn+"/"+session)+el("AssumedRoleId", "AROAFAKE:"+session)+"</AssumedRoleUser>")
	default:
		s.q.writeError(w, http.StatusBadRequest, "InvalidAction", "awsfake: STS operation not implemented: "+op)
	}
}
