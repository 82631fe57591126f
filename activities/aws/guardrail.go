package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/workflows/contract"
)

// guardrailFilterTypes are every content filter type, in AWS's order.
var guardrailFilterTypes = []brtypes.GuardrailContentFilterType{
	brtypes.GuardrailContentFilterTypeSexual, brtypes.GuardrailContentFilterTypeViolence, brtypes.GuardrailContentFilterTypeHate,
	brtypes.GuardrailContentFilterTypeInsults, brtypes.GuardrailContentFilterTypeMisconduct, brtypes.GuardrailContentFilterTypePromptAttack,
}

var strengthRank = map[brtypes.GuardrailFilterStrength]int{"": 0, "NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}

// guardrailFilterNames are the filters argument's allowed values.
func guardrailFilterNames() []string {
	names := make([]string, len(guardrailFilterTypes))
	for i, t := range guardrailFilterTypes {
		names[i] = string(t)
	}
	return names
}

type applyGuardrailArgs struct {
	GuardrailID string   `json:"guardrail_id"`
	Strength    string   `json:"strength"`
	Filters     []string `json:"filters"`
}

type restoreGuardrailArgs struct {
	GuardrailID string                        `json:"guardrail_id"`
	Draft       *bedrock.UpdateGuardrailInput `json:"draft"`
}

// ApplyGuardrailPolicy raises a guardrail's content filters on the DRAFT
// and publishes the result as a new version.
func (b *BedrockActions) ApplyGuardrailPolicy(ctx context.Context, in contract.ActionInput, args applyGuardrailArgs) (contract.ActionResult, error) {
	strength := brtypes.GuardrailFilterStrength(args.Strength)
	if strength == "" {
		strength = brtypes.GuardrailFilterStrengthHigh
	}
	types := guardrailFilterTypes
	if len(args.Filters) > 0 {
		types = nil
		for _, f := range args.Filters {
			types = append(types, brtypes.GuardrailContentFilterType(f))
		}
	}
	c, err := b.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := "guardrail " + args.GuardrailID
	cur, err := b.waitGuardrail(ctx, c, args.GuardrailID, nil)
	if err != nil {
		return contract.ActionResult{}, err
	}
	prior := action.Checkpoint(ctx, guardrailUpdateInput(cur))
	_, changes := tightenGuardrail(prior, strength, types)
	res := contract.ActionResult{Prior: map[string]any{"content_filters": contentFilterSummary(prior), "draft": guardrailDraftMap(prior)}, DryRun: in.DryRun}
	if len(changes) == 0 {
		res.Summary = fmt.Sprintf("%s: content filters %s already at least %s; no new version", resource, filterNames(types), strength)
		res.Output = map[string]any{"guardrail_id": args.GuardrailID, "version": ""}
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would raise %s content filters (%s) and create a version", resource, strings.Join(changes, "; "))
		return res, nil
	}
	// Tighten what is there now: an earlier attempt may already have written.
	want, pending := tightenGuardrail(guardrailUpdateInput(cur), strength, types)
	if len(pending) > 0 {
		if _, err := c.UpdateGuardrail(ctx, want); err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "UpdateGuardrail", resource, err)
		}
	}
	if _, err := b.waitGuardrail(ctx, c, args.GuardrailID, func(g *bedrock.GetGuardrailOutput) bool {
		_, left := tightenGuardrail(guardrailUpdateInput(g), strength, types)
		return len(left) == 0
	}); err != nil {
		return contract.ActionResult{}, err
	}
	v, err := c.CreateGuardrailVersion(ctx, &bedrock.CreateGuardrailVersionInput{
		GuardrailIdentifier: aws.String(args.GuardrailID),
		ClientRequestToken:  aws.String(clientToken(in.Incident.ID, in.Step, args.GuardrailID)),
		Description:         aws.String(fmt.Sprintf("quench incident %s step %s: content filters raised to %s", in.Incident.ID, in.Step, strength)),
	})
	if err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "CreateGuardrailVersion", resource, err)
	}
	version := aws.ToString(v.Version)
	res.Output = map[string]any{"guardrail_id": args.GuardrailID, "version": version}
	res.Summary = fmt.Sprintf("raised %s content filters (%s) and created version %s", resource, strings.Join(changes, "; "), version)
	res.Warnings = append(res.Warnings, fmt.Sprintf("applications keep using the guardrail version they name: point them at version %s (e.g. with ssm.set_parameter)", version))
	res.Undo = &contract.UndoRecord{Action: ActionRestoreGuardrail, Args: map[string]any{"guardrail_id": args.GuardrailID, "draft": guardrailDraftMap(prior)}}
	return res, nil
}

