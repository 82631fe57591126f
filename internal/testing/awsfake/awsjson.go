package awsfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// jsonProtocol writes awsJson1.1 (SSM) responses and errors.
type jsonProtocol struct {
	targetPrefix string // "AmazonSSM."
}

// operation reads the operation from X-Amz-Target.
func (p jsonProtocol) operation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), p.targetPrefix)
}

func (p jsonProtocol) result(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func (p jsonProtocol) writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

// decodeBody reads a JSON request body into v, leaving the body readable again.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}
