package awsfake_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func newServer(t *testing.T) *awsfake.Server {
	t.Helper()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	return srv
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestIAMRolePoliciesRoundTripThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddRole("app", 7200)
	client := iam.NewFromConfig(srv.Config())

	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(role.Role.MaxSessionDuration); got != 7200 {
		t.Errorf("MaxSessionDuration = %d, want 7200", got)
	}
	if got := aws.ToString(role.Role.Arn); got != "arn:aws:iam::123456789012:role/app" {
		t.Errorf("Arn = %q", got)
	}

	_, err = client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetRolePolicy of a missing policy: err = %v, want NoSuchEntityException", err)
	}

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	if raw := aws.ToString(got.PolicyDocument); raw == doc {
		t.Errorf("policy document came back decoded; IAM returns it URL-encoded")
	}
	decoded, err := url.QueryUnescape(aws.ToString(got.PolicyDocument))
	if err != nil || decoded != doc {
		t.Errorf("decoded document = %q, %v; want %q", decoded, err, doc)
	}
	if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.RolePolicy("app", "p"); ok {
		t.Error("policy still there after DeleteRolePolicy")
	}
	if len(srv.MutatingCalls()) != 2 {
		t.Errorf("mutating calls = %v, want PutRolePolicy and DeleteRolePolicy", srv.MutatingCalls())
	}
}

func TestIAMRefusesPoliciesOnServiceLinkedRoles(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddRoleAtPath("AWSServiceRoleForX", "/aws-service-role/x.amazonaws.com/", 3600)
	_, err := iam.NewFromConfig(srv.Config()).PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{
		RoleName: aws.String("AWSServiceRoleForX"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{}`)})
	if apiCode(err) != "UnmodifiableEntity" {
		t.Errorf("err = %v, want UnmodifiableEntity", err)
	}
}

func TestIAMConsistencyLagShowsOldValue(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddRole("app", 3600)
	fake.SetConsistencyLag(2)
	client := iam.NewFromConfig(srv.Config())
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p")}); apiCode(err) != "NoSuchEntity" {
			t.Fatalf("read %d after write: err = %v, want the stale NoSuchEntity", i, err)
		}
	}
	if _, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p")}); err != nil {
		t.Fatalf("third read: %v", err)
	}
}

func TestIAMAccessKeysAndServiceSpecificCredentials(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddUser("bob")
	fake.AddAccessKey("bob", "AKIA1", "Active")
	fake.AddAccessKey("bob", "AKIA2", "Inactive")
	fake.AddServiceSpecificCredential("bob", "bedrock.amazonaws.com", "ACCA1", "Active")
	fake.AddServiceSpecificCredential("bob", "codecommit.amazonaws.com", "ACCA2", "Active")
	client := iam.NewFromConfig(srv.Config())

	keys, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 2 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeActive || keys.AccessKeyMetadata[1].Status != iamtypes.StatusTypeInactive {
		t.Fatalf("keys = %+v", keys.AccessKeyMetadata)
	}
	if _, err := client.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String("AKIA1"), Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if got := fake.AccessKeyStatus("bob", "AKIA1"); got != "Inactive" {
		t.Errorf("AKIA1 = %s, want Inactive", got)
	}
	creds, err := client.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String("bob"), ServiceName: aws.String("bedrock.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.ServiceSpecificCredentials) != 1 || aws.ToString(creds.ServiceSpecificCredentials[0].ServiceSpecificCredentialId) != "ACCA1" {
		t.Fatalf("creds = %+v", creds.ServiceSpecificCredentials)
	}
	if _, err := client.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String("bob"), ServiceSpecificCredentialId: aws.String("ACCA1"), Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if got := fake.ServiceSpecificCredentialStatus("bob", "ACCA1"); got != "Inactive" {
		t.Errorf("ACCA1 = %s, want Inactive", got)
	}
	if _, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("nobody")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("unknown user: err = %v, want NoSuchEntity", err)
	}
}

func TestIAMInjectedFaults(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddRole("app", 3600)
	srv.InjectFault(awsfake.Fault{Operation: "GetRole", Code: "AccessDenied", Status: 403, Message: "not authorized to perform: iam:GetRole"})
	_, err := iam.NewFromConfig(srv.Config()).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("err = %v, want AccessDenied", err)
	}
	if calls := srv.Calls(); len(calls) != 1 || !calls[0].Faulted {
		t.Errorf("calls = %+v, want one faulted call", calls)
	}
}

func TestSTSAssumeRole(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterSTS(srv)
	out, err := sts.NewFromConfig(srv.Config()).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::210987654321:role/quench-containment"), RoleSessionName: aws.String("quench-inc-1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Credentials.AccessKeyId) == "" || out.Credentials.Expiration == nil {
		t.Errorf("credentials = %+v", out.Credentials)
	}
	if got := fake.AssumedRoles(); len(got) != 1 || got[0] != "arn:aws:iam::210987654321:role/quench-containment" {
		t.Errorf("assumed = %v", got)
	}
}

func TestIAMListsPaginate(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddUser("bob")
	for _, id := range []string{"AKIA1", "AKIA2", "AKIA3"} {
		fake.AddAccessKey("bob", id, "Active")
	}
	fake.SetPageSize(2)
	p := iam.NewListAccessKeysPaginator(iam.NewFromConfig(srv.Config()), &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	var ids []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range out.AccessKeyMetadata {
			ids = append(ids, aws.ToString(k.AccessKeyId))
		}
	}
	if pages != 2 || strings.Join(ids, ",") != "AKIA1,AKIA2,AKIA3" {
		t.Errorf("pages=%d ids=%v, want 2 pages with every key once", pages, ids)
	}
}

func TestConfigRetriesThrottlingQuickly(t *testing.T) {
	srv := newServer(t)
	awsfake.RegisterIAM(srv).AddRole("app", 3600)
	srv.InjectFault(awsfake.Fault{Operation: "GetRole", Code: "Throttling", Status: 400, Times: 2})
	start := time.Now()
	if _, err := iam.NewFromConfig(srv.Config()).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Fatalf("two throttles then success: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("retrying two throttles took %s; test configs should back off in milliseconds", d)
	}
}

func TestIAMGetAccessKeyLastUsedNamesTheOwner(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterIAM(srv)
	fake.AddUser("alice")
	fake.AddUser("bob")
	fake.AddAccessKey("bob", "AKIABOBKEY0000000001", "Inactive")
	client := iam.NewFromConfig(srv.Config())

	out, err := client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIABOBKEY0000000001")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.UserName) != "bob" || out.AccessKeyLastUsed == nil || aws.ToString(out.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("GetAccessKeyLastUsed = user %q, last used %+v", aws.ToString(out.UserName), out.AccessKeyLastUsed)
	}
	_, err = client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIANOSUCHKEY0000001")})
	if apiCode(err) != "NoSuchEntity" {
		t.Errorf("unknown key: err = %v, want NoSuchEntity", err)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Errorf("GetAccessKeyLastUsed counted as mutating: %v", m)
	}
}
