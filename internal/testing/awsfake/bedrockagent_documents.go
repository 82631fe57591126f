package awsfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"
)

// A data source's index: the documents Get/List/DeleteKnowledgeBaseDocuments
// see, which a completed ingestion job rewrites from the S3 bucket
// (IndexFrom) as AWS does: every current object under the data source's
// inclusion prefixes indexed, documents whose object is gone deleted.
//
// Direct deletion works only on S3 and CUSTOM data sources, as on AWS
// (https://docs.aws.amazon.com/bedrock/latest/userguide/kb-direct-ingestion.html);
// it leaves the bucket alone, so the next sync indexes the object again.

// fakeDoc is one indexed document: for an S3 data source, the object
// version the last sync read.
type fakeDoc struct {
	Status    agenttypes.DocumentStatus `json:"status"`
	VersionID string                    `json:"version_id,omitempty"`
	ETag      string                    `json:"etag,omitempty"`
	pending   int                       // reads left before DELETING settles
}

// KBDocument is a document of a data source's index as the fake holds it.
type KBDocument struct {
	Status          agenttypes.DocumentStatus
	VersionID, ETag string
}

// maxDocumentIdentifiers is how many documents one Get or Delete names at most.
const maxDocumentIdentifiers = 10

// IndexFrom makes ingestion jobs of S3 data sources read s's buckets.
func (b *BedrockAgent) IndexFrom(s *S3) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.source = s
}

// AddDocument seeds an INDEXED document (an s3:// URI or a custom id) with
// the object version and ETag it was indexed from.
func (b *BedrockAgent) AddDocument(kbID, dsID, id, versionID, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.index(kbID + "/" + dsID)[id] = &fakeDoc{Status: agenttypes.DocumentStatusIndexed, VersionID: versionID, ETag: etag}
}

// Documents returns a data source's index as stored (no settling).
func (b *BedrockAgent) Documents(kbID, dsID string) map[string]KBDocument {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]KBDocument{}
	for id, d := range b.docs[kbID+"/"+dsID] {
		out[id] = KBDocument{Status: d.Status, VersionID: d.VersionID, ETag: d.ETag}
	}
	return out
}

// FailNextIngestion makes the next job started for the data source end
// FAILED with these reasons instead of COMPLETE.
func (b *BedrockAgent) FailNextIngestion(kbID, dsID string, reasons ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failNext[kbID+"/"+dsID] = reasons
}

// SyncNow indexes the data source as a completed job would, for seeding.
func (b *BedrockAgent) SyncNow(kbID, dsID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, fail := b.reindex(kbID, dsID); fail != "" {
		panic("awsfake: " + fail) // a test seeding a data source it cannot read
	}
}

func (b *BedrockAgent) index(key string) map[string]*fakeDoc {
	if b.docs[key] == nil {
		b.docs[key] = map[string]*fakeDoc{}
	}
	return b.docs[key]
}

// runJob advances a job StartIngestionJob started by one read.
func (b *BedrockAgent) runJob(j *fakeJob) {
	if !j.runs {
		return
	}
	switch j.job.Status {
	case agenttypes.IngestionJobStatusStarting:
		j.job.Status = agenttypes.IngestionJobStatusInProgress
	case agenttypes.IngestionJobStatusInProgress:
		reasons := j.fail
		if len(reasons) == 0 {
			stats, fail := b.reindex(aws.ToString(j.job.KnowledgeBaseId), aws.ToString(j.job.DataSourceId))
			j.job.Statistics = stats
			if fail != "" {
				reasons = []string{fail}
			}
		}
		j.job.Status = agenttypes.IngestionJobStatusComplete
		if len(reasons) > 0 {
			j.job.Status, j.job.FailureReasons = agenttypes.IngestionJobStatusFailed, reasons
		}
	default:
		return
	}
	j.job.UpdatedAt = aws.Time(b.now())
}

// reindex rewrites an S3 data source's index from the bucket's current
// objects; a failure is the reason the job fails with.
func (b *BedrockAgent) reindex(kbID, dsID string) (*agenttypes.IngestionJobStatistics, string) {
	stats := &agenttypes.IngestionJobStatistics{}
	ds := b.dataSources[kbID+"/"+dsID]
	cfg := ds.DataSourceConfiguration
	if cfg == nil || cfg.Type != agenttypes.DataSourceTypeS3 || cfg.S3Configuration == nil || b.source == nil {
		return stats, "" // nothing the fake can read: the index stays
	}
	bucket := strings.TrimPrefix(aws.ToString(cfg.S3Configuration.BucketArn), "arn:aws:s3:::")
	prefixes := cfg.S3Configuration.InclusionPrefixes
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	current := map[string]*fakeDoc{}
	b.source.mu.Lock()
	bk := b.source.buckets[bucket]
	if bk != nil {
		for _, p := range prefixes {
			for _, v := range bk.listing(p) { // by key, newest first
				id := "s3://" + bucket + "/" + v.Key
				if _, seen := current[id]; seen {
					continue
				}
				current[id] = &fakeDoc{Status: agenttypes.DocumentStatusIndexed, VersionID: v.VersionID, ETag: v.ETag}
				if v.DeleteMarker {
					current[id] = nil
				}
			}
		}
	}
	b.source.mu.Unlock()
	if bk == nil {
		return stats, "The S3 bucket " + bucket + " of data source " + dsID + " does not exist"
	}
	idx := b.index(kbID + "/" + dsID)
	for id, d := range current {
		if d == nil {
			continue
		}
		stats.NumberOfDocumentsScanned++
		switch old, ok := idx[id]; {
		case !ok:
			stats.NumberOfNewDocumentsIndexed++
		case old.ETag != d.ETag:
			stats.NumberOfModifiedDocumentsIndexed++
		}
		idx[id] = d
	}
	for id := range idx {
		if current[id] == nil {
			delete(idx, id)
			stats.NumberOfDocumentsDeleted++
		}
	}
	return stats, ""
}

