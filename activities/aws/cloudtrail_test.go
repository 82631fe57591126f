package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func init() {
	fakeRegistrars = append(fakeRegistrars, func(s *awsfake.Server) { awsfake.RegisterCloudTrail(s) })
}

var trailNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newTestCloudTrail(t *testing.T) (*awsfake.Server, *awsfake.CloudTrail, *CloudTrailActions) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewCloudTrailActions(p)
	a.Now = func() time.Time { return trailNow }
	return srv, srv.Handler("cloudtrail").(*awsfake.CloudTrail), a
}

// seedLLMjacking is a stolen key's trail: Bedrock calls from two IPs in
// two regions, a denied call, an old event outside the window and
// another key's noise.
func seedLLMjacking(fake *awsfake.CloudTrail) {
	ev := func(name, source, region, ip, errCode string, ago time.Duration) awsfake.TrailEvent {
		return awsfake.TrailEvent{Name: name, Source: source, Region: region, SourceIP: ip, ErrorCode: errCode, Time: trailNow.Add(-ago),
			AccessKeyID: "AKIASTOLEN0001", Username: "ci-bot", IdentityType: "IAMUser", PrincipalARN: "arn:aws:iam::123456789012:user/ci-bot",
			UserAgent: "python-requests/2.31", Resources: []awsfake.TrailResource{{Type: "AWS::Bedrock::Model", Name: "anthropic.claude-3-5-sonnet"}}}
	}
	for i := range 60 {
		fake.AddEvents(ev("InvokeModel", "bedrock.amazonaws.com", "us-east-1", "203.0.113.9", "", time.Duration(i+1)*time.Minute))
	}
	fake.AddEvents(
		ev("ListFoundationModels", "bedrock.amazonaws.com", "us-east-1", "198.51.100.7", "", 3*time.Hour),
		ev("GetModelInvocationLoggingConfiguration", "bedrock.amazonaws.com", "us-east-1", "198.51.100.7", "AccessDenied", 3*time.Hour+time.Minute),
		ev("InvokeModel", "bedrock.amazonaws.com", "eu-west-1", "198.51.100.7", "", 2*time.Hour),
		ev("InvokeModel", "bedrock.amazonaws.com", "us-east-1", "203.0.113.9", "", 48*time.Hour), // outside 24h
		awsfake.TrailEvent{Name: "GetUser", Source: "iam.amazonaws.com", Time: trailNow.Add(-time.Minute), AccessKeyID: "AKIAOTHER", Username: "alice", IdentityType: "IAMUser"},
	)
}

