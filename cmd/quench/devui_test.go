package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quenchhq/quench/internal/codec"
)

var (
	devReadyLine = regexp.MustCompile(`quench dev ready: temporal (\S+) namespace \S+, http (\S+), ui (\S+),`)
	devCodecLine = regexp.MustCompile(`codec endpoint (\S+) \(token (\S+)\)`)
)

// quench dev serves the Temporal UI for its embedded server, and the codec
// route the UI decodes with: only for the token (a header, or the cookie
// the sign-in link sets), and for browsers only from the UI's origin.
func TestDevServesUIAndCodecRoute(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(codec.EnvKeys, testKeys())
	t.Setenv(codec.EnvKeysFile, "")
	t.Setenv(codec.EnvAuthToken, "")
	t.Setenv(codec.EnvAuthTokenFile, "")
	out, _, stop := startDev(t, "dev", "--data-dir", t.TempDir(), "--temporal-port", "0", "--listen", "127.0.0.1:0", "--log-level", "error")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("dev stopped with %v", err)
		}
	}()
	m := devReadyLine.FindStringSubmatch(out)
	cm := devCodecLine.FindStringSubmatch(out)
	if m == nil || cm == nil {
		t.Fatalf("no ready line with the ui, or no codec line:\n%s", out)
	}
	frontend, httpURL, ui := m[1], m[2], m[3]
	endpoint, token := cm[1], cm[2]
	// A random temporal port gives the UI a free port of its own (its
	// + 1000 may be taken); a fixed one gives + 1000 (TestDevUIPortDefaults).
	if !strings.HasPrefix(ui, "http://127.0.0.1:") || portOf(t, strings.TrimPrefix(ui, "http://")) == portOf(t, frontend) {
		t.Errorf("ui at %s, want http://127.0.0.1:<a port of its own> (temporal at %s)", ui, frontend)
	}
	if endpoint != httpURL+"/codec" || len(token) != 32 {
		t.Errorf("codec endpoint %s token %q, want %s/codec and a 32-hex-digit token made for this run", endpoint, token, httpURL)
	}
	if !strings.Contains(out, endpoint+"/signin?token="+token) {
		t.Errorf("no sign-in link for the UI in:\n%s", out)
	}

	// The UI: its app, and the API it calls, backed by the embedded server.
	resp, body := do(t, "GET", ui+"/", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "_app/immutable/entry/app.") {
		t.Fatalf("GET ui /: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var settings struct {
		DefaultNamespace string
		Codec            struct {
			Endpoint           string
			IncludeCredentials bool
		}
	}
	getJSON(t, ui+"/api/v1/settings", &settings)
	if settings.DefaultNamespace != "default" || settings.Codec.Endpoint != endpoint || !settings.Codec.IncludeCredentials {
		t.Errorf("ui settings %+v, want namespace default and codec %s with credentials", settings, endpoint)
	}
	var nss struct {
		Namespaces []struct{ NamespaceInfo struct{ Name string } }
	}
	getJSON(t, ui+"/api/v1/namespaces", &nss)
	var names []string
	for _, n := range nss.Namespaces {
		names = append(names, n.NamespaceInfo.Name)
	}
	if !slices.Contains(names, "default") {
		t.Errorf("namespaces through the ui: %v, want default (the embedded server's)", names)
	}

	// The codec route decodes what quench encrypts, for the token only.
	const canary = "canary-ui-7f21"
	sealed := encrypt(t, canary)
	decode := endpoint + "/decode"
	post := func(h http.Header) (int, string) {
		resp, body := do(t, "POST", decode, h, sealed)
		return resp.StatusCode, body
	}
	hdr := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	if code, body := post(hdr("Authorization", "Bearer "+token)); code != 200 || !strings.Contains(body, b64(canary)) {
		t.Errorf("decode with the token: %d %s, want the canary", code, body)
	}
	for name, h := range map[string]http.Header{
		"no token":     hdr(),
		"wrong token":  hdr("Authorization", "Bearer "+strings.Repeat("0", 32)),
		"wrong cookie": hdr("Cookie", codecCookie+"=nope"),
	} {
		if code, body := post(h); code != http.StatusUnauthorized || strings.Contains(body, b64(canary)) {
			t.Errorf("decode with %s: %d %s, want 401", name, code, body)
		}
	}

	// The browser: the sign-in link sets the cookie and sends it to the UI.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signin := func(q string) *http.Response {
		resp, err := noFollow.Get(endpoint + "/signin?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := signin("token=wrong"); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
		t.Errorf("sign-in with a wrong token: %d %v, want 401 and no cookie", r.StatusCode, r.Cookies())
	}
	if r := signin("token=" + token + "&to=" + url.QueryEscape("//evil.example/x")); r.Header.Get("Location") != ui+"/" {
		t.Errorf("sign-in to another host: redirected to %q, want the UI's start page", r.Header.Get("Location"))
	}
	r := signin("token=" + token + "&to=" + url.QueryEscape("/namespaces/default/workflows"))
	cookies := r.Cookies()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != ui+"/namespaces/default/workflows" || len(cookies) != 1 ||
		cookies[0].Name != codecCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/codec" {
		t.Fatalf("sign-in: %d to %q, cookies %v; want 303 to the UI page and one HttpOnly SameSite=Strict cookie for /codec", r.StatusCode, r.Header.Get("Location"), cookies)
	}
	cookie := codecCookie + "=" + cookies[0].Value
	if code, body := post(hdr("Cookie", cookie, "Origin", ui)); code != 200 || !strings.Contains(body, b64(canary)) {
		t.Errorf("decode from the UI with the cookie: %d %s, want the canary", code, body)
	}
	if code, _ := post(hdr("Cookie", cookie, "Origin", "http://127.0.0.1:9999")); code != http.StatusForbidden {
		t.Errorf("decode with the cookie from another origin: %d, want 403", code)
	}

	// CORS: the UI's preflight is allowed, another origin's refused.
	pre := func(origin string) *http.Response {
		resp, _ := do(t, "OPTIONS", decode, hdr("Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-namespace"), nil)
		return resp
	}
	if r := pre(ui); r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != ui || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight from the UI: %d %v, want 204 allowing it with credentials", r.StatusCode, r.Header)
	}
	if r := pre("http://localhost:8233"); r.StatusCode != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v, want 403", r.StatusCode, r.Header)
	}
}

