package main

import (
	"log/slog"
	"os"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/activities"
)

// slackSecrets are the Slack credentials from the environment.
type slackSecrets struct {
	botToken string
	channel  string
}

func loadSlack() (slackSecrets, error) {
	return slackSecrets{botToken: os.Getenv("SLACK_BOT_TOKEN"), channel: os.Getenv("QUENCH_SLACK_CHANNEL")}, nil
}

func (s slackSecrets) notifier(logger *slog.Logger) *activities.Notifier {
	if s.botToken == "" {
		return activities.NewNotifier(nil, s.channel, logger)
	}
	return activities.NewNotifier(slack.New(s.botToken), s.channel, logger)
}
