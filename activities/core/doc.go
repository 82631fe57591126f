// Package core holds the actions that need nothing outside quench: they let
// runbooks log, pause and fail on purpose, and record values whose undo can
// be checked end to end (RecordStore). It imports activities/action, never
// AWS or Slack.
package core
