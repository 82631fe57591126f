package slackapp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Block Kit identifiers shared by the Notifier (which posts approval
// requests) and the Handler (which reads the clicks and rewrites the
// message).
const (
	// ActionApprove and ActionDeny are the action_ids of the request's buttons.
	ActionApprove = "quench_approve"
	ActionDeny    = "quench_deny"

	BlockHeader    = "quench_header"
	BlockFacts     = "quench_facts"
	BlockEscalated = "quench_escalated"
	BlockMessage   = "quench_message"
	BlockPlanned   = "quench_planned"
	BlockApprovers = "quench_approvers"
	BlockVotes     = "quench_votes"
	BlockActions   = "quench_actions"
	BlockDecision  = "quench_decision"
)

// Slack limits (https://api.slack.com/reference/block-kit/blocks).
const (
	maxButtonValue = 2000
	maxSectionText = 3000
	maxHeaderText  = 150
)

// EscapeText escapes the three characters Slack's mrkdwn treats as control
// characters. Runbook messages interpolate parameters that may come from
// alerts; unescaped, an alert could inject <!channel> or links.
func EscapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	// Do not split a UTF-8 sequence.
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// MentionActor renders who decided: a Slack user id as a mention, anyone
// else (a CLI user) as code.
func MentionActor(actor string) string {
	if slackUserID.MatchString(actor) {
		return "<@" + actor + ">"
	}
	return "`" + strings.ReplaceAll(EscapeText(actor), "`", "'") + "`"
}

// MentionApprovers lists who may approve, as Slack renders it: users as
// mentions, user groups as subteam mentions, CLI users as code.
func MentionApprovers(a runbooks.Approvers) string {
	var parts []string
	for _, u := range a.SlackUsers {
		parts = append(parts, "<@"+u+">")
	}
	for _, g := range a.SlackGroups {
		parts = append(parts, "<!subteam^"+g+">")
	}
	for _, c := range a.CLIUsers {
		parts = append(parts, "`"+EscapeText(c)+"` (CLI)")
	}
	if len(parts) == 0 {
		return "nobody listed"
	}
	return strings.Join(parts, ", ")
}

// SlackDate renders t in each reader's time zone, with a UTC fallback for
// clients that cannot.
func SlackDate(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.Format("2006-01-02 15:04 UTC"))
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, true, false)
}

func section(blockID, text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(blockID))
}

func header(text string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plain(truncate(text, maxHeaderText)), slack.HeaderBlockOptionBlockID(BlockHeader))
}

func factsBlock(ref contract.IncidentRef, step string) *slack.ContextBlock {
	text := fmt.Sprintf("Incident `%s` · runbook `%s` · severity *%s* · step `%s`",
		EscapeText(ref.ID), EscapeText(ref.Runbook), EscapeText(ref.Severity), EscapeText(step))
	return slack.NewContextBlock(BlockFacts, mrkdwn(text))
}

// ApprovalRequestBlocks builds the approval request message: what is asked,
// what will change, who may approve until when, and the buttons. It returns
// the blocks and the notification fallback text.
func ApprovalRequestBlocks(req contract.ApprovalRequest) ([]slack.Block, string, error) {
	ref := req.Incident
	value, err := ApprovalButton{
		Incident: ref.ID, Step: req.Step, Runbook: ref.Runbook, Severity: ref.Severity,
		Groups: req.Approvers.SlackGroups,
	}.Encode()
	if err != nil {
		return nil, "", err
	}

	title := fmt.Sprintf("Approval needed: %s (%s, %s)", ref.ID, ref.Runbook, ref.Severity)
	blocks := []slack.Block{header(title), factsBlock(ref, req.Step)}
	if req.Escalation {
		blocks = append(blocks, section(BlockEscalated, fmt.Sprintf(":rotating_light: *Escalated:* still pending, %s please decide.", MentionApprovers(req.Approvers))))
	}
	message := req.Message
	if message == "" {
		message = "Approve step " + req.Step + "?"
	}
	blocks = append(blocks, section(BlockMessage, EscapeText(message)))
	if len(req.Planned) > 0 {
		blocks = append(blocks, section(BlockPlanned, plannedText(req.Planned)))
	}

	needed := req.MinApprovals
	if needed < 1 {
		needed = 1
	}
	who := fmt.Sprintf("*Who may approve:* %s\n*Approvals needed:* %d distinct", MentionApprovers(req.Approvers), needed)
	if !req.Deadline.IsZero() {
		who += fmt.Sprintf(" · *Deadline:* %s", SlackDate(req.Deadline))
	}
	if req.Requester != "" {
		who += fmt.Sprintf("\n*Requested by:* %s", MentionActor(req.Requester))
	}
	blocks = append(blocks, section(BlockApprovers, who))

	approve := slack.NewButtonBlockElement(ActionApprove, value, plain("Approve")).WithStyle(slack.StylePrimary)
	deny := slack.NewButtonBlockElement(ActionDeny, value, plain("Deny")).WithStyle(slack.StyleDanger)
	blocks = append(blocks, slack.NewActionBlock(BlockActions, approve, deny))

	fallback := fmt.Sprintf("Approval needed for incident %s (%s, %s): %s", ref.ID, ref.Runbook, ref.Severity, EscapeText(message))
	if req.Escalation {
		fallback = "Escalated: " + fallback
	}
	return blocks, fallback, nil
}

