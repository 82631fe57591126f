package alerts

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// testNow is shortly after the testdata payloads were sent.
var testNow = time.Date(2026, 11, 28, 20, 16, 0, 0, time.UTC)

const (
	testTopic   = "arn:aws:sns:us-east-1:123456789012:bedrock-alarms"
	testCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
	amToken     = "am-secret-token"
	ebToken     = "eb-secret-token"
	genericKey  = "generic-hmac-secret"
)

var testEnv = map[string]string{
	"TEST_AM_TOKEN":     amToken,
	"TEST_EB_TOKEN":     ebToken,
	"TEST_GENERIC_HMAC": genericKey,
}

// clock is a settable clock for HMAC windows and rate limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStarter records what the server asks of Temporal and keeps a set of
// open incidents, as SignalWithStart would.
type fakeStarter struct {
	mu       sync.Mutex
	open     map[string]bool
	inputs   []contract.IncidentInput
	signals  []contract.AlertSignal
	signaled []string // ids SignalAlert reached
	resolves []contract.ResolveRequest
	err      error
	// gate, when set, runs before each FoldAlert and SignalAlert: a test
	// blocks in it to hold a signal in flight.
	gate func()
}

func newFakeStarter() *fakeStarter { return &fakeStarter{open: map[string]bool{}} }

func (f *fakeStarter) FoldAlert(_ context.Context, in contract.IncidentInput, sig contract.AlertSignal) (bool, string, error) {
	if f.gate != nil {
		f.gate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, "", f.err
	}
	started := !f.open[in.ID]
	f.open[in.ID] = true
	f.inputs = append(f.inputs, in)
	f.signals = append(f.signals, sig)
	return started, "run-" + in.ID, nil
}

func (f *fakeStarter) SignalAlert(_ context.Context, id string, sig contract.AlertSignal) error {
	if f.gate != nil {
		f.gate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open[id] {
		return fmt.Errorf("signal incident %s: %w", id, ErrNoOpenIncident)
	}
	f.signaled = append(f.signaled, id)
	f.signals = append(f.signals, sig)
	return nil
}

func (f *fakeStarter) Resolve(_ context.Context, id string, req contract.ResolveRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolves = append(f.resolves, req)
	delete(f.open, id)
	return nil
}

// folded sums the alerts the signals stood for, and counts the signals.
func (f *fakeStarter) folded() (alerts, signals int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.signals {
		alerts += max(s.Count, 1)
	}
	return alerts, len(f.signals)
}

// calls counts every call that could start or change an incident.
func (f *fakeStarter) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inputs) + len(f.signaled) + len(f.resolves)
}

// testPKI is a CA and an SNS signing certificate it issued.
type testPKI struct {
	roots   *x509.CertPool
	key     *rsa.PrivateKey
	certPEM []byte
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	otherCA *testPKI // a CA the server does not trust
)

func newPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " root"},
		NotBefore:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		DNSNames:     []string{"sns.amazonaws.com"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &testPKI{roots: roots, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})}
}

func testCA(t testing.TB) *testPKI {
	pkiOnce.Do(func() {
		pki = newPKI(t, "quench test")
		otherCA = newPKI(t, "untrusted")
	})
	return pki
}

// fakeFetcher serves certificates by URL and counts fetches.
type fakeFetcher struct {
	mu      sync.Mutex
	certs   map[string][]byte
	fetched int
}

func (f *fakeFetcher) FetchCert(_ context.Context, url string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched++
	c, ok := f.certs[url]
	if !ok {
		return nil, fmt.Errorf("fetch %s: 404", url)
	}
	return c, nil
}

// signSNS signs env in place with key, as SNS does.
func signSNS(t testing.TB, env *SNSEnvelope, key *rsa.PrivateKey) {
	t.Helper()
	var h crypto.Hash
	var d []byte
	s := env.StringToSign()
	if env.SignatureVersion == "2" {
		sum := sha256.Sum256([]byte(s))
		h, d = crypto.SHA256, sum[:]
	} else {
		sum := sha1.Sum([]byte(s))
		h, d = crypto.SHA1, sum[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, d)
	if err != nil {
		t.Fatal(err)
	}
	env.Signature = base64.StdEncoding.EncodeToString(sig)
}

// snsBody loads a testdata SNS envelope, lets mutate change it, and signs it.
func snsBody(t testing.TB, file string, mutate func(*SNSEnvelope)) []byte {
	t.Helper()
	var env SNSEnvelope
	if err := json.Unmarshal(readTestdata(t, file), &env); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&env)
	}
	signSNS(t, &env, testCA(t).key)
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	libOnce sync.Once
	lib     *runbooks.Library
	libErr  error
)

func testLibrary(t testing.TB) *runbooks.Library {
	t.Helper()
	libOnce.Do(func() { lib, libErr = runbooks.NewLibrary(nil, "testdata/runbooks") })
	if libErr != nil {
		t.Fatal(libErr)
	}
	return lib
}

func testRoutes(t testing.TB) *Routes {
	t.Helper()
	rs, err := LoadRoutes("testdata/routes.yaml", testLibrary(t))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// roundTripper records requests (SNS subscription confirmations).
type roundTripper struct {
	mu   sync.Mutex
	urls []string
}

func (r *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader([]byte("<ConfirmSubscriptionResponse/>"))), Header: http.Header{}}, nil
}

type testServer struct {
	*Server
	starter *fakeStarter
	clock   *clock
	fetcher *fakeFetcher
	rt      *roundTripper
}

func newTestServer(t testing.TB, mutate func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{
		starter: newFakeStarter(),
		clock:   &clock{t: testNow},
		fetcher: &fakeFetcher{certs: map[string][]byte{testCertURL: testCA(t).certPEM}},
		rt:      &roundTripper{},
	}
	cfg := Config{
		Routes:      testRoutes(t),
		Library:     testLibrary(t),
		Starter:     ts.starter,
		Getenv:      func(k string) string { return testEnv[k] },
		Now:         ts.clock.Now,
		HTTPClient:  &http.Client{Transport: ts.rt},
		CertFetcher: ts.fetcher,
		SNSRoots:    testCA(t).roots,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ts.Server = NewServer(cfg)
	return ts
}

// post sends body to path with headers and decodes the JSON answer.
func (ts *testServer) post(t testing.TB, path string, body []byte, headers map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.ServeHTTP(rec, alertRequest(path, body, headers))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("POST %s: status %d, body is not JSON: %q", path, rec.Code, rec.Body.String())
	}
	return rec.Code, out, rec.Header()
}

// alertRequest is a POST of body to path, declared as real senders
// declare it; headers are set last.
func alertRequest(path string, body []byte, headers map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType(path))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// contentType is what real senders declare: SNS posts text/plain, the
// other formats are JSON.
func contentType(path string) string {
	if path == "/alerts/sns" {
		return "text/plain; charset=UTF-8"
	}
	return "application/json"
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// hmacHeaders signs body for the generic source at the test clock's time.
func hmacHeaders(ts *testServer, body []byte) map[string]string {
	stamp := fmt.Sprint(ts.clock.Now().Unix())
	return map[string]string{HeaderTimestamp: stamp, HeaderSignature: SignHMAC([]byte(genericKey), stamp, body)}
}

// authFor returns valid credentials for a source's endpoint.
func authFor(ts *testServer, source string, body []byte) map[string]string {
	switch source {
	case SourceAlertmanager:
		return bearer(amToken)
	case SourceEventBridge:
		return bearer(ebToken)
	case SourceGeneric:
		return hmacHeaders(ts, body)
	}
	return nil
}
