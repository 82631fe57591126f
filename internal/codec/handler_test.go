package codec_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quenchhq/quench/internal/codec"
)

const uiOrigin = "http://localhost:8233"

func encryptedBody(t *testing.T, c *codec.Codec) string {
	t.Helper()
	enc, err := c.Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerDecodesOnlyForTheTokenAndTheOrigin(t *testing.T) {
	c := mustParse(t, "k1:"+keyOf(1))
	h, err := codec.Handler(c, codec.HandlerOptions{Token: "s3cret", AllowOrigin: uiOrigin + "/"})
	if err != nil {
		t.Fatal(err)
	}
	body := encryptedBody(t, c)
	do := func(method, path, auth, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		name, method, path, auth, origin string
		code                             int
	}{
		{"cli with token", "POST", "/decode", "Bearer s3cret", "", 200},
		{"ui with token", "POST", "/decode", "Bearer s3cret", uiOrigin, 200},
		{"no token", "POST", "/decode", "", "", 401},
		{"wrong token", "POST", "/decode", "Bearer s3cre", "", 401},
		{"token without scheme", "POST", "/decode", "s3cret", "", 401},
		{"foreign origin with token", "POST", "/decode", "Bearer s3cret", "https://evil.example", 403},
		{"preflight from the ui", "OPTIONS", "/decode", "", uiOrigin, 204},
		{"preflight from elsewhere", "OPTIONS", "/decode", "", "https://evil.example", 403},
		{"get", "GET", "/decode", "Bearer s3cret", "", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(tc.method, tc.path, tc.auth, tc.origin)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			acao := w.Header().Get("Access-Control-Allow-Origin")
			if (tc.origin == uiOrigin) != (acao == uiOrigin) || (acao != "" && acao != uiOrigin) {
				t.Errorf("Access-Control-Allow-Origin %q for origin %q", acao, tc.origin)
			}
			if tc.code == 200 {
				var ps commonpb.Payloads
				if err := protojson.Unmarshal(w.Body.Bytes(), &ps); err != nil || len(ps.Payloads) != 1 {
					t.Fatalf("answer: %v %s", err, w.Body)
				}
				var m map[string]string
				if err := json.Unmarshal(ps.Payloads[0].Data, &m); err != nil || m["label"] != canary {
					t.Errorf("decoded %q, %v", ps.Payloads[0].Data, err)
				}
			} else if strings.Contains(w.Body.String(), "payloads") {
				t.Errorf("refused request answered with payloads: %s", w.Body)
			}
			if tc.code == 204 && !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("preflight does not allow Authorization: %v", w.Header())
			}
		})
	}
}

func TestHandlerFailsClosed(t *testing.T) {
	c := mustParse(t, "k1:"+keyOf(1))
	if _, err := codec.Handler(c, codec.HandlerOptions{}); err == nil || !strings.Contains(err.Error(), codec.EnvAuthToken) {
		t.Errorf("no token: %v, want an error naming %s", err, codec.EnvAuthToken)
	}
	if _, err := codec.Handler(nil, codec.HandlerOptions{Token: "t"}); err == nil || !strings.Contains(err.Error(), codec.EnvKeys) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := codec.Handler(c, codec.HandlerOptions{Token: "t", AllowOrigin: "localhost:8233/ui"}); err == nil {
		t.Error("an origin that is not scheme://host accepted")
	}
	h, err := codec.Handler(c, codec.HandlerOptions{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/decode", strings.NewReader(encryptedBody(t, c)))
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Set("Origin", uiOrigin)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("no allowed origin configured, browser request: %d, want 403", w.Code)
	}
}
