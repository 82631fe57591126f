package slackfake

import (
	"strings"

	"github.com/slack-go/slack"
)

// BlockText flattens what a reader sees in Block Kit blocks, by block id:
// header, section and context text; an actions block as its buttons'
// action ids, space-separated.
func BlockText(blocks slack.Blocks) map[string]string {
	out := map[string]string{}
	for _, b := range blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			out[b.BlockID] = b.Text.Text
		case *slack.SectionBlock:
			if b.Text != nil {
				out[b.BlockID] = b.Text.Text
			}
		case *slack.ContextBlock:
			var parts []string
			for _, e := range b.ContextElements.Elements {
				if tb, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, tb.Text)
				}
			}
			out[b.BlockID] = strings.Join(parts, " ")
		case *slack.ActionBlock:
			var ids []string
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					ids = append(ids, btn.ActionID)
				}
			}
			out[b.BlockID] = strings.Join(ids, " ")
		}
	}
	return out
}
