package devserver_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/quenchhq/quench/internal/devserver"
)

// The UI serves its app and, through its API, the embedded server's
// namespaces and the codec endpoint it was given.
func TestUIServesAppAndAPI(t *testing.T) {
	s := start(t, devserver.Options{InMemory: true, Namespace: "quench-ui"})
	const codecURL = "http://127.0.0.1:8080/codec"
	ui, err := devserver.StartUI(t.Context(), devserver.UIOptions{TemporalAddress: s.FrontendAddress(), Namespace: "quench-ui", CodecEndpoint: codecURL})
	if err != nil {
		t.Fatalf("start ui: %v", err)
	}
	defer ui.Stop()
	if !strings.HasPrefix(ui.URL(), "http://127.0.0.1:") {
		t.Fatalf("ui url %q: want http://127.0.0.1:PORT", ui.URL())
	}

	code, ctype, body := fetch(t, ui.URL()+"/")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "_app/immutable/entry/app.") {
		t.Fatalf("GET /: %d %s, want the UI's HTML app:\n%.300s", code, ctype, body)
	}

	// The first calls the app makes: its settings, then the namespaces.
	var settings struct {
		DefaultNamespace string
		Codec            struct {
			Endpoint                            string
			IncludeCredentials, PassAccessToken bool
		}
		WorkflowSignalDisabled, WorkflowUpdateDisabled, DisableNewsFetch bool
	}
	getJSON(t, ui.URL()+"/api/v1/settings", &settings)
	if settings.DefaultNamespace != "quench-ui" || settings.Codec.Endpoint != codecURL || !settings.Codec.IncludeCredentials || settings.Codec.PassAccessToken {
		t.Errorf("settings: %+v, want namespace quench-ui and codec %s with credentials", settings, codecURL)
	}
	if !settings.WorkflowSignalDisabled || !settings.WorkflowUpdateDisabled || !settings.DisableNewsFetch {
		t.Errorf("settings: %+v, want signals, updates and news fetch off", settings)
	}
	var list struct {
		Namespaces []struct{ NamespaceInfo struct{ Name string } }
	}
	getJSON(t, ui.URL()+"/api/v1/namespaces", &list)
	var names []string
	for _, n := range list.Namespaces {
		names = append(names, n.NamespaceInfo.Name)
	}
	if !strings.Contains(","+strings.Join(names, ",")+",", ",quench-ui,") {
		t.Errorf("namespaces through the ui: %v, want quench-ui (the embedded server's)", names)
	}

	ui.Stop()
	if _, err := http.Get(ui.URL() + "/healthz"); err == nil {
		t.Errorf("ui still answers after Stop")
	}
}

func TestUIPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = devserver.StartUI(t.Context(), devserver.UIOptions{TemporalAddress: "127.0.0.1:7233", Port: port})
	if !errors.Is(err, devserver.ErrPortInUse) || !strings.Contains(err.Error(), "--ui-port") || !strings.Contains(err.Error(), "--headless") {
		t.Fatalf("ui on a taken port: %v, want ErrPortInUse naming --ui-port and --headless", err)
	}
}

func fetch(t *testing.T, url string) (code int, ctype, body string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, _, body := fetch(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %.300s", url, err, body)
	}
}
