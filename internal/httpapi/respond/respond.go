// Package respond writes quench's HTTP answers. It is a leaf: the alert
// endpoints, the Slack handler and the health endpoints all answer through
// it, and it imports nothing of quench's.
package respond

import (
	"encoding/json"
	"net/http"
)

// JSON answers status with v encoded as JSON.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// Error answers status with {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
