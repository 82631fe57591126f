package awsfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// route maps a method and a path pattern to an operation name. Path
// parameters are the pattern's submatches.
type route struct {
	method string
	path   *regexp.Regexp
	op     string
}

// restRoutes resolves restJson1 requests (lambda, apigateway) to operations.
type restRoutes []route

func (rs restRoutes) match(r *http.Request) (op string, params []string) {
	for _, rt := range rs {
		if rt.method != r.Method {
			continue
		}
		if m := rt.path.FindStringSubmatch(r.URL.EscapedPath()); m != nil {
			for _, p := range m[1:] {
				if u, err := url.PathUnescape(p); err == nil {
					p = u
				}
				params = append(params, p)
			}
			return rt.op, params
		}
	}
	return "", nil
}

func (rs restRoutes) operation(r *http.Request) string {
	op, _ := rs.match(r)
	return op
}

// writeJSON writes a restJson1 response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeRestError writes a restJson1 error: the code in X-Amzn-ErrorType and
// in the body, as the services do.
func writeRestError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

// restPattern compiles "/usageplans/{}" style patterns into anchored regexps.
func restPattern(p string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\{\}`, `([^/]+)`) + "$")
}
