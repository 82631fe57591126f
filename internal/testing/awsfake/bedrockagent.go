package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
)

// bedrockAccount is the account the fake Bedrock resources live in.
const bedrockAccount = "123456789012"

// BedrockAgent is the fake bedrock-agent control plane (restJson1): agents,
// aliases, the knowledge bases associated with agents, knowledge bases, data
// sources and ingestion jobs, and the action groups of agents.
//
// Transitional states settle the way AWS's do, after some reads: an alias
// updated with UpdateAgentAlias reads UPDATING for SettleAfter GetAgentAlias
// calls and then PREPARED; PrepareAgent leaves the agent PREPARING for
// SettleAfter GetAgent calls; StopIngestionJob leaves a job STOPPING for
// SettleAfter GetIngestionJob (or ListIngestionJobs) calls.
type BedrockAgent struct {
	routes []bedrockRoute

	mu          sync.Mutex
	settleAfter int
	agents      map[string]*fakeAgent
	aliases     map[string]*fakeAlias                     // agentID/aliasID
	agentKBs    map[string]*agenttypes.AgentKnowledgeBase // agentID/version/kbID
	// actionGroups are kept in their wire form (agentID/version/groupID):
	// executor and schemas are unions the SDK types cannot encode as JSON.
	actionGroups map[string]map[string]any
	kbs          map[string]*agenttypes.KnowledgeBase
	dataSources  map[string]*agenttypes.DataSource // kbID/dsID
	jobs         map[string][]*fakeJob             // kbID/dsID, in start order
	jobTokens    map[string]string                 // clientToken -> job id
	nextJob      int
	now          func() time.Time
	// docs is each data source's index (kbID/dsID -> document id: an s3://
	// URI or a custom id), what Get/List/DeleteKnowledgeBaseDocuments see
	// and a completed ingestion job rewrites.
	docs map[string]map[string]*fakeDoc
	// source is the S3 an S3 data source's ingestion jobs read (IndexFrom).
	source *S3
	// failNext holds the failure reasons of the next job started per kbID/dsID.
	failNext map[string][]string
}

type fakeAgent struct {
	agent   agenttypes.Agent
	pending int // GetAgent calls left before PREPARING settles
}

type fakeAlias struct {
	alias   agenttypes.AgentAlias
	pending int // GetAgentAlias calls left before UPDATING settles
}

type fakeJob struct {
	job     agenttypes.IngestionJob
	pending int // reads left before STOPPING settles
	// runs marks a job StartIngestionJob started: each GetIngestionJob
	// moves it STARTING → IN_PROGRESS → COMPLETE (or FAILED).
	runs bool
	fail []string
}

