package awsfake

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// SSM is the fake Systems Manager Parameter Store.
type SSM struct {
	p jsonProtocol

	mu     sync.Mutex
	params map[string]*fakeParam
}

type fakeParam struct {
	value, typ string
	version    int64
	modified   time.Time
}

// RegisterSSM adds an empty parameter store to srv.
func RegisterSSM(srv *Server) *SSM {
	s := &SSM{p: jsonProtocol{targetPrefix: "AmazonSSM."}, params: map[string]*fakeParam{}}
	srv.Handle("ssm", s)
	return s
}

// SetParameter seeds a parameter (type String, StringList or SecureString).
func (s *SSM) SetParameter(name, value, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	if p == nil {
		p = &fakeParam{}
		s.params[name] = p
	}
	p.value, p.typ, p.version, p.modified = value, typ, p.version+1, time.Now()
}

// Parameter returns a parameter's value, type and version.
func (s *SSM) Parameter(name string) (value, typ string, version int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	if p == nil {
		return "", "", 0, false
	}
	return p.value, p.typ, p.version, true
}

// Operation implements ServiceHandler.
func (s *SSM) Operation(r *http.Request) string { return s.p.operation(r) }

// WriteError implements ServiceHandler.
func (s *SSM) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	s.p.writeError(w, status, code, message)
}

// Mutating implements ServiceHandler.
func (s *SSM) Mutating(op string) bool { return op == "PutParameter" || op == "DeleteParameter" }

// Serve implements ServiceHandler.
func (s *SSM) Serve(w http.ResponseWriter, r *http.Request, op string) {
	var in struct {
		Name      string
		Value     *string
		Type      string
		Overwrite *bool
	}
	if err := decodeBody(r, &in); err != nil {
		s.p.writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[in.Name]
	notFound := func() {
		s.p.writeError(w, http.StatusBadRequest, "ParameterNotFound", fmt.Sprintf("Parameter %s not found.", in.Name))
	}
	switch op {
	case "GetParameter":
		if p == nil {
			notFound()
			return
		}
		s.p.result(w, map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": p.typ, "Value": p.value, "Version": p.version, "DataType": "text",
			"ARN":              fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/%s", AccountID, trimSlash(in.Name)),
			"LastModifiedDate": float64(p.modified.UnixMilli()) / 1000,
		}})
	case "PutParameter":
		if in.Value == nil || in.Name == "" {
			s.p.writeError(w, http.StatusBadRequest, "ValidationException", "Name and Value are required")
			return
		}
		if p != nil && (in.Overwrite == nil || !*in.Overwrite) {
			s.p.writeError(w, http.StatusBadRequest, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
			return
		}
		typ := in.Type
		if typ == "" {
			if p == nil {
				s.p.writeError(w, http.StatusBadRequest, "ValidationException", "A parameter type is required when you create a parameter.")
				return
			}
			typ = p.typ
		}
		if typ != "String" && typ != "StringList" && typ != "SecureString" {
			s.p.writeError(w, http.StatusBadRequest, "ValidationException", "invalid parameter type "+typ)
			return
		}
		if p == nil {
			p = &fakeParam{}
			s.params[in.Name] = p
		}
		p.value, p.typ, p.version, p.modified = *in.Value, typ, p.version+1, time.Now()
		s.p.result(w, map[string]any{"Version": p.version, "Tier": "Standard"})
	case "DeleteParameter":
		if p == nil {
			notFound()
			return
		}
		delete(s.params, in.Name)
		s.p.result(w, map[string]any{})
	default:
		s.p.writeError(w, http.StatusBadRequest, "InvalidAction", "awsfake: SSM operation not implemented: "+op)
	}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}
