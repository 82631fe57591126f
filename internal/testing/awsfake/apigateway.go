package awsfake

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// APIGateway is the fake API Gateway (REST APIs) service: usage plans and
// API keys.
type APIGateway struct {
	routes restRoutes

	mu    sync.Mutex
	plans map[string]*fakePlan
	keys  map[string]*fakeAPIKey
	// rejectReplaceWithoutThrottle makes "replace /throttle/..." on a plan
	// without a throttle a BadRequest (AWS's behaviour there is unconfirmed).
	rejectReplaceWithoutThrottle bool
}

// Throttle is a usage plan's throttle.
type Throttle struct {
	RateLimit  float64
	BurstLimit int32
}

type fakePlan struct {
	name     string
	throttle *Throttle
}

type fakeAPIKey struct {
	name    string
	enabled bool
}

// RegisterAPIGateway adds an empty API Gateway service to srv.
func RegisterAPIGateway(srv *Server) *APIGateway {
	a := &APIGateway{plans: map[string]*fakePlan{}, keys: map[string]*fakeAPIKey{}, routes: restRoutes{
		{http.MethodGet, restPattern("/usageplans/{}"), "GetUsagePlan"},
		{http.MethodPatch, restPattern("/usageplans/{}"), "UpdateUsagePlan"},
		{http.MethodGet, restPattern("/apikeys/{}"), "GetApiKey"},
		{http.MethodPatch, restPattern("/apikeys/{}"), "UpdateApiKey"},
	}}
	srv.Handle("apigateway", a)
	return a
}

// AddUsagePlan creates a usage plan; throttle may be nil.
func (a *APIGateway) AddUsagePlan(id, name string, throttle *Throttle) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := &fakePlan{name: name}
	if throttle != nil {
		t := *throttle
		p.throttle = &t
	}
	a.plans[id] = p
}

// UsagePlanThrottle returns a plan's throttle (nil when unset).
func (a *APIGateway) UsagePlanThrottle(id string) *Throttle {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.plans[id]; p != nil && p.throttle != nil {
		t := *p.throttle
		return &t
	}
	return nil
}

// AddAPIKey creates an API key.
func (a *APIGateway) AddAPIKey(id, name string, enabled bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys[id] = &fakeAPIKey{name: name, enabled: enabled}
}

// APIKeyEnabled reports whether a key is enabled.
func (a *APIGateway) APIKeyEnabled(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.keys[id]
	return k != nil && k.enabled
}

// RejectReplaceWithoutThrottle makes the fake refuse "replace" patches of
// /throttle/* on a plan that has no throttle, so both behaviours AWS might
// have can be tested.
func (a *APIGateway) RejectReplaceWithoutThrottle(v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rejectReplaceWithoutThrottle = v
}

// Operation implements ServiceHandler.
func (a *APIGateway) Operation(r *http.Request) string { return a.routes.operation(r) }

// WriteError implements ServiceHandler.
func (a *APIGateway) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeRestError(w, status, code, message)
}

// Mutating implements ServiceHandler.
func (a *APIGateway) Mutating(op string) bool { return op == "UpdateUsagePlan" || op == "UpdateApiKey" }

type patchOp struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value"`
}

// Serve implements ServiceHandler.
func (a *APIGateway) Serve(w http.ResponseWriter, r *http.Request, op string) {
	_, params := a.routes.match(r)
	if len(params) != 1 {
		writeRestError(w, http.StatusNotFound, "NotFoundException", "awsfake: API Gateway operation not implemented: "+r.Method+" "+r.URL.Path)
		return
	}
	id := params[0]
	var in struct {
		PatchOperations []patchOp `json:"patchOperations"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeRestError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch op {
	case "GetUsagePlan", "UpdateUsagePlan":
		p := a.plans[id]
		if p == nil {
			writeRestError(w, http.StatusNotFound, "NotFoundException", "Invalid Usage Plan ID specified")
			return
		}
		if op == "UpdateUsagePlan" {
			next, err := a.patchPlan(*p, in.PatchOperations)
			if err != nil {
				writeRestError(w, http.StatusBadRequest, "BadRequestException", err.Error())
				return
			}
			*p = next
		}
		out := map[string]any{"id": id, "name": p.name}
		if p.throttle != nil {
			out["throttle"] = map[string]any{"rateLimit": p.throttle.RateLimit, "burstLimit": p.throttle.BurstLimit}
		}
		writeJSON(w, http.StatusOK, out)
	case "GetApiKey", "UpdateApiKey":
		k := a.keys[id]
		if k == nil {
			writeRestError(w, http.StatusNotFound, "NotFoundException", "Invalid API Key identifier specified")
			return
		}
		if op == "UpdateApiKey" {
			next := *k
			for _, po := range in.PatchOperations {
				if po.Op != "replace" || po.Path != "/enabled" || po.Value == nil {
					writeRestError(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("Invalid patch operation specified: %s %s", po.Op, po.Path))
					return
				}
				v, err := strconv.ParseBool(*po.Value)
				if err != nil {
					writeRestError(w, http.StatusBadRequest, "BadRequestException", "Invalid value for /enabled: "+*po.Value)
					return
				}
				next.enabled = v
			}
			*k = next
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": k.name, "enabled": k.enabled})
	}
}

// patchPlan applies patch operations to a copy of p; all or nothing.
func (a *APIGateway) patchPlan(p fakePlan, ops []patchOp) (fakePlan, error) {
	if p.throttle != nil {
		t := *p.throttle
		p.throttle = &t
	}
	for _, po := range ops {
		switch {
		case po.Op == "remove" && po.Path == "/throttle":
			p.throttle = nil
		case (po.Op == "add" || po.Op == "replace") && (po.Path == "/throttle/rateLimit" || po.Path == "/throttle/burstLimit"):
			if po.Value == nil {
				return p, fmt.Errorf("Invalid patch operation: value required for %s", po.Path)
			}
			if p.throttle == nil {
				if po.Op == "replace" && a.rejectReplaceWithoutThrottle {
					return p, fmt.Errorf("Invalid patch path %s: usage plan has no throttle", po.Path)
				}
				p.throttle = &Throttle{}
			}
			if po.Path == "/throttle/rateLimit" {
				v, err := strconv.ParseFloat(*po.Value, 64)
				if err != nil || v < 0 {
					return p, fmt.Errorf("Invalid rate limit: %s", *po.Value)
				}
				p.throttle.RateLimit = v
			} else {
				v, err := strconv.ParseInt(*po.Value, 10, 32)
				if err != nil || v < 0 {
					return p, fmt.Errorf("Invalid burst limit: %s", *po.Value)
				}
				p.throttle.BurstLimit = int32(v)
			}
		default:
			return p, fmt.Errorf("Invalid patch operation specified. Must be one of: [add, remove, replace] on a supported path, got %s %s", po.Op, po.Path)
		}
	}
	return p, nil
}
