package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Data-source recovery action names. bedrock.start_ingestion_job is
// already the undo of bedrock.stop_ingestion_jobs (start, no wait), so the
// sync a runbook waits for is bedrock.sync_data_source.
const (
	ActionDeleteKnowledgeBaseDocuments = "bedrock.delete_knowledge_base_documents"
	ActionSyncDataSource               = "bedrock.sync_data_source"
	ActionRestoreChangedObjects        = "s3.restore_changed_objects"
)

// directIngestionDocs is where AWS says which data sources take documents
// directly (KnowledgeBaseDocuments operations): Amazon S3 and custom ones.
const directIngestionDocs = "https://docs.aws.amazon.com/bedrock/latest/userguide/kb-direct-ingestion.html"

// KnowledgeBaseDocumentsAPI is the part of the bedrock-agent client the
// recovery actions call.
type KnowledgeBaseDocumentsAPI interface {
	GetDataSource(ctx context.Context, in *bedrockagent.GetDataSourceInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetDataSourceOutput, error)
	GetKnowledgeBaseDocuments(ctx context.Context, in *bedrockagent.GetKnowledgeBaseDocumentsInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetKnowledgeBaseDocumentsOutput, error)
	DeleteKnowledgeBaseDocuments(ctx context.Context, in *bedrockagent.DeleteKnowledgeBaseDocumentsInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.DeleteKnowledgeBaseDocumentsOutput, error)
	ListIngestionJobs(ctx context.Context, in *bedrockagent.ListIngestionJobsInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.ListIngestionJobsOutput, error)
	GetIngestionJob(ctx context.Context, in *bedrockagent.GetIngestionJobInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.GetIngestionJobOutput, error)
	StartIngestionJob(ctx context.Context, in *bedrockagent.StartIngestionJobInput, opts ...func(*bedrockagent.Options)) (*bedrockagent.StartIngestionJobOutput, error)
}

// RecoveryActions recover a poisoned knowledge-base data source: restore
// the changed objects, delete the poisoned documents from the index, and
// sync the data source again. None has an undo: each is the recovery.
type RecoveryActions struct {
	agents func(ctx context.Context, ref contract.IncidentRef) (KnowledgeBaseDocumentsAPI, error)
	s3     *S3Actions
	// Poll bounds the wait for deleted documents to leave the index.
	Poll PollConfig
	// SyncPoll bounds the wait for a sync; with no timeout the step's
	// timeout ends it (the action heartbeats meanwhile).
	SyncPoll PollConfig
}

// NewRecoveryActions builds the recovery actions on real clients from p.
func NewRecoveryActions(p *Provider) *RecoveryActions {
	return &RecoveryActions{
		agents:   clientsFrom(p, func(c aws.Config) KnowledgeBaseDocumentsAPI { return bedrockagent.NewFromConfig(c) }),
		s3:       NewS3Actions(p),
		Poll:     DefaultPollConfig,
		SyncPoll: PollConfig{Interval: 5 * time.Second, MaxInterval: 30 * time.Second},
	}
}

