package slackapp

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/internal/secret"
)

// Environment variables the Slack secrets come from. Each may instead name
// a file with the same variable plus _FILE (SLACK_BOT_TOKEN_FILE), for
// secrets mounted by an orchestrator. Secrets never come from flags.
const (
	EnvBotToken      = "SLACK_BOT_TOKEN"
	EnvSigningSecret = "SLACK_SIGNING_SECRET"
	EnvAppToken      = "SLACK_APP_TOKEN"
)

// Secrets are the Slack credentials. String, GoString and LogValue redact
// them, so printing or logging a Secrets cannot leak a token.
type Secrets struct {
	// BotToken (xoxb-…) posts and updates messages.
	BotToken string
	// SigningSecret verifies requests to /slack/interactions.
	SigningSecret string
	// AppToken (xapp-…) opens a Socket Mode connection.
	AppToken string
}

// LoadSecrets reads the secrets from the environment, or from the files
// named by the _FILE variables. Setting both a variable and its _FILE is
// an error, as is an unreadable or empty file; unset secrets stay empty.
func LoadSecrets() (Secrets, error) {
	var s Secrets
	for _, f := range []struct {
		env string
		dst *string
	}{{EnvBotToken, &s.BotToken}, {EnvSigningSecret, &s.SigningSecret}, {EnvAppToken, &s.AppToken}} {
		v, err := readSecret(f.env)
		if err != nil {
			return Secrets{}, err
		}
		*f.dst = v
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		return Secrets{}, fmt.Errorf("load slack secrets: %s must be an app-level token (xapp-…)", EnvAppToken)
	}
	return s, nil
}

func readSecret(env string) (string, error) {
	v, _, err := secret.FromEnv(env)
	if err != nil {
		return "", fmt.Errorf("load slack secrets: %w", err)
	}
	return v, nil
}

func redacted(v string) string {
	if v == "" {
		return "unset"
	}
	return "set"
}

// String redacts: it only says which secrets are set.
func (s Secrets) String() string {
	return fmt.Sprintf("slack secrets{bot_token:%s signing_secret:%s app_token:%s}",
		redacted(s.BotToken), redacted(s.SigningSecret), redacted(s.AppToken))
}

// GoString redacts too (%#v).
func (s Secrets) GoString() string { return s.String() }

// LogValue redacts for log/slog.
func (s Secrets) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("botToken", redacted(s.BotToken)),
		slog.String("signingSecret", redacted(s.SigningSecret)),
		slog.String("appToken", redacted(s.AppToken)),
	)
}

// Client returns a Slack Web API client with the bot token (and the app
// token, for Socket Mode), or nil when there is no bot token: pass the
// result to NewNotifier, which treats nil as "not configured".
func (s Secrets) Client(opts ...slack.Option) *slack.Client {
	if s.BotToken == "" {
		return nil
	}
	if s.AppToken != "" {
		opts = append([]slack.Option{slack.OptionAppLevelToken(s.AppToken)}, opts...)
	}
	return slack.New(s.BotToken, opts...)
}
