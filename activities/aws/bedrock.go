package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Bedrock action names.
const (
	ActionPauseAgentAlias             = "bedrock.pause_agent_alias"
	ActionRestoreAgentAlias           = "bedrock.restore_agent_alias"
	ActionDisableAgentKnowledgeBase   = "bedrock.disable_agent_knowledge_base"
	ActionEnableAgentKnowledgeBase    = "bedrock.enable_agent_knowledge_base"
	ActionDisableAgentActionGroup     = "bedrock.disable_agent_action_group"
	ActionEnableAgentActionGroup      = "bedrock.enable_agent_action_group"
	ActionStopIngestionJobs           = "bedrock.stop_ingestion_jobs"
	ActionStartIngestionJob           = "bedrock.start_ingestion_job"
	ActionApplyGuardrailPolicy        = "bedrock.apply_guardrail_policy"
	ActionRestoreGuardrail            = "bedrock.restore_guardrail"
	ActionRevertGuardrailDraft        = "bedrock.revert_guardrail_draft"
	ActionBedrockSnapshot             = "bedrock.snapshot"
	ActionRestoreInvocationLogging    = "bedrock.restore_invocation_logging"
	agentDraft                        = "DRAFT"
	bedrockService                    = "bedrock"
	publishedVersionsKeepServingKBMsg = "published agent versions are immutable and keep retrieving from this knowledge base: pause the alias (bedrock.pause_agent_alias) or deny bedrock:Retrieve* (iam.deny_role_actions) to stop production retrieval"
	publishedVersionsKeepToolsMsg     = "published agent versions are immutable and keep this action group enabled: pause the aliases that route to them (bedrock.pause_agent_alias) to stop the tool in production"
)

// BedrockAgentAPI is the part of the bedrock-agent client the actions call.
type BedrockAgentAPI interface {
	GetAgent(ctx context.Context, in *bedrockagent.GetAgentInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetAgentOutput, error)
	PrepareAgent(ctx context.Context, in *bedrockagent.PrepareAgentInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.PrepareAgentOutput, error)
	GetAgentAlias(ctx context.Context, in *bedrockagent.GetAgentAliasInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetAgentAliasOutput, error)
	UpdateAgentAlias(ctx context.Context, in *bedrockagent.UpdateAgentAliasInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.UpdateAgentAliasOutput, error)
	GetAgentKnowledgeBase(ctx context.Context, in *bedrockagent.GetAgentKnowledgeBaseInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetAgentKnowledgeBaseOutput, error)
	UpdateAgentKnowledgeBase(ctx context.Context, in *bedrockagent.UpdateAgentKnowledgeBaseInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.UpdateAgentKnowledgeBaseOutput, error)
	GetAgentActionGroup(ctx context.Context, in *bedrockagent.GetAgentActionGroupInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetAgentActionGroupOutput, error)
	UpdateAgentActionGroup(ctx context.Context, in *bedrockagent.UpdateAgentActionGroupInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.UpdateAgentActionGroupOutput, error)
	GetKnowledgeBase(ctx context.Context, in *bedrockagent.GetKnowledgeBaseInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetKnowledgeBaseOutput, error)
	GetDataSource(ctx context.Context, in *bedrockagent.GetDataSourceInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetDataSourceOutput, error)
	ListIngestionJobs(ctx context.Context, in *bedrockagent.ListIngestionJobsInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.ListIngestionJobsOutput, error)
	GetIngestionJob(ctx context.Context, in *bedrockagent.GetIngestionJobInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetIngestionJobOutput, error)
	StopIngestionJob(ctx context.Context, in *bedrockagent.StopIngestionJobInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.StopIngestionJobOutput, error)
	StartIngestionJob(ctx context.Context, in *bedrockagent.StartIngestionJobInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.StartIngestionJobOutput, error)
}

// BedrockAPI is the part of the Bedrock control-plane client the actions call.
type BedrockAPI interface {
	GetGuardrail(ctx context.Context, in *bedrock.GetGuardrailInput, opts ...func(*bedrock.Options)) (*bedrock.GetGuardrailOutput, error)
	UpdateGuardrail(ctx context.Context, in *bedrock.UpdateGuardrailInput, opts ...func(*bedrock.Options)) (*bedrock.UpdateGuardrailOutput, error)
	ListGuardrails(ctx context.Context, in *bedrock.ListGuardrailsInput, opts ...func(*bedrock.Options)) (*bedrock.ListGuardrailsOutput, error)
	CreateGuardrailVersion(ctx context.Context, in *bedrock.CreateGuardrailVersionInput, opts ...func(*bedrock.Options)) (*bedrock.CreateGuardrailVersionOutput, error)
	GetModelInvocationLoggingConfiguration(ctx context.Context, in *bedrock.GetModelInvocationLoggingConfigurationInput, opts ...func(*bedrock.Options)) (*bedrock.GetModelInvocationLoggingConfigurationOutput, error)
	PutModelInvocationLoggingConfiguration(ctx context.Context, in *bedrock.PutModelInvocationLoggingConfigurationInput, opts ...func(*bedrock.Options)) (*bedrock.PutModelInvocationLoggingConfigurationOutput, error)
}

// BedrockActions contains incidents in Bedrock agents, knowledge bases and
// guardrails, and snapshots their configuration as evidence.
type BedrockActions struct {
	agentClients func(ctx context.Context, ref contract.IncidentRef) (BedrockAgentAPI, error)
	clients      func(ctx context.Context, ref contract.IncidentRef) (BedrockAPI, error)
	// Poll bounds the waits for aliases, agents, jobs and guardrails to settle.
	Poll PollConfig
}

// NewBedrockActions returns the Bedrock actions on real clients from p.
func NewBedrockActions(p *Provider) *BedrockActions {
	return &BedrockActions{
		agentClients: clientsFrom(p, func(c aws.Config) BedrockAgentAPI { return bedrockagent.NewFromConfig(c) }),
		clients:      clientsFrom(p, func(c aws.Config) BedrockAPI { return bedrock.NewFromConfig(c) }),
		Poll:         DefaultPollConfig,
	}
}

