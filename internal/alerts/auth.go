package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
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
	// replays, when set, refuses an HMAC signature seen before.
	replays *replayGuard
}

func unauthorized(msg string) *RequestError {
	return &RequestError{Status: http.StatusUnauthorized, Msg: msg}
}

// check authenticates r. With replay protection, an accepted signature is
// remembered; release forgets it again, for a request that was refused
// later (its sender may send it again as it is). release is never nil.
func (a *authenticator) check(r *http.Request, body []byte) (release func(), rerr *RequestError) {
	switch {
	case len(a.bearer) > 0:
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return noRelease, unauthorized("missing bearer token (Authorization: Bearer ...)")
		}
		if subtle.ConstantTimeCompare([]byte(tok), a.bearer) != 1 {
			return noRelease, unauthorized("bearer token is not valid for source " + a.source)
		}
		return noRelease, nil
	case len(a.hmac) > 0:
		sig, ts := r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
		if sig == "" || ts == "" {
			return noRelease, unauthorized("missing " + HeaderSignature + " or " + HeaderTimestamp + " header")
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return noRelease, unauthorized(HeaderTimestamp + " is not unix seconds")
		}
		sent := time.Unix(secs, 0)
		if d := a.now().Sub(sent); d > SignatureWindow || d < -SignatureWindow {
			return noRelease, unauthorized(HeaderTimestamp + " is more than 5 minutes from now")
		}
		if !hmac.Equal([]byte(sig), []byte(SignHMAC(a.hmac, ts, body))) {
			return noRelease, unauthorized(HeaderSignature + " does not match the body")
		}
		if a.replays == nil {
			return noRelease, nil
		}
		return a.replays.claim(sig, sent.Add(SignatureWindow))
	}
	return noRelease, &RequestError{Status: http.StatusForbidden, Msg: "source " + a.source + " has no credentials configured; it accepts nothing"}
}

func noRelease() {}

// replayGuard remembers the signatures of HMAC-signed requests until their
// timestamp leaves SignatureWindow (after which the window check refuses
// them anyway), so a captured request cannot be sent a second time. Its
// size is bounded by the source's rate limit times the window.
type replayGuard struct {
	mu      sync.Mutex
	now     func() time.Time
	seen    map[string]seenSignature
	sweepAt int
}

type seenSignature struct {
	at      time.Time // when it was accepted
	expires time.Time // when its timestamp leaves the window
}

func newReplayGuard(now func() time.Time) *replayGuard {
	return &replayGuard{now: now, seen: map[string]seenSignature{}, sweepAt: 1024}
}

// claim records sig until expires, or refuses it (409) when it is known.
func (g *replayGuard) claim(sig string, expires time.Time) (release func(), rerr *RequestError) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if prev, ok := g.seen[sig]; ok && now.Before(prev.expires) {
		return noRelease, &RequestError{Status: http.StatusConflict, Msg: fmt.Sprintf(
			"replayed request: this %s was already received at %s; sign every request with a fresh %s",
			HeaderSignature, prev.at.UTC().Format(time.RFC3339), HeaderTimestamp)}
	}
	if len(g.seen) >= g.sweepAt {
		for k, v := range g.seen {
			if !now.Before(v.expires) {
				delete(g.seen, k)
			}
		}
		g.sweepAt = max(1024, 2*len(g.seen))
	}
	g.seen[sig] = seenSignature{at: now, expires: expires}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		delete(g.seen, sig)
	}, nil
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