// RegisterBedrockAgent adds an empty bedrock-agent service to srv.
func RegisterBedrockAgent(srv *Server) *BedrockAgent {
	b := &BedrockAgent{
		settleAfter:  1,
		agents:       map[string]*fakeAgent{},
		aliases:      map[string]*fakeAlias{},
		agentKBs:     map[string]*agenttypes.AgentKnowledgeBase{},
		actionGroups: map[string]map[string]any{},
		kbs:          map[string]*agenttypes.KnowledgeBase{},
		dataSources:  map[string]*agenttypes.DataSource{},
		jobs:         map[string][]*fakeJob{},
		jobTokens:    map[string]string{},
		docs:         map[string]map[string]*fakeDoc{},
		failNext:     map[string][]string{},
		now:          func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		routes: []bedrockRoute{
			newBedrockRoute(http.MethodGet, "/agents/{agentId}", "GetAgent"),
			newBedrockRoute(http.MethodPost, "/agents/{agentId}", "PrepareAgent"),
			newBedrockRoute(http.MethodGet, "/agents/{agentId}/agentaliases/{agentAliasId}", "GetAgentAlias"),
			newBedrockRoute(http.MethodPut, "/agents/{agentId}/agentaliases/{agentAliasId}", "UpdateAgentAlias"),
			newBedrockRoute(http.MethodGet, "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/{knowledgeBaseId}", "GetAgentKnowledgeBase"),
			newBedrockRoute(http.MethodPut, "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/{knowledgeBaseId}", "UpdateAgentKnowledgeBase"),
			newBedrockRoute(http.MethodGet, "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/{actionGroupId}", "GetAgentActionGroup"),
			newBedrockRoute(http.MethodPut, "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/{actionGroupId}", "UpdateAgentActionGroup"),
			newBedrockRoute(http.MethodGet, "/knowledgebases/{knowledgeBaseId}", "GetKnowledgeBase"),
			newBedrockRoute(http.MethodGet, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}", "GetDataSource"),
			newBedrockRoute(http.MethodPost, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs", "ListIngestionJobs"),
			newBedrockRoute(http.MethodPut, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs", "StartIngestionJob"),
			newBedrockRoute(http.MethodGet, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/{ingestionJobId}", "GetIngestionJob"),
			newBedrockRoute(http.MethodPost, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/{ingestionJobId}/stop", "StopIngestionJob"),
			newBedrockRoute(http.MethodPost, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents", "ListKnowledgeBaseDocuments"),
			newBedrockRoute(http.MethodPost, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents/getDocuments", "GetKnowledgeBaseDocuments"),
			newBedrockRoute(http.MethodPost, "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents/deleteDocuments", "DeleteKnowledgeBaseDocuments"),
		},
	}
	srv.Handle("bedrock-agent", b)
	return b
}

// SetSettleAfter sets how many reads a transitional state (UPDATING,
// PREPARING, STOPPING) survives; 0 settles at once.
func (b *BedrockAgent) SetSettleAfter(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settleAfter = n
}

// AddAgent seeds an agent (status PREPARED, version DRAFT unless set).
func (b *BedrockAgent) AddAgent(a agenttypes.Agent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if a.AgentStatus == "" {
		a.AgentStatus = agenttypes.AgentStatusPrepared
	}
	if a.AgentVersion == nil {
		a.AgentVersion = aws.String("DRAFT")
	}
	if a.AgentArn == nil {
		a.AgentArn = aws.String("arn:aws:bedrock:us-east-1:" + bedrockAccount + ":agent/" + aws.ToString(a.AgentId))
	}
	if a.CreatedAt == nil {
		a.CreatedAt = &now
	}
	if a.UpdatedAt == nil {
		a.UpdatedAt = &now
	}
	b.agents[aws.ToString(a.AgentId)] = &fakeAgent{agent: a}
}

// AddAlias seeds an agent alias (status PREPARED, ACCEPT_INVOCATIONS unless set).
func (b *BedrockAgent) AddAlias(a agenttypes.AgentAlias) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if a.AgentAliasStatus == "" {
		a.AgentAliasStatus = agenttypes.AgentAliasStatusPrepared
	}
	if a.AliasInvocationState == "" {
		a.AliasInvocationState = agenttypes.AliasInvocationStateAcceptInvocations
	}
	if a.AgentAliasArn == nil {
		a.AgentAliasArn = aws.String("arn:aws:bedrock:us-east-1:" + bedrockAccount + ":agent-alias/" + aws.ToString(a.AgentId) + "/" + aws.ToString(a.AgentAliasId))
	}
	if a.CreatedAt == nil {
		a.CreatedAt = &now
	}
	if a.UpdatedAt == nil {
		a.UpdatedAt = &now
	}
	b.aliases[aws.ToString(a.AgentId)+"/"+aws.ToString(a.AgentAliasId)] = &fakeAlias{alias: a}
}

// AddAgentKnowledgeBase associates a knowledge base with an agent version
// (DRAFT unless set; ENABLED unless set).
func (b *BedrockAgent) AddAgentKnowledgeBase(kb agenttypes.AgentKnowledgeBase) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if kb.AgentVersion == nil {
		kb.AgentVersion = aws.String("DRAFT")
	}
	if kb.KnowledgeBaseState == "" {
		kb.KnowledgeBaseState = agenttypes.KnowledgeBaseStateEnabled
	}
	if kb.CreatedAt == nil {
		kb.CreatedAt = &now
	}
	if kb.UpdatedAt == nil {
		kb.UpdatedAt = &now
	}
	b.agentKBs[agentKBKey(aws.ToString(kb.AgentId), aws.ToString(kb.AgentVersion), aws.ToString(kb.KnowledgeBaseId))] = &kb
}

// AddKnowledgeBase seeds a knowledge base (status ACTIVE unless set).
func (b *BedrockAgent) AddKnowledgeBase(kb agenttypes.KnowledgeBase) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if kb.Status == "" {
		kb.Status = agenttypes.KnowledgeBaseStatusActive
	}
	if kb.KnowledgeBaseArn == nil {
		kb.KnowledgeBaseArn = aws.String("arn:aws:bedrock:us-east-1:" + bedrockAccount + ":knowledge-base/" + aws.ToString(kb.KnowledgeBaseId))
	}
	if kb.CreatedAt == nil {
		kb.CreatedAt = &now
	}
	if kb.UpdatedAt == nil {
		kb.UpdatedAt = &now
	}
	b.kbs[aws.ToString(kb.KnowledgeBaseId)] = &kb
}

// AddDataSource seeds a data source of a knowledge base (status AVAILABLE unless set).
func (b *BedrockAgent) AddDataSource(ds agenttypes.DataSource) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if ds.Status == "" {
		ds.Status = agenttypes.DataSourceStatusAvailable
	}
	if ds.CreatedAt == nil {
		ds.CreatedAt = &now
	}
	if ds.UpdatedAt == nil {
		ds.UpdatedAt = &now
	}
	b.dataSources[aws.ToString(ds.KnowledgeBaseId)+"/"+aws.ToString(ds.DataSourceId)] = &ds
}

// AddIngestionJob seeds an ingestion job of a data source.
func (b *BedrockAgent) AddIngestionJob(j agenttypes.IngestionJob) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
	if j.UpdatedAt == nil {
		j.UpdatedAt = &now
	}
	key := aws.ToString(j.KnowledgeBaseId) + "/" + aws.ToString(j.DataSourceId)
	b.jobs[key] = append(b.jobs[key], &fakeJob{job: j})
}

// Agent returns an agent's current state as stored (no settling).
func (b *BedrockAgent) Agent(agentID string) (agenttypes.Agent, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.agents[agentID]
	if !ok {
		return agenttypes.Agent{}, false
	}
	return a.agent, true
}

// Alias returns an alias's current state as stored (no settling).
func (b *BedrockAgent) Alias(agentID, aliasID string) (agenttypes.AgentAlias, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.aliases[agentID+"/"+aliasID]
	if !ok {
		return agenttypes.AgentAlias{}, false
	}
	return a.alias, true
}

// AgentKnowledgeBase returns a knowledge base association of an agent version.
func (b *BedrockAgent) AgentKnowledgeBase(agentID, version, kbID string) (agenttypes.AgentKnowledgeBase, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kb, ok := b.agentKBs[agentKBKey(agentID, version, kbID)]
	if !ok {
		return agenttypes.AgentKnowledgeBase{}, false
	}
	return *kb, true
}

// IngestionJobs returns a data source's jobs in start order.
func (b *BedrockAgent) IngestionJobs(kbID, dsID string) []agenttypes.IngestionJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []agenttypes.IngestionJob
	for _, j := range b.jobs[kbID+"/"+dsID] {
		out = append(out, j.job)
	}
	return out
}

