// Package slackapp receives Slack interactions (Approve/Deny clicks and the
// deny-reason modal) over HTTP or Socket Mode, verifies them, and turns
// them into the Incident workflow's approve/deny Updates.
//
// Flow of a click:
//
//	POST /slack/interactions ─ VerifyRequest (v0 HMAC, ±5 min) ─ 401 on failure, nothing else
//	  └ HandleInteraction ─ ack at once (Slack wants 3 s) ─ background:
//	      resolve the clicker's user groups (GroupCache, usergroups.users.list, 60 s)
//	      Decider.Decide(incident, approve|deny, Decision{Actor: Slack user id, Via: "slack"})
//	      success  → replace the message via response_url (chat.update as fallback)
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
// SLACK_APP_TOKEN, or the files named by the same variables plus _FILE.
package slackapp
