package slackapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxClockSkew is how far a request's timestamp may be from now, either
// way, before it is refused as a replay.
const MaxClockSkew = 5 * time.Minute

// Header names Slack signs requests with.
const (
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	HeaderSignature = "X-Slack-Signature"
)

// ErrUnverified is wrapped by every VerifyRequest failure.
var ErrUnverified = errors.New("slack request not verified")

// VerifyRequest checks that body came from Slack: the v0 signature is
// HMAC-SHA256 with the signing secret over "v0:{timestamp}:{raw body}",
// compared in constant time, and the timestamp must be within MaxClockSkew
// of now. It must run before anything parses the body. An empty secret
// refuses everything: a misconfigured server must not accept clicks.
func VerifyRequest(r *http.Request, body []byte, secret string, now func() time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: no signing secret configured (SLACK_SIGNING_SECRET)", ErrUnverified)
	}
	tsHeader := r.Header.Get(HeaderTimestamp)
	sigHeader := r.Header.Get(HeaderSignature)
	if tsHeader == "" || sigHeader == "" {
		return fmt.Errorf("%w: missing %s or %s header", ErrUnverified, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed %s header", ErrUnverified, HeaderTimestamp)
	}
	if now == nil {
		now = time.Now
	}
	skew := now().Sub(time.Unix(ts, 0))
	if skew > MaxClockSkew {
		return fmt.Errorf("%w: timestamp is %s old, more than %s (replayed, or the clock is wrong)", ErrUnverified, skew.Round(time.Second), MaxClockSkew)
	}
	if skew < -MaxClockSkew {
		return fmt.Errorf("%w: timestamp is %s in the future, more than %s (the clock is wrong)", ErrUnverified, (-skew).Round(time.Second), MaxClockSkew)
	}
	hexSig, ok := strings.CutPrefix(sigHeader, "v0=")
	if !ok {
		return fmt.Errorf("%w: unsupported signature version", ErrUnverified)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: malformed signature", ErrUnverified)
	}
	if !hmac.Equal(got, signature(secret, tsHeader, body)) {
		return fmt.Errorf("%w: signature mismatch", ErrUnverified)
	}
	return nil
}

func signature(secret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the X-Slack-Signature value Slack would send for body at
// timestamp; tests and local tools use it to sign requests as Slack does.
func Sign(secret string, timestamp time.Time, body []byte) (tsHeader, sigHeader string) {
	tsHeader = strconv.FormatInt(timestamp.Unix(), 10)
	return tsHeader, "v0=" + hex.EncodeToString(signature(secret, tsHeader, body))
}