// RestoreGuardrail puts a guardrail's DRAFT back as it was.
func (b *BedrockActions) RestoreGuardrail(ctx context.Context, in contract.ActionInput, args restoreGuardrailArgs) (contract.ActionResult, error) {
	if args.Draft == nil || aws.ToString(args.Draft.Name) == "" {
		return contract.ActionResult{}, action.InvalidArg(ActionRestoreGuardrail, "argument draft must name the guardrail")
	}
	want := *args.Draft
	want.GuardrailIdentifier = aws.String(args.GuardrailID)
	c, err := b.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := "guardrail " + args.GuardrailID
	cur, err := b.waitGuardrail(ctx, c, args.GuardrailID, nil)
	if err != nil {
		return contract.ActionResult{}, err
	}
	now := guardrailUpdateInput(cur)
	res := contract.ActionResult{Prior: map[string]any{"content_filters": contentFilterSummary(now)}, DryRun: in.DryRun}
	if sameGuardrailDraft(now, &want) {
		res.Summary = resource + " DRAFT already as it was before the incident; nothing to do"
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would restore the %s DRAFT (content filters %s)", resource, contentFilterText(&want))
		return res, nil
	}
	if _, err := c.UpdateGuardrail(ctx, &want); err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "UpdateGuardrail", resource, err)
	}
	if _, err := b.waitGuardrail(ctx, c, args.GuardrailID, func(g *bedrock.GetGuardrailOutput) bool {
		return contentFilterText(guardrailUpdateInput(g)) == contentFilterText(&want)
	}); err != nil {
		return contract.ActionResult{}, err
	}
	res.Summary = fmt.Sprintf("restored the %s DRAFT (content filters %s); versions created during the incident are kept, unused once applications are pointed back", resource, contentFilterText(&want))
	return res, nil
}

type revertGuardrailArgs struct {
	GuardrailID     string `json:"guardrail_id"`
	Version         string `json:"version"`
	PublishedBefore string `json:"published_before"`
}

// guardrailRevertStaysMsg is the timeline's word on why a reverted DRAFT is
// not undone.
const guardrailRevertStaysMsg = "not undone on rollback, by design: putting the weakened DRAFT back would redo the tampering"

// RevertGuardrailDraft puts a guardrail's DRAFT back to the policies of a
// published version. UpdateGuardrail only changes the DRAFT and versions
// are immutable, so the newest version published before the tampering is
// the known-good record of what the DRAFT held.
func (b *BedrockActions) RevertGuardrailDraft(ctx context.Context, in contract.ActionInput, args revertGuardrailArgs) (contract.ActionResult, error) {
	var before time.Time
	if args.PublishedBefore != "" {
		t, err := time.Parse(time.RFC3339, args.PublishedBefore)
		if err != nil {
			return contract.ActionResult{}, action.InvalidArg(ActionRevertGuardrailDraft, "argument published_before %q is not an RFC 3339 time (like 2026-11-28T20:13:57Z)", args.PublishedBefore)
		}
		before = t
	}
	c, err := b.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := "guardrail " + args.GuardrailID
	version := args.Version
	if version == "" {
		if version, err = knownGoodGuardrailVersion(ctx, c, args.GuardrailID, before); err != nil {
			return contract.ActionResult{}, err
		}
	}
	src, err := c.GetGuardrail(ctx, &bedrock.GetGuardrailInput{GuardrailIdentifier: aws.String(args.GuardrailID), GuardrailVersion: aws.String(version)})
	if err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "GetGuardrail", resource+" version "+version, err)
	}
	cur, err := b.waitGuardrail(ctx, c, args.GuardrailID, nil)
	if err != nil {
		return contract.ActionResult{}, err
	}
	now := guardrailUpdateInput(cur)
	want := guardrailUpdateInput(src)
	want.GuardrailIdentifier = aws.String(args.GuardrailID)
	// A version's description is the version's note, not the guardrail's.
	want.Description = now.Description
	res := contract.ActionResult{
		Prior:    map[string]any{"content_filters": contentFilterSummary(now), "draft": guardrailDraftMap(now)},
		Output:   map[string]any{"guardrail_id": args.GuardrailID, "version": version},
		Warnings: []string{guardrailRevertStaysMsg},
		DryRun:   in.DryRun,
	}
	if sameGuardrailDraft(now, want) {
		res.Summary = fmt.Sprintf("%s DRAFT already as version %s; nothing to do", resource, version)
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would put the %s DRAFT back to version %s (content filters %s; now %s)", resource, version, contentFilterText(want), contentFilterText(now))
		return res, nil
	}
	if _, err := c.UpdateGuardrail(ctx, want); err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "UpdateGuardrail", resource, err)
	}
	if _, err := b.waitGuardrail(ctx, c, args.GuardrailID, func(g *bedrock.GetGuardrailOutput) bool {
		return sameGuardrailDraft(guardrailUpdateInput(g), want)
	}); err != nil {
		return contract.ActionResult{}, err
	}
	res.Summary = fmt.Sprintf("put the %s DRAFT back to version %s (content filters %s; was %s)", resource, version, contentFilterText(want), contentFilterText(now))
	return res, nil
}