// Actions returns the bedrock.* actions (guardrail.go and evidence.go hold
// the guardrail and snapshot ones).
func (b *BedrockActions) Actions() []action.Action {
	agentArgs := []runbooks.ArgSpec{
		{Name: "agent_id", Type: "string", Required: true, Description: "the agent's id (10 characters)"},
		{Name: "alias_id", Type: "string", Required: true, Description: "the alias's id (10 characters, or TSTALIASID)"},
	}
	kbArgs := []runbooks.ArgSpec{
		{Name: "agent_id", Type: "string", Required: true, Description: "the agent's id"},
		{Name: "knowledge_base_id", Type: "string", Required: true, Description: "the knowledge base associated with the agent's DRAFT"},
	}
	actionGroupArgs := []runbooks.ArgSpec{
		{Name: "agent_id", Type: "string", Required: true, Description: "the agent's id"},
		{Name: "action_group_id", Type: "string", Required: true, Description: "the action group's id (10 characters)"},
		{Name: "agent_version", Type: "string", Enum: []string{agentDraft}, Description: "the agent version (default DRAFT, the only one UpdateAgentActionGroup can change: published versions are immutable)"},
	}
	dsArgs := []runbooks.ArgSpec{
		{Name: "knowledge_base_id", Type: "string", Required: true, Description: "the knowledge base"},
		{Name: "data_source_id", Type: "string", Required: true, Description: "the data source whose ingestion jobs to stop"},
	}
	return []action.Action{
		action.New(runbooks.ActionSpec{Name: ActionPauseAgentAlias, Mutating: true,
			Target:      &runbooks.TargetSpec{Service: "bedrock-agent", Resource: "agent/{agent_id}/alias/{alias_id}", Attribute: "invocation-state"},
			Description: "Make an agent alias reject invocations (UpdateAgentAlias REJECT_INVOCATIONS, name, description and routing resent); undo accepts them again.",
			Args:        agentArgs}, b.PauseAgentAlias),
		action.New(runbooks.ActionSpec{Name: ActionRestoreAgentAlias, Mutating: true, UndoOnly: true,
			Description: "Undo of bedrock.pause_agent_alias: put the alias's invocation state back.",
			Args: append(append([]runbooks.ArgSpec{}, agentArgs...),
				runbooks.ArgSpec{Name: "prior_state", Type: "string", Required: true, Enum: []string{"ACCEPT_INVOCATIONS", "REJECT_INVOCATIONS"}, Description: "the invocation state to restore"})}, b.RestoreAgentAlias),
		action.New(runbooks.ActionSpec{Name: ActionDisableAgentKnowledgeBase, Mutating: true,
			Description: "Disable a knowledge base in an agent's DRAFT and prepare the agent. Published alias versions keep serving it: pair with bedrock.pause_agent_alias or a bedrock:Retrieve* deny.",
			Args:        kbArgs}, b.DisableAgentKnowledgeBase),
		action.New(runbooks.ActionSpec{Name: ActionEnableAgentKnowledgeBase, Mutating: true, UndoOnly: true,
			Description: "Undo of bedrock.disable_agent_knowledge_base: enable the knowledge base in the DRAFT and prepare the agent.",
			Args:        kbArgs}, b.EnableAgentKnowledgeBase),
		action.New(runbooks.ActionSpec{Name: ActionDisableAgentActionGroup, Mutating: true,
			Description: "Disable an agent's action group (a tool it may call) in the DRAFT, resending its whole definition, and prepare the agent; undo enables it again if it was enabled. Published alias versions keep the tool: pair with bedrock.pause_agent_alias.",
			Args:        actionGroupArgs}, b.DisableAgentActionGroup),
		action.New(runbooks.ActionSpec{Name: ActionEnableAgentActionGroup, Mutating: true, UndoOnly: true,
			Description: "Undo of bedrock.disable_agent_action_group: enable the action group in the DRAFT and prepare the agent.",
			Args:        actionGroupArgs}, b.EnableAgentActionGroup),
		action.New(runbooks.ActionSpec{Name: ActionStopIngestionJobs, Mutating: true,
			Description: "Stop every STARTING or IN_PROGRESS ingestion job of a data source and wait until they are STOPPED.",
			Args: append(append([]runbooks.ArgSpec{}, dsArgs...),
				runbooks.ArgSpec{Name: "restart_on_undo", Type: "bool", Description: "start a new ingestion job when the incident is rolled back (default false: sync again by hand once the source is clean)"})}, b.StopIngestionJobs),
		action.New(runbooks.ActionSpec{Name: ActionStartIngestionJob, Mutating: true, UndoOnly: true,
			Description: "Undo of bedrock.stop_ingestion_jobs with restart_on_undo: start one ingestion job (idempotent client token).",
			Args: append(append([]runbooks.ArgSpec{}, dsArgs...),
				runbooks.ArgSpec{Name: "client_token", Type: "string", Required: true, Description: "idempotency token"})}, b.StartIngestionJob),
		action.New(runbooks.ActionSpec{Name: ActionApplyGuardrailPolicy, Mutating: true,
			Description: "Raise (never lower) a guardrail's content-filter strengths on its DRAFT, keeping every other policy, and create a version; output.version is the new version.",
			Args: []runbooks.ArgSpec{
				{Name: "guardrail_id", Type: "string", Required: true, Description: "the guardrail's id or ARN"},
				{Name: "strength", Type: "string", Enum: []string{"LOW", "MEDIUM", "HIGH"}, Description: "minimum strength for the filters (default HIGH)"},
				{Name: "filters", Type: "list", Enum: guardrailFilterNames(), Description: "content filter types to raise (default all)"},
			}}, b.ApplyGuardrailPolicy),
		action.New(runbooks.ActionSpec{Name: ActionRestoreGuardrail, Mutating: true, UndoOnly: true,
			Description: "Undo of bedrock.apply_guardrail_policy: put the guardrail's prior DRAFT back.",
			Args: []runbooks.ArgSpec{
				{Name: "guardrail_id", Type: "string", Required: true, Description: "the guardrail's id or ARN"},
				{Name: "draft", Type: "map", Required: true, Description: "the DRAFT as it was, in UpdateGuardrail form"},
			}}, b.RestoreGuardrail),
		action.New(runbooks.ActionSpec{Name: ActionRevertGuardrailDraft, Mutating: true, KeptOnRollback: true,
			Description: "Put a guardrail's DRAFT back to the policies of a published version (the newest one, or the newest published before a time, or a given one) after the DRAFT was weakened by UpdateGuardrail. " +
				"Published versions are immutable, so they are the known-good record. Not undone on rollback, by design: the restored policies stay.",
			Args: []runbooks.ArgSpec{
				{Name: "guardrail_id", Type: "string", Required: true, Description: "the guardrail's id or ARN"},
				{Name: "version", Type: "string", Description: "the published version to restore from (default: the newest, or the newest published before published_before)"},
				{Name: "published_before", Type: "string", Description: "RFC 3339 time, e.g. the tampering event's time: only versions created before it are known-good"},
			}}, b.RevertGuardrailDraft),
		action.New(runbooks.ActionSpec{Name: ActionBedrockSnapshot,
			Description: "Read-only evidence: the configuration of an agent, knowledge base, data source and guardrail, and the account's model invocation logging.",
			Args: []runbooks.ArgSpec{
				{Name: "agent_id", Type: "string", Description: "agent to describe"},
				{Name: "knowledge_base_id", Type: "string", Description: "knowledge base to describe"},
				{Name: "data_source_id", Type: "string", Description: "data source of knowledge_base_id to describe"},
				{Name: "guardrail_id", Type: "string", Description: "guardrail whose DRAFT to describe"},
			}}, b.Snapshot),
		action.New(runbooks.ActionSpec{Name: ActionRestoreInvocationLogging, Mutating: true, KeptOnRollback: true,
			Description: "Put the account's model invocation logging configuration back to a known-good one (PutModelInvocationLoggingConfiguration), after it was deleted or changed. " +
				"Not undone on rollback, by design: the restored logging stays on.",
			Args: []runbooks.ArgSpec{
				{Name: "logging_config", Type: "any", Required: true, Description: "the known-good configuration in the API's loggingConfig form " +
					`({"s3Config":{"bucketName":"...","keyPrefix":"..."},"cloudWatchConfig":{"logGroupName":"...","roleArn":"..."},"textDataDeliveryEnabled":true,...}): ` +
					"a map (bedrock.snapshot's invocation_logging.logging_config) or a string holding that JSON " +
					"(`aws bedrock get-model-invocation-logging-configuration --query loggingConfig`)"},
			}}, b.RestoreInvocationLogging),
	}
}

