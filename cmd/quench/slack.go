package main

import (
	"log/slog"
	"os"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/slackapp"
)

// slackSetup is the Slack configuration from the environment: secrets
// (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, or their _FILE
// variants) and the default channel (QUENCH_SLACK_CHANNEL).
type slackSetup struct {
	secrets slackapp.Secrets
	channel string
}

func loadSlack() (slackSetup, error) {
	s, err := slackapp.LoadSecrets()
	if err != nil {
		return slackSetup{}, err
	}
	return slackSetup{secrets: s, channel: os.Getenv("QUENCH_SLACK_CHANNEL")}, nil
}

func (s slackSetup) notifier(logger *slog.Logger) *activities.Notifier {
	if c := s.secrets.Client(); c != nil {
		return activities.NewNotifier(c, s.channel, logger)
	}
	logger.Info("SLACK_BOT_TOKEN not set: approval requests and updates are logged, approve from the CLI")
	return activities.NewNotifier(nil, s.channel, logger)
}
