package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxDepth bounds JSON nesting; real payloads stay under 10 levels.
const DefaultMaxDepth = 32

// RequestError is a refusal: an HTTP status and a reason for the sender.
type RequestError struct {
	Status int
	Msg    string
	// RetryAfter is set for 429.
	RetryAfter time.Duration
	Err        error
}

func (e *RequestError) Error() string { return e.Msg }
func (e *RequestError) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// checkDepth refuses JSON nested deeper than max before it is decoded, so a
// hostile payload cannot make the decoder recurse without bound.
func checkDepth(data []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for i, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return badRequest("JSON nested deeper than %d levels at byte offset %d", max, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// decodeJSON decodes data into v. strict refuses unknown fields, naming them.
// Errors say where the problem is, for the sender to fix their payload.
func decodeJSON(data []byte, v any, strict bool, what string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("empty %s body", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err, what)
	}
	if dec.More() {
		return badRequest("malformed %s JSON at byte offset %d: data after the top-level value", what, dec.InputOffset())
	}
	return nil
}

func jsonError(err error, what string) *RequestError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &RequestError{Status: http.StatusBadRequest, Err: err,
			Msg: fmt.Sprintf("malformed %s JSON at byte offset %d: %s", what, syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))}
	case errors.As(err, &typ):
		// Embedded structs show up in the path; the sender never sees them.
		field := strings.TrimPrefix(typ.Field, "GenericAlert.")
		if field == "" {
			field = "(top level)"
		}
		return &RequestError{Status: http.StatusBadRequest, Err: err,
			Msg: fmt.Sprintf("%s JSON field %s at byte offset %d: expected %s, got %s", what, field, typ.Offset, typ.Type, typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &RequestError{Status: http.StatusBadRequest, Err: err, Msg: fmt.Sprintf("malformed %s JSON: unexpected end of input", what)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &RequestError{Status: http.StatusBadRequest, Err: err,
			Msg: fmt.Sprintf("%s JSON has %s", what, strings.TrimPrefix(err.Error(), "json: "))}
	}
	return &RequestError{Status: http.StatusBadRequest, Err: err, Msg: fmt.Sprintf("%s JSON: %v", what, err)}
}

// cloudWatchTime parses the timestamps CloudWatch writes
// ("2019-10-02T17:04:40.989+0000") as well as RFC 3339.
func cloudWatchTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