// clientToken is a deterministic idempotency token: the same incident and
// step always send the same token, so a retried call cannot act twice.
// Bedrock accepts [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}, at least 33 characters
// for ingestion jobs.
func clientToken(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "quench-" + hex.EncodeToString(sum[:])[:40]
}

// ---- agent aliases ----

type aliasPrior struct {
	Name        *string                                             `json:"name,omitempty"`
	Description *string                                             `json:"description,omitempty"`
	Routing     []agenttypes.AgentAliasRoutingConfigurationListItem `json:"routing,omitempty"`
	State       agenttypes.AliasInvocationState                     `json:"state"`
}

func aliasState(a *agenttypes.AgentAlias) agenttypes.AliasInvocationState {
	if a.AliasInvocationState == "" {
		return agenttypes.AliasInvocationStateAcceptInvocations // aliases created before the field existed
	}
	return a.AliasInvocationState
}

func (p aliasPrior) asMap() map[string]any {
	routing := []any{}
	for _, r := range p.Routing {
		item := map[string]any{"agent_version": aws.ToString(r.AgentVersion)}
		if r.ProvisionedThroughput != nil {
			item["provisioned_throughput"] = *r.ProvisionedThroughput
		}
		routing = append(routing, item)
	}
	return map[string]any{"agent_alias_name": aws.ToString(p.Name), "description": aws.ToString(p.Description),
		"routing_configuration": routing, "alias_invocation_state": string(p.State)}
}

type aliasArgs struct {
	AgentID string `json:"agent_id"`
	AliasID string `json:"alias_id"`
}

type restoreAliasArgs struct {
	aliasArgs
	PriorState string `json:"prior_state"`
}

// PauseAgentAlias makes an alias reject invocations.
func (b *BedrockActions) PauseAgentAlias(ctx context.Context, in contract.ActionInput, args aliasArgs) (contract.ActionResult, error) {
	res, err := b.setAliasState(ctx, in, args, agenttypes.AliasInvocationStateRejectInvocations)
	if err != nil || !res.Changed || in.DryRun {
		return res, err
	}
	res.Undo = &contract.UndoRecord{Action: ActionRestoreAgentAlias, Args: map[string]any{
		"agent_id": args.AgentID, "alias_id": args.AliasID, "prior_state": res.Prior["alias_invocation_state"],
	}}
	return res, nil
}

// RestoreAgentAlias puts an alias's invocation state back.
func (b *BedrockActions) RestoreAgentAlias(ctx context.Context, in contract.ActionInput, args restoreAliasArgs) (contract.ActionResult, error) {
	return b.setAliasState(ctx, in, args.aliasArgs, agenttypes.AliasInvocationState(args.PriorState))
}