func agentKBKey(agentID, version, kbID string) string { return agentID + "/" + version + "/" + kbID }

// Operation implements ServiceHandler.
func (b *BedrockAgent) Operation(r *http.Request) string {
	op, _ := bedrockMatch(b.routes, r)
	return op
}

// Mutating implements ServiceHandler.
func (b *BedrockAgent) Mutating(op string) bool {
	switch op {
	case "PrepareAgent", "UpdateAgentAlias", "UpdateAgentKnowledgeBase", "UpdateAgentActionGroup", "StopIngestionJob", "StartIngestionJob", "DeleteKnowledgeBaseDocuments":
		return true
	}
	return false
}

// WriteError implements ServiceHandler.
func (b *BedrockAgent) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	bedrockWriteError(w, status, code, message)
}

// Serve implements ServiceHandler.
func (b *BedrockAgent) Serve(w http.ResponseWriter, r *http.Request, op string) {
	_, v := bedrockMatch(b.routes, r)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch op {
	case "GetAgent":
		a, ok := b.agent(w, v["agentId"])
		if !ok {
			return
		}
		b.settleAgent(a)
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetAgentOutput{Agent: &a.agent})
	case "PrepareAgent":
		a, ok := b.agent(w, v["agentId"])
		if !ok {
			return
		}
		switch a.agent.AgentStatus {
		case agenttypes.AgentStatusCreating, agenttypes.AgentStatusDeleting, agenttypes.AgentStatusPreparing, agenttypes.AgentStatusVersioning, agenttypes.AgentStatusUpdating:
			bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Agent %s is in status %s and cannot be prepared", v["agentId"], a.agent.AgentStatus))
			return
		}
		a.agent.AgentStatus = agenttypes.AgentStatusPreparing
		a.pending = b.settleAfter
		b.settleAgentNow(a)
		bedrockWriteJSON(w, http.StatusAccepted, map[string]any{"agentId": a.agent.AgentId, "agentStatus": a.agent.AgentStatus, "agentVersion": a.agent.AgentVersion, "preparedAt": a.agent.PreparedAt})
	case "GetAgentAlias":
		al, ok := b.alias(w, v["agentId"], v["agentAliasId"])
		if !ok {
			return
		}
		if al.alias.AgentAliasStatus == agenttypes.AgentAliasStatusUpdating {
			if al.pending <= 0 {
				al.alias.AgentAliasStatus = agenttypes.AgentAliasStatusPrepared
			}
			al.pending--
		}
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetAgentAliasOutput{AgentAlias: &al.alias})
	case "UpdateAgentAlias":
		b.updateAlias(w, r, v)
	case "GetAgentKnowledgeBase":
		if _, ok := b.agent(w, v["agentId"]); !ok {
			return
		}
		kb, ok := b.agentKBs[agentKBKey(v["agentId"], v["agentVersion"], v["knowledgeBaseId"])]
		if !ok {
			bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Knowledge base %s is not associated with agent %s version %s", v["knowledgeBaseId"], v["agentId"], v["agentVersion"]))
			return
		}
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetAgentKnowledgeBaseOutput{AgentKnowledgeBase: kb})
	case "UpdateAgentKnowledgeBase":
		b.updateAgentKB(w, r, v)
	case "GetAgentActionGroup":
		if _, ok := b.agent(w, v["agentId"]); !ok {
			return
		}
		g, ok := b.actionGroup(w, v)
		if !ok {
			return
		}
		bedrockWriteJSON(w, http.StatusOK, map[string]any{"agentActionGroup": g})
	case "UpdateAgentActionGroup":
		b.updateActionGroup(w, r, v)
	case "GetKnowledgeBase":
		kb, ok := b.kbs[v["knowledgeBaseId"]]
		if !ok {
			bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Knowledge base "+v["knowledgeBaseId"]+" not found")
			return
		}
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetKnowledgeBaseOutput{KnowledgeBase: kb})
	case "GetDataSource":
		ds, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"])
		if !ok {
			return
		}
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetDataSourceOutput{DataSource: ds})
	case "ListIngestionJobs":
		b.listJobs(w, r, v)
	case "GetIngestionJob":
		if _, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"]); !ok {
			return
		}
		j, ok := b.job(w, v)
		if !ok {
			return
		}
		b.settleJob(j)
		b.runJob(j)
		bedrockWriteJSON(w, http.StatusOK, bedrockagent.GetIngestionJobOutput{IngestionJob: &j.job})
	case "StopIngestionJob":
		if _, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"]); !ok {
			return
		}
		j, ok := b.job(w, v)
		if !ok {
			return
		}
		if j.job.Status != agenttypes.IngestionJobStatusStarting && j.job.Status != agenttypes.IngestionJobStatusInProgress {
			bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Ingestion job %s is %s and cannot be stopped", v["ingestionJobId"], j.job.Status))
			return
		}
		j.job.Status = agenttypes.IngestionJobStatusStopping
		j.job.UpdatedAt = aws.Time(b.now())
		j.pending = b.settleAfter
		b.settleJobNow(j)
		bedrockWriteJSON(w, http.StatusAccepted, bedrockagent.StopIngestionJobOutput{IngestionJob: &j.job})
	case "StartIngestionJob":
		b.startJob(w, r, v)
	case "ListKnowledgeBaseDocuments", "GetKnowledgeBaseDocuments", "DeleteKnowledgeBaseDocuments":
		b.serveDocuments(w, r, op, v)
	default:
		bedrockWriteError(w, http.StatusNotFound, "UnknownOperationException", "awsfake: bedrock-agent operation not implemented: "+r.Method+" "+r.URL.Path)
	}
}

