package awsfake

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
)

// Bedrock is the fake Bedrock control plane (restJson1): guardrails with a
// DRAFT and numbered versions, and the account's model invocation logging
// configuration.
//
// UpdateGuardrail leaves the guardrail UPDATING for SettleAfter GetGuardrail
// calls, and CreateGuardrailVersion refuses to version a DRAFT that is not
// READY, as AWS does.
type Bedrock struct {
	routes []bedrockRoute

	mu          sync.Mutex
	settleAfter int
	guardrails  map[string]*fakeGuardrail
	logging     *brtypes.LoggingConfig
	now         func() time.Time
}

type fakeGuardrail struct {
	draft    bedrock.GetGuardrailOutput
	pending  int
	versions map[string]bedrock.GetGuardrailOutput
	tokens   map[string]string // clientRequestToken -> version
}

// RegisterBedrock adds an empty Bedrock control plane to srv.
func RegisterBedrock(srv *Server) *Bedrock {
	b := &Bedrock{
		settleAfter: 1,
		guardrails:  map[string]*fakeGuardrail{},
		now:         func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		routes: []bedrockRoute{
			newBedrockRoute(http.MethodGet, "/guardrails", "ListGuardrails"),
			newBedrockRoute(http.MethodGet, "/guardrails/{guardrailIdentifier}", "GetGuardrail"),
			newBedrockRoute(http.MethodPut, "/guardrails/{guardrailIdentifier}", "UpdateGuardrail"),
			newBedrockRoute(http.MethodPost, "/guardrails/{guardrailIdentifier}", "CreateGuardrailVersion"),
			newBedrockRoute(http.MethodGet, "/logging/modelinvocations", "GetModelInvocationLoggingConfiguration"),
			newBedrockRoute(http.MethodPut, "/logging/modelinvocations", "PutModelInvocationLoggingConfiguration"),
			newBedrockRoute(http.MethodDelete, "/logging/modelinvocations", "DeleteModelInvocationLoggingConfiguration"),
		},
	}
	srv.Handle("bedrock", b)
	return b
}

// SetSettleAfter sets how many GetGuardrail calls see UPDATING after an update.
func (b *Bedrock) SetSettleAfter(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settleAfter = n
}

// AddGuardrail seeds a guardrail's DRAFT from the GetGuardrail shape
// (GuardrailId and Name are required; status READY unless set).
func (b *Bedrock) AddGuardrail(g bedrock.GetGuardrailOutput) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	id := aws.ToString(g.GuardrailId)
	g.Version = aws.String("DRAFT")
	if g.Status == "" {
		g.Status = brtypes.GuardrailStatusReady
	}
	if g.GuardrailArn == nil {
		g.GuardrailArn = aws.String("arn:aws:bedrock:us-east-1:" + bedrockAccount + ":guardrail/" + id)
	}
	if g.CreatedAt == nil {
		g.CreatedAt = &now
	}
	if g.UpdatedAt == nil {
		g.UpdatedAt = &now
	}
	b.guardrails[id] = &fakeGuardrail{draft: g, versions: map[string]bedrock.GetGuardrailOutput{}, tokens: map[string]string{}}
}

// Guardrail returns a guardrail's DRAFT as stored.
func (b *Bedrock) Guardrail(id string) (bedrock.GetGuardrailOutput, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, ok := b.guardrails[id]
	if !ok {
		return bedrock.GetGuardrailOutput{}, false
	}
	return g.draft, true
}

// PublishGuardrailVersion versions a guardrail's DRAFT as it is now, as
// CreateGuardrailVersion does, and returns the version.
func (b *Bedrock) PublishGuardrailVersion(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.publish(b.guardrails[id], nil)
}