// setAliasState moves an alias to target, resending what UpdateAgentAlias
// would otherwise clear, and waits until the alias is PREPARED again.
func (b *BedrockActions) setAliasState(ctx context.Context, in contract.ActionInput, args aliasArgs, target agenttypes.AliasInvocationState) (contract.ActionResult, error) {
	c, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := fmt.Sprintf("agent %s alias %s", args.AgentID, args.AliasID)
	// An alias that is still UPDATING refuses updates; let it settle first.
	cur, err := b.waitAlias(ctx, c, args, resource, nil)
	if err != nil {
		return contract.ActionResult{}, err
	}
	prior := action.Checkpoint(ctx, aliasPrior{Name: cur.AgentAliasName, Description: cur.Description, Routing: cur.RoutingConfiguration, State: aliasState(cur)})
	res := contract.ActionResult{Prior: prior.asMap(), DryRun: in.DryRun}
	verb := map[agenttypes.AliasInvocationState]string{
		agenttypes.AliasInvocationStateRejectInvocations: "pause", agenttypes.AliasInvocationStateAcceptInvocations: "resume",
	}[target]
	if prior.State == target {
		res.Summary = fmt.Sprintf("%s already in state %s; nothing to do", resource, target)
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would %s %s (%s → %s), keeping its routing", verb, resource, prior.State, target)
		return res, nil
	}
	if aliasState(cur) != target { // an earlier attempt may have written already
		_, err := c.UpdateAgentAlias(ctx, &bedrockagent.UpdateAgentAliasInput{
			AgentId: aws.String(args.AgentID), AgentAliasId: aws.String(args.AliasID),
			// Members not sent are cleared: resend name, description and routing as they are now.
			AgentAliasName: cur.AgentAliasName, Description: cur.Description, RoutingConfiguration: cur.RoutingConfiguration,
			AliasInvocationState: target,
		})
		if err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "UpdateAgentAlias", resource, err)
		}
	}
	if _, err := b.waitAlias(ctx, c, args, resource, func(a *agenttypes.AgentAlias) bool { return aliasState(a) == target }); err != nil {
		return contract.ActionResult{}, err
	}
	res.Summary = fmt.Sprintf("%s %s: invocation state %s → %s, routing unchanged", map[string]string{"pause": "paused", "resume": "resumed"}[verb], resource, prior.State, target)
	return res, nil
}

// waitAlias polls GetAgentAlias until the alias is settled (and cond holds,
// when given).
func (b *BedrockActions) waitAlias(ctx context.Context, c BedrockAgentAPI, args aliasArgs, resource string, cond func(*agenttypes.AgentAlias) bool) (*agenttypes.AgentAlias, error) {
	var alias *agenttypes.AgentAlias
	err := PollUntil(ctx, b.Poll, resource, func(ctx context.Context) (bool, error) {
		out, err := c.GetAgentAlias(ctx, &bedrockagent.GetAgentAliasInput{AgentId: aws.String(args.AgentID), AgentAliasId: aws.String(args.AliasID)})
		if err != nil {
			return false, AWSError(bedrockService, "GetAgentAlias", resource, err)
		}
		alias = out.AgentAlias
		switch alias.AgentAliasStatus {
		case agenttypes.AgentAliasStatusCreating, agenttypes.AgentAliasStatusUpdating:
			return false, nil
		case agenttypes.AgentAliasStatusFailed:
			if cond != nil {
				return false, fmt.Errorf("%s: alias update failed: %s", resource, strings.Join(alias.FailureReasons, "; "))
			}
		}
		return cond == nil || cond(alias), nil
	})
	return alias, err
}

// ---- knowledge bases in agents ----

type agentKBArgs struct {
	AgentID         string `json:"agent_id"`
	KnowledgeBaseID string `json:"knowledge_base_id"`
}

// DisableAgentKnowledgeBase disables a knowledge base in an agent's DRAFT and prepares the agent.
func (b *BedrockActions) DisableAgentKnowledgeBase(ctx context.Context, in contract.ActionInput, args agentKBArgs) (contract.ActionResult, error) {
	res, err := b.setAgentKBState(ctx, in, args, agenttypes.KnowledgeBaseStateDisabled)
	if err != nil || !res.Changed {
		return res, err
	}
	res.Warnings = append(res.Warnings, publishedVersionsKeepServingKBMsg)
	res.Summary += "; " + publishedVersionsKeepServingKBMsg
	if !in.DryRun && res.Prior["knowledge_base_state"] == string(agenttypes.KnowledgeBaseStateEnabled) {
		res.Undo = &contract.UndoRecord{Action: ActionEnableAgentKnowledgeBase, Args: map[string]any{"agent_id": args.AgentID, "knowledge_base_id": args.KnowledgeBaseID}}
	}
	return res, nil
}

// EnableAgentKnowledgeBase enables a knowledge base in an agent's DRAFT and prepares the agent.
func (b *BedrockActions) EnableAgentKnowledgeBase(ctx context.Context, in contract.ActionInput, args agentKBArgs) (contract.ActionResult, error) {
	return b.setAgentKBState(ctx, in, args, agenttypes.KnowledgeBaseStateEnabled)
}

func (b *BedrockActions) setAgentKBState(ctx context.Context, in contract.ActionInput, args agentKBArgs, target agenttypes.KnowledgeBaseState) (contract.ActionResult, error) {
	c, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := fmt.Sprintf("knowledge base %s of agent %s (DRAFT)", args.KnowledgeBaseID, args.AgentID)
	var kb *agenttypes.AgentKnowledgeBase
	read := func() (string, error) {
		out, err := c.GetAgentKnowledgeBase(ctx, &bedrockagent.GetAgentKnowledgeBaseInput{AgentId: aws.String(args.AgentID), AgentVersion: aws.String(agentDraft), KnowledgeBaseId: aws.String(args.KnowledgeBaseID)})
		if err != nil {
			return "", AWSError(bedrockService, "GetAgentKnowledgeBase", resource, err)
		}
		kb = out.AgentKnowledgeBase
		return string(kb.KnowledgeBaseState), nil
	}
	cur, err := read()
	if err != nil {
		return contract.ActionResult{}, err
	}
	description := kb.Description
	res, err := b.switchDraft(ctx, c, in, draftSwitch{agentID: args.AgentID, resource: resource, current: cur, read: read,
		write: func() error {
			_, err := c.UpdateAgentKnowledgeBase(ctx, &bedrockagent.UpdateAgentKnowledgeBaseInput{
				AgentId: aws.String(args.AgentID), AgentVersion: aws.String(agentDraft), KnowledgeBaseId: aws.String(args.KnowledgeBaseID),
				KnowledgeBaseState: target, Description: description, // resent: an update without it clears it
			})
			return AWSError(bedrockService, "UpdateAgentKnowledgeBase", resource, err)
		}}, string(target))
	res.Prior = map[string]any{"knowledge_base_state": res.Prior["state"], "description": aws.ToString(description)}
	return res, err
}