func (b *BedrockAgent) agent(w http.ResponseWriter, id string) (*fakeAgent, bool) {
	a, ok := b.agents[id]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Agent "+id+" not found")
	}
	return a, ok
}

func (b *BedrockAgent) alias(w http.ResponseWriter, agentID, aliasID string) (*fakeAlias, bool) {
	if _, ok := b.agent(w, agentID); !ok {
		return nil, false
	}
	a, ok := b.aliases[agentID+"/"+aliasID]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Agent alias "+aliasID+" of agent "+agentID+" not found")
	}
	return a, ok
}

func (b *BedrockAgent) dataSource(w http.ResponseWriter, kbID, dsID string) (*agenttypes.DataSource, bool) {
	if _, ok := b.kbs[kbID]; !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Knowledge base "+kbID+" not found")
		return nil, false
	}
	ds, ok := b.dataSources[kbID+"/"+dsID]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Data source "+dsID+" of knowledge base "+kbID+" not found")
	}
	return ds, ok
}

func (b *BedrockAgent) job(w http.ResponseWriter, v map[string]string) (*fakeJob, bool) {
	for _, j := range b.jobs[v["knowledgeBaseId"]+"/"+v["dataSourceId"]] {
		if aws.ToString(j.job.IngestionJobId) == v["ingestionJobId"] {
			return j, true
		}
	}
	bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", "Ingestion job "+v["ingestionJobId"]+" not found")
	return nil, false
}

// settleAgent advances a PREPARING agent by one read.
func (b *BedrockAgent) settleAgent(a *fakeAgent) {
	if a.agent.AgentStatus == agenttypes.AgentStatusPreparing {
		a.pending--
		b.settleAgentNow(a)
	}
}

