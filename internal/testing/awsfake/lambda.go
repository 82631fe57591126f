package awsfake

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Lambda is the fake Lambda service: functions and their reserved concurrency.
type Lambda struct {
	routes restRoutes

	mu        sync.Mutex
	functions map[string]*int32 // reserved concurrency; nil = unreserved
}

// RegisterLambda adds an empty Lambda service to srv.
func RegisterLambda(srv *Server) *Lambda {
	l := &Lambda{functions: map[string]*int32{}, routes: restRoutes{
		{http.MethodGet, restPattern("/2019-09-30/functions/{}/concurrency"), "GetFunctionConcurrency"},
		{http.MethodPut, restPattern("/2017-10-31/functions/{}/concurrency"), "PutFunctionConcurrency"},
		{http.MethodDelete, restPattern("/2017-10-31/functions/{}/concurrency"), "DeleteFunctionConcurrency"},
	}}
	srv.Handle("lambda", l)
	return l
}

// AddFunction creates a function without reserved concurrency.
func (l *Lambda) AddFunction(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.functions[name] = nil
}

// SetReservedConcurrency seeds a function's reserved concurrency.
func (l *Lambda) SetReservedConcurrency(name string, n int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.functions[name] = &n
}

// ReservedConcurrency returns a function's reserved concurrency; ok is
// false when none is reserved.
func (l *Lambda) ReservedConcurrency(name string) (n int32, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.functions[name]; p != nil {
		return *p, true
	}
	return 0, false
}

// Operation implements ServiceHandler.
func (l *Lambda) Operation(r *http.Request) string { return l.routes.operation(r) }

// WriteError implements ServiceHandler.
func (l *Lambda) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeRestError(w, status, code, message)
}

// Mutating implements ServiceHandler.
func (l *Lambda) Mutating(op string) bool { return !strings.HasPrefix(op, "Get") }

// functionName accepts a name, a partial ARN or a full ARN.
func functionName(s string) string {
	if i := strings.LastIndex(s, "function:"); i >= 0 {
		s = s[i+len("function:"):]
	}
	if i := strings.Index(s, ":"); i >= 0 { // a qualifier
		s = s[:i]
	}
	return s
}

// Serve implements ServiceHandler.
func (l *Lambda) Serve(w http.ResponseWriter, r *http.Request, op string) {
	_, params := l.routes.match(r)
	if len(params) != 1 {
		writeRestError(w, http.StatusNotFound, "UnknownOperationException", "awsfake: Lambda operation not implemented: "+r.Method+" "+r.URL.Path)
		return
	}
	name := functionName(params[0])
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, exists := l.functions[name]
	if !exists {
		writeRestError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Function not found: arn:aws:lambda:us-east-1:%s:function:%s", AccountID, name))
		return
	}
	switch op {
	case "GetFunctionConcurrency":
		if cur == nil {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ReservedConcurrentExecutions": *cur})
	case "PutFunctionConcurrency":
		var in struct{ ReservedConcurrentExecutions *int32 }
		if err := decodeBody(r, &in); err != nil || in.ReservedConcurrentExecutions == nil || *in.ReservedConcurrentExecutions < 0 {
			writeRestError(w, http.StatusBadRequest, "InvalidParameterValueException", "ReservedConcurrentExecutions must be a non-negative integer")
			return
		}
		n := *in.ReservedConcurrentExecutions
		l.functions[name] = &n
		writeJSON(w, http.StatusOK, map[string]any{"ReservedConcurrentExecutions": n})
	case "DeleteFunctionConcurrency":
		l.functions[name] = nil
		w.WriteHeader(http.StatusNoContent)
	}
}