// ---- action groups (agent tools) ----

type agentActionGroupArgs struct {
	AgentID       string `json:"agent_id"`
	ActionGroupID string `json:"action_group_id"`
	AgentVersion  string `json:"agent_version"`
}

func (a agentActionGroupArgs) version() string {
	if a.AgentVersion == "" {
		return agentDraft
	}
	return a.AgentVersion
}

// DisableAgentActionGroup stops an agent from calling one of its tools:
// the action group's state becomes DISABLED in the DRAFT, which is then
// prepared.
func (b *BedrockActions) DisableAgentActionGroup(ctx context.Context, in contract.ActionInput, args agentActionGroupArgs) (contract.ActionResult, error) {
	res, err := b.setActionGroupState(ctx, in, args, agenttypes.ActionGroupStateDisabled)
	if err != nil || !res.Changed {
		return res, err
	}
	res.Warnings = append(res.Warnings, publishedVersionsKeepToolsMsg)
	res.Summary += "; " + publishedVersionsKeepToolsMsg
	if !in.DryRun && res.Prior["action_group_state"] == string(agenttypes.ActionGroupStateEnabled) {
		res.Undo = &contract.UndoRecord{Action: ActionEnableAgentActionGroup, Args: map[string]any{
			"agent_id": args.AgentID, "action_group_id": args.ActionGroupID, "agent_version": args.version(),
		}}
	}
	return res, nil
}

// EnableAgentActionGroup enables an action group in the DRAFT and prepares the agent.
func (b *BedrockActions) EnableAgentActionGroup(ctx context.Context, in contract.ActionInput, args agentActionGroupArgs) (contract.ActionResult, error) {
	return b.setActionGroupState(ctx, in, args, agenttypes.ActionGroupStateEnabled)
}

func (b *BedrockActions) setActionGroupState(ctx context.Context, in contract.ActionInput, args agentActionGroupArgs, target agenttypes.ActionGroupState) (contract.ActionResult, error) {
	c, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	version := args.version()
	resource := fmt.Sprintf("action group %s of agent %s (%s)", args.ActionGroupID, args.AgentID, version)
	var g *agenttypes.AgentActionGroup
	read := func() (string, error) {
		out, err := c.GetAgentActionGroup(ctx, &bedrockagent.GetAgentActionGroupInput{AgentId: aws.String(args.AgentID), AgentVersion: aws.String(version), ActionGroupId: aws.String(args.ActionGroupID)})
		if err != nil {
			return "", AWSError(bedrockService, "GetAgentActionGroup", resource, err)
		}
		g = out.AgentActionGroup
		return string(g.ActionGroupState), nil
	}
	cur, err := read()
	if err != nil {
		return contract.ActionResult{}, err
	}
	name := aws.ToString(g.ActionGroupName)
	if name != "" {
		resource = fmt.Sprintf("action group %s (%s) of agent %s (%s)", args.ActionGroupID, name, args.AgentID, version)
	}
	var upd *bedrockagent.UpdateAgentActionGroupInput
	res, err := b.switchDraft(ctx, c, in, draftSwitch{agentID: args.AgentID, resource: resource, current: cur, read: read,
		check: func() error {
			if upd, err = actionGroupUpdate(g, target); err != nil {
				return action.NonRetryable(action.ErrValidation, fmt.Errorf("%s: %w", resource, err))
			}
			upd.AgentId, upd.AgentVersion, upd.ActionGroupId = aws.String(args.AgentID), aws.String(version), aws.String(args.ActionGroupID)
			return nil
		},
		write: func() error {
			_, err := c.UpdateAgentActionGroup(ctx, upd)
			return AWSError(bedrockService, "UpdateAgentActionGroup", resource, err)
		}}, string(target))
	res.Prior = map[string]any{"action_group_state": res.Prior["state"], "action_group_name": name}
	return res, err
}

// actionGroupUpdate is the UpdateAgentActionGroup request that changes only
// g's state. The update replaces the definition (members not sent are
// cleared), so everything GetAgentActionGroup returned is sent back; the
// signature is returned as parentActionSignature and sent as
// parentActionGroupSignature.
func actionGroupUpdate(g *agenttypes.AgentActionGroup, state agenttypes.ActionGroupState) (*bedrockagent.UpdateAgentActionGroupInput, error) {
	for field, u := range map[string]any{"actionGroupExecutor": g.ActionGroupExecutor, "apiSchema": g.ApiSchema, "functionSchema": g.FunctionSchema} {
		if m, ok := u.(*agenttypes.UnknownUnionMember); ok {
			// Sending it back is impossible, and leaving it out would erase it.
			return nil, fmt.Errorf("its %s is of a kind this build of quench does not know (%q), so it cannot be resent unchanged; change the state in the Bedrock console", field, m.Tag)
		}
	}
	return &bedrockagent.UpdateAgentActionGroupInput{
		ActionGroupName: g.ActionGroupName, ActionGroupState: state,
		ActionGroupExecutor: g.ActionGroupExecutor, ApiSchema: g.ApiSchema, FunctionSchema: g.FunctionSchema, Description: g.Description,
		ParentActionGroupSignature: g.ParentActionSignature, ParentActionGroupSignatureParams: g.ParentActionGroupSignatureParams,
	}, nil
}