// plannedText renders the dry run of the gated steps: each resource, what
// will be done to it and the state it is in now.
func plannedText(planned []contract.PlannedChange) string {
	var b strings.Builder
	b.WriteString("*What will change:*")
	for _, p := range planned {
		summary := p.Summary
		if summary == "" {
			summary = "no change reported by the dry run"
		}
		fmt.Fprintf(&b, "\n• `%s` (`%s`): %s", EscapeText(p.Step), EscapeText(p.Action), EscapeText(summary))
		if len(p.Prior) > 0 {
			b.WriteString("\n      now: ")
			b.WriteString(EscapeText(formatPrior(p.Prior)))
		}
	}
	return b.String()
}

func formatPrior(prior map[string]any) string {
	keys := make([]string, 0, len(prior))
	for k := range prior {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := prior[k]
		var s string
		switch x := v.(type) {
		case string:
			s = x
		default:
			raw, err := json.Marshal(x)
			if err != nil {
				s = fmt.Sprint(x)
			} else {
				s = string(raw)
			}
		}
		parts = append(parts, k+"="+truncate(s, 200))
	}
	return strings.Join(parts, ", ")
}

// ApprovalDecidedBlocks builds the message that replaces a decided request:
// no buttons, who decided and when ("Approved by <@U…> at 14:02 UTC").
func ApprovalDecidedBlocks(d contract.ApprovalDecided) ([]slack.Block, string) {
	line := DecisionLine(d)
	verb := "Approved"
	if d.Decision != "approved" {
		verb = "Denied"
	}
	title := fmt.Sprintf("%s: %s (%s, %s)", verb, d.Incident.ID, d.Incident.Runbook, d.Incident.Severity)
	blocks := []slack.Block{header(title), factsBlock(d.Incident, d.Step), section(BlockDecision, line)}
	return blocks, fmt.Sprintf("Incident %s step %s: %s", d.Incident.ID, d.Step, line)
}

// DecisionLine is the one line saying who decided what and when.
func DecisionLine(d contract.ApprovalDecided) string {
	mentions := make([]string, 0, len(d.Actors))
	for _, a := range d.Actors {
		mentions = append(mentions, MentionActor(a))
	}
	at := ""
	if !d.At.IsZero() {
		at = " at " + d.At.UTC().Format("15:04") + " UTC"
	}
	switch {
	case d.Decision == "approved":
		return fmt.Sprintf(":white_check_mark: Approved by %s%s", strings.Join(mentions, ", "), at)
	case len(mentions) == 0:
		// Nobody denied it: the approval timed out (a clock never approves).
		reason := d.Reason
		if reason == "" {
			reason = "timed out"
		}
		return fmt.Sprintf(":no_entry: Denied%s: %s", at, EscapeText(reason))
	default:
		line := fmt.Sprintf(":no_entry: Denied by %s%s", strings.Join(mentions, ", "), at)
		// The workflow's step summary reads "denied by U…: reason"; the
		// line already says who, so keep only the reason.
		reason, _ := strings.CutPrefix(d.Reason, "denied by "+strings.Join(d.Actors, ", "))
		if reason = strings.TrimPrefix(reason, ": "); reason != "" {
			line += ": " + EscapeText(reason)
		}
		return line
	}
}

// ApprovalVotesBlock says how many of the needed approvals are in and from
// whom; the buttons stay so others can add theirs.
func ApprovalVotesBlock(approvals, needed int, voters []string) slack.Block {
	mentions := make([]string, 0, len(voters))
	for _, v := range voters {
		mentions = append(mentions, MentionActor(v))
	}
	text := fmt.Sprintf("%d of %d approvals: %s", approvals, needed, strings.Join(mentions, ", "))
	return slack.NewContextBlock(BlockVotes, mrkdwn(text))
}