// --headless serves no UI; the codec route stays, for the CLI, with the
// token from the environment (not printed), and no browser may call it.
func TestDevHeadless(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if res := runQuench(t, "dev", "--headless", "--ui-port", "9233"); res.code != 2 || !strings.Contains(res.stderr, "--ui-port with --headless") {
		t.Errorf("--headless --ui-port: exit %d %s, want a usage error", res.code, res.stderr)
	}
	t.Setenv(codec.EnvKeys, testKeys())
	t.Setenv(codec.EnvKeysFile, "")
	t.Setenv(codec.EnvAuthToken, "tok-env-51d0")
	t.Setenv(codec.EnvAuthTokenFile, "")
	out, _, stop := startDev(t, "dev", "--headless", "--data-dir", t.TempDir(), "--temporal-port", "0", "--listen", "127.0.0.1:0", "--log-level", "error")
	defer func() { _ = stop() }()
	m := devReadyLine.FindStringSubmatch(out)
	cm := devCodecLine.FindStringSubmatch(out)
	if m == nil || m[3] != "off" || cm == nil {
		t.Fatalf("want a ready line with ui off and a codec line:\n%s", out)
	}
	if strings.Contains(out, "tok-env-51d0") || cm[2] != "$"+codec.EnvAuthToken || strings.Contains(out, "/signin") {
		t.Errorf("the environment's token is printed, or a sign-in link without a UI:\n%s", out)
	}
	uiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(portOf(t, m[1])+1000))
	if c, err := net.DialTimeout("tcp", uiAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s (the UI port) with --headless", uiAddr)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer tok-env-51d0"}}
	if resp, body := do(t, "POST", cm[1]+"/decode", h, encrypt(t, "canary-headless-5e2a")); resp.StatusCode != 200 {
		t.Errorf("decode with the environment's token: %d %s", resp.StatusCode, body)
	}
	h.Set("Origin", "http://127.0.0.1:8233")
	if resp, _ := do(t, "POST", cm[1]+"/decode", h, encrypt(t, "canary-headless-5e2a")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("decode from a browser with no UI: %d, want 403", resp.StatusCode)
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// encrypt is the codec request body of s sealed as quench seals payloads.
func encrypt(t *testing.T, s string) []byte {
	t.Helper()
	c, err := codec.Parse("test", testKeys())
	if err != nil {
		t.Fatal(err)
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	// Only a string long enough not to turn up by chance in random bytes
	// says anything (a 1-byte "x" does, in about one sealing in five).
	if len(s) >= 8 && bytes.Contains(sealed[0].Data, []byte(s)) {
		t.Fatal("the codec left the payload in plaintext")
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// b64 is how a decoded JSON payload's data carries s (protojson bytes).
func b64(s string) string {
	b, _ := json.Marshal([]byte(`"` + s + `"`))
	return strings.Trim(string(b), `"`)
}

func do(t *testing.T, method, url string, h http.Header, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if h != nil {
		req.Header = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, body := do(t, "GET", url, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %.300s", url, resp.StatusCode, body)
	}
	decodeJSON(t, body, v)
}

// The UI's port: --ui-port when given; the temporal port + 1000 for a fixed
// temporal port, as temporal server start-dev does; a free port for a
// random one; none when headless.
func TestDevUIPortDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    devOptions
		want int // -1: any free port
	}{
		{"fixed temporal port", devOptions{temporalPort: 7233}, 8233},
		{"--ui-port wins", devOptions{temporalPort: 7233, uiPort: 9000}, 9000},
		{"random temporal port", devOptions{temporalPort: 0}, -1},
		{"headless", devOptions{temporalPort: 7233, headless: true}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			frontend := tt.o.temporalPort
			if frontend == 0 {
				frontend = 41000 // what the server picked
			}
			got, err := devUIPort(tt.o, "127.0.0.1:"+strconv.Itoa(frontend))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == -1 && (got <= 0 || got == 42000) || tt.want != -1 && got != tt.want {
				t.Errorf("ui port %d, want %d", got, tt.want)
			}
		})
	}
	if _, err := devUIPort(devOptions{temporalPort: 65000}, "127.0.0.1:65000"); err == nil || !strings.Contains(err.Error(), "--ui-port") {
		t.Errorf("temporal port 65000: %v, want an error pointing at --ui-port", err)
	}
}