// draftSwitch is one state in an agent's DRAFT (a knowledge base
// association, an action group) that an update changes and PrepareAgent
// makes live in the DRAFT.
type draftSwitch struct {
	agentID  string
	resource string
	current  string                 // the state read just now
	read     func() (string, error) // reads the state again, to verify the write
	// check, when set, refuses a change the write could not make; it runs
	// before a dry run answers, so the plan promises nothing the run cannot do.
	check func() error
	write func() error // sets the target state
}

// switchDraft moves sw to target and prepares the agent. The result's
// Prior["state"] is the state before the incident: on a retry, the one the
// first attempt read (its checkpoint), not this attempt's own change.
func (b *BedrockActions) switchDraft(ctx context.Context, c BedrockAgentAPI, in contract.ActionInput, sw draftSwitch, target string) (contract.ActionResult, error) {
	prior := action.Checkpoint(ctx, sw.current)
	res := contract.ActionResult{Prior: map[string]any{"state": prior}, DryRun: in.DryRun}
	if prior == target {
		res.Summary = fmt.Sprintf("%s already %s; nothing to do", sw.resource, target)
		return res, nil
	}
	res.Changed = true
	if sw.check != nil {
		if err := sw.check(); err != nil {
			return contract.ActionResult{}, err
		}
	}
	if in.DryRun {
		res.Summary = fmt.Sprintf("would set %s %s → %s and prepare the agent", sw.resource, prior, target)
		return res, nil
	}
	if sw.current != target { // an earlier attempt may have written already
		if err := sw.write(); err != nil {
			return contract.ActionResult{}, err
		}
	}
	if err := b.prepareAgent(ctx, c, sw.agentID); err != nil {
		return contract.ActionResult{}, err
	}
	if after, err := sw.read(); err != nil {
		return contract.ActionResult{}, err
	} else if after != target {
		return contract.ActionResult{}, fmt.Errorf("verify %s: state is %s after the update, want %s", sw.resource, after, target)
	}
	res.Summary = fmt.Sprintf("set %s %s → %s and prepared the agent", sw.resource, prior, target)
	return res, nil
}

// prepareAgent prepares the agent's DRAFT (when it needs it) and waits
// until it is PREPARED.
func (b *BedrockActions) prepareAgent(ctx context.Context, c BedrockAgentAPI, agentID string) error {
	resource := "agent " + agentID
	status := func(cond func(agenttypes.AgentStatus) bool) (agenttypes.AgentStatus, error) {
		var st agenttypes.AgentStatus
		err := PollUntil(ctx, b.Poll, resource, func(ctx context.Context) (bool, error) {
			out, err := c.GetAgent(ctx, &bedrockagent.GetAgentInput{AgentId: aws.String(agentID)})
			if err != nil {
				return false, AWSError(bedrockService, "GetAgent", resource, err)
			}
			st = out.Agent.AgentStatus
			if st == agenttypes.AgentStatusFailed {
				return false, fmt.Errorf("%s: preparing failed: %s", resource, strings.Join(out.Agent.FailureReasons, "; "))
			}
			return cond(st), nil
		})
		return st, err
	}
	settled := func(s agenttypes.AgentStatus) bool {
		switch s {
		case agenttypes.AgentStatusCreating, agenttypes.AgentStatusPreparing, agenttypes.AgentStatusUpdating, agenttypes.AgentStatusVersioning:
			return false
		}
		return true
	}
	st, err := status(settled)
	if err != nil {
		return err
	}
	if st != agenttypes.AgentStatusPrepared {
		if _, err := c.PrepareAgent(ctx, &bedrockagent.PrepareAgentInput{AgentId: aws.String(agentID)}); err != nil {
			return AWSError(bedrockService, "PrepareAgent", resource, err)
		}
	}
	_, err = status(func(s agenttypes.AgentStatus) bool { return s == agenttypes.AgentStatusPrepared })
	return err
}

// ---- ingestion jobs ----

// dataSourceArgs name a knowledge base's data source.
type dataSourceArgs struct {
	KnowledgeBaseID string `json:"knowledge_base_id"`
	DataSourceID    string `json:"data_source_id"`
}

type stopIngestionArgs struct {
	dataSourceArgs
	RestartOnUndo bool `json:"restart_on_undo"`
}

type startIngestionArgs struct {
	dataSourceArgs
	ClientToken string `json:"client_token"`
}

type jobPrior struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

var runningJobStatuses = []string{string(agenttypes.IngestionJobStatusStarting), string(agenttypes.IngestionJobStatusInProgress)}

// listJobs lists a data source's jobs in the given statuses.
func listJobs(ctx context.Context, c BedrockAgentAPI, args dataSourceArgs, resource string, statuses []string) ([]jobPrior, error) {
	var jobs []jobPrior
	p := bedrockagent.NewListIngestionJobsPaginator(c, &bedrockagent.ListIngestionJobsInput{
		KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID),
		Filters: []agenttypes.IngestionJobFilter{{Attribute: agenttypes.IngestionJobFilterAttributeStatus, Operator: agenttypes.IngestionJobFilterOperatorEq, Values: statuses}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, AWSError(bedrockService, "ListIngestionJobs", resource, err)
		}
		for _, j := range page.IngestionJobSummaries {
			jobs = append(jobs, jobPrior{ID: aws.ToString(j.IngestionJobId), Status: string(j.Status)})
		}
	}
	return jobs, nil
}

func jobTerminal(s agenttypes.IngestionJobStatus) bool {
	return s == agenttypes.IngestionJobStatusStopped || s == agenttypes.IngestionJobStatusComplete || s == agenttypes.IngestionJobStatusFailed
}