func (b *BedrockAgent) settleAgentNow(a *fakeAgent) {
	if a.agent.AgentStatus == agenttypes.AgentStatusPreparing && a.pending < 0 {
		a.agent.AgentStatus = agenttypes.AgentStatusPrepared
		a.agent.PreparedAt = aws.Time(b.now())
	}
}

// settleJob advances a STOPPING job by one read.
func (b *BedrockAgent) settleJob(j *fakeJob) {
	if j.job.Status == agenttypes.IngestionJobStatusStopping {
		j.pending--
		b.settleJobNow(j)
	}
}

func (b *BedrockAgent) settleJobNow(j *fakeJob) {
	if j.job.Status == agenttypes.IngestionJobStatusStopping && j.pending < 0 {
		j.job.Status = agenttypes.IngestionJobStatusStopped
		j.job.UpdatedAt = aws.Time(b.now())
	}
}

func (b *BedrockAgent) updateAlias(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var in bedrockagent.UpdateAgentAliasInput
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	al, ok := b.alias(w, v["agentId"], v["agentAliasId"])
	if !ok {
		return
	}
	if aws.ToString(in.AgentAliasName) == "" {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'agentAliasName' failed to satisfy constraint: Member must not be null")
		return
	}
	state := in.AliasInvocationState
	switch state {
	case "":
		state = agenttypes.AliasInvocationStateAcceptInvocations // the API default
	case agenttypes.AliasInvocationStateAcceptInvocations, agenttypes.AliasInvocationStateRejectInvocations:
	default:
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'aliasInvocationState' failed to satisfy constraint: Member must satisfy enum value set: [ACCEPT_INVOCATIONS, REJECT_INVOCATIONS]", state))
		return
	}
	if al.alias.AgentAliasStatus != agenttypes.AgentAliasStatusPrepared && al.alias.AgentAliasStatus != agenttypes.AgentAliasStatusFailed {
		bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Agent alias %s is in status %s; retry once it is PREPARED", v["agentAliasId"], al.alias.AgentAliasStatus))
		return
	}
	now := b.now()
	if al.alias.RoutingConfiguration != nil {
		// AWS keeps a history of routing changes.
		al.alias.AgentAliasHistoryEvents = append(al.alias.AgentAliasHistoryEvents, agenttypes.AgentAliasHistoryEvent{
			RoutingConfiguration: al.alias.RoutingConfiguration, StartDate: al.alias.UpdatedAt, EndDate: &now,
		})
	}
	al.alias.AgentAliasName = in.AgentAliasName
	// UpdateAgentAlias replaces the alias: members not sent are cleared,
	// which is why callers must resend description and routing.
	al.alias.Description = in.Description
	al.alias.RoutingConfiguration = in.RoutingConfiguration
	al.alias.AliasInvocationState = state
	al.alias.AgentAliasStatus = agenttypes.AgentAliasStatusUpdating
	al.alias.UpdatedAt = &now
	al.pending = b.settleAfter
	if al.pending <= 0 {
		al.alias.AgentAliasStatus = agenttypes.AgentAliasStatusPrepared
	}
	bedrockWriteJSON(w, http.StatusAccepted, bedrockagent.UpdateAgentAliasOutput{AgentAlias: &al.alias})
}

func (b *BedrockAgent) updateAgentKB(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var in bedrockagent.UpdateAgentKnowledgeBaseInput
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	a, ok := b.agent(w, v["agentId"])
	if !ok {
		return
	}
	if v["agentVersion"] != "DRAFT" {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Only the DRAFT version of agent %s can be updated; version %s is immutable", v["agentId"], v["agentVersion"]))
		return
	}
	kb, ok := b.agentKBs[agentKBKey(v["agentId"], v["agentVersion"], v["knowledgeBaseId"])]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Knowledge base %s is not associated with agent %s", v["knowledgeBaseId"], v["agentId"]))
		return
	}
	switch in.KnowledgeBaseState {
	case "", agenttypes.KnowledgeBaseStateEnabled, agenttypes.KnowledgeBaseStateDisabled:
	default:
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'knowledgeBaseState' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.KnowledgeBaseState))
		return
	}
	if in.KnowledgeBaseState != "" {
		kb.KnowledgeBaseState = in.KnowledgeBaseState
	}
	kb.Description = in.Description
	kb.UpdatedAt = aws.Time(b.now())
	// Changing the DRAFT makes the agent need preparing again.
	a.agent.AgentStatus = agenttypes.AgentStatusNotPrepared
	a.agent.UpdatedAt = kb.UpdatedAt
	bedrockWriteJSON(w, http.StatusOK, bedrockagent.UpdateAgentKnowledgeBaseOutput{AgentKnowledgeBase: kb})
}