// publish snapshots g's DRAFT as its next version (the version's
// description replaces the guardrail's when given). b.mu is held.
func (b *Bedrock) publish(g *fakeGuardrail, description *string) string {
	ver := strconv.Itoa(len(g.versions) + 1)
	snap := g.draft
	snap.Version = aws.String(ver)
	if description != nil {
		snap.Description = description
	}
	now := b.now()
	snap.CreatedAt, snap.UpdatedAt = &now, &now
	g.versions[ver] = snap
	return ver
}

// EditGuardrailDraft changes a guardrail's DRAFT behind the API's back (a
// tamperer's UpdateGuardrail, in a test).
func (b *Bedrock) EditGuardrailDraft(id string, edit func(*bedrock.GetGuardrailOutput)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	edit(&b.guardrails[id].draft)
}

// GuardrailVersions lists a guardrail's numbered versions in order.
func (b *Bedrock) GuardrailVersions(id string) []bedrock.GetGuardrailOutput {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, ok := b.guardrails[id]
	if !ok {
		return nil
	}
	var out []bedrock.GetGuardrailOutput
	for _, n := range sortedVersions(g.versions) {
		out = append(out, g.versions[strconv.Itoa(n)])
	}
	return out
}

// SetLoggingConfig sets the model invocation logging configuration (nil = off).
func (b *Bedrock) SetLoggingConfig(c *brtypes.LoggingConfig) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logging = c
}

// LoggingConfig returns the model invocation logging configuration as
// stored (nil = off).
func (b *Bedrock) LoggingConfig() *brtypes.LoggingConfig {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logging
}

// Operation implements ServiceHandler.
func (b *Bedrock) Operation(r *http.Request) string {
	op, _ := bedrockMatch(b.routes, r)
	return op
}

// Mutating implements ServiceHandler.
func (b *Bedrock) Mutating(op string) bool {
	switch op {
	case "UpdateGuardrail", "CreateGuardrailVersion", "PutModelInvocationLoggingConfiguration", "DeleteModelInvocationLoggingConfiguration":
		return true
	}
	return false
}

// WriteError implements ServiceHandler.
func (b *Bedrock) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	bedrockWriteError(w, status, code, message)
}

// Serve implements ServiceHandler.
func (b *Bedrock) Serve(w http.ResponseWriter, r *http.Request, op string) {
	_, v := bedrockMatch(b.routes, r)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch op {
	case "GetModelInvocationLoggingConfiguration":
		bedrockWriteJSON(w, http.StatusOK, bedrock.GetModelInvocationLoggingConfigurationOutput{LoggingConfig: b.logging})
	case "PutModelInvocationLoggingConfiguration":
		var in bedrock.PutModelInvocationLoggingConfigurationInput
		if err := bedrockReadJSON(r, &in); err != nil {
			bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
			return
		}
		if msg := loggingConfigProblem(in.LoggingConfig); msg != "" {
			bedrockWriteError(w, http.StatusBadRequest, "ValidationException", msg)
			return
		}
		b.logging = in.LoggingConfig
		bedrockWriteJSON(w, http.StatusOK, struct{}{})
	case "DeleteModelInvocationLoggingConfiguration":
		b.logging = nil
		bedrockWriteJSON(w, http.StatusOK, struct{}{})
	case "GetGuardrail":
		g, ok := b.guardrail(w, v["guardrailIdentifier"])
		if !ok {
			return
		}
		version := r.URL.Query().Get("guardrailVersion")
		if version == "" || version == "DRAFT" {
			if g.draft.Status == brtypes.GuardrailStatusUpdating {
				if g.pending <= 0 {
					g.draft.Status = brtypes.GuardrailStatusReady
				}
				g.pending--
			}
			bedrockWriteJSON(w, http.StatusOK, g.draft)
			return
		}
		out, ok := g.versions[version]
		if !ok {
			bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Guardrail %s has no version %s", v["guardrailIdentifier"], version))
			return
		}
		bedrockWriteJSON(w, http.StatusOK, out)
	case "ListGuardrails":
		b.listGuardrails(w, r)
	case "UpdateGuardrail":
		b.updateGuardrail(w, r, v["guardrailIdentifier"])
	case "CreateGuardrailVersion":
		var in bedrock.CreateGuardrailVersionInput
		if err := bedrockReadJSON(r, &in); err != nil {
			bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
			return
		}
		g, ok := b.guardrail(w, v["guardrailIdentifier"])
		if !ok {
			return
		}
		token := aws.ToString(in.ClientRequestToken)
		if ver, ok := g.tokens[token]; ok && token != "" {
			bedrockWriteJSON(w, http.StatusAccepted, bedrock.CreateGuardrailVersionOutput{GuardrailId: g.draft.GuardrailId, Version: aws.String(ver)})
			return
		}
		if g.draft.Status != brtypes.GuardrailStatusReady {
			bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Guardrail %s is %s; a version can be created once it is READY", v["guardrailIdentifier"], g.draft.Status))
			return
		}
		ver := b.publish(g, in.Description)
		if token != "" {
			g.tokens[token] = ver
		}
		bedrockWriteJSON(w, http.StatusAccepted, bedrock.CreateGuardrailVersionOutput{GuardrailId: g.draft.GuardrailId, Version: aws.String(ver)})
	default:
		bedrockWriteError(w, http.StatusNotFound, "UnknownOperationException", "awsfake: bedrock operation not implemented: "+r.Method+" "+r.URL.Path)
	}
}

