package slackapp_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quenchhq/quench/internal/slackapp"
)

func clearSlackEnv(t *testing.T) {
	for _, k := range []string{slackapp.EnvBotToken, slackapp.EnvSigningSecret, slackapp.EnvAppToken} {
		t.Setenv(k, "")
		t.Setenv(k+"_FILE", "")
	}
}

func TestLoadSecretsFromEnvAndFiles(t *testing.T) {
	clearSlackEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "signing")
	if err := os.WriteFile(file, []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(slackapp.EnvBotToken, "xoxb-from-env")
	t.Setenv(slackapp.EnvSigningSecret+"_FILE", file)
	t.Setenv(slackapp.EnvAppToken, "xapp-1-from-env")

	s, err := slackapp.LoadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if s.BotToken != "xoxb-from-env" || s.SigningSecret != "s3cr3t-from-file" || s.AppToken != "xapp-1-from-env" {
		t.Errorf("secrets not loaded as expected (bot=%t signing=%t app=%t)",
			s.BotToken == "xoxb-from-env", s.SigningSecret == "s3cr3t-from-file", s.AppToken == "xapp-1-from-env")
	}
	if s.Client() == nil {
		t.Errorf("Client() = nil with a bot token")
	}
}

func TestLoadSecretsErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both value and file", map[string]string{"SLACK_BOT_TOKEN": "xoxb-a", "SLACK_BOT_TOKEN_FILE": empty}, "both SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE"},
		{"missing file", map[string]string{"SLACK_SIGNING_SECRET_FILE": filepath.Join(dir, "nope")}, "SLACK_SIGNING_SECRET_FILE"},
		{"empty file", map[string]string{"SLACK_SIGNING_SECRET_FILE": empty}, "is empty"},
		{"bot token as app token", map[string]string{"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "app-level token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearSlackEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := slackapp.LoadSecrets()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "xoxb-") {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}

func TestSecretsNeverPrintOrLog(t *testing.T) {
	s := slackapp.Secrets{BotToken: "xoxb-SECRET-1", SigningSecret: "SECRET-2", AppToken: "xapp-SECRET-3"}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "slack", s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "slack", s)
	out := strings.Join([]string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), fmt.Sprintf("%v", &s), logs.String(),
	}, "\n")
	if strings.Contains(out, "SECRET") {
		t.Fatalf("a secret was printed:\n%s", out)
	}
	if !strings.Contains(out, "set") {
		t.Errorf("output does not say which secrets are set:\n%s", out)
	}
	if (slackapp.Secrets{}).Client() != nil {
		t.Errorf("Client() without a bot token is not nil")
	}
}