// StopIngestionJobs stops every running ingestion job of a data source.
func (b *BedrockActions) StopIngestionJobs(ctx context.Context, in contract.ActionInput, args stopIngestionArgs) (contract.ActionResult, error) {
	c, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := fmt.Sprintf("data source %s of knowledge base %s", args.DataSourceID, args.KnowledgeBaseID)
	running, err := listJobs(ctx, c, args.dataSourceArgs, resource, runningJobStatuses)
	if err != nil {
		return contract.ActionResult{}, err
	}
	prior := action.Checkpoint(ctx, running)
	ids := make([]string, 0, len(prior))
	priorJobs := make([]any, 0, len(prior))
	for _, j := range prior {
		ids = append(ids, j.ID)
		priorJobs = append(priorJobs, map[string]any{"ingestion_job_id": j.ID, "status": j.Status})
	}
	res := contract.ActionResult{Prior: map[string]any{"running_jobs": priorJobs}, DryRun: in.DryRun}
	if len(prior) == 0 {
		res.Summary = fmt.Sprintf("no ingestion job is running for %s; nothing to do", resource)
		res.Output = map[string]any{"stopped_jobs": []any{}}
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = fmt.Sprintf("would stop %d ingestion job(s) of %s: %s", len(ids), resource, strings.Join(ids, ", "))
		return res, nil
	}
	final := map[string]any{}
	for _, j := range prior {
		jobRes := fmt.Sprintf("ingestion job %s of %s", j.ID, resource)
		get := func(ctx context.Context) (agenttypes.IngestionJobStatus, error) {
			out, err := c.GetIngestionJob(ctx, &bedrockagent.GetIngestionJobInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID), IngestionJobId: aws.String(j.ID)})
			if err != nil {
				return "", AWSError(bedrockService, "GetIngestionJob", jobRes, err)
			}
			return out.IngestionJob.Status, nil
		}
		st, err := get(ctx)
		if err != nil {
			return contract.ActionResult{}, err
		}
		if st == agenttypes.IngestionJobStatusStarting || st == agenttypes.IngestionJobStatusInProgress {
			if _, err := c.StopIngestionJob(ctx, &bedrockagent.StopIngestionJobInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID), IngestionJobId: aws.String(j.ID)}); err != nil {
				// The job may have finished between the read and the stop.
				var conflict *agenttypes.ConflictException
				if !errors.As(err, &conflict) {
					return contract.ActionResult{}, AWSError(bedrockService, "StopIngestionJob", jobRes, err)
				}
				if st, gerr := get(ctx); gerr != nil || !jobTerminal(st) {
					return contract.ActionResult{}, AWSError(bedrockService, "StopIngestionJob", jobRes, err)
				}
			}
		}
		err = PollUntil(ctx, b.Poll, jobRes, func(ctx context.Context) (bool, error) {
			st, err = get(ctx)
			return jobTerminal(st), err
		})
		if err != nil {
			return contract.ActionResult{}, err
		}
		final[j.ID] = string(st)
	}
	res.Output = map[string]any{"stopped_jobs": toAnySlice(ids), "final_status": final}
	res.Summary = fmt.Sprintf("stopped %d ingestion job(s) of %s: %s", len(ids), resource, strings.Join(ids, ", "))
	if args.RestartOnUndo {
		res.Undo = &contract.UndoRecord{Action: ActionStartIngestionJob, Args: map[string]any{
			"knowledge_base_id": args.KnowledgeBaseID, "data_source_id": args.DataSourceID,
			"client_token": clientToken(in.Incident.ID, in.Step, args.KnowledgeBaseID, args.DataSourceID),
		}}
	} else {
		res.Warnings = append(res.Warnings, "ingestion is not restarted when the incident is resolved (restart_on_undo is false): start a sync by hand once the source is clean")
	}
	return res, nil
}

// StartIngestionJob starts one ingestion job unless one is already running.
func (b *BedrockActions) StartIngestionJob(ctx context.Context, in contract.ActionInput, args startIngestionArgs) (contract.ActionResult, error) {
	c, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	resource := fmt.Sprintf("data source %s of knowledge base %s", args.DataSourceID, args.KnowledgeBaseID)
	running, err := listJobs(ctx, c, args.dataSourceArgs, resource, runningJobStatuses)
	if err != nil {
		return contract.ActionResult{}, err
	}
	res := contract.ActionResult{DryRun: in.DryRun}
	if len(running) > 0 {
		res.Summary = fmt.Sprintf("ingestion job %s is already running for %s; nothing to do", running[0].ID, resource)
		return res, nil
	}
	res.Changed = true
	if in.DryRun {
		res.Summary = "would start an ingestion job for " + resource
		return res, nil
	}
	out, err := c.StartIngestionJob(ctx, &bedrockagent.StartIngestionJobInput{
		KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID),
		ClientToken: aws.String(args.ClientToken), Description: aws.String("restarted by quench on rollback of incident " + in.Incident.ID),
	})
	if err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "StartIngestionJob", resource, err)
	}
	id := aws.ToString(out.IngestionJob.IngestionJobId)
	res.Output = map[string]any{"ingestion_job_id": id}
	res.Summary = fmt.Sprintf("started ingestion job %s for %s", id, resource)
	return res, nil
}

func toAnySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// ---- model invocation logging ----

type restoreLoggingArgs struct {
	LoggingConfig any `json:"logging_config"`
}

// parseLoggingConfig reads a logging configuration given as a map or a JSON
// string in the API's loggingConfig form. Unknown members are refused: one
// silently dropped would be a destination or data type not restored.
func parseLoggingConfig(v any) (*brtypes.LoggingConfig, error) {
	var raw []byte
	switch t := v.(type) {
	case string:
		raw = []byte(strings.TrimSpace(t))
	case map[string]any:
		var err error
		if raw, err = json.Marshal(t); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("logging_config is a %T, want a map or a JSON string", v)
	}
	if len(raw) == 0 {
		return nil, errors.New("logging_config is empty: give the known-good configuration")
	}
	var c brtypes.LoggingConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("logging_config is not a loggingConfig: %w", err)
	}
	if c.S3Config == nil && c.CloudWatchConfig == nil {
		return nil, errors.New("logging_config names no destination (s3Config or cloudWatchConfig)")
	}
	if cw := c.CloudWatchConfig; cw != nil && (aws.ToString(cw.LogGroupName) == "" || aws.ToString(cw.RoleArn) == "") {
		return nil, errors.New("logging_config.cloudWatchConfig needs logGroupName and roleArn")
	}
	if s3 := c.S3Config; s3 != nil && aws.ToString(s3.BucketName) == "" {
		return nil, errors.New("logging_config.s3Config needs bucketName")
	}
	return &c, nil
}