// listGuardrails answers ListGuardrails. With guardrailIdentifier it lists
// that guardrail's DRAFT and every version, as AWS does; without, every
// guardrail's DRAFT. maxResults pages the answer.
func (b *Bedrock) listGuardrails(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var all []bedrock.GetGuardrailOutput
	if ident := q.Get("guardrailIdentifier"); ident != "" {
		g, ok := b.guardrail(w, ident)
		if !ok {
			return
		}
		all = append(all, g.draft)
		for _, n := range sortedVersions(g.versions) {
			all = append(all, g.versions[strconv.Itoa(n)])
		}
	} else {
		for _, id := range slices.Sorted(maps.Keys(b.guardrails)) {
			all = append(all, b.guardrails[id].draft)
		}
	}
	start, _ := strconv.Atoi(q.Get("nextToken"))
	end := len(all)
	if m, err := strconv.Atoi(q.Get("maxResults")); err == nil && m > 0 && start+m < end {
		end = start + m
	}
	out := bedrock.ListGuardrailsOutput{Guardrails: []brtypes.GuardrailSummary{}}
	for _, g := range all[min(start, len(all)):end] {
		version := aws.ToString(g.Version)
		if version == "" {
			version = "DRAFT"
		}
		out.Guardrails = append(out.Guardrails, brtypes.GuardrailSummary{
			Id: g.GuardrailId, Arn: g.GuardrailArn, Name: g.Name, Description: g.Description, Status: g.Status,
			Version: aws.String(version), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
		})
	}
	if end < len(all) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	bedrockWriteJSON(w, http.StatusOK, out)
}

