package awsfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagent"
	agenttypes "github.com/aws/aws-sdk-go-v2/service/bedrockagent/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

// newIndexFake is newAgentFake's data source (bucket docs) with its
// index read from the fake S3: a.md and b.md under the inclusion prefix
// kb/, and one object outside it.
func newIndexFake(t *testing.T) (*awsfake.Server, *awsfake.BedrockAgent, *awsfake.S3, *bedrockagent.Client) {
	t.Helper()
	srv, ba, c := newAgentFake(t)
	fs := awsfake.RegisterS3(srv)
	fs.AddBucket("docs", true)
	ba.AddDataSource(agenttypes.DataSource{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), Name: aws.String("s3"),
		DataSourceConfiguration: &agenttypes.DataSourceConfiguration{Type: agenttypes.DataSourceTypeS3,
			S3Configuration: &agenttypes.S3DataSourceConfiguration{BucketArn: aws.String("arn:aws:s3:::docs"), InclusionPrefixes: []string{"kb/"}}}})
	ba.IndexFrom(fs)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	fs.PutObject("docs", "kb/a.md", "alpha", at)
	fs.PutObject("docs", "kb/b.md", "beta", at)
	fs.PutObject("docs", "other/c.md", "gamma", at)
	ba.SyncNow("KB00000001", "DS00000001")
	return srv, ba, fs, c
}

func s3Doc(uri string) agenttypes.DocumentIdentifier {
	return agenttypes.DocumentIdentifier{DataSourceType: agenttypes.ContentDataSourceTypeS3, S3: &agenttypes.S3Location{Uri: aws.String(uri)}}
}

func TestBedrockAgentIngestionJobRunsAndReindexesTheBucket(t *testing.T) {
	ctx := context.Background()
	srv, ba, fs, c := newIndexFake(t)
	if docs := ba.Documents("KB00000001", "DS00000001"); len(docs) != 2 || docs["s3://docs/kb/a.md"].Status != agenttypes.DocumentStatusIndexed {
		t.Fatalf("seeded index %v", docs)
	}
	// a.md changes, b.md is deleted, d.md appears.
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	fs.PutObject("docs", "kb/a.md", "poison", at)
	fs.DeleteObject("docs", "kb/b.md", at)
	fs.PutObject("docs", "kb/d.md", "delta", at)
	start := func() *agenttypes.IngestionJob {
		out, err := c.StartIngestionJob(ctx, &bedrockagent.StartIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"),
			ClientToken: aws.String("tok-0000000000000000000000000000000009")})
		if err != nil {
			t.Fatal(err)
		}
		return out.IngestionJob
	}
	// A seeded job holds the id the fake would give first: the new one gets another.
	ba.AddIngestionJob(agenttypes.IngestionJob{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"),
		IngestionJobId: aws.String("JOB0000001"), Status: agenttypes.IngestionJobStatusComplete})
	job := start()
	if aws.ToString(job.IngestionJobId) == "JOB0000001" {
		t.Fatal("a started job took a seeded job's id")
	}
	var got []agenttypes.IngestionJobStatus
	var last *agenttypes.IngestionJob
	for range 3 {
		out, err := c.GetIngestionJob(ctx, &bedrockagent.GetIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), IngestionJobId: job.IngestionJobId})
		if err != nil {
			t.Fatal(err)
		}
		got, last = append(got, out.IngestionJob.Status), out.IngestionJob
	}
	if got[0] != agenttypes.IngestionJobStatusInProgress || got[1] != agenttypes.IngestionJobStatusComplete || got[2] != agenttypes.IngestionJobStatusComplete {
		t.Fatalf("statuses %v, want IN_PROGRESS, COMPLETE, COMPLETE", got)
	}
	if s := last.Statistics; s == nil || s.NumberOfDocumentsScanned != 2 || s.NumberOfNewDocumentsIndexed != 1 || s.NumberOfModifiedDocumentsIndexed != 1 || s.NumberOfDocumentsDeleted != 1 {
		t.Errorf("statistics %+v", last.Statistics)
	}
	docs := ba.Documents("KB00000001", "DS00000001")
	if _, ok := docs["s3://docs/kb/b.md"]; ok || len(docs) != 2 || docs["s3://docs/kb/a.md"].VersionID != fs.Versions("docs", "kb/a.md")[0].VersionID {
		t.Errorf("index after the job %v", docs)
	}
	// The same token answers with the same job; the state records the index.
	if again := start(); aws.ToString(again.IngestionJobId) != aws.ToString(job.IngestionJobId) {
		t.Errorf("same token started job %s, want %s", aws.ToString(again.IngestionJobId), aws.ToString(job.IngestionJobId))
	}
	if _, ok := srv.State()["bedrock-agent/knowledge-base-documents/KB00000001/DS00000001"]; !ok {
		t.Error("state has no index")
	}

	ba.FailNextIngestion("KB00000001", "DS00000001", "S3 access denied")
	out, err := c.StartIngestionJob(ctx, &bedrockagent.StartIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		last2, err := c.GetIngestionJob(ctx, &bedrockagent.GetIngestionJobInput{KnowledgeBaseId: aws.String("KB00000001"), DataSourceId: aws.String("DS00000001"), IngestionJobId: out.IngestionJob.IngestionJobId})
		if err != nil {
			t.Fatal(err)
		}
		last = last2.IngestionJob
	}
	if last.Status != agenttypes.IngestionJobStatusFailed || len(last.FailureReasons) != 1 || last.FailureReasons[0] != "S3 access denied" {
		t.Errorf("injected failure: %s %v", last.Status, last.FailureReasons)
	}
	if docs2 := ba.Documents("KB00000001", "DS00000001"); len(docs2) != len(docs) {
		t.Error("a failed job changed the index")
	}
}