func (b *BedrockAgent) listJobs(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var in bedrockagent.ListIngestionJobsInput
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	if _, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"]); !ok {
		return
	}
	var match []agenttypes.IngestionJobSummary
	for _, j := range b.jobs[v["knowledgeBaseId"]+"/"+v["dataSourceId"]] {
		b.settleJob(j)
		keep := true
		for _, f := range in.Filters {
			if f.Attribute != agenttypes.IngestionJobFilterAttributeStatus || f.Operator != agenttypes.IngestionJobFilterOperatorEq {
				bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("unsupported filter %s %s", f.Attribute, f.Operator))
				return
			}
			found := false
			for _, val := range f.Values {
				found = found || val == string(j.job.Status)
			}
			keep = keep && found
		}
		if keep {
			match = append(match, agenttypes.IngestionJobSummary{
				DataSourceId: j.job.DataSourceId, IngestionJobId: j.job.IngestionJobId, KnowledgeBaseId: j.job.KnowledgeBaseId,
				StartedAt: j.job.StartedAt, Status: j.job.Status, UpdatedAt: j.job.UpdatedAt, Description: j.job.Description, Statistics: j.job.Statistics,
			})
		}
	}
	desc := in.SortBy == nil || in.SortBy.Order == agenttypes.SortOrderDescending
	sort.SliceStable(match, func(i, k int) bool {
		if desc {
			return aws.ToTime(match[i].StartedAt).After(aws.ToTime(match[k].StartedAt))
		}
		return aws.ToTime(match[i].StartedAt).Before(aws.ToTime(match[k].StartedAt))
	})
	start := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(aws.ToString(in.NextToken))
		if err != nil || n < 0 || n > len(match) {
			bedrockWriteError(w, http.StatusBadRequest, "ValidationException", "invalid nextToken")
			return
		}
		start = n
	}
	size := len(match) - start
	if in.MaxResults != nil && int(*in.MaxResults) < size {
		size = int(*in.MaxResults)
	}
	out := bedrockagent.ListIngestionJobsOutput{IngestionJobSummaries: match[start : start+size]}
	if out.IngestionJobSummaries == nil {
		out.IngestionJobSummaries = []agenttypes.IngestionJobSummary{}
	}
	if start+size < len(match) {
		out.NextToken = aws.String(strconv.Itoa(start + size))
	}
	bedrockWriteJSON(w, http.StatusOK, out)
}

func (b *BedrockAgent) startJob(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var in bedrockagent.StartIngestionJobInput
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	if _, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"]); !ok {
		return
	}
	key := v["knowledgeBaseId"] + "/" + v["dataSourceId"]
	token := aws.ToString(in.ClientToken)
	if id, ok := b.jobTokens[key+"/"+token]; ok && token != "" {
		// Idempotent retry: the job the token started.
		for _, j := range b.jobs[key] {
			if aws.ToString(j.job.IngestionJobId) == id {
				bedrockWriteJSON(w, http.StatusAccepted, bedrockagent.StartIngestionJobOutput{IngestionJob: &j.job})
				return
			}
		}
	}
	for _, j := range b.jobs[key] {
		switch j.job.Status {
		case agenttypes.IngestionJobStatusStarting, agenttypes.IngestionJobStatusInProgress, agenttypes.IngestionJobStatusStopping:
			bedrockWriteError(w, http.StatusConflict, "ConflictException", fmt.Sprintf("Ingestion job %s is already %s for data source %s", aws.ToString(j.job.IngestionJobId), j.job.Status, v["dataSourceId"]))
			return
		}
	}
	// Job ids are unique per data source, seeded ones included.
	id := ""
	for id == "" || slices.ContainsFunc(b.jobs[key], func(j *fakeJob) bool { return aws.ToString(j.job.IngestionJobId) == id }) {
		b.nextJob++
		id = fmt.Sprintf("JOB%07d", b.nextJob)
	}
	now := b.now()
	j := &fakeJob{job: agenttypes.IngestionJob{
		DataSourceId: aws.String(v["dataSourceId"]), KnowledgeBaseId: aws.String(v["knowledgeBaseId"]),
		IngestionJobId: aws.String(id), Status: agenttypes.IngestionJobStatusStarting,
		Description: in.Description, StartedAt: &now, UpdatedAt: &now,
	}, runs: true, fail: b.failNext[key]}
	delete(b.failNext, key)
	b.jobs[key] = append(b.jobs[key], j)
	if token != "" {
		b.jobTokens[key+"/"+token] = aws.ToString(j.job.IngestionJobId)
	}
	bedrockWriteJSON(w, http.StatusAccepted, bedrockagent.StartIngestionJobOutput{IngestionJob: &j.job})
}

// restJson1 plumbing shared with the bedrock handler. The names carry a
// "bedrock" prefix so they cannot collide with the other restJson1 fakes.

// bedrockRoute maps a method and a path template to an operation.
type bedrockRoute struct {
	method string
	re     *regexp.Regexp
	op     string
	params []string
}

