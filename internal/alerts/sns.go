package alerts

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA; AWS still sends it by default.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SNS message types.
const (
	SNSNotification             = "Notification"
	SNSSubscriptionConfirmation = "SubscriptionConfirmation"
	SNSUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// SNSEnvelope is what SNS POSTs to an HTTP(S) subscriber.
type SNSEnvelope struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token,omitempty"`
	TopicArn         string  `json:"TopicArn"`
	Subject          *string `json:"Subject,omitempty"`
	Message          string  `json:"Message"`
	SubscribeURL     string  `json:"SubscribeURL,omitempty"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
	UnsubscribeURL   string  `json:"UnsubscribeURL,omitempty"`
}

// ParseSNSEnvelope decodes and checks the shape of an SNS HTTP delivery. It
// does not verify the signature; SNSVerifier does.
func ParseSNSEnvelope(body []byte) (*SNSEnvelope, error) {
	var env SNSEnvelope
	if err := decodeJSON(body, &env, false, "sns"); err != nil {
		return nil, err
	}
	switch env.Type {
	case SNSNotification, SNSSubscriptionConfirmation, SNSUnsubscribeConfirmation:
	case "":
		return nil, badRequest("sns message has no Type")
	default:
		return nil, badRequest("sns message Type %q is not supported", env.Type)
	}
	for _, f := range []struct{ name, v string }{
		{"MessageId", env.MessageID}, {"TopicArn", env.TopicArn}, {"Timestamp", env.Timestamp},
		{"SignatureVersion", env.SignatureVersion}, {"Signature", env.Signature}, {"SigningCertURL", env.SigningCertURL},
	} {
		if f.v == "" {
			return nil, badRequest("sns %s has no %s", env.Type, f.name)
		}
	}
	if env.Type != SNSNotification && (env.Token == "" || env.SubscribeURL == "") {
		return nil, badRequest("sns %s has no Token or SubscribeURL", env.Type)
	}
	return &env, nil
}

// StringToSign builds the text SNS signs: "Key\nValue\n" pairs in the
// order AWS documents for each message type.
func (e *SNSEnvelope) StringToSign() string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", e.Message)
	add("MessageId", e.MessageID)
	if e.Type == SNSNotification {
		if e.Subject != nil {
			add("Subject", *e.Subject)
		}
	} else {
		add("SubscribeURL", e.SubscribeURL)
	}
	add("Timestamp", e.Timestamp)
	if e.Type != SNSNotification {
		add("Token", e.Token)
	}
	add("TopicArn", e.TopicArn)
	add("Type", e.Type)
	return b.String()
}

// snsHost is the only kind of host SNS certificates and subscribe URLs may come from.
var snsHost = regexp.MustCompile(`^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$`)

// checkSNSURL accepts only https URLs on an SNS host (default port), so a
// forged message cannot point the verifier or the confirmation at another server.
func checkSNSURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("sns %s %q: %w", field, raw, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("sns %s %q is not https", field, raw)
	}
	if u.User != nil || u.Port() != "" || !snsHost.MatchString(u.Hostname()) {
		return nil, fmt.Errorf("sns %s %q is not on an sns.<region>.amazonaws.com host", field, raw)
	}
	return u, nil
}

// CertFetcher fetches a PEM certificate. Tests inject one that serves a
// certificate from their own CA.
type CertFetcher interface {
	FetchCert(ctx context.Context, url string) ([]byte, error)
}

// HTTPCertFetcher fetches certificates over HTTP(S).
type HTTPCertFetcher struct {
	Client *http.Client
}

// maxCertBytes bounds a fetched certificate (real ones are ~2 KiB).
const maxCertBytes = 64 << 10

// FetchCert GETs url and returns its body.
func (f HTTPCertFetcher) FetchCert(ctx context.Context, u string) ([]byte, error) {
	c := f.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch sns certificate %s: %w", u, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch sns certificate %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch sns certificate %s: status %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes))
	if err != nil {
		return nil, fmt.Errorf("fetch sns certificate %s: %w", u, err)
	}
	return b, nil
}

// SNSVerifier checks that SNS messages come from SNS, for configured topics.
type SNSVerifier struct {
	topics  map[string]bool
	fetcher CertFetcher
	roots   *x509.CertPool // nil: system roots
	now     func() time.Time

	mu    sync.Mutex
	certs map[string]*certEntry
}

type certEntry struct {
	ready chan struct{}
	cert  *x509.Certificate
	err   error
}

// maxCachedCerts bounds the cache; SNS rotates certificates rarely.
const maxCachedCerts = 32

// NewSNSVerifier returns a verifier accepting the given topic ARNs. A nil
// fetcher fetches over HTTPS; nil roots means the system roots.
func NewSNSVerifier(topicARNs []string, fetcher CertFetcher, roots *x509.CertPool, now func() time.Time) *SNSVerifier {
	if fetcher == nil {
		fetcher = HTTPCertFetcher{}
	}
	if now == nil {
		now = time.Now
	}
	topics := map[string]bool{}
	for _, t := range topicARNs {
		topics[t] = true
	}
	return &SNSVerifier{topics: topics, fetcher: fetcher, roots: roots, now: now, certs: map[string]*certEntry{}}
}

// TopicAllowed reports whether arn is a configured topic.
func (v *SNSVerifier) TopicAllowed(arn string) bool { return v.topics[arn] }

// Verify checks the topic, the certificate URL, the certificate chain and
// the signature of env. Any failure is a 403 RequestError.
func (v *SNSVerifier) Verify(ctx context.Context, env *SNSEnvelope) error {
	refuse := func(format string, args ...any) error {
		return &RequestError{Status: http.StatusForbidden, Msg: fmt.Sprintf(format, args...)}
	}
	// Topic first: a message for a topic we do not serve costs no fetch.
	if !v.TopicAllowed(env.TopicArn) {
		return refuse("sns topic %s is not configured", env.TopicArn)
	}
	if _, err := checkSNSURL("SigningCertURL", env.SigningCertURL); err != nil {
		return refuse("%v", err)
	}
	var hash crypto.Hash
	switch env.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return refuse("sns SignatureVersion %q is not supported (want 1 or 2)", env.SignatureVersion)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil {
		return refuse("sns Signature is not base64: %v", err)
	}
	cert, err := v.cert(ctx, env.SigningCertURL)
	if err != nil {
		return &RequestError{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return refuse("sns signing certificate %s has no RSA key", env.SigningCertURL)
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest(hash, env.StringToSign()), sig); err != nil {
		return refuse("sns signature does not verify for message %s", env.MessageID)
	}
	return nil
}

func digest(h crypto.Hash, s string) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum([]byte(s)) //nolint:gosec // see import
		return d[:]
	}
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// cert returns the verified certificate at u, fetching it once per URL
// while concurrent requests wait for that fetch.
func (v *SNSVerifier) cert(ctx context.Context, u string) (*x509.Certificate, error) {
	v.mu.Lock()
	e, ok := v.certs[u]
	if ok {
		select {
		case <-e.ready: // e.cert is only read once its fetch is done
			if e.err == nil && v.now().After(e.cert.NotAfter) {
				delete(v.certs, u)
				ok = false
			}
		default:
		}
	}
	if !ok {
		if len(v.certs) >= maxCachedCerts {
			clear(v.certs)
		}
		e = &certEntry{ready: make(chan struct{})}
		v.certs[u] = e
		v.mu.Unlock()
		e.cert, e.err = v.fetchAndVerify(ctx, u)
		close(e.ready)
		if e.err != nil {
			v.mu.Lock()
			if v.certs[u] == e {
				delete(v.certs, u) // try again next time
			}
			v.mu.Unlock()
		}
		return e.cert, e.err
	}
	v.mu.Unlock()
	select {
	case <-e.ready:
		return e.cert, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for sns certificate %s: %w", u, ctx.Err())
	}
}

func (v *SNSVerifier) fetchAndVerify(ctx context.Context, u string) (*x509.Certificate, error) {
	data, err := v.fetcher.FetchCert(ctx, u)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse sns certificate %s: %w", u, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("sns certificate %s: no PEM certificate", u)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("sns certificate %s is not trusted: %w", u, err)
	}
	return chain[0], nil
}

// ConfirmSubscription GETs the SubscribeURL of a verified
// SubscriptionConfirmation, which is how SNS learns we want the messages.
func ConfirmSubscription(ctx context.Context, c *http.Client, env *SNSEnvelope) error {
	u, err := checkSNSURL("SubscribeURL", env.SubscribeURL)
	if err != nil {
		return &RequestError{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("confirm sns subscription to %s: %w", env.TopicArn, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("confirm sns subscription to %s: %w", env.TopicArn, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("confirm sns subscription to %s: status %s", env.TopicArn, resp.Status)
	}
	return nil
}

// cloudWatchAlarm is the JSON a CloudWatch alarm publishes to SNS (in Message).
type cloudWatchAlarm struct {
	AlarmName        string `json:"AlarmName"`
	AlarmDescription string `json:"AlarmDescription"`
	AWSAccountID     string `json:"AWSAccountId"`
	NewStateValue    string `json:"NewStateValue"`
	NewStateReason   string `json:"NewStateReason"`
	StateChangeTime  string `json:"StateChangeTime"`
	Region           string `json:"Region"`
	AlarmArn         string `json:"AlarmArn"`
	OldStateValue    string `json:"OldStateValue"`
	Trigger          struct {
		MetricName string `json:"MetricName"`
		Namespace  string `json:"Namespace"`
		Statistic  string `json:"Statistic"`
		Dimensions []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"Dimensions"`
		Period    int     `json:"Period"`
		Threshold float64 `json:"Threshold"`
		// Metrics replaces MetricName and Dimensions in metric-math and
		// anomaly-detection alarms: the expression and the metric stats it
		// reads (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html).
		Metrics           []alarmMetric `json:"Metrics"`
		ThresholdMetricID string        `json:"ThresholdMetricId"`
	} `json:"Trigger"`
}

