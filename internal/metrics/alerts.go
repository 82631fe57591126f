package metrics

import (
	"net/http"
	"strconv"
	"strings"
)

// The methods below implement internal/alerts' Counter.

// AlertsReceived counts n alerts parsed from an accepted request.
func (m *Metrics) AlertsReceived(source string, n int) {
	if m != nil && n > 0 {
		m.alertsReceived.WithLabelValues(source).Add(float64(n))
	}
}

// AlertsFolded counts n alerts folded into incidents.
func (m *Metrics) AlertsFolded(source string, n int) {
	if m != nil && n > 0 {
		m.alertsFolded.WithLabelValues(source).Add(float64(n))
	}
}

// AlertsUnrouted counts n alerts no route took.
func (m *Metrics) AlertsUnrouted(source string, n int) {
	if m != nil && n > 0 {
		m.alertsUnrouted.WithLabelValues(source).Add(float64(n))
	}
}

// AlertRequestRefused counts a refused request; its reason is the
// answer's HTTP status, which is a bounded set where the message is not.
func (m *Metrics) AlertRequestRefused(source string, status int) {
	if m != nil {
		m.alertsRefused.WithLabelValues(source, statusReason(status)).Inc()
	}
}

// statusReason is http.StatusText in snake case: 401 unauthorized, 429
// too_many_requests.
func statusReason(status int) string {
	text := http.StatusText(status)
	if text == "" {
		return "http_" + strconv.Itoa(status)
	}
	return strings.ToLower(strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(text))
}