// loggingConfigMap is a logging configuration in the API's loggingConfig
// form with every member present, so two configurations that AWS treats as
// the same compare equal (an unset flag is false). nil (logging off) is nil.
func loggingConfigMap(c *brtypes.LoggingConfig) map[string]any {
	if c == nil {
		return nil
	}
	bucket := func(b *string, prefix *string) map[string]any {
		return map[string]any{"bucketName": aws.ToString(b), "keyPrefix": aws.ToString(prefix)}
	}
	m := map[string]any{
		"textDataDeliveryEnabled": aws.ToBool(c.TextDataDeliveryEnabled), "imageDataDeliveryEnabled": aws.ToBool(c.ImageDataDeliveryEnabled),
		"embeddingDataDeliveryEnabled": aws.ToBool(c.EmbeddingDataDeliveryEnabled), "videoDataDeliveryEnabled": aws.ToBool(c.VideoDataDeliveryEnabled),
		"audioDataDeliveryEnabled": aws.ToBool(c.AudioDataDeliveryEnabled),
	}
	if s3 := c.S3Config; s3 != nil {
		m["s3Config"] = bucket(s3.BucketName, s3.KeyPrefix)
	}
	if cw := c.CloudWatchConfig; cw != nil {
		cwm := map[string]any{"logGroupName": aws.ToString(cw.LogGroupName), "roleArn": aws.ToString(cw.RoleArn)}
		if l := cw.LargeDataDeliveryS3Config; l != nil {
			cwm["largeDataDeliveryS3Config"] = bucket(l.BucketName, l.KeyPrefix)
		}
		m["cloudWatchConfig"] = cwm
	}
	return m
}

// loggingConfigText is loggingConfigMap as JSON ("" when off): the form
// compared, checkpointed and shown.
func loggingConfigText(c *brtypes.LoggingConfig) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(loggingConfigMap(c)) // maps of strings and bools always encode
	return string(b)
}

// loggingDestinations names where c delivers, for summaries.
func loggingDestinations(c *brtypes.LoggingConfig) string {
	var d []string
	if s3 := c.S3Config; s3 != nil {
		d = append(d, "s3://"+aws.ToString(s3.BucketName)+"/"+aws.ToString(s3.KeyPrefix))
	}
	if cw := c.CloudWatchConfig; cw != nil {
		d = append(d, "CloudWatch Logs "+aws.ToString(cw.LogGroupName))
	}
	return strings.Join(d, " and ")
}

const loggingRestoreStaysMsg = "not undone when the incident is rolled back, by design: model invocation logging stays restored"

// RestoreInvocationLogging puts the model invocation logging configuration
// back to a known-good one. It has no undo: the restore is the recovery,
// and turning logging off again on rollback would redo the tampering.
// Prior: logging_config (the configuration it replaced, null when logging
// was off). Output: logging_config (the one now in place).
func (b *BedrockActions) RestoreInvocationLogging(ctx context.Context, in contract.ActionInput, args restoreLoggingArgs) (contract.ActionResult, error) {
	want, err := parseLoggingConfig(args.LoggingConfig)
	if err != nil {
		return contract.ActionResult{}, action.InvalidArg(ActionRestoreInvocationLogging, "%v", err)
	}
	c, err := b.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	const resource = "model invocation logging"
	read := func() (*brtypes.LoggingConfig, error) {
		out, err := c.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
		if err != nil {
			return nil, AWSError(bedrockService, "GetModelInvocationLoggingConfiguration", resource, err)
		}
		return out.LoggingConfig, nil
	}
	cur, err := read()
	if err != nil {
		return contract.ActionResult{}, err
	}
	// On a retry, the configuration the first attempt found, not its own write.
	prior := action.Checkpoint(ctx, loggingConfigText(cur))
	var priorMap any // null: logging was off
	if prior != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(prior), &m); err != nil {
			return contract.ActionResult{}, fmt.Errorf("%s: checkpoint: %w", resource, err)
		}
		priorMap = m
	}
	wantText := loggingConfigText(want)
	res := contract.ActionResult{DryRun: in.DryRun, Prior: map[string]any{"logging_config": priorMap},
		Output: map[string]any{"logging_config": loggingConfigMap(want)}}
	was := "off"
	if prior != "" {
		was = "on"
		if loggingConfigText(cur) == prior {
			was += ", to " + loggingDestinations(cur)
		}
	}
	if prior == wantText {
		res.Summary = fmt.Sprintf("%s already as known-good (to %s); nothing to do", resource, loggingDestinations(want))
		return res, nil
	}
	res.Changed = true
	res.Warnings = []string{loggingRestoreStaysMsg}
	if in.DryRun {
		res.Summary = fmt.Sprintf("would restore %s to %s (it is %s)", resource, loggingDestinations(want), was)
		return res, nil
	}
	if loggingConfigText(cur) != wantText { // an earlier attempt may have written already
		if _, err := c.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: want}); err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "PutModelInvocationLoggingConfiguration", resource, err)
		}
	}
	after, err := read()
	if err != nil {
		return contract.ActionResult{}, err
	}
	if got := loggingConfigText(after); got != wantText {
		return contract.ActionResult{}, fmt.Errorf("verify %s: after the update it is %s, want %s", resource, orOff(got), wantText)
	}
	res.Summary = fmt.Sprintf("restored %s to %s (it was %s)", resource, loggingDestinations(want), was)
	return res, nil
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}