// alarmMetric is one entry of an SNS alarm message's Trigger.Metrics.
type alarmMetric struct {
	ID         string `json:"Id"`
	Expression string `json:"Expression"`
	Label      string `json:"Label"`
	ReturnData bool   `json:"ReturnData"`
	MetricStat *struct {
		Metric struct {
			Dimensions []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"Dimensions"`
			MetricName string `json:"MetricName"`
			Namespace  string `json:"Namespace"`
		} `json:"Metric"`
		Stat string `json:"Stat"`
	} `json:"MetricStat"`
}

// metricMathLabels sets the labels of a metric-math or anomaly-detection
// alarm: each metric stat's dimensions (the first metric that names a
// dimension wins), namespace and metric_name of the first metric stat, and
// expression, the expression that returns data (ANOMALY_DETECTION_BAND(m1, 2)),
// bounded. So alert.labels.ModelId is there as for a single-metric alarm.
func metricMathLabels(labels map[string]string, metrics []alarmMetric) {
	for _, m := range metrics {
		if m.MetricStat == nil {
			if m.Expression != "" && m.ReturnData {
				setDefault(labels, "expression", clip(m.Expression))
			}
			continue
		}
		for _, d := range m.MetricStat.Metric.Dimensions {
			if d.Name != "" {
				setDefault(labels, clip(d.Name), clip(d.Value))
			}
		}
		setDefault(labels, "namespace", clip(m.MetricStat.Metric.Namespace))
		setDefault(labels, "metric_name", clip(m.MetricStat.Metric.MetricName))
	}
}

// ParseSNSMessage parses the Message of an SNS Notification: a CloudWatch
// alarm, an AWS Cost Anomaly Detection anomaly, an EventBridge event an SNS
// target forwarded, or (the one that is not JSON) an AWS Budgets
// notification. The caller bounds the Message's nesting depth first.
func ParseSNSMessage(env *SNSEnvelope) ([]Alert, error) {
	msg := []byte(env.Message)
	if t := bytes.TrimSpace(msg); len(t) > 0 && t[0] != '{' {
		a, err := parseBudgetNotification(env)
		if err != nil {
			return nil, err
		}
		return []Alert{a}, nil
	}
	var probe struct {
		AlarmName  string `json:"AlarmName"`
		DetailType string `json:"detail-type"`
		AnomalyID  string `json:"anomalyId"`
	}
	if err := decodeJSON(msg, &probe, false, "sns Message"); err != nil {
		return nil, err
	}
	if probe.AnomalyID != "" {
		a, err := parseCostAnomaly(env, msg)
		if err != nil {
			return nil, err
		}
		return []Alert{a}, nil
	}
	if probe.DetailType != "" {
		var ev eventBridgeEvent
		if err := decodeJSON(msg, &ev, false, "sns Message"); err != nil {
			return nil, err
		}
		alerts, err := alertsFromEvent(ev, msg)
		if err != nil {
			return nil, err
		}
		for i := range alerts {
			alerts[i].Source = SourceSNS
		}
		return alerts, nil
	}
	if probe.AlarmName == "" {
		return nil, badRequest("sns Message is not a CloudWatch alarm (no AlarmName), a cost anomaly (no anomalyId) or an EventBridge event (no detail-type)")
	}
	var al cloudWatchAlarm
	if err := decodeJSON(msg, &al, false, "sns Message"); err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for _, d := range al.Trigger.Dimensions {
		if d.Name != "" {
			labels[d.Name] = d.Value
		}
	}
	metricMathLabels(labels, al.Trigger.Metrics)
	setDefault(labels, "alarm_name", al.AlarmName)
	setDefault(labels, "namespace", al.Trigger.Namespace)
	setDefault(labels, "metric_name", al.Trigger.MetricName)
	setDefault(labels, "account_id", al.AWSAccountID)
	// Region in the message is a display name ("US East (N. Virginia)"); the ARN has the code.
	if parts := strings.Split(al.AlarmArn, ":"); len(parts) > 3 {
		setDefault(labels, "region", parts[3])
	}
	subject := ""
	if env.Subject != nil {
		subject = *env.Subject
	}
	return []Alert{{
		Source:      SourceSNS,
		Name:        al.AlarmName,
		Status:      alarmStatus(al.NewStateValue),
		Fingerprint: firstNonEmpty(al.AlarmArn, al.AlarmName),
		Labels:      labels,
		Annotations: nonEmpty(map[string]string{"description": al.AlarmDescription, "reason": al.NewStateReason, "subject": subject}),
		Summary:     firstNonEmpty(al.NewStateReason, al.AlarmDescription, subject),
		StartsAt:    firstTime(cloudWatchTime(al.StateChangeTime), cloudWatchTime(env.Timestamp)),
		Raw:         json.RawMessage(msg),
	}}, nil
}