// Actions returns the recovery actions.
func (r *RecoveryActions) Actions() []action.Action {
	dsArgs := []runbooks.ArgSpec{
		{Name: "knowledge_base_id", Type: "string", Required: true, Description: "the knowledge base"},
		{Name: "data_source_id", Type: "string", Required: true, Description: "its data source"},
	}
	return []action.Action{
		action.New(runbooks.ActionSpec{Name: ActionDeleteKnowledgeBaseDocuments, Mutating: true, KeptOnRollback: true,
			Description: "Delete documents from a knowledge base's index (DeleteKnowledgeBaseDocuments) and wait until they are gone; only S3 and CUSTOM data sources support it. " +
				"Not undone on rollback, by design: the S3 objects stay in the bucket, and the next sync indexes what the bucket then holds.",
			Args: append(slices.Clone(dsArgs),
				runbooks.ArgSpec{Name: "documents", Type: "list", Required: true, Description: "s3:// URIs in the data source's bucket (S3 data sources) or document ids (CUSTOM), at most 100"})}, r.DeleteKnowledgeBaseDocuments),
		action.New(runbooks.ActionSpec{Name: ActionSyncDataSource, Mutating: true, KeptOnRollback: true,
			Description: "Start one ingestion job of a data source (idempotent: a retried step finds or restarts the same job) and wait until it is COMPLETE; FAILED or STOPPED fails the step with the job's reasons. " +
				"Not undone on rollback: a sync is not reversible.",
			Args: dsArgs}, r.SyncDataSource),
		action.New(runbooks.ActionSpec{Name: ActionRestoreChangedObjects, Mutating: true, KeptOnRollback: true,
			Description: "Restore each chosen object to the version that was current at `since` (CopyObject from that version); a key that did not exist then is left alone and reported. " +
				"Not undone on rollback, by design: the restored objects stay, and the versions they replaced remain in their history.",
			Args: []runbooks.ArgSpec{
				{Name: "bucket", Type: "string", Required: true, Description: "bucket name"},
				{Name: "keys", Type: "list", Required: true, Description: "object keys to restore, at most 100"},
				{Name: "since", Type: "string", Required: true, Description: "RFC 3339 time: each key goes back to its version current just before it (s3.list_changed_objects's output.since)"},
			}}, r.RestoreChangedObjects),
	}
}

// maxRecoveryItems bounds the documents and objects one step handles.
const maxRecoveryItems = 100

// documentBatch is how many documents one Get/DeleteKnowledgeBaseDocuments names.
const documentBatch = 10

// ---- knowledge-base documents ----

type deleteDocumentsArgs struct {
	dataSourceArgs
	Documents []string `json:"documents"`
}

// documentGone reports whether a status means the document is out of
// the index or on its way out.
func documentGone(s agenttypes.DocumentStatus) bool {
	return s == agenttypes.DocumentStatusNotFound || s == agenttypes.DocumentStatusDeleting || s == agenttypes.DocumentStatusDeleteInProgress
}

// documentIdentifiers checks docs against the data source's type and
// turns them into identifiers.
func documentIdentifiers(ds *agenttypes.DataSource, docs []string) ([]agenttypes.DocumentIdentifier, error) {
	var typ agenttypes.DataSourceType
	if ds.DataSourceConfiguration != nil {
		typ = ds.DataSourceConfiguration.Type
	}
	out := make([]agenttypes.DocumentIdentifier, 0, len(docs))
	switch typ {
	case agenttypes.DataSourceTypeS3:
		bucket := strings.TrimPrefix(aws.ToString(ds.DataSourceConfiguration.S3Configuration.BucketArn), "arn:aws:s3:::")
		for _, d := range docs {
			if !strings.HasPrefix(d, "s3://"+bucket+"/") || len(d) == len("s3://"+bucket+"/") {
				return nil, action.InvalidArg(ActionDeleteKnowledgeBaseDocuments, "document %q is not an object of the data source's bucket (s3://%s/key)", d, bucket)
			}
			out = append(out, agenttypes.DocumentIdentifier{DataSourceType: agenttypes.ContentDataSourceTypeS3, S3: &agenttypes.S3Location{Uri: aws.String(d)}})
		}
	case agenttypes.DataSourceTypeCustom:
		for _, d := range docs {
			out = append(out, agenttypes.DocumentIdentifier{DataSourceType: agenttypes.ContentDataSourceTypeCustom, Custom: &agenttypes.CustomDocumentIdentifier{Id: aws.String(d)}})
		}
	default:
		return nil, action.NonRetryable(action.ErrValidation, fmt.Errorf("data source %s is of type %s: documents can be deleted directly only from S3 and CUSTOM data sources (%s); remove them at the source and sync",
			aws.ToString(ds.DataSourceId), typ, directIngestionDocs))
	}
	return out, nil
}

func documentID(d agenttypes.KnowledgeBaseDocumentDetail) string {
	if d.Identifier == nil {
		return ""
	}
	if d.Identifier.S3 != nil {
		return aws.ToString(d.Identifier.S3.Uri)
	}
	if d.Identifier.Custom != nil {
		return aws.ToString(d.Identifier.Custom.Id)
	}
	return ""
}

