package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/alerts"
	"github.com/quenchhq/quench/internal/httpapi"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/internal/testing/slackfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

var update = flag.Bool("update", false, "rewrite the golden timelines in testdata/timelines/")

// Secrets examples/routes.yaml names, as the alert senders hold them.
const (
	eventBridgeToken = "eventbridge-e2e-token"
	genericHMAC      = "generic-e2e-hmac"
	snsTopic         = "arn:aws:sns:us-east-1:123456789012:bedrock-alarms"
	snsCertURL       = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-e2e.pem"
	// oncall is in the built-in runbooks' placeholder approver group.
	oncall      = "U0ONCALL"
	oncallGroup = "S00REPLACEME"
)

// genaiWorld is one quench deployment as an operator runs it: the alert
// endpoints with examples/routes.yaml, the Slack endpoint, a worker whose
// AWS clients talk to the in-repo AWS endpoint and whose Slack is the
// recording fake, and the built-in runbooks exactly as shipped (their
// placeholder approver group resolves to oncall). Each world has its own
// task queue, AWS and Slack.
type genaiWorld struct {
	aws     *awsfake.Server
	iam     *awsfake.IAM
	lambda  *awsfake.Lambda
	apigw   *awsfake.APIGateway
	cw      *awsfake.CloudWatch
	ssm     *awsfake.SSM
	bedrock *awsfake.Bedrock
	agents  *awsfake.BedrockAgent

	slack     *slackWorld
	inc       *incidents.Client
	alertsURL string
	sns       *snsSigner
	// temporal is the frontend address the quench CLI is pointed at, and
	// taskQueue this world's worker queue (for `quench run`).
	temporal  string
	taskQueue string
}

