package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"gopkg.in/yaml.v3"
)

// slackScopes is the bot scope each slack-go Client method quench calls
// needs ("" for none), from the methods' pages on api.slack.com.
var slackScopes = map[string]string{
	"PostMessageContext":         "chat:write",      // chat.postMessage
	"UpdateMessageContext":       "chat:write",      // chat.update
	"PostEphemeralContext":       "chat:write",      // chat.postEphemeral
	"GetUserGroupMembersContext": "usergroups:read", // usergroups.users.list
	"OpenViewContext":            "",                // views.open: a trigger_id, no scope
}

// slackCallers are the packages that hold a Slack client.
var slackCallers = []string{"../internal/slackapp", "../internal/httpapi", "../activities", "../worker", "../cmd/quench"}

type slackManifest struct {
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketModeEnabled *bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
	DisplayInformation struct {
		Name string `yaml:"name"`
	} `yaml:"display_information"`
}

// calledSlackMethods lists the *slack.Client methods called anywhere in
// the non-test Go files of dirs (any selector call whose name is one).
func calledSlackMethods(t *testing.T, dirs ...string) []string {
	t.Helper()
	client := reflect.TypeOf(&slack.Client{})
	seen := map[string]bool{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
						if _, ok := client.MethodByName(sel.Sel.Name); ok {
							seen[sel.Sel.Name] = true
						}
					}
				}
				return true
			})
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func loadSlackManifest(t *testing.T) slackManifest {
	t.Helper()
	raw, err := os.ReadFile("slack-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m slackManifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("slack-manifest.yaml: %v", err)
	}
	return m
}

func TestSlackManifestScopesCoverTheCallsAndNoMore(t *testing.T) {
	m := loadSlackManifest(t)
	if m.DisplayInformation.Name == "" {
		t.Error("manifest has no display_information.name (Slack requires it)")
	}

	called := calledSlackMethods(t, slackCallers...)
	if len(called) == 0 {
		t.Fatal("found no slack-go calls: the scan is broken")
	}
	needed := map[string]bool{}
	for _, method := range called {
		scope, known := slackScopes[method]
		if !known {
			t.Errorf("quench calls slack.Client.%s: add the scope it needs to slackScopes and to deploy/slack-manifest.yaml", method)
			continue
		}
		if scope != "" {
			needed[scope] = true
		}
	}
	have := m.OAuthConfig.Scopes.Bot
	for scope := range needed {
		if !slices.Contains(have, scope) {
			t.Errorf("bot scope %s is needed but missing from the manifest", scope)
		}
	}
	for _, scope := range have {
		if !needed[scope] {
			t.Errorf("bot scope %s is granted but no call needs it (least privilege)", scope)
		}
	}
	t.Logf("slack calls %v need scopes %v", called, have)
}

func TestSlackManifestInteractivityURLIsServed(t *testing.T) {
	in := loadSlackManifest(t).Settings.Interactivity
	u, err := url.Parse(in.RequestURL)
	if !in.IsEnabled || err != nil || u.Scheme != "https" {
		t.Fatalf("interactivity: enabled %v, request_url %q: want an enabled https URL", in.IsEnabled, in.RequestURL)
	}
	src, err := os.ReadFile("../internal/httpapi/httpapi.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"POST `+u.Path+`"`) {
		t.Errorf("request_url path %s is not a route internal/httpapi serves", u.Path)
	}
	if loadSlackManifest(t).Settings.SocketModeEnabled == nil {
		t.Error("settings.socket_mode_enabled is not spelled out: users need to see the switch")
	}
}