// documentStatuses reads the documents' statuses, in batches; a document
// the answer leaves out is NOT_FOUND.
func documentStatuses(ctx context.Context, c KnowledgeBaseDocumentsAPI, args dataSourceArgs, ids []agenttypes.DocumentIdentifier, resource string) (map[string]string, error) {
	out := map[string]string{}
	for batch := range slices.Chunk(ids, documentBatch) {
		got, err := c.GetKnowledgeBaseDocuments(ctx, &bedrockagent.GetKnowledgeBaseDocumentsInput{
			KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID), DocumentIdentifiers: batch})
		if err != nil {
			return nil, AWSError(bedrockService, "GetKnowledgeBaseDocuments", resource, err)
		}
		for _, id := range batch {
			out[identifierText(id)] = string(agenttypes.DocumentStatusNotFound)
		}
		for _, d := range got.DocumentDetails {
			out[documentID(d)] = string(d.Status)
		}
	}
	return out, nil
}

func identifierText(id agenttypes.DocumentIdentifier) string {
	return documentID(agenttypes.KnowledgeBaseDocumentDetail{Identifier: &id})
}

// DeleteKnowledgeBaseDocuments deletes documents from a data source's
// index. Prior: each document's status before. Output: deleted,
// already_absent. No undo: the next sync re-indexes what the source holds.
func (r *RecoveryActions) DeleteKnowledgeBaseDocuments(ctx context.Context, in contract.ActionInput, args deleteDocumentsArgs) (contract.ActionResult, error) {
	docs := slices.Compact(slices.Sorted(slices.Values(args.Documents)))
	if len(docs) > maxRecoveryItems {
		return contract.ActionResult{}, action.InvalidArg(ActionDeleteKnowledgeBaseDocuments, "%d documents named; at most %d per step", len(docs), maxRecoveryItems)
	}
	resource := fmt.Sprintf("data source %s of knowledge base %s", args.DataSourceID, args.KnowledgeBaseID)
	fail := func(err error) (contract.ActionResult, error) {
		return contract.ActionResult{}, fmt.Errorf("delete documents from %s: %w", resource, err)
	}
	c, err := r.agents(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	ds, err := c.GetDataSource(ctx, &bedrockagent.GetDataSourceInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID)})
	if err != nil {
		return fail(AWSError(bedrockService, "GetDataSource", resource, err))
	}
	ids, err := documentIdentifiers(ds.DataSource, docs)
	if err != nil {
		return fail(err)
	}
	current, err := documentStatuses(ctx, c, args.dataSourceArgs, ids, resource)
	if err != nil {
		return fail(err)
	}
	prior := action.Checkpoint(ctx, current)
	// present: still in the index now; deleted: in it before the step's
	// first attempt (an earlier attempt may have deleted it already).
	var present []agenttypes.DocumentIdentifier
	priorDocs, deleted := []any{}, []any{}
	for _, id := range ids {
		doc := identifierText(id)
		priorDocs = append(priorDocs, map[string]any{"document": doc, "status": prior[doc]})
		if !documentGone(agenttypes.DocumentStatus(current[doc])) {
			present = append(present, id)
		}
		if !documentGone(agenttypes.DocumentStatus(prior[doc])) {
			deleted = append(deleted, doc)
		}
	}
	res := contract.ActionResult{DryRun: in.DryRun, Changed: len(deleted) > 0, Prior: map[string]any{"documents": priorDocs},
		Output: map[string]any{"deleted": deleted, "already_absent": len(ids) - len(deleted)}}
	if len(deleted) == 0 {
		res.Summary = fmt.Sprintf("none of the %d documents is in the index of %s; nothing to delete", len(ids), resource)
		return res, nil
	}
	if in.DryRun {
		res.Summary = fmt.Sprintf("would delete %d of %d documents from the index of %s", len(present), len(ids), resource)
		return res, nil
	}
	for i, batch := range slices.Collect(slices.Chunk(present, documentBatch)) {
		var names []string
		for _, id := range batch {
			names = append(names, identifierText(id))
		}
		_, err := c.DeleteKnowledgeBaseDocuments(ctx, &bedrockagent.DeleteKnowledgeBaseDocumentsInput{
			KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID), DocumentIdentifiers: batch,
			ClientToken: aws.String(clientToken(in.Incident.ID, in.Step, fmt.Sprint(i), strings.Join(names, "\x00"))),
		})
		if err != nil {
			return fail(AWSError(bedrockService, "DeleteKnowledgeBaseDocuments", resource, err))
		}
	}
	err = PollUntil(ctx, r.Poll, "deletion of documents from "+resource, func(ctx context.Context) (bool, error) {
		st, err := documentStatuses(ctx, c, args.dataSourceArgs, ids, resource)
		if err != nil {
			return false, err
		}
		for _, s := range st {
			if s != string(agenttypes.DocumentStatusNotFound) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fail(err)
	}
	res.Summary = fmt.Sprintf("deleted %d documents from the index of %s (%d were not in it)", len(deleted), resource, len(ids)-len(deleted))
	res.Warnings = []string{"not undone when the incident is rolled back, by design: a sync of " + resource + " indexes what its source then holds"}
	return res, nil
}

// ---- sync ----

// syncJob finds the newest job this step started (its description names
// the incident and the step) and its status.
func syncJob(ctx context.Context, c KnowledgeBaseDocumentsAPI, args dataSourceArgs, desc, resource string) (string, agenttypes.IngestionJobStatus, error) {
	p := bedrockagent.NewListIngestionJobsPaginator(c, &bedrockagent.ListIngestionJobsInput{
		KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID),
		SortBy: &agenttypes.IngestionJobSortBy{Attribute: agenttypes.IngestionJobSortByAttributeStartedAt, Order: agenttypes.SortOrderDescending}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", "", AWSError(bedrockService, "ListIngestionJobs", resource, err)
		}
		for _, j := range page.IngestionJobSummaries {
			if aws.ToString(j.Description) == desc {
				return aws.ToString(j.IngestionJobId), j.Status, nil
			}
		}
	}
	return "", "", nil
}

