package awsfake_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestCloudTrailLookupEventsFiltersPagesAndKeepsRegions(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterCloudTrail(srv)
	for i := range 7 {
		fake.AddEvents(awsfake.TrailEvent{Name: "InvokeModel", Source: "bedrock.amazonaws.com", Time: t0.Add(time.Duration(i) * time.Minute),
			AccessKeyID: "AKIASTOLEN", Username: "ci-bot", IdentityType: "IAMUser", SourceIP: "203.0.113.9", ReadOnly: true})
	}
	fake.AddEvents(
		awsfake.TrailEvent{Name: "InvokeModel", Source: "bedrock.amazonaws.com", Time: t0, AccessKeyID: "AKIASTOLEN", Region: "eu-west-1"},
		awsfake.TrailEvent{Name: "GetUser", Source: "iam.amazonaws.com", Time: t0, AccessKeyID: "AKIAOTHER"},
	)
	client := cloudtrail.NewFromConfig(srv.Config())
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String("AKIASTOLEN")}},
		StartTime:        aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)), MaxResults: aws.Int32(3),
	}
	var got []cttypes.Event
	pages := 0
	for p := cloudtrail.NewLookupEventsPaginator(client, in); p.HasMorePages(); pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Events...)
	}
	if pages != 3 || len(got) != 7 {
		t.Fatalf("%d pages, %d events; want 3 pages of the 7 us-east-1 events", pages, len(got))
	}
	if !got[0].EventTime.Equal(t0.Add(6*time.Minute)) || aws.ToString(got[0].Username) != "ci-bot" || aws.ToString(got[0].ReadOnly) != "true" {
		t.Errorf("first event %+v, want the newest", got[0])
	}
	var rec struct {
		SourceIPAddress, AwsRegion string
		UserIdentity               struct {
			AccessKeyID string `json:"accessKeyId"`
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(got[0].CloudTrailEvent)), &rec); err != nil || rec.SourceIPAddress != "203.0.113.9" || rec.AwsRegion != "us-east-1" || rec.UserIdentity.AccessKeyID != "AKIASTOLEN" {
		t.Errorf("CloudTrailEvent = %s (%v)", aws.ToString(got[0].CloudTrailEvent), err)
	}

	two := *in
	two.LookupAttributes = append(two.LookupAttributes, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("x")})
	if _, err := client.LookupEvents(ctx, &two); apiCode(err) != "InvalidLookupAttributesException" {
		t.Errorf("two attributes: err = %v", err)
	}
	badToken := *in
	badToken.NextToken = aws.String("bm9wZQ==")
	if _, err := client.LookupEvents(ctx, &badToken); apiCode(err) != "InvalidNextTokenException" {
		t.Errorf("bad token: err = %v", err)
	}
	eu, err := cloudtrail.NewFromConfig(srv.Config(), func(o *cloudtrail.Options) { o.Region = "eu-west-1" }).LookupEvents(ctx, in)
	if err != nil || len(eu.Events) != 1 {
		t.Errorf("eu-west-1: %v events, err %v; want its one event", len(eu.Events), err)
	}
	if len(srv.MutatingCalls()) != 0 {
		t.Error("LookupEvents counted as mutating")
	}
}
