// Package slackfake is a fake Slack for tests, both directions:
//
//   - outbound: a recording Slack Web API (slack-go's slacktest server)
//     with the methods quench calls (chat.postMessage, chat.update,
//     chat.postEphemeral, views.open, usergroups.users.list) and an
//     interaction response_url endpoint, each recording what it received
//     and able to fail on demand (5xx, 429 with Retry-After, Slack errors);
//   - inbound: the interactions Slack would send to quench's handler
//     (button clicks on a recorded message, deny-modal submissions,
//     requests signed like Slack signs them).
//
// Together they let a test click a button of a message the Notifier
// posted and read what quench answered.
//
// It is imported only by _test.go files and by other packages under
// internal/testing (internal/archtest enforces this).
package slackfake