func TestCloudTrailLookupEventsSummarisesAStolenKeysActivity(t *testing.T) {
	srv, fake, a := newTestCloudTrail(t)
	seedLLMjacking(fake)
	res := mustRun(t, act(a, ActionLookupEvents), actionInput(map[string]any{"access_key_id": "AKIASTOLEN0001", "regions": []any{"us-east-1", "eu-west-1"}}))
	out := res.Output
	if out["events"] != 63 || out["truncated"] != false || out["first_event_time"] != "2026-11-21T08:59:00Z" || out["last_event_time"] != "2026-11-21T11:59:00Z" {
		t.Errorf("output %v", out)
	}
	if fmt.Sprint(out["event_names"]) != "[map[count:61 name:InvokeModel source:bedrock.amazonaws.com] map[count:1 name:GetModelInvocationLoggingConfiguration source:bedrock.amazonaws.com] map[count:1 name:ListFoundationModels source:bedrock.amazonaws.com]]" {
		t.Errorf("event names %v", out["event_names"])
	}
	for key, want := range map[string]string{
		"regions":        "[map[count:62 region:us-east-1] map[count:1 region:eu-west-1]]",
		"source_ips":     "[map[count:60 ip:203.0.113.9] map[count:3 ip:198.51.100.7]]",
		"error_codes":    "[map[count:1 error_code:AccessDenied]]",
		"principals":     "[map[arn:arn:aws:iam::123456789012:user/ci-bot count:63]]",
		"access_key_ids": "[map[access_key_id:AKIASTOLEN0001 count:63]]",
		"lookup":         "map[attribute:AccessKeyId value:AKIASTOLEN0001]",
	} {
		if got := fmt.Sprint(out[key]); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	recent := out["recent"].([]any)
	if len(recent) != recentN || recent[0].(map[string]any)["time"] != "2026-11-21T11:59:00Z" {
		t.Errorf("recent %v", recent)
	}
	if !strings.HasPrefix(res.Summary, "63 CloudTrail events of AccessKeyId AKIASTOLEN0001") || !strings.Contains(res.Summary, "most frequent InvokeModel (61)") {
		t.Errorf("summary %q", res.Summary)
	}
	if len(srv.MutatingCalls()) != 0 {
		t.Error("evidence made mutating calls")
	}

	// By user name and by resource; a dry run reads the same.
	if res := mustRun(t, act(a, ActionLookupEvents), dryRun(actionInput(map[string]any{"principal": "ci-bot"}))); res.Output["events"] != 62 || !res.DryRun {
		t.Errorf("by principal: %v", res.Output["events"])
	}
	if res := mustRun(t, act(a, ActionLookupEvents), actionInput(map[string]any{"resource_name": "anthropic.claude-3-5-sonnet", "window": "72h"})); res.Output["events"] != 63 {
		t.Errorf("by resource over 72h: %v", res.Output["events"])
	}
	if res := mustRun(t, act(a, ActionLookupEvents), actionInput(map[string]any{"access_key_id": "AKIANOBODY"})); res.Output["events"] != 0 || !strings.HasPrefix(res.Summary, "no CloudTrail events") {
		t.Errorf("no events: %s", res.Summary)
	}
}

func TestCloudTrailLookupEventsIsBoundedAndSaysSo(t *testing.T) {
	srv, fake, a := newTestCloudTrail(t)
	seedLLMjacking(fake)
	res := mustRun(t, act(a, ActionLookupEvents), actionInput(map[string]any{"access_key_id": "AKIASTOLEN0001", "max_events": 55, "regions": []any{"us-east-1", "eu-west-1"}}))
	if res.Output["events"] != 55 || res.Output["truncated"] != true || !strings.Contains(res.Summary, "truncated: stopped after 55 events") {
		t.Errorf("bounded: %s %v", res.Summary, res.Output["events"])
	}
	if n := countCalls(srv, "LookupEvents"); n != 2 {
		t.Errorf("LookupEvents called %d times, want 2 pages of 50 (eu-west-1 never reached)", n)
	}
}

func TestCloudTrailLookupEventsArgumentsThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a := newTestCloudTrail(t)
	seedLLMjacking(fake)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "exactly one"},
		{map[string]any{"access_key_id": "AKIA1", "principal": "ci-bot"}, "exactly one"},
		{map[string]any{"principal": "ci-bot", "window": "2200h"}, "90 days"},
		{map[string]any{"principal": "ci-bot", "regions": []any{"mars-1"}}, "region"},
		{map[string]any{"principal": "ci-bot", "max_events": 6000}, "max_events"},
	} {
		_, err := act(a, ActionLookupEvents)(context.Background(), actionInput(tc.args))
		assertNonRetryable(t, err, action.ErrInvalidArgument, tc.want)
	}
	in := actionInput(map[string]any{"access_key_id": "AKIASTOLEN0001"})
	srv.InjectFault(awsfake.Fault{Operation: "LookupEvents", Code: "ThrottlingException", Status: 400, Times: 3})
	if res := mustRun(t, act(a, ActionLookupEvents), in); res.Output["events"] != 62 {
		t.Errorf("after throttling: %v events", res.Output["events"])
	}
	srv.InjectFault(awsfake.Fault{Operation: "LookupEvents", Code: "AccessDeniedException", Status: 400})
	_, err := act(a, ActionLookupEvents)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "cloudtrail:LookupEvents", "AKIASTOLEN0001")
}