// SyncDataSource starts one ingestion job and waits until it completes.
// Output: ingestion_job_id, status, statistics.
func (r *RecoveryActions) SyncDataSource(ctx context.Context, in contract.ActionInput, args dataSourceArgs) (contract.ActionResult, error) {
	resource := fmt.Sprintf("data source %s of knowledge base %s", args.DataSourceID, args.KnowledgeBaseID)
	fail := func(err error) (contract.ActionResult, error) {
		return contract.ActionResult{}, fmt.Errorf("sync %s: %w", resource, err)
	}
	c, err := r.agents(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	if _, err := c.GetDataSource(ctx, &bedrockagent.GetDataSourceInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID)}); err != nil {
		return fail(AWSError(bedrockService, "GetDataSource", resource, err))
	}
	desc := fmt.Sprintf("quench incident %s step %s", in.Incident.ID, in.Step)
	found, status, err := syncJob(ctx, c, args, desc, resource)
	if err != nil {
		return fail(err)
	}
	// A job of this step that failed or was stopped is not the sync asked
	// for: running the step again starts a new one.
	ended := ""
	if status == agenttypes.IngestionJobStatusFailed || status == agenttypes.IngestionJobStatusStopped {
		ended, found = found, ""
	}
	// The job that existed before the step's first attempt: an attempt
	// after a crash finds its own job and still reports the change.
	prior := action.Checkpoint(ctx, found)
	res := contract.ActionResult{DryRun: in.DryRun, Changed: prior == "", Prior: map[string]any{"ingestion_job_id": prior}}
	id := found
	if id == "" {
		if in.DryRun {
			res.Summary = "would start an ingestion job of " + resource + " and wait until it completes"
			return res, nil
		}
		// The token makes a start whose answer was lost return the same
		// job; after a failed job it names that job, so AWS starts anew.
		out, err := c.StartIngestionJob(ctx, &bedrockagent.StartIngestionJobInput{
			KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID),
			ClientToken: aws.String(clientToken(in.Incident.ID, in.Step, "sync", args.KnowledgeBaseID, args.DataSourceID, ended)), Description: aws.String(desc),
		})
		if err != nil {
			return fail(AWSError(bedrockService, "StartIngestionJob", resource+" (another job running? it must end first)", err))
		}
		id = aws.ToString(out.IngestionJob.IngestionJobId)
	}
	jobRes := fmt.Sprintf("ingestion job %s of %s", id, resource)
	var job *agenttypes.IngestionJob
	err = PollUntil(ctx, r.SyncPoll, jobRes, func(ctx context.Context) (bool, error) {
		out, err := c.GetIngestionJob(ctx, &bedrockagent.GetIngestionJobInput{KnowledgeBaseId: aws.String(args.KnowledgeBaseID), DataSourceId: aws.String(args.DataSourceID), IngestionJobId: aws.String(id)})
		if err != nil {
			return false, AWSError(bedrockService, "GetIngestionJob", jobRes, err)
		}
		job = out.IngestionJob
		return jobTerminal(job.Status), nil
	})
	if err != nil {
		return fail(err)
	}
	switch job.Status {
	case agenttypes.IngestionJobStatusFailed:
		return fail(action.NonRetryable(action.ErrActionFailed, fmt.Errorf("%s FAILED: %s", jobRes, strings.Join(job.FailureReasons, "; "))))
	case agenttypes.IngestionJobStatusStopped:
		return fail(action.NonRetryable(action.ErrActionFailed, fmt.Errorf("%s was STOPPED before it completed (by hand, or by a stop_ingestion_jobs step)", jobRes)))
	}
	stats := map[string]any{}
	if s := job.Statistics; s != nil {
		stats = map[string]any{"scanned": s.NumberOfDocumentsScanned, "new_indexed": s.NumberOfNewDocumentsIndexed,
			"modified_indexed": s.NumberOfModifiedDocumentsIndexed, "deleted": s.NumberOfDocumentsDeleted, "failed": s.NumberOfDocumentsFailed}
	}
	res.Output = map[string]any{"ingestion_job_id": id, "status": string(job.Status), "statistics": stats}
	res.Summary = fmt.Sprintf("%s COMPLETE: %v documents scanned, %v new and %v modified indexed, %v deleted, %v failed",
		jobRes, stats["scanned"], stats["new_indexed"], stats["modified_indexed"], stats["deleted"], stats["failed"])
	if !res.Changed {
		res.Summary = "already synced by this step: " + res.Summary
	}
	return res, nil
}