// settleDoc advances a DELETING document by one read; it reports whether
// the document is still in the index.
func settleDoc(idx map[string]*fakeDoc, id string) bool {
	d, ok := idx[id]
	if !ok {
		return false
	}
	if d.Status == agenttypes.DocumentStatusDeleting {
		if d.pending <= 0 {
			delete(idx, id)
			return false
		}
		d.pending--
	}
	return true
}

func (b *BedrockAgent) serveDocuments(w http.ResponseWriter, r *http.Request, op string, v map[string]string) {
	var in struct {
		DocumentIdentifiers []agenttypes.DocumentIdentifier
		MaxResults          *int32
		NextToken           *string
	}
	if err := bedrockReadJSON(r, &in); err != nil {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	ds, ok := b.dataSource(w, v["knowledgeBaseId"], v["dataSourceId"])
	if !ok {
		return
	}
	var typ agenttypes.DataSourceType
	if ds.DataSourceConfiguration != nil {
		typ = ds.DataSourceConfiguration.Type
	}
	if typ != agenttypes.DataSourceTypeS3 && typ != agenttypes.DataSourceTypeCustom {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Data source %s is of type %s: documents can be read or deleted directly only in S3 and CUSTOM data sources", v["dataSourceId"], typ))
		return
	}
	idx := b.index(v["knowledgeBaseId"] + "/" + v["dataSourceId"])
	detail := func(id string, st agenttypes.DocumentStatus) agenttypes.KnowledgeBaseDocumentDetail {
		d := agenttypes.KnowledgeBaseDocumentDetail{KnowledgeBaseId: aws.String(v["knowledgeBaseId"]), DataSourceId: aws.String(v["dataSourceId"]),
			Status: st, Identifier: &agenttypes.DocumentIdentifier{DataSourceType: agenttypes.ContentDataSourceType(typ)}}
		if typ == agenttypes.DataSourceTypeS3 {
			d.Identifier.S3 = &agenttypes.S3Location{Uri: aws.String(id)}
		} else {
			d.Identifier.Custom = &agenttypes.CustomDocumentIdentifier{Id: aws.String(id)}
		}
		return d
	}
	if op == "ListKnowledgeBaseDocuments" {
		var ids []string
		for id := range idx {
			if settleDoc(idx, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		start := 0
		if in.NextToken != nil {
			n, err := strconv.Atoi(aws.ToString(in.NextToken))
			if err != nil || n < 0 || n > len(ids) {
				bedrockWriteError(w, http.StatusBadRequest, "ValidationException", "invalid nextToken")
				return
			}
			start = n
		}
		end := len(ids)
		if in.MaxResults != nil && start+int(*in.MaxResults) < end {
			end = start + int(*in.MaxResults)
		}
		out := bedrockagent.ListKnowledgeBaseDocumentsOutput{DocumentDetails: []agenttypes.KnowledgeBaseDocumentDetail{}}
		for _, id := range ids[start:end] {
			out.DocumentDetails = append(out.DocumentDetails, detail(id, idx[id].Status))
		}
		if end < len(ids) {
			out.NextToken = aws.String(strconv.Itoa(end))
		}
		bedrockWriteJSON(w, http.StatusOK, out)
		return
	}
	if n := len(in.DocumentIdentifiers); n == 0 || n > maxDocumentIdentifiers {
		bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'documentIdentifiers' failed to satisfy constraint: Member must have length between 1 and %d", maxDocumentIdentifiers))
		return
	}
	var ids []string
	for _, di := range in.DocumentIdentifiers {
		id := "" // stays empty for an identifier of another type than the data source's
		switch {
		case string(di.DataSourceType) != string(typ):
		case typ == agenttypes.DataSourceTypeS3 && di.S3 != nil:
			id = aws.ToString(di.S3.Uri)
		case typ == agenttypes.DataSourceTypeCustom && di.Custom != nil:
			id = aws.ToString(di.Custom.Id)
		}
		if id == "" {
			bedrockWriteError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Document identifier of type %s does not match data source %s of type %s", di.DataSourceType, v["dataSourceId"], typ))
			return
		}
		ids = append(ids, id)
	}
	var out []agenttypes.KnowledgeBaseDocumentDetail
	for _, id := range ids {
		if !settleDoc(idx, id) {
			out = append(out, detail(id, agenttypes.DocumentStatusNotFound))
			continue
		}
		d := idx[id]
		if op == "DeleteKnowledgeBaseDocuments" && d.Status != agenttypes.DocumentStatusDeleting {
			d.Status, d.pending = agenttypes.DocumentStatusDeleting, b.settleAfter
		}
		out = append(out, detail(id, d.Status))
	}
	status := http.StatusOK
	if op == "DeleteKnowledgeBaseDocuments" {
		status = http.StatusAccepted
	}
	bedrockWriteJSON(w, status, map[string]any{"documentDetails": bedrockWire(out)})
}