// knownGoodGuardrailVersion is the newest published version of a guardrail
// (created before before, when set).
func knownGoodGuardrailVersion(ctx context.Context, c BedrockAPI, id string, before time.Time) (string, error) {
	resource := "guardrail " + id
	best, bestN := "", -1
	var token *string
	for {
		// With an identifier, ListGuardrails lists that guardrail's DRAFT
		// and every version.
		out, err := c.ListGuardrails(ctx, &bedrock.ListGuardrailsInput{GuardrailIdentifier: aws.String(id), NextToken: token})
		if err != nil {
			return "", AWSError(bedrockService, "ListGuardrails", resource, err)
		}
		for _, g := range out.Guardrails {
			n, err := strconv.Atoi(aws.ToString(g.Version))
			if err != nil { // DRAFT
				continue
			}
			if !before.IsZero() && (g.CreatedAt == nil || !g.CreatedAt.Before(before)) {
				continue
			}
			if n > bestN {
				best, bestN = aws.ToString(g.Version), n
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if best == "" {
		when := ""
		if !before.IsZero() {
			when = " before " + before.Format(time.RFC3339)
		}
		return "", action.NonRetryable(action.ErrNotFound, fmt.Errorf("%s has no published version%s to restore the DRAFT from: restore its policies by hand from your infrastructure code", resource, when))
	}
	return best, nil
}

// waitGuardrail polls the DRAFT until it is READY (and cond holds, when
// given).
func (b *BedrockActions) waitGuardrail(ctx context.Context, c BedrockAPI, id string, cond func(*bedrock.GetGuardrailOutput) bool) (*bedrock.GetGuardrailOutput, error) {
	resource := "guardrail " + id
	var g *bedrock.GetGuardrailOutput
	err := PollUntil(ctx, b.Poll, resource, func(ctx context.Context) (bool, error) {
		out, err := c.GetGuardrail(ctx, &bedrock.GetGuardrailInput{GuardrailIdentifier: aws.String(id)})
		if err != nil {
			return false, AWSError(bedrockService, "GetGuardrail", resource, err)
		}
		g = out
		switch out.Status {
		case brtypes.GuardrailStatusReady:
		case brtypes.GuardrailStatusFailed:
			if cond != nil {
				return false, fmt.Errorf("%s: update failed: %s", resource, strings.Join(out.StatusReasons, "; "))
			}
		default:
			return false, nil
		}
		return cond == nil || cond(out), nil
	})
	return g, err
}

// tightenGuardrail returns a copy of d with the given content filters
// raised to at least strength (never lowered) and what it changed.
// PROMPT_ATTACK only applies to input: AWS requires its output strength NONE.
func tightenGuardrail(d *bedrock.UpdateGuardrailInput, strength brtypes.GuardrailFilterStrength, types []brtypes.GuardrailContentFilterType) (*bedrock.UpdateGuardrailInput, []string) {
	out := copyGuardrailInput(d)
	if out.ContentPolicyConfig == nil {
		out.ContentPolicyConfig = &brtypes.GuardrailContentPolicyConfig{}
	}
	var changes []string
	for _, t := range types {
		idx := -1
		for i, f := range out.ContentPolicyConfig.FiltersConfig {
			if f.Type == t {
				idx = i
			}
		}
		if idx < 0 {
			f := brtypes.GuardrailContentFilterConfig{Type: t, InputStrength: strength, OutputStrength: strength}
			if t == brtypes.GuardrailContentFilterTypePromptAttack {
				f.OutputStrength = brtypes.GuardrailFilterStrengthNone
			}
			out.ContentPolicyConfig.FiltersConfig = append(out.ContentPolicyConfig.FiltersConfig, f)
			changes = append(changes, fmt.Sprintf("%s added at %s", t, strength))
			continue
		}
		f := &out.ContentPolicyConfig.FiltersConfig[idx]
		what := tightenSide("input", &f.InputStrength, &f.InputAction, &f.InputEnabled, strength)
		if t == brtypes.GuardrailContentFilterTypePromptAttack {
			if f.OutputStrength != brtypes.GuardrailFilterStrengthNone {
				what = append(what, fmt.Sprintf("output %s→NONE (required for PROMPT_ATTACK)", strengthOrNone(f.OutputStrength)))
				f.OutputStrength = brtypes.GuardrailFilterStrengthNone
			}
		} else {
			what = append(what, tightenSide("output", &f.OutputStrength, &f.OutputAction, &f.OutputEnabled, strength)...)
		}
		if len(what) > 0 {
			changes = append(changes, string(t)+" "+strings.Join(what, ", "))
		}
	}
	return out, changes
}

func strengthOrNone(s brtypes.GuardrailFilterStrength) brtypes.GuardrailFilterStrength {
	if s == "" {
		return brtypes.GuardrailFilterStrengthNone
	}
	return s
}

// copyGuardrailInput deep-copies an UpdateGuardrailInput (through JSON:
// the SDK types are plain data).
func copyGuardrailInput(d *bedrock.UpdateGuardrailInput) *bedrock.UpdateGuardrailInput {
	b, err := json.Marshal(d)
	if err != nil {
		panic("copy guardrail input: " + err.Error())
	}
	var out bedrock.UpdateGuardrailInput
	if err := json.Unmarshal(b, &out); err != nil {
		panic("copy guardrail input: " + err.Error())
	}
	return &out
}

// guardrailDraftMap is d as plain JSON data, for undo arguments that travel
// through Temporal's history.
func guardrailDraftMap(d *bedrock.UpdateGuardrailInput) map[string]any {
	c := copyGuardrailInput(d)
	c.GuardrailIdentifier = nil
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func sameGuardrailDraft(a, b *bedrock.UpdateGuardrailInput) bool {
	x, y := copyGuardrailInput(a), copyGuardrailInput(b)
	x.GuardrailIdentifier, y.GuardrailIdentifier = nil, nil
	bx, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return string(bx) == string(by)
}

func contentFilterSummary(d *bedrock.UpdateGuardrailInput) []any {
	out := []any{}
	if d.ContentPolicyConfig == nil {
		return out
	}
	for _, f := range d.ContentPolicyConfig.FiltersConfig {
		out = append(out, map[string]any{"type": string(f.Type), "input_strength": string(f.InputStrength), "output_strength": string(f.OutputStrength)})
	}
	return out
}

func contentFilterText(d *bedrock.UpdateGuardrailInput) string {
	if d.ContentPolicyConfig == nil || len(d.ContentPolicyConfig.FiltersConfig) == 0 {
		return "none"
	}
	var parts []string
	for _, f := range d.ContentPolicyConfig.FiltersConfig {
		parts = append(parts, fmt.Sprintf("%s %s/%s", f.Type, strengthOrNone(f.InputStrength), strengthOrNone(f.OutputStrength)))
	}
	return strings.Join(parts, ", ")
}

func filterNames(types []brtypes.GuardrailContentFilterType) string {
	var s []string
	for _, t := range types {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}

// guardrailUpdateInput maps a GetGuardrail answer to the UpdateGuardrail
// input that would recreate it. UpdateGuardrail replaces the whole DRAFT,
// so every policy must be carried over, each in its input shape.
func guardrailUpdateInput(g *bedrock.GetGuardrailOutput) *bedrock.UpdateGuardrailInput {
	in := &bedrock.UpdateGuardrailInput{
		GuardrailIdentifier: g.GuardrailId, Name: g.Name, Description: g.Description,
		BlockedInputMessaging: g.BlockedInputMessaging, BlockedOutputsMessaging: g.BlockedOutputsMessaging,
		KmsKeyId: g.KmsKeyArn,
	}
	if p := g.ContentPolicy; p != nil {
		c := &brtypes.GuardrailContentPolicyConfig{}
		for _, f := range p.Filters {
			c.FiltersConfig = append(c.FiltersConfig, brtypes.GuardrailContentFilterConfig{
				Type: f.Type, InputStrength: f.InputStrength, OutputStrength: f.OutputStrength,
				InputAction: f.InputAction, OutputAction: f.OutputAction, InputEnabled: f.InputEnabled, OutputEnabled: f.OutputEnabled,
				InputModalities: f.InputModalities, OutputModalities: f.OutputModalities,
			})
		}
		if p.Tier != nil {
			c.TierConfig = &brtypes.GuardrailContentFiltersTierConfig{TierName: brtypes.GuardrailContentFiltersTierName(p.Tier.TierName)}
		}
		in.ContentPolicyConfig = c
	}
	if p := g.TopicPolicy; p != nil {
		c := &brtypes.GuardrailTopicPolicyConfig{}
		for _, t := range p.Topics {
			c.TopicsConfig = append(c.TopicsConfig, brtypes.GuardrailTopicConfig{
				Name: t.Name, Definition: t.Definition, Examples: t.Examples, Type: t.Type,
				InputAction: t.InputAction, OutputAction: t.OutputAction, InputEnabled: t.InputEnabled, OutputEnabled: t.OutputEnabled,
			})
		}
		if p.Tier != nil {
			c.TierConfig = &brtypes.GuardrailTopicsTierConfig{TierName: brtypes.GuardrailTopicsTierName(p.Tier.TierName)}
		}
		in.TopicPolicyConfig = c
	}
	if p := g.WordPolicy; p != nil {
		c := &brtypes.GuardrailWordPolicyConfig{}
		for _, w := range p.Words {
			c.WordsConfig = append(c.WordsConfig, brtypes.GuardrailWordConfig{Text: w.Text, InputAction: w.InputAction, OutputAction: w.OutputAction, InputEnabled: w.InputEnabled, OutputEnabled: w.OutputEnabled})
		}
		for _, w := range p.ManagedWordLists {
			c.ManagedWordListsConfig = append(c.ManagedWordListsConfig, brtypes.GuardrailManagedWordsConfig{Type: w.Type, InputAction: w.InputAction, OutputAction: w.OutputAction, InputEnabled: w.InputEnabled, OutputEnabled: w.OutputEnabled})
		}
		in.WordPolicyConfig = c
	}
	if p := g.SensitiveInformationPolicy; p != nil {
		c := &brtypes.GuardrailSensitiveInformationPolicyConfig{}
		for _, e := range p.PiiEntities {
			c.PiiEntitiesConfig = append(c.PiiEntitiesConfig, brtypes.GuardrailPiiEntityConfig{Type: e.Type, Action: e.Action, InputAction: e.InputAction, OutputAction: e.OutputAction, InputEnabled: e.InputEnabled, OutputEnabled: e.OutputEnabled})
		}
		for _, r := range p.Regexes {
			c.RegexesConfig = append(c.RegexesConfig, brtypes.GuardrailRegexConfig{Name: r.Name, Pattern: r.Pattern, Description: r.Description, Action: r.Action, InputAction: r.InputAction, OutputAction: r.OutputAction, InputEnabled: r.InputEnabled, OutputEnabled: r.OutputEnabled})
		}
		in.SensitiveInformationPolicyConfig = c
	}
	if p := g.ContextualGroundingPolicy; p != nil {
		c := &brtypes.GuardrailContextualGroundingPolicyConfig{}
		for _, f := range p.Filters {
			c.FiltersConfig = append(c.FiltersConfig, brtypes.GuardrailContextualGroundingFilterConfig{Type: f.Type, Threshold: f.Threshold, Action: f.Action, Enabled: f.Enabled})
		}
		in.ContextualGroundingPolicyConfig = c
	}
	if d := g.CrossRegionDetails; d != nil {
		id := d.GuardrailProfileArn
		if id == nil {
			id = d.GuardrailProfileId
		}
		in.CrossRegionConfig = &brtypes.GuardrailCrossRegionConfig{GuardrailProfileIdentifier: id}
	}
	if p := g.AutomatedReasoningPolicy; p != nil {
		in.AutomatedReasoningPolicyConfig = &brtypes.GuardrailAutomatedReasoningPolicyConfig{Policies: p.Policies, ConfidenceThreshold: p.ConfidenceThreshold}
	}
	return in
}

// tightenSide raises one direction (input or output) of a content filter:
// strength to at least want, action BLOCK, enabled. It returns what changed.
func tightenSide(dir string, strength *brtypes.GuardrailFilterStrength, action *brtypes.GuardrailContentFilterAction, enabled **bool, want brtypes.GuardrailFilterStrength) []string {
	var what []string
	if strengthRank[*strength] < strengthRank[want] {
		what = append(what, fmt.Sprintf("%s %s→%s", dir, strengthOrNone(*strength), want))
		*strength = want
	}
	// A filter in detect-only mode (action NONE) or switched off blocks nothing.
	if *action == brtypes.GuardrailContentFilterActionNone {
		what = append(what, dir+" action NONE→BLOCK")
		*action = brtypes.GuardrailContentFilterActionBlock
	}
	if *enabled != nil && !**enabled {
		what = append(what, dir+" enabled")
		*enabled = aws.Bool(true)
	}
	return what
}