// ---- restoring objects ----

type restoreChangedArgs struct {
	Bucket string   `json:"bucket"`
	Keys   []string `json:"keys"`
	Since  string   `json:"since"`
}

// restorePlan is what one key needs: the version current just before
// since, and the latest now.
type restorePlan struct {
	key            string
	target, latest objectEntry
	skip           string // why it cannot be restored
}

// sameContent reports whether l holds target's content.
func sameContent(l, target objectEntry) bool {
	return !l.deleteMarker && (l.versionID == target.versionID || l.etag == target.etag && l.size == target.size)
}

// RestoreChangedObjects restores each key to the version current just
// before since. Prior: each key's latest version before the step. Output:
// restored[{key, restored_from_version_id, new_version_id,
// replaced_version_id}], unchanged, skipped[{key, reason}]. No undo.
func (r *RecoveryActions) RestoreChangedObjects(ctx context.Context, in contract.ActionInput, args restoreChangedArgs) (contract.ActionResult, error) {
	if err := checkBucket(ActionRestoreChangedObjects, args.Bucket); err != nil {
		return contract.ActionResult{}, err
	}
	since, err := time.Parse(time.RFC3339, args.Since)
	if err != nil {
		return contract.ActionResult{}, action.InvalidArg(ActionRestoreChangedObjects, "since %q is not an RFC 3339 time (2026-11-20T10:00:00Z)", args.Since)
	}
	keys := slices.Compact(slices.Sorted(slices.Values(args.Keys)))
	if len(keys) > maxRecoveryItems {
		return contract.ActionResult{}, action.InvalidArg(ActionRestoreChangedObjects, "%d keys named; at most %d per step", len(keys), maxRecoveryItems)
	}
	c, err := r.s3.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	fail := func(key string, err error) (contract.ActionResult, error) {
		return contract.ActionResult{}, fmt.Errorf("restore s3://%s/%s: %w", args.Bucket, key, err)
	}
	var plans []restorePlan
	current := map[string]restoreState{}
	for _, key := range keys {
		versions, err := objectVersions(ctx, c, r.s3.list, args.Bucket, key)
		if err != nil {
			return fail(key, err)
		}
		p := restorePlan{key: key}
		i := slices.IndexFunc(versions, func(e objectEntry) bool { return e.modified.Before(since) })
		switch {
		case len(versions) == 0:
			p.skip = "no such key"
		case i < 0 || versions[i].deleteMarker:
			p.skip = "it did not exist before " + args.Since + ": delete it from the bucket by hand"
		case versions[i].size > maxCopyObjectBytes:
			p.skip = fmt.Sprintf("version %s is %d bytes, over the 5 GiB one copy can restore", versions[i].versionID, versions[i].size)
		default:
			p.target, p.latest = versions[i], versions[0]
			current[key] = restoreState{LatestVersionID: p.latest.versionID, LatestETag: p.latest.etag, LatestDeleteMarker: p.latest.deleteMarker, LatestSize: p.latest.size}
		}
		plans = append(plans, p)
	}
	prior := action.Checkpoint(ctx, current)
	restored, unchanged, skipped := []any{}, []any{}, []any{}
	res := contract.ActionResult{DryRun: in.DryRun, Prior: map[string]any{}}
	for _, k := range slices.Sorted(maps.Keys(prior)) {
		res.Prior[k] = map[string]any{"latest_version_id": prior[k].LatestVersionID, "latest_delete_marker": prior[k].LatestDeleteMarker}
	}
	for _, p := range plans {
		where := fmt.Sprintf("s3://%s/%s", args.Bucket, p.key)
		if p.skip != "" {
			skipped = append(skipped, map[string]any{"key": p.key, "reason": p.skip})
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s not restored: %s", where, p.skip))
			continue
		}
		was := prior[p.key]
		if sameContent(objectEntry{versionID: was.LatestVersionID, etag: was.LatestETag, size: was.LatestSize, deleteMarker: was.LatestDeleteMarker}, p.target) {
			unchanged = append(unchanged, p.key)
			continue
		}
		item := map[string]any{"key": p.key, "restored_from_version_id": p.target.versionID, "replaced_version_id": was.LatestVersionID, "new_version_id": ""}
		restored = append(restored, item)
		if in.DryRun {
			continue
		}
		if sameContent(p.latest, p.target) { // an earlier attempt copied it; its answer was lost
			item["new_version_id"] = p.latest.versionID
			continue
		}
		cp := &s3.CopyObjectInput{Bucket: aws.String(args.Bucket), Key: aws.String(p.key), CopySource: aws.String(copySource(args.Bucket, p.key, p.target.versionID))}
		if p.target.storageClass != "" {
			cp.StorageClass = s3types.StorageClass(p.target.storageClass)
		}
		out, err := c.CopyObject(ctx, cp)
		if err != nil {
			return fail(p.key, awsError("CopyObject", "s3:GetObjectVersion and s3:PutObject", where, err))
		}
		newID := aws.ToString(out.VersionId)
		if err := PollUntil(ctx, r.s3.poll, where, func(ctx context.Context) (bool, error) {
			vs, err := objectVersions(ctx, c, r.s3.list, args.Bucket, p.key)
			return err == nil && len(vs) > 0 && vs[0].versionID == newID, err
		}); err != nil {
			return fail(p.key, err)
		}
		item["new_version_id"] = newID
	}
	res.Changed = len(restored) > 0
	res.Output = map[string]any{"bucket": args.Bucket, "since": args.Since, "restored": restored, "unchanged": unchanged, "skipped": skipped}
	verb := "restored"
	if in.DryRun {
		verb = "would restore"
	}
	res.Summary = fmt.Sprintf("%s %d objects of s3://%s to their versions before %s (%d already were, %d skipped)", verb, len(restored), args.Bucket, args.Since, len(unchanged), len(skipped))
	if res.Changed && !in.DryRun {
		res.Warnings = append(res.Warnings, "not undone when the incident is rolled back, by design: the restored objects stay, and the versions they replaced remain in their history")
	}
	return res, nil
}
