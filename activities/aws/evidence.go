package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/workflows/contract"
)

type snapshotArgs struct {
	AgentID         string `json:"agent_id,omitempty"`
	KnowledgeBaseID string `json:"knowledge_base_id,omitempty"`
	DataSourceID    string `json:"data_source_id,omitempty"`
	GuardrailID     string `json:"guardrail_id,omitempty"`
}

// Snapshot records the configuration of the Bedrock resources an incident
// involves, and whether model invocations are logged, as evidence. It reads
// only; Output keys are agent, knowledge_base, data_source, guardrail and
// invocation_logging, so later steps can use e.g.
// steps.<id>.output.knowledge_base.role_name.
func (b *BedrockActions) Snapshot(ctx context.Context, in contract.ActionInput, args snapshotArgs) (contract.ActionResult, error) {
	if args.DataSourceID != "" && args.KnowledgeBaseID == "" {
		return contract.ActionResult{}, action.InvalidArg(ActionBedrockSnapshot, "data_source_id %s needs knowledge_base_id", args.DataSourceID)
	}
	ac, err := b.agentClients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	c, err := b.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	out := map[string]any{}
	var described []string
	res := contract.ActionResult{DryRun: in.DryRun}

	if args.AgentID != "" {
		resource := "agent " + args.AgentID
		a, err := ac.GetAgent(ctx, &bedrockagent.GetAgentInput{AgentId: aws.String(args.AgentID)})
		if err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "GetAgent", resource, err)
		}
		ag := a.Agent
		m := map[string]any{
			"agent_id": aws.ToString(ag.AgentId), "name": aws.ToString(ag.AgentName), "status": string(ag.AgentStatus),
			"version": aws.ToString(ag.AgentVersion), "foundation_model": aws.ToString(ag.FoundationModel),
			"role_arn": aws.ToString(ag.AgentResourceRoleArn), "role_name": roleNameFromARN(aws.ToString(ag.AgentResourceRoleArn)),
			"updated_at": timeText(ag.UpdatedAt), "prepared_at": timeText(ag.PreparedAt),
		}
		if g := ag.GuardrailConfiguration; g != nil {
			m["guardrail"] = map[string]any{"guardrail_id": aws.ToString(g.GuardrailIdentifier), "version": aws.ToString(g.GuardrailVersion)}
		} else {
			res.Warnings = append(res.Warnings, resource+" has no guardrail configured")
		}
		out["agent"] = m
		described = append(described, resource)
	}
	if args.KnowledgeBaseID != "" {
		resource := "knowledge base " + args.KnowledgeBaseID
		k, err := ac.GetKnowledgeBase(ctx, &bedrockagent.GetKnowledgeBaseInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID)})
		if err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "GetKnowledgeBase", resource, err)
		}
		kb := k.KnowledgeBase
		m := map[string]any{
			"knowledge_base_id": aws.ToString(kb.KnowledgeBaseId), "name": aws.ToString(kb.Name), "status": string(kb.Status),
			"role_arn": aws.ToString(kb.RoleArn), "role_name": roleNameFromARN(aws.ToString(kb.RoleArn)), "updated_at": timeText(kb.UpdatedAt),
		}
		if cfg := kb.KnowledgeBaseConfiguration; cfg != nil {
			m["type"] = string(cfg.Type)
			if v := cfg.VectorKnowledgeBaseConfiguration; v != nil {
				m["embedding_model_arn"] = aws.ToString(v.EmbeddingModelArn)
			}
		}
		if s := kb.StorageConfiguration; s != nil {
			m["storage_type"] = string(s.Type)
		}
		out["knowledge_base"] = m
		described = append(described, resource)
	}
	if args.DataSourceID != "" {
		resource := fmt.Sprintf("data source %s of knowledge base %s", args.DataSourceID, args.KnowledgeBaseID)
		d, err := ac.GetDataSource(ctx, &bedrockagent.GetDataSourceInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID)})
		if err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "GetDataSource", resource, err)
		}
		ds := d.DataSource
		m := map[string]any{
			"data_source_id": aws.ToString(ds.DataSourceId), "name": aws.ToString(ds.Name), "status": string(ds.Status),
			"data_deletion_policy": string(ds.DataDeletionPolicy), "updated_at": timeText(ds.UpdatedAt),
		}
		if cfg := ds.DataSourceConfiguration; cfg != nil {
			m["type"] = string(cfg.Type)
			if s3 := cfg.S3Configuration; s3 != nil {
				m["bucket_arn"] = aws.ToString(s3.BucketArn)
				m["inclusion_prefixes"] = toAnySlice(s3.InclusionPrefixes)
			}
		}
		out["data_source"] = m
		described = append(described, resource)
	}
	if args.GuardrailID != "" {
		resource := "guardrail " + args.GuardrailID
		g, err := c.GetGuardrail(ctx, &bedrock.GetGuardrailInput{GuardrailIdentifier: aws.String(args.GuardrailID)})
		if err != nil {
			return contract.ActionResult{}, AWSError(bedrockService, "GetGuardrail", resource, err)
		}
		d := guardrailUpdateInput(g)
		m := map[string]any{
			"guardrail_id": aws.ToString(g.GuardrailId), "name": aws.ToString(g.Name), "version": aws.ToString(g.Version),
			"status": string(g.Status), "updated_at": timeText(g.UpdatedAt), "content_filters": contentFilterSummary(d),
		}
		if p := g.TopicPolicy; p != nil {
			var names []any
			for _, t := range p.Topics {
				names = append(names, aws.ToString(t.Name))
			}
			m["denied_topics"] = names
		}
		if p := g.WordPolicy; p != nil {
			m["blocked_words"] = len(p.Words)
		}
		if p := g.SensitiveInformationPolicy; p != nil {
			m["pii_entities"] = len(p.PiiEntities)
			m["regexes"] = len(p.Regexes)
		}
		out["guardrail"] = m
		described = append(described, resource)
	}

	l, err := c.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil {
		return contract.ActionResult{}, AWSError(bedrockService, "GetModelInvocationLoggingConfiguration", "model invocation logging", err)
	}
	logging := map[string]any{"enabled": l.LoggingConfig != nil}
	if lc := l.LoggingConfig; lc != nil {
		logging["text_data_delivery"] = aws.ToBool(lc.TextDataDeliveryEnabled)
		if cw := lc.CloudWatchConfig; cw != nil {
			logging["cloudwatch_log_group"] = aws.ToString(cw.LogGroupName)
		}
		if s3 := lc.S3Config; s3 != nil {
			logging["s3_bucket"] = aws.ToString(s3.BucketName)
			logging["s3_key_prefix"] = aws.ToString(s3.KeyPrefix)
		}
		// In full, so bedrock.restore_invocation_logging can put it back.
		logging["logging_config"] = loggingConfigMap(lc)
		described = append(described, "model invocation logging (on)")
	} else {
		res.Warnings = append(res.Warnings, "model invocation logging is off: prompts and responses of this incident are not recorded")
		described = append(described, "model invocation logging (off)")
	}
	out["invocation_logging"] = logging
	res.Output = out
	res.Summary = "recorded the configuration of " + strings.Join(described, ", ")
	return res, nil
}

// roleNameFromARN returns the role name of an IAM role ARN (path dropped).
func roleNameFromARN(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 && strings.Contains(arn, ":role/") {
		return arn[i+1:]
	}
	return ""
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