func newGenAIWorld(t *testing.T, c client.Client, temporalAddr string, dryRun bool) *genaiWorld {
	t.Helper()
	w := &genaiWorld{aws: awsfake.New(), temporal: temporalAddr, sns: newSNSSigner(t)}
	t.Cleanup(w.aws.Close)
	w.iam, w.lambda, w.apigw = awsfake.RegisterIAM(w.aws), awsfake.RegisterLambda(w.aws), awsfake.RegisterAPIGateway(w.aws)
	w.cw, w.ssm = awsfake.RegisterCloudWatch(w.aws), awsfake.RegisterSSM(w.aws)
	w.bedrock, w.agents = awsfake.RegisterBedrock(w.aws), awsfake.RegisterBedrockAgent(w.aws)
	awsfake.RegisterSTS(w.aws)
	w.bedrock.SetSettleAfter(0)
	w.agents.SetSettleAfter(0)

	fake := slackfake.New(t)
	fake.SetGroupMembers(oncallGroup, oncall)
	api := fake.Client()
	n := activities.NewNotifier(api, slackChannel, quiet)
	opts := worker.ActionOptions{Logger: quiet, AWS: awsProvider(w.aws), Notifier: n}
	if dryRun {
		opts.ForceDryRunAWS = "e2e dry run"
	}
	reg, err := worker.BuildRegistry(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	taskQueue := "genai-e2e-" + strconv.FormatInt(queueSeq.Add(1), 10)
	wk := worker.New(c, worker.Config{TaskQueue: taskQueue}, reg, n)
	if err := wk.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(wk.Stop)
	w.inc = incidents.New(c, taskQueue)
	w.taskQueue = taskQueue

	lib, err := runbooks.NewLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	if p := lib.Problems(); len(p) > 0 {
		t.Fatalf("built-in runbooks not loaded: %v", p)
	}
	routes, err := alerts.LoadRoutes(filepath.Join("..", "..", "examples", "routes.yaml"), lib)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"QUENCH_EVENTBRIDGE_TOKEN": eventBridgeToken, "QUENCH_GENERIC_HMAC": genericHMAC}
	mux := http.NewServeMux()
	alerts.NewServer(alerts.Config{
		Routes: routes, Library: lib, Starter: alerts.NewTemporalStarter(w.inc),
		Getenv: func(k string) string { return env[k] }, CertFetcher: w.sns, SNSRoots: w.sns.roots, Logger: quiet,
	}).Mount(mux)
	as := httptest.NewServer(mux)
	t.Cleanup(as.Close)
	w.alertsURL = as.URL

	ep, err := httpapi.New(httpapi.Options{
		Incidents: w.inc, Library: lib,
		Slack:                    slackapp.Secrets{SigningSecret: slackSecret, BotToken: "xoxb-test-token"},
		SlackClient:              api,
		SlackResponseURLPrefixes: []string{fake.GetAPIURL() + "response/"},
		Logger:                   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ep)
	t.Cleanup(hs.Close)
	t.Cleanup(ep.Slack.Wait)
	w.slack = &slackWorld{fake: fake, inc: w.inc, reg: reg, endpoints: ep, url: hs.URL + slackapp.InteractionsPath}
	return w
}

// postAlert sends an alert the way its source does and returns the one
// incident it started.
func (w *genaiWorld) postAlert(t *testing.T, source string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.alertsURL+"/alerts/"+source, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch source {
	case alerts.SourceEventBridge:
		req.Header.Set("Authorization", "Bearer "+eventBridgeToken)
	case alerts.SourceGeneric:
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(alerts.HeaderTimestamp, ts)
		req.Header.Set(alerts.HeaderSignature, alerts.SignHMAC([]byte(genericHMAC), ts, body))
	case alerts.SourceSNS:
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("X-Amz-Sns-Message-Type", alerts.SNSNotification)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Routed    bool `json:"routed"`
		Incidents []struct {
			ID      string `json:"id"`
			Started bool   `json:"started"`
		} `json:"incidents"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("alert answer: %v", err)
	}
	if resp.StatusCode != http.StatusAccepted || !out.Routed || len(out.Incidents) != 1 || !out.Incidents[0].Started {
		t.Fatalf("alert answered %d %+v, want 202 routed to one new incident", resp.StatusCode, out)
	}
	return out.Incidents[0].ID
}

// approve waits for the n-th approval request in Slack and clicks Approve
// on it as oncall, signed as Slack signs it.
func (w *genaiWorld) approve(t *testing.T, n int, wantText ...string) {
	t.Helper()
	msg := w.slack.request(t, n)
	mustContain(t, "approval request "+strconv.Itoa(n), msg.Form.Get("text"), wantText...)
	w.clickApprove(t, msg)
}

// clickApprove clicks Approve on an approval message as oncall, signed as
// Slack signs it.
func (w *genaiWorld) clickApprove(t *testing.T, msg slackfake.Call) {
	t.Helper()
	approveID := ""
	for id := range buttons(t, msg) {
		if strings.Contains(id, "approve") {
			approveID = id
		}
	}
	if res := w.slack.click(t, msg, oncall, approveID); res.status != http.StatusOK || res.ephemeral != "" {
		t.Fatalf("approve click answered %d %s, ephemeral %q", res.status, res.body, res.ephemeral)
	}
}

func (w *genaiWorld) waitState(t *testing.T, id, state string) contract.Status {
	t.Helper()
	return waitFor(t, w.inc, id, state, func(st contract.Status) bool { return st.State == state })
}

// waitSteps waits until each step has reached its state.
func (w *genaiWorld) waitSteps(t *testing.T, id string, want map[string]string) contract.Status {
	t.Helper()
	return waitFor(t, w.inc, id, "steps "+jsonText(want), func(st contract.Status) bool {
		for step, state := range want {
			if stepState(st, step) != state {
				return false
			}
		}
		return true
	})
}

// cli runs the quench binary against this world's Temporal server.
func (w *genaiWorld) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(quenchBinary(t), append([]string{"--address", w.temporal}, args...)...)
	cmd.Env = append(os.Environ(), "QUENCH_USER=oncall-lead", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quench %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// mutatingCalls names the calls that changed AWS, for messages.
func (w *genaiWorld) mutatingCalls() []string {
	var out []string
	for _, c := range w.aws.MutatingCalls() {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

// calledAny reports the calls to any of these operations.
func (w *genaiWorld) calledAny(ops ...string) []string {
	var out []string
	for _, c := range w.aws.Calls() {
		for _, op := range ops {
			if c.Operation == op {
				out = append(out, c.Service+":"+c.Operation)
			}
		}
	}
	return out
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
	cliDir  string
)

// quenchBinary builds cmd/quench once per test process: resolve and
// timeline go through the CLI an operator uses.
func quenchBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		cliDir, cliErr = os.MkdirTemp("", "quench-e2e-cli-")
		if cliErr != nil {
			return
		}
		cliPath = filepath.Join(cliDir, "quench")
		out, err := exec.Command("go", "build", "-o", cliPath, "github.com/quenchhq/quench/cmd/quench").CombinedOutput()
		if err != nil {
			cliErr = &buildError{err: err, out: string(out)}
		}
	})
	if cliErr != nil {
		t.Fatalf("build the quench CLI: %v", cliErr)
	}
	return cliPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if cliDir != "" {
		_ = os.RemoveAll(cliDir)
	}
	os.Exit(code)
}

// Timeline details that change from run to run: timestamps, durations,
// Slack message timestamps and SDK request ids.
var (
	mdTimeCell = regexp.MustCompile(`(?m)^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|`)
	rfc3339    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	duration   = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s|m)\b`)
	slackTS    = regexp.MustCompile(`\b\d{10}\.\d{6}\b`)
	requestID  = regexp.MustCompile(`(?i)request id: [0-9a-f-]+`)
)

func normalizeTimeline(md string) string {
	md = foldedAfterStart(md)
	md = mdTimeCell.ReplaceAllString(md, "| TIME |")
	md = rfc3339.ReplaceAllString(md, "<time>")
	md = slackTS.ReplaceAllString(md, "<slack-ts>")
	md = requestID.ReplaceAllString(md, "request id: <id>")
	return duration.ReplaceAllString(md, "<duration>")
}

// foldedAfterStart moves the alert_folded rows right after
// incident_started: the alert arrives with the start (SignalWithStart), but
// whether the workflow records it before or after the first step starts is
// up to the scheduler.
func foldedAfterStart(md string) string {
	lines := strings.Split(md, "\n")
	var folded, rest []string
	for _, l := range lines {
		if strings.Contains(l, "| alert_folded |") {
			folded = append(folded, l)
		} else {
			rest = append(rest, l)
		}
	}
	for i, l := range rest {
		if strings.Contains(l, "| incident_started |") {
			return strings.Join(slices.Concat(rest[:i+1], folded, rest[i+1:]), "\n")
		}
	}
	return md
}

// checkGolden compares `quench timeline ID -o md` with
// testdata/timelines/NAME.md; -update rewrites it.
func (w *genaiWorld) checkGolden(t *testing.T, id, name string) {
	t.Helper()
	got := normalizeTimeline(w.cli(t, "timeline", id, "-o", "md"))
	path := filepath.Join("testdata", "timelines", name+".md")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("timeline of %s differs from %s (run with -update to accept):\n%s", id, path, got)
	}
}