func sortedVersions(versions map[string]bedrock.GetGuardrailOutput) []int {
	var nums []int
	for v := range versions {
		n, _ := strconv.Atoi(v)
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

func (b *Bedrock) guardrail(w http.ResponseWriter, ident string) (*fakeGuardrail, bool) {
	id := ident
	if i := strings.LastIndex(ident, "guardrail/"); i >= 0 { // an ARN
		id = ident[i+len("guardrail/"):]
	}
	g, ok := b.guardrails[id]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Guardrail "+ident+" not found")
	}
	return g, ok
}

var guardrailStrengths = map[brtypes.GuardrailFilterStrength]bool{"NONE": true, "LOW": true, "MEDIUM": true, "HIGH": true}

func (b *Bedrock) updateGuardrail(w http.ResponseWriter, r *http.Request, ident string) {
	var in bedrock.UpdateGuardrailInput
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	g, ok := b.guardrail(w, ident)
	if !ok {
		return
	}
	bad := func(msg string, args ...any) {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf(msg, args...))
	}
	switch {
	case aws.ToString(in.Name) == "":
		bad("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
		return
	case aws.ToString(in.BlockedInputMessaging) == "" || aws.ToString(in.BlockedOutputsMessaging) == "":
		bad("blockedInputMessaging and blockedOutputsMessaging are required")
		return
	case g.draft.Status != brtypes.GuardrailStatusReady && g.draft.Status != brtypes.GuardrailStatusFailed:
		bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Guardrail %s is %s", ident, g.draft.Status))
		return
	}
	if c := in.ContentPolicyConfig; c != nil {
		seen := map[brtypes.GuardrailContentFilterType]bool{}
		for _, f := range c.FiltersConfig {
			if seen[f.Type] {
				bad("duplicate content filter type %s", f.Type)
				return
			}
			seen[f.Type] = true
			if !guardrailStrengths[f.InputStrength] || !guardrailStrengths[f.OutputStrength] {
				bad("invalid strength for content filter %s: input %q output %q", f.Type, f.InputStrength, f.OutputStrength)
				return
			}
			if f.Type == brtypes.GuardrailContentFilterTypePromptAttack && f.OutputStrength != brtypes.GuardrailFilterStrengthNone {
				bad("PROMPT_ATTACK content filter must have outputStrength NONE")
				return
			}
		}
	}
	d := &g.draft
	d.Name, d.Description = in.Name, in.Description
	d.BlockedInputMessaging, d.BlockedOutputsMessaging = in.BlockedInputMessaging, in.BlockedOutputsMessaging
	d.KmsKeyArn = in.KmsKeyId
	// UpdateGuardrail replaces the DRAFT: a policy not sent is removed.
	d.ContentPolicy, d.TopicPolicy, d.WordPolicy = nil, nil, nil
	d.SensitiveInformationPolicy, d.ContextualGroundingPolicy = nil, nil
	d.CrossRegionDetails, d.AutomatedReasoningPolicy = nil, nil
	if c := in.ContentPolicyConfig; c != nil {
		p := &brtypes.GuardrailContentPolicy{}
		for _, f := range c.FiltersConfig {
			p.Filters = append(p.Filters, brtypes.GuardrailContentFilter{
				Type: f.Type, InputStrength: f.InputStrength, OutputStrength: f.OutputStrength,
				InputAction: f.InputAction, OutputAction: f.OutputAction, InputEnabled: f.InputEnabled, OutputEnabled: f.OutputEnabled,
				InputModalities: f.InputModalities, OutputModalities: f.OutputModalities,
			})
		}
		if c.TierConfig != nil {
			p.Tier = &brtypes.GuardrailContentFiltersTier{TierName: c.TierConfig.TierName}
		}
		d.ContentPolicy = p
	}
	if c := in.TopicPolicyConfig; c != nil {
		p := &brtypes.GuardrailTopicPolicy{}
		for _, t := range c.TopicsConfig {
			p.Topics = append(p.Topics, brtypes.GuardrailTopic{
				Name: t.Name, Definition: t.Definition, Examples: t.Examples, Type: t.Type,
				InputAction: t.InputAction, OutputAction: t.OutputAction, InputEnabled: t.InputEnabled, OutputEnabled: t.OutputEnabled,
			})
		}
		if c.TierConfig != nil {
			p.Tier = &brtypes.GuardrailTopicsTier{TierName: c.TierConfig.TierName}
		}
		d.TopicPolicy = p
	}
	if c := in.WordPolicyConfig; c != nil {
		p := &brtypes.GuardrailWordPolicy{}
		for _, x := range c.WordsConfig {
			p.Words = append(p.Words, brtypes.GuardrailWord{Text: x.Text, InputAction: x.InputAction, OutputAction: x.OutputAction, InputEnabled: x.InputEnabled, OutputEnabled: x.OutputEnabled})
		}
		for _, x := range c.ManagedWordListsConfig {
			p.ManagedWordLists = append(p.ManagedWordLists, brtypes.GuardrailManagedWords{Type: x.Type, InputAction: x.InputAction, OutputAction: x.OutputAction, InputEnabled: x.InputEnabled, OutputEnabled: x.OutputEnabled})
		}
		d.WordPolicy = p
	}
	if c := in.SensitiveInformationPolicyConfig; c != nil {
		p := &brtypes.GuardrailSensitiveInformationPolicy{}
		for _, x := range c.PiiEntitiesConfig {
			p.PiiEntities = append(p.PiiEntities, brtypes.GuardrailPiiEntity{Type: x.Type, Action: x.Action, InputAction: x.InputAction, OutputAction: x.OutputAction, InputEnabled: x.InputEnabled, OutputEnabled: x.OutputEnabled})
		}
		for _, x := range c.RegexesConfig {
			p.Regexes = append(p.Regexes, brtypes.GuardrailRegex{Name: x.Name, Pattern: x.Pattern, Description: x.Description, Action: x.Action, InputAction: x.InputAction, OutputAction: x.OutputAction, InputEnabled: x.InputEnabled, OutputEnabled: x.OutputEnabled})
		}
		d.SensitiveInformationPolicy = p
	}
	if c := in.ContextualGroundingPolicyConfig; c != nil {
		p := &brtypes.GuardrailContextualGroundingPolicy{}
		for _, x := range c.FiltersConfig {
			p.Filters = append(p.Filters, brtypes.GuardrailContextualGroundingFilter{Type: x.Type, Threshold: x.Threshold, Action: x.Action, Enabled: x.Enabled})
		}
		d.ContextualGroundingPolicy = p
	}
	if c := in.CrossRegionConfig; c != nil {
		ident := aws.ToString(c.GuardrailProfileIdentifier)
		det := &brtypes.GuardrailCrossRegionDetails{GuardrailProfileId: aws.String(ident[strings.LastIndex(ident, "/")+1:])}
		if strings.HasPrefix(ident, "arn:") {
			det.GuardrailProfileArn = aws.String(ident)
		}
		d.CrossRegionDetails = det
	}
	if c := in.AutomatedReasoningPolicyConfig; c != nil {
		d.AutomatedReasoningPolicy = &brtypes.GuardrailAutomatedReasoningPolicy{Policies: c.Policies, ConfidenceThreshold: c.ConfidenceThreshold}
	}
	now := b.now()
	d.UpdatedAt = &now
	d.Status = brtypes.GuardrailStatusUpdating
	g.pending = b.settleAfter
	if g.pending <= 0 {
		d.Status = brtypes.GuardrailStatusReady
	}
	bedrockWriteJSON(w, http.StatusAccepted, bedrock.UpdateGuardrailOutput{GuardrailId: d.GuardrailId, GuardrailArn: d.GuardrailArn, Version: aws.String("DRAFT"), UpdatedAt: &now})
}

// loggingConfigProblem is what AWS's validation of
// PutModelInvocationLoggingConfiguration refuses: no configuration, no
// destination, or a destination without its required members.
func loggingConfigProblem(c *brtypes.LoggingConfig) string {
	switch {
	case c == nil:
		return "1 validation error detected: Value null at 'loggingConfig' failed to satisfy constraint: Member must not be null"
	case c.CloudWatchConfig == nil && c.S3Config == nil:
		return "At least one of cloudWatchConfig or s3Config must be provided"
	case c.CloudWatchConfig != nil && (aws.ToString(c.CloudWatchConfig.LogGroupName) == "" || aws.ToString(c.CloudWatchConfig.RoleArn) == ""):
		return "cloudWatchConfig needs logGroupName and roleArn"
	case c.S3Config != nil && aws.ToString(c.S3Config.BucketName) == "":
		return "s3Config needs bucketName"
	}
	return ""
}