var bedrockParamRE = regexp.MustCompile(`\{[a-zA-Z]+\}`)

// newBedrockRoute compiles a path template like "/agents/{agentId}/agentaliases/{agentAliasId}";
// the SDK sends some paths with a trailing slash, so it is optional.
func newBedrockRoute(method, tmpl, op string) bedrockRoute {
	var params []string
	// The templates hold only letters, digits and slashes besides the parameters.
	pat := bedrockParamRE.ReplaceAllStringFunc(tmpl, func(p string) string {
		params = append(params, p[1:len(p)-1])
		return `([^/]+)`
	})
	return bedrockRoute{method: method, re: regexp.MustCompile("^" + pat + "/?$"), op: op, params: params}
}

// bedrockMatch finds the route of r and its path parameters.
func bedrockMatch(routes []bedrockRoute, r *http.Request) (string, map[string]string) {
	for _, rt := range routes {
		if rt.method != r.Method {
			continue
		}
		m := rt.re.FindStringSubmatch(r.URL.Path)
		if m == nil {
			continue
		}
		vars := map[string]string{}
		for i, name := range rt.params {
			vars[name] = m[i+1]
		}
		return rt.op, vars
	}
	return "", nil
}

// bedrockWriteJSON writes v as a restJson1 body: SDK structs are encoded with
// lower-camel member names (the wire names of these services), nulls dropped.
func bedrockWriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(bedrockWire(v))
	if err != nil {
		bedrockWriteError(w, http.StatusInternalServerError, "InternalServerException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// bedrockWriteError writes a restJson1 error: X-Amzn-ErrorType names the code.
func bedrockWriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": message})
	_, _ = w.Write(b)
}

// bedrockReadJSON decodes a request body into an SDK input struct.
// encoding/json matches member names case-insensitively, which is exactly
// the lower-camel wire name to Go field mapping.
func bedrockReadJSON(r *http.Request, into any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("malformed request body: %w", err)
	}
	return nil
}

// bedrockWire converts v (typically SDK types, which have no JSON tags) into
// a JSON tree with lower-camel keys and without nulls or empty strings.
func bedrockWire(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("awsfake: cannot encode %T: %v", v, err))
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		panic(err)
	}
	return bedrockLowerKeys(tree)
}

func bedrockLowerKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if val == nil || val == "" || k == "ResultMetadata" {
				continue
			}
			r, n := utf8.DecodeRuneInString(k)
			out[string(unicode.ToLower(r))+k[n:]] = bedrockLowerKeys(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = bedrockLowerKeys(e)
		}
		return out
	}
	return v
}

// ---- action groups ----

// AddAgentActionGroup seeds an action group of an agent version (DRAFT
// unless set; ENABLED unless set). It is stored as GetAgentActionGroup
// returns it on the wire.
func (b *BedrockAgent) AddAgentActionGroup(g agenttypes.AgentActionGroup) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if g.AgentVersion == nil {
		g.AgentVersion = aws.String("DRAFT")
	}
	if g.ActionGroupState == "" {
		g.ActionGroupState = agenttypes.ActionGroupStateEnabled
	}
	if g.CreatedAt == nil {
		g.CreatedAt = &now
	}
	if g.UpdatedAt == nil {
		g.UpdatedAt = &now
	}
	b.actionGroups[agentKBKey(aws.ToString(g.AgentId), aws.ToString(g.AgentVersion), aws.ToString(g.ActionGroupId))] = actionGroupWire(g)
}

// ActionGroupState returns the state of an action group of an agent
// version, "" when there is none.
func (b *BedrockAgent) ActionGroupState(agentID, version, groupID string) agenttypes.ActionGroupState {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.actionGroups[agentKBKey(agentID, version, groupID)]
	s, _ := g["actionGroupState"].(string)
	return agenttypes.ActionGroupState(s)
}

// actionGroupWire encodes an action group as restJson1 does: the executor
// and the schemas are unions whose one member names itself.
func actionGroupWire(g agenttypes.AgentActionGroup) map[string]any {
	exec, api, fn := g.ActionGroupExecutor, g.ApiSchema, g.FunctionSchema
	g.ActionGroupExecutor, g.ApiSchema, g.FunctionSchema = nil, nil, nil
	doc := bedrockWire(g).(map[string]any)
	switch v := exec.(type) {
	case *agenttypes.ActionGroupExecutorMemberLambda:
		doc["actionGroupExecutor"] = map[string]any{"lambda": v.Value}
	case *agenttypes.ActionGroupExecutorMemberCustomControl:
		doc["actionGroupExecutor"] = map[string]any{"customControl": string(v.Value)}
	}
	switch v := api.(type) {
	case *agenttypes.APISchemaMemberPayload:
		doc["apiSchema"] = map[string]any{"payload": v.Value}
	case *agenttypes.APISchemaMemberS3:
		doc["apiSchema"] = map[string]any{"s3": bedrockWire(v.Value)}
	}
	if v, ok := fn.(*agenttypes.FunctionSchemaMemberFunctions); ok {
		doc["functionSchema"] = map[string]any{"functions": bedrockWire(v.Value)}
	}
	return doc
}

