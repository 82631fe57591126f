package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HMAC authentication headers. The signature covers the timestamp and the
// body ("<timestamp>.<body>"), so a captured request cannot be replayed
// with a fresh timestamp once the window has passed.
const (
	HeaderSignature = "X-Quench-Signature"
	HeaderTimestamp = "X-Quench-Timestamp"
	// SignatureWindow is how far a request's timestamp may be from now.
	SignatureWindow = 5 * time.Minute
)

// SignHMAC returns the X-Quench-Signature value for a body sent at ts
// (unix seconds), for senders and tests.
func SignHMAC(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// authenticator checks one source's requests. A source without a secret
// refuses everything: failing closed beats an open endpoint.
type authenticator struct {
	source string
	bearer []byte
	hmac   []byte
	now    func() time.Time
}

func unauthorized(msg string) *RequestError {
	return &RequestError{Status: http.StatusUnauthorized, Msg: msg}
}

func (a *authenticator) check(r *http.Request, body []byte) *RequestError {
	switch {
	case len(a.bearer) > 0:
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return unauthorized("missing bearer token (Authorization: Bearer ...)")
		}
		if subtle.ConstantTimeCompare([]byte(tok), a.bearer) != 1 {
			return unauthorized("bearer token is not valid for source " + a.source)
		}
		return nil
	case len(a.hmac) > 0:
		sig, ts := r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
		if sig == "" || ts == "" {
			return unauthorized("missing " + HeaderSignature + " or " + HeaderTimestamp + " header")
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return unauthorized(HeaderTimestamp + " is not unix seconds")
		}
		if d := a.now().Sub(time.Unix(secs, 0)); d > SignatureWindow || d < -SignatureWindow {
			return unauthorized(HeaderTimestamp + " is more than 5 minutes from now")
		}
		if !hmac.Equal([]byte(sig), []byte(SignHMAC(a.hmac, ts, body))) {
			return unauthorized(HeaderSignature + " does not match the body")
		}
		return nil
	}
	return &RequestError{Status: http.StatusForbidden, Msg: "source " + a.source + " has no credentials configured; it accepts nothing"}
}

// bucket is a token bucket with an injected clock.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	if rate <= 0 {
		rate = DefaultRatePerSecond
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// take spends a token, or says how long until one is available.
func (b *bucket) take() (ok bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return false, wait
}