func TestBedrockAgentDocumentsGetListDelete(t *testing.T) {
	ctx := context.Background()
	srv, ba, _, c := newIndexFake(t)
	kb, ds := aws.String("KB00000001"), aws.String("DS00000001")
	ba.SetSettleAfter(1)
	del, err := c.DeleteKnowledgeBaseDocuments(ctx, &bedrockagent.DeleteKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: ds,
		DocumentIdentifiers: []agenttypes.DocumentIdentifier{s3Doc("s3://docs/kb/a.md"), s3Doc("s3://docs/kb/zzz.md")}})
	if err != nil || len(del.DocumentDetails) != 2 || del.DocumentDetails[0].Status != agenttypes.DocumentStatusDeleting || del.DocumentDetails[1].Status != agenttypes.DocumentStatusNotFound {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	var statuses []agenttypes.DocumentStatus
	for range 2 {
		got, err := c.GetKnowledgeBaseDocuments(ctx, &bedrockagent.GetKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: ds, DocumentIdentifiers: []agenttypes.DocumentIdentifier{s3Doc("s3://docs/kb/a.md")}})
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, got.DocumentDetails[0].Status)
	}
	if statuses[0] != agenttypes.DocumentStatusDeleting || statuses[1] != agenttypes.DocumentStatusNotFound {
		t.Errorf("statuses after delete %v, want DELETING then NOT_FOUND", statuses)
	}
	ba.AddDocument("KB00000001", "DS00000001", "s3://docs/kb/c.md", "", "")
	list, err := c.ListKnowledgeBaseDocuments(ctx, &bedrockagent.ListKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: ds, MaxResults: aws.Int32(1)})
	if err != nil || len(list.DocumentDetails) != 1 || aws.ToString(list.DocumentDetails[0].Identifier.S3.Uri) != "s3://docs/kb/b.md" || list.NextToken == nil {
		t.Fatalf("list page 1 = %+v, %v", list, err)
	}
	list, err = c.ListKnowledgeBaseDocuments(ctx, &bedrockagent.ListKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: ds, NextToken: list.NextToken})
	if err != nil || len(list.DocumentDetails) != 1 || aws.ToString(list.DocumentDetails[0].Identifier.S3.Uri) != "s3://docs/kb/c.md" || list.NextToken != nil {
		t.Fatalf("list page 2 = %+v, %v", list, err)
	}
	if ops := srv.MutatingCalls(); len(ops) != 1 || ops[0].Operation != "DeleteKnowledgeBaseDocuments" {
		t.Errorf("mutating calls %+v, want the one delete", ops)
	}

	// A wrong identifier type, and a data source that takes no direct deletes.
	var ve *agenttypes.ValidationException
	_, err = c.DeleteKnowledgeBaseDocuments(ctx, &bedrockagent.DeleteKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: ds,
		DocumentIdentifiers: []agenttypes.DocumentIdentifier{{DataSourceType: agenttypes.ContentDataSourceTypeCustom, Custom: &agenttypes.CustomDocumentIdentifier{Id: aws.String("x")}}}})
	if !errors.As(err, &ve) {
		t.Errorf("custom id on an S3 data source: err = %v, want ValidationException", err)
	}
	ba.AddDataSource(agenttypes.DataSource{KnowledgeBaseId: kb, DataSourceId: aws.String("WEB0000001"), Name: aws.String("web"),
		DataSourceConfiguration: &agenttypes.DataSourceConfiguration{Type: agenttypes.DataSourceTypeWeb}})
	_, err = c.GetKnowledgeBaseDocuments(ctx, &bedrockagent.GetKnowledgeBaseDocumentsInput{KnowledgeBaseId: kb, DataSourceId: aws.String("WEB0000001"),
		DocumentIdentifiers: []agenttypes.DocumentIdentifier{s3Doc("s3://docs/kb/a.md")}})
	if !errors.As(err, &ve) {
		t.Errorf("web data source: err = %v, want ValidationException", err)
	}
}
