package codec

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/converter"
)

// Environment variable of the codec endpoint's bearer token (or
// QUENCH_CODEC_AUTH_TOKEN_FILE).
const (
	EnvAuthToken     = "QUENCH_CODEC_AUTH_TOKEN"
	EnvAuthTokenFile = EnvAuthToken + "_FILE"
)

// MaxRequestBytes bounds a request to the codec endpoint: the UI sends a
// page of history's payloads at once, each up to Temporal's 2 MB limit.
const MaxRequestBytes = 32 << 20

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// Token is the bearer token every POST must carry. Empty is refused
	// unless Insecure is set.
	Token string
	// Insecure serves without a token (for a codec server on localhost only;
	// the caller checks the address).
	Insecure bool
	// AllowOrigin is the one browser origin (the Temporal UI's, e.g.
	// https://temporal.example.com) allowed to call the endpoint. A request
	// with any other Origin header is refused; requests without one (the
	// temporal CLI) are not browser requests and need only the token.
	AllowOrigin string
}

// Handler serves Temporal's remote codec endpoints (POST …/encode and
// …/decode, payloads as JSON) so the Temporal UI and CLI can show decrypted
// history to whoever holds the token. CORS preflights (OPTIONS) from the
// allowed origin are answered without a token, as browsers send none.
func Handler(c *Codec, o HandlerOptions) (http.Handler, error) {
	if c == nil {
		return nil, fmt.Errorf("codec endpoint: no keys (set %s or %s)", EnvKeys, EnvKeysFile)
	}
	if o.Token == "" && !o.Insecure {
		return nil, fmt.Errorf("codec endpoint: %s is not set; every request must carry a bearer token (or serve on localhost with --insecure-no-auth)", EnvAuthToken)
	}
	origin := ""
	if o.AllowOrigin != "" {
		var err error
		if origin, err = normalizeOrigin(o.AllowOrigin); err != nil {
			return nil, err
		}
	}
	return &handler{codec: converter.NewPayloadCodecHTTPHandler(c), want: []byte("Bearer " + o.Token), insecure: o.Insecure, origin: origin}, nil
}

// normalizeOrigin turns a URL into the origin a browser sends:
// scheme://host[:port], no path.
func normalizeOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("codec endpoint: allowed origin %q: want scheme://host[:port], e.g. http://localhost:8233", raw)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

type handler struct {
	codec    http.Handler
	want     []byte
	insecure bool
	origin   string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" {
		if h.origin == "" || o != h.origin {
			http.Error(w, fmt.Sprintf("origin %s is not allowed (the codec server allows %s)", o, orNone(h.origin)), http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions {
		if r.Header.Get("Origin") == "" {
			http.Error(w, "preflight without Origin", http.StatusBadRequest)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.insecure && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), h.want) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="quench codec"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	h.codec.ServeHTTP(w, r)
}

func orNone(s string) string {
	if s == "" {
		return "no browser origin"
	}
	return s
}
