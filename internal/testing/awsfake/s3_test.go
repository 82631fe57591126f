package awsfake_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestS3BucketPolicyRoundTripsThroughTheSDKByteForByte(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterS3(srv)
	fake.AddBucket("docs", true)
	client := s3.NewFromConfig(srv.Config())

	if _, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("docs")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("no policy: err = %v, want NoSuchBucketPolicy", err)
	}
	policy := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::docs/*\"}]\n}"
	if _, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("docs"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("docs")})
	if err != nil || aws.ToString(got.Policy) != policy {
		t.Fatalf("policy = %q, %v; want the text put", aws.ToString(got.Policy), err)
	}
	for _, bad := range []string{"not json", "[]", `{"Version":"2012-10-17"}`, `{"Statement":[` + strings.Repeat(" ", awsfake.MaxBucketPolicySize) + `]}`} {
		if _, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("docs"), Policy: aws.String(bad)}); apiCode(err) != "MalformedPolicy" && apiCode(err) != "PolicyTooLarge" {
			t.Errorf("put %.20q: err = %v, want MalformedPolicy or PolicyTooLarge", bad, err)
		}
	}
	if _, err := client.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.BucketPolicy("docs"); ok {
		t.Error("policy still there after DeleteBucketPolicy")
	}
	if _, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("nope")}); apiCode(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: err = %v, want NoSuchBucket", err)
	}
	if fake.ConfirmRemoveSelfBucketAccessCalls() != 0 {
		t.Error("confirm-remove-self counted without the header")
	}
	if _, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("docs"), Policy: aws.String(policy), ConfirmRemoveSelfBucketAccess: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if fake.ConfirmRemoveSelfBucketAccessCalls() != 1 {
		t.Error("x-amz-confirm-remove-self-bucket-access not counted")
	}
}

func TestS3ListObjectVersionsPaginatesInS3Order(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterS3(srv)
	fake.AddBucket("docs", true)
	a1 := fake.PutObject("docs", "kb/a.txt", "one", t0)
	b1 := fake.PutObject("docs", "kb/b.txt", "bee", t0.Add(time.Minute))
	a2 := fake.PutObject("docs", "kb/a.txt", "two", t0.Add(2*time.Minute))
	del := fake.DeleteObject("docs", "kb/b.txt", t0.Add(3*time.Minute))
	fake.PutObject("docs", "other/c.txt", "c", t0)
	client := s3.NewFromConfig(srv.Config())

	type entry struct {
		key, id string
		latest  bool
		marker  bool
	}
	var got []entry
	p := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: aws.String("docs"), Prefix: aws.String("kb/"), MaxKeys: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, v := range page.Versions {
			got = append(got, entry{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false})
		}
		for _, d := range page.DeleteMarkers {
			got = append(got, entry{aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest), true})
		}
	}
	want := []entry{{"kb/a.txt", a2, true, false}, {"kb/a.txt", a1, false, false}, {"kb/b.txt", del, true, true}, {"kb/b.txt", b1, false, false}}
	if pages != 4 || len(got) != len(want) {
		t.Fatalf("%d pages, entries %+v; want 4 pages of %+v", pages, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestS3CopyObjectFromAVersionMakesItCurrent(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterS3(srv)
	fake.AddBucket("docs", true)
	good := fake.PutObject("docs", "kb/a b.txt", "good", t0)
	fake.PutObject("docs", "kb/a b.txt", "poison", t0.Add(time.Minute))
	client := s3.NewFromConfig(srv.Config())

	out, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("kb/a b.txt"),
		CopySource: aws.String(url.PathEscape("docs/kb/a b.txt") + "?versionId=" + good)})
	if err != nil {
		t.Fatal(err)
	}
	vs := fake.Versions("docs", "kb/a b.txt")
	if len(vs) != 3 || vs[0].Body != "good" || aws.ToString(out.VersionId) != vs[0].VersionID || aws.ToString(out.CopySourceVersionId) != good ||
		aws.ToString(out.CopyObjectResult.ETag) != vs[2].ETag {
		t.Errorf("after copy: versions %+v, output %+v", vs, out)
	}
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("kb/a b.txt"),
		CopySource: aws.String("docs/kb/a%20b.txt?versionId=nosuch")}); apiCode(err) != "NoSuchVersion" {
		t.Errorf("copy of a missing version: err = %v, want NoSuchVersion", err)
	}
	marker := fake.DeleteObject("docs", "kb/a b.txt", t0.Add(time.Hour))
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("kb/a b.txt"),
		CopySource: aws.String("docs/kb/a%20b.txt?versionId=" + marker)}); apiCode(err) != "InvalidRequest" {
		t.Errorf("copy of a delete marker: err = %v, want InvalidRequest", err)
	}
	if ops := srv.MutatingCalls(); len(ops) != 3 || ops[0].Operation != "CopyObject" || ops[0].Service != "s3" {
		t.Errorf("mutating calls %+v", ops)
	}
}

// Virtual-hosted addressing (bucket.host) reaches the same bucket as path-style.
func TestS3VirtualHostedRequestsFindTheBucket(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterS3(srv)
	fake.AddBucket("docs", true)
	fake.SetBucketPolicy("docs", `{"Statement":[]}`)
	rec := &responseRecorder{header: http.Header{}}
	r, _ := http.NewRequest(http.MethodGet, "http://docs.s3.localhost:9000/?policy", nil)
	if op := fake.Operation(r); op != "GetBucketPolicy" {
		t.Fatalf("operation = %q", op)
	}
	fake.Serve(rec, r, "GetBucketPolicy")
	if rec.status != http.StatusOK || rec.body.String() != `{"Statement":[]}` {
		t.Errorf("virtual-hosted GetBucketPolicy = %d %q", rec.status, rec.body.String())
	}
}

type responseRecorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *responseRecorder) WriteHeader(s int)           { r.status = s }

func TestS3FaultsAnswerInS3ErrorShape(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterS3(srv)
	fake.AddBucket("docs", true)
	client := s3.NewFromConfig(srv.Config())
	srv.InjectFault(awsfake.Fault{Operation: "GetBucketPolicy", Code: "AccessDenied", Status: 403})
	if _, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("docs")}); apiCode(err) != "AccessDenied" {
		t.Errorf("err = %v, want AccessDenied", err)
	}
	srv.InjectFault(awsfake.Fault{Operation: "GetBucketPolicy", Code: "SlowDown", Status: 503, Times: 2})
	if _, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("docs")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("after two SlowDowns the SDK's retry should reach the bucket: err = %v", err)
	}
}
