package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/workflows/contract"
)

// Encrypted history (issue 13): what quench writes into Temporal is
// ciphertext to anyone reading history without the keys, and plain to
// quench's own commands and to the codec endpoint with its token.

// Canaries, one per way data reaches history: a CLI param (in the
// workflow input and in the announce step's output), an alert label (the
// input of an incident an alert starts, and the alert signal folded into
// an open one) and an approval reason (an Update).
const (
	canaryParam  = "canary-param-5be1"
	canaryLabel  = "canary-label-91c4"
	canaryFold   = "canary-fold-0d7a"
	canaryReason = "canary-reason-e38f"
	canaryEager  = "canary-eager-7a21"
)

var canaries = []string{canaryParam, canaryLabel, canaryFold, canaryReason, canaryEager}

func testKeys() string {
	return "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)) +
		",k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
}

func TestHistoryIsEncryptedAndQuenchStillReadsIt(t *testing.T) {
	t.Setenv(codec.EnvKeys, testKeys())
	t.Setenv(codec.EnvKeysFile, "")
	t.Setenv("QUENCH_RUNBOOKS", "")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	srv := startServer(t)

	// The worker dials as `quench worker` does: through the app.
	a := newApp(io.Discard, io.Discard)
	a.cfg.TemporalAddress = srv.FrontendAddress()
	c, err := a.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if a.cfg.Codec == nil || a.cfg.Codec.KeyID() != "k2" {
		t.Fatalf("app did not load the codec keys: %v", a.cfg.Codec)
	}
	startWorker(t, c)

	// A CLI run with a param, approved with a reason.
	q := cli{t: t, addr: srv.FrontendAddress(), env: map[string]string{"QUENCH_USER": "alice"}}
	if r := q.run("run", "contain-demo", "--runbooks", examplesDir, "-p", "target="+canaryParam, "--incident", "enc-cli"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "enc-cli awaits approval", func() bool {
		st := q.run("status", "enc-cli", "-o", "json")
		return strings.Contains(st.stdout, `"pending_approval"`)
	})
	q.env["QUENCH_USER"] = "bob"
	if r := q.run("approve", "enc-cli", "--reason", canaryReason); r.code != 0 {
		t.Fatalf("approve: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "enc-cli contained", func() bool { return stateOf(t, q, "enc-cli") == "contained" })

	// An alert starts an incident (raw SignalWithStart), a second folds in.
	inc, err := a.incidentsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.runbookDirs = []string{examplesDir}
	lib, err := a.library(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := lib.Get("contain-demo")
	in := contract.IncidentInput{ID: "enc-alert", Runbook: *rb, Params: map[string]any{"target": "chatbot"}, Source: "generic", Requester: "generic", Labels: map[string]string{"team": canaryLabel}}
	if _, _, err := inc.FoldAlert(ctx, in, contract.AlertSignal{Source: "generic", Name: "spike", Status: "firing", Labels: map[string]string{"team": canaryLabel}, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inc.FoldAlert(ctx, in, contract.AlertSignal{Source: "generic", Name: "spike", Status: "firing", Labels: map[string]string{"extra": canaryFold}, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "enc-alert folded both alerts", func() bool {
		st, err := inc.Status(ctx, "enc-alert")
		return err == nil && st.Alerts.Count >= 2 && st.PendingApproval != nil
	})

	// As in quench dev, whose worker shares the client: the alert rides in
	// the eagerly started incident's input, which is sealed too.
	a.localWorker = true
	eager, err := a.incidentsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.Labels = "enc-eager", map[string]string{"team": canaryEager}
	if started, _, err := eager.FoldAlert(ctx, in, contract.AlertSignal{Source: "generic", Name: "spike", Status: "firing", Labels: map[string]string{"team": canaryEager}, ReceivedAt: time.Now()}); err != nil || !started {
		t.Fatalf("eager start: started %v, %v", started, err)
	}
	waitFor(t, "enc-eager folded its alert", func() bool {
		st, err := inc.Status(ctx, "enc-eager")
		return err == nil && st.Alerts.Count == 1 && st.Alerts.Labels["team"] == canaryEager
	})

	// Raw history, read without the codec: no canary in any event.
	raw, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	var sample *commonpb.Payload
	for _, id := range []string{"enc-cli", "enc-alert", "enc-eager"} {
		events := history(ctx, t, raw, id)
		var all []byte
		for _, e := range events {
			b, err := proto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
			if in := e.GetWorkflowExecutionStartedEventAttributes().GetInput(); in != nil {
				sample = in.Payloads[0]
				if enc := string(sample.Metadata["encoding"]); enc != codec.MetadataEncoding {
					t.Errorf("%s: workflow input has encoding %q, want %q", id, enc, codec.MetadataEncoding)
				}
			}
		}
		for _, c := range canaries {
			if bytes.Contains(all, []byte(c)) {
				t.Errorf("%s: raw history holds %q in clear", id, c)
			}
		}
		// The scan sees plaintext where plaintext is by design: the
		// runbook name is a search attribute.
		if !bytes.Contains(all, []byte("contain-demo")) {
			t.Errorf("%s: raw history does not hold the runbook search attribute: the scan is blind", id)
		}
	}
	// A client without the keys cannot read status: it fails, it does not
	// show ciphertext.
	if v, err := raw.QueryWorkflow(ctx, "enc-cli", "", contract.QueryStatus); err != nil {
		t.Fatal(err)
	} else if err := v.Get(&contract.Status{}); err == nil {
		t.Error("status query readable without the keys")
	}

	// quench's own commands decode.
	found := map[string]bool{}
	for _, id := range []string{"enc-cli", "enc-alert", "enc-eager"} {
		st, err := inc.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := inc.Timeline(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal([]any{st, tl})
		for _, c := range canaries {
			found[c] = found[c] || bytes.Contains(b, []byte(c))
		}
	}
	if r := q.run("timeline", "enc-cli"); !strings.Contains(r.stdout, canaryParam) {
		t.Errorf("quench timeline does not show the param:\n%s%s", r.stdout, r.stderr)
	}
	for _, c := range canaries {
		if !found[c] {
			t.Errorf("status/timeline with the codec do not show %q", c)
		}
	}

	// The codec server decodes a payload from raw history for the token
	// holder only, and for the configured origin only.
	t.Setenv(codec.EnvAuthToken, "tok-3c9")
	stop, addr, err := a.startCodecServer(ctx, codecServerOptions{listen: "127.0.0.1:0", allowOrigin: "http://localhost:8233"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{sample}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(auth, origin string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, got := post("Bearer tok-3c9", "")
	var decoded commonpb.Payloads
	if code != 200 || protojson.Unmarshal([]byte(got), &decoded) != nil || len(decoded.Payloads) != 1 ||
		!bytes.Contains(decoded.Payloads[0].Data, []byte("contain-demo")) {
		t.Fatalf("decode with the token: %d %s", code, got)
	}
	if code, got := post("Bearer tok-3c9", "http://localhost:8233"); code != 200 {
		t.Errorf("decode from the UI origin: %d %s", code, got)
	}
	if code, _ := post("", ""); code != http.StatusUnauthorized {
		t.Errorf("decode without the token: %d, want 401", code)
	}
	if code, _ := post("Bearer tok-3c9", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("decode from a foreign origin: %d, want 403", code)
	}
}

func history(ctx context.Context, t *testing.T, c client.Client, id string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatalf("history of %s is empty", id)
	}
	return out
}

func TestCodecServerFailsClosed(t *testing.T) {
	t.Setenv(codec.EnvKeysFile, "")
	t.Setenv(codec.EnvAuthTokenFile, "")
	for _, tc := range []struct {
		name, keys, token string
		o                 codecServerOptions
		want              string // empty: starts
	}{
		{"no keys", "", "t", codecServerOptions{listen: "127.0.0.1:0"}, "no keys"},
		{"no token", testKeys(), "", codecServerOptions{listen: "127.0.0.1:0"}, codec.EnvAuthToken + " is not set"},
		{"no auth on every interface", testKeys(), "", codecServerOptions{listen: ":8081", insecureNoAuth: true}, "needs a loopback --listen"},
		{"no auth on a public address", testKeys(), "", codecServerOptions{listen: "10.0.0.1:8081", insecureNoAuth: true}, "needs a loopback --listen"},
		{"no auth and a token", testKeys(), "t", codecServerOptions{listen: "127.0.0.1:0", insecureNoAuth: true}, "drop one"},
		{"bad origin", testKeys(), "t", codecServerOptions{listen: "127.0.0.1:0", allowOrigin: "temporal.example.com"}, "want scheme://host"},
		{"token", testKeys(), "t", codecServerOptions{listen: "127.0.0.1:0"}, ""},
		{"no auth on localhost", testKeys(), "", codecServerOptions{listen: "localhost:0", insecureNoAuth: true}, ""},
		{"no auth on ::1", testKeys(), "", codecServerOptions{listen: "[::1]:0", insecureNoAuth: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(codec.EnvKeys, tc.keys)
			t.Setenv(codec.EnvAuthToken, tc.token)
			_, err := newApp(io.Discard, io.Discard).codecHandler(tc.o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
