package awsfake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

var accessKeyRE = regexp.MustCompile(`Credential=([^/]+)/`)

// assumedRoleARN is the session ARN STS reports for a role session:
// arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION (the role's path dropped).
func assumedRoleARN(roleARN, session string) string {
	account, name := AccountID, roleARN
	if parts := strings.SplitN(roleARN, ":", 6); len(parts) == 6 {
		account, name = parts[4], parts[5]
	}
	name = name[strings.LastIndex(name, "/")+1:]
	return "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session
}

// STS is the fake STS service: AssumeRole hands out fixed temporary
// credentials and remembers which roles were assumed.
type STS struct {
	q queryProtocol

	mu      sync.Mutex
	assumed []string
	// issued maps access key ids handed out by AssumeRole to the
	// assumed-role ARN, so GetCallerIdentity can answer for them.
	issued map[string]string
	caller string
	now    func() time.Time
}

// DefaultCallerARN is who the static test credentials are: the worker's role.
const DefaultCallerARN = "arn:aws:sts::" + AccountID + ":assumed-role/quench-worker/quench-test"

// RegisterSTS adds the STS service to srv.
func RegisterSTS(srv *Server) *STS {
	s := &STS{q: queryProtocol{xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"}, now: time.Now,
		issued: map[string]string{}, caller: DefaultCallerARN}
	srv.Handle("sts", s)
	return s
}

// AssumedRoles lists the role ARNs assumed so far, in order.
func (s *STS) AssumedRoles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assumed...)
}

// SetCallerARN sets who the base credentials are (GetCallerIdentity's Arn).
func (s *STS) SetCallerARN(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caller = arn
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
		assumedARN := assumedRoleARN(arn, session)
		s.mu.Lock()
		s.assumed = append(s.assumed, arn)
		key := fmt.Sprintf("ASIAFAKE%08d", len(s.assumed))
		s.issued[key] = assumedARN
		s.mu.Unlock()
		exp := s.now().Add(time.Hour).UTC().Format(time.RFC3339)
		s.q.result(w, op, "<Credentials>"+el("AccessKeyId", key)+el("SecretAccessKey", "fake-secret")+
			el("SessionToken", "fake-session-token")+el("Expiration", exp)+"</Credentials>"+
			"<AssumedRoleUser>"+el("Arn", assumedARN)+el("AssumedRoleId", "AROAFAKE:"+session)+"</AssumedRoleUser>")
	case "GetCallerIdentity":
		s.mu.Lock()
		arn := s.caller
		if m := accessKeyRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil && s.issued[m[1]] != "" {
			arn = s.issued[m[1]]
		}
		s.mu.Unlock()
		account := AccountID
		if parts := strings.Split(arn, ":"); len(parts) > 4 {
			account = parts[4]
		}
		s.q.result(w, op, el("Arn", arn)+el("UserId", "AIDAFAKE")+el("Account", account))
	default:
		s.q.writeError(w, http.StatusBadRequest, "InvalidAction", "awsfake: STS operation not implemented: "+op)
	}
}
