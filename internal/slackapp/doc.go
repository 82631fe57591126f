// Package slackapp is quench's Slack app, both directions: it builds and
// posts an incident's messages, and it receives the clicks on them.
//
// Outbound (the Notifier, called by the notify.* activities and the
// slack.notify action in package activities):
//
//	ApprovalRequestBlocks ─ header, facts, message, planned changes, approvers,
//	  │                     Approve/Deny buttons carrying an ApprovalButton
//	  └ chat.postMessage ─ the incident's first post starts its thread;
//	                       later requests reply in it (escalations broadcast)
//	ApprovalDecidedBlocks ─ chat.update of the request (buttons removed)
//	failures ─ *Error with a Kind: transient, rate limited (Retry-After),
//	           access denied, not found, refused, invalid argument
//
// Inbound (the Handler), a click on those buttons:
//
//	POST /slack/interactions ─ VerifyRequest (v0 HMAC, ±5 min) ─ 401 on failure, nothing else
//	  └ HandleInteraction ─ DecodeApprovalButton ─ ack at once (Slack wants 3 s) ─ background:
//	      resolve the clicker's user groups (GroupCache, usergroups.users.list, 60 s)
//	      Decider.Decide(incident, approve|deny, Decision{Actor: Slack user id, Via: "slack"})
//	      success  → replace the message via response_url (chat.update as fallback),
//	                 with the same blocks the Notifier builds (votes, decision line)
//	      refused  → chat.postEphemeral to the clicker with the validator's reason
//
// Deny opens a modal (views.open) asking for a reason; submitting it denies.
// Socket Mode (RunSocketMode) feeds the same HandleInteraction without a
// signature check: the app-level token authenticates the connection.
//
// The Slack app needs: bot token scopes chat:write (chat:write.public to
// post in public channels without being invited) and usergroups:read;
// Interactivity on, with the Request URL https://HOST/slack/interactions,
// or Socket Mode on with an app-level token that has connections:write.
// Secrets come from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and
// SLACK_APP_TOKEN, or the files named by the same variables plus _FILE
// (LoadSecrets; they never print or log).
//
// It imports slack-go, runbooks and workflows/contract. It must not import
// activities, workflows, the Temporal SDK or cmd: Temporal's retry policy
// is the activities' business (they map Kind to it), and the workflow
// reaches the handler only through the Decider interface. Its test fake
// lives in internal/testing/slackfake.
package slackapp