// awsProvider gives the worker real SDK clients for the fake, with fast retries.
func awsProvider(srv *awsfake.Server) *activities.AWSProvider {
	cfg := srv.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = retry.NewExponentialJitterBackoff(5 * time.Millisecond) })
	}
	return activities.NewAWSProvider(cfg)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// snsSigner is SNS's side of a notification: a signing certificate (its
// own root here) the alert server is told to trust, and the signature.
type snsSigner struct {
	key   *rsa.PrivateKey
	pem   []byte
	roots *x509.CertPool
}

func newSNSSigner(t *testing.T) *snsSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &snsSigner{key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), roots: roots}
}

// FetchCert implements alerts.CertFetcher: the certificate SNS would serve.
func (s *snsSigner) FetchCert(_ context.Context, url string) ([]byte, error) {
	if url != snsCertURL {
		return nil, os.ErrNotExist
	}
	return s.pem, nil
}

// notification is an SNS Notification carrying message, signed (version 2).
func (s *snsSigner) notification(t *testing.T, subject string, message any) []byte {
	t.Helper()
	msg, err := json.Marshal(message)
	if err != nil {
		t.Fatal(err)
	}
	env := alerts.SNSEnvelope{
		Type: alerts.SNSNotification, MessageID: "6a1f0c3e-2b4d-5e6f-8a9b-0c1d2e3f4a5b", TopicArn: snsTopic,
		Subject: &subject, Message: string(msg), Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion: "2", SigningCertURL: snsCertURL,
	}
	sum := sha256.Sum256([]byte(env.StringToSign()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	env.Signature = base64.StdEncoding.EncodeToString(sig)
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