func (b *BedrockAgent) actionGroup(w http.ResponseWriter, v map[string]string) (map[string]any, bool) {
	g, ok := b.actionGroups[agentKBKey(v["agentId"], v["agentVersion"], v["actionGroupId"])]
	if !ok {
		bedrockWriteError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Action group %s of agent %s version %s not found", v["actionGroupId"], v["agentId"], v["agentVersion"]))
	}
	return g, ok
}

var actionGroupNameRE = regexp.MustCompile(`^([0-9a-zA-Z][_-]?){1,100}$`)

// unionMembers lists the members each union of UpdateAgentActionGroup may carry.
var unionMembers = map[string][]string{
	"actionGroupExecutor": {"lambda", "customControl"},
	"apiSchema":           {"payload", "s3"},
	"functionSchema":      {"functions"},
}

// updateActionGroup replaces an action group's definition as
// UpdateAgentActionGroup does: members not sent are cleared, which is why
// a caller changing only the state must resend the whole definition.
func (b *BedrockAgent) updateActionGroup(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var in map[string]any
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	invalid := func(format string, args ...any) {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...))
	}
	a, ok := b.agent(w, v["agentId"])
	if !ok {
		return
	}
	if v["agentVersion"] != "DRAFT" {
		invalid("1 validation error detected: Value '%s' at 'agentVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^DRAFT$", v["agentVersion"])
		return
	}
	cur, ok := b.actionGroup(w, v)
	if !ok {
		return
	}
	name, _ := in["actionGroupName"].(string)
	if !actionGroupNameRE.MatchString(name) {
		invalid("1 validation error detected: Value '%s' at 'actionGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([0-9a-zA-Z][_-]?){1,100}$", name)
		return
	}
	state, _ := in["actionGroupState"].(string)
	switch agenttypes.ActionGroupState(state) {
	case "":
		state = string(agenttypes.ActionGroupStateEnabled) // the API default
	case agenttypes.ActionGroupStateEnabled, agenttypes.ActionGroupStateDisabled:
	default:
		invalid("1 validation error detected: Value '%s' at 'actionGroupState' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", state)
		return
	}
	for field, members := range unionMembers {
		u, present := in[field]
		if !present {
			continue
		}
		m, isObj := u.(map[string]any)
		if !isObj || len(m) != 1 {
			invalid("%s is a union: exactly one of %s must be set", field, strings.Join(members, ", "))
			return
		}
		for k := range m {
			if !slices.Contains(members, k) {
				invalid("%s: unknown member %q", field, k)
				return
			}
		}
	}
	if in["apiSchema"] != nil && in["functionSchema"] != nil {
		invalid("Specify either apiSchema or functionSchema for action group %s, not both", name)
		return
	}
	if in["parentActionGroupSignature"] != nil {
		for _, f := range []string{"description", "apiSchema", "actionGroupExecutor"} {
			if in[f] != nil {
				invalid("%s must be empty for an action group with parentActionGroupSignature %v", f, in["parentActionGroupSignature"])
				return
			}
		}
	}
	now := aws.Time(b.now())
	next := map[string]any{
		"agentId": cur["agentId"], "agentVersion": cur["agentVersion"], "actionGroupId": cur["actionGroupId"], "createdAt": cur["createdAt"],
		"actionGroupName": name, "actionGroupState": state, "updatedAt": now.Format(time.RFC3339Nano),
	}
	if t, ok := cur["clientToken"]; ok {
		next["clientToken"] = t
	}
	for _, f := range []string{"actionGroupExecutor", "apiSchema", "functionSchema", "description", "parentActionGroupSignatureParams"} {
		if val, ok := in[f]; ok && val != nil && val != "" {
			next[f] = val
		}
	}
	// The request names it parentActionGroupSignature, the resource parentActionSignature.
	if sig, ok := in["parentActionGroupSignature"].(string); ok && sig != "" {
		next["parentActionSignature"] = sig
	}
	b.actionGroups[agentKBKey(v["agentId"], v["agentVersion"], v["actionGroupId"])] = next
	// Changing the DRAFT makes the agent need preparing again.
	a.agent.AgentStatus = agenttypes.AgentStatusNotPrepared
	a.agent.UpdatedAt = now
	bedrockWriteJSON(w, http.StatusOK, map[string]any{"agentActionGroup": next})
}
