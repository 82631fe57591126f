package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// awsWorld is the AWS account a test contains: real SDK clients talk to
// the in-repo AWS endpoint over the services' wire protocols.
type awsWorld struct {
	srv    *awsfake.Server
	iam    *awsfake.IAM
	lambda *awsfake.Lambda
	apigw  *awsfake.APIGateway
	cw     *awsfake.CloudWatch
}

func newAWSWorld(t *testing.T) *awsWorld {
	t.Helper()
	srv := awsfake.New()
	t.Cleanup(srv.Close)
	w := &awsWorld{srv: srv, iam: awsfake.RegisterIAM(srv), lambda: awsfake.RegisterLambda(srv), apigw: awsfake.RegisterAPIGateway(srv), cw: awsfake.RegisterCloudWatch(srv)}
	awsfake.RegisterSSM(srv)
	awsfake.RegisterSTS(srv)
	return w
}

func (w *awsWorld) provider() *activities.AWSProvider {
	cfg := w.srv.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = retry.NewExponentialJitterBackoff(5 * time.Millisecond) })
	}
	return activities.NewAWSProvider(cfg)
}

// TestUsageSpikeRunbookContainsAndRollsBackAWS runs the built-in usage-spike
// runbook on a real embedded Temporal server against the AWS endpoint, and
// checks that resolve --rollback leaves every resource as it found it.
func TestUsageSpikeRunbookContainsAndRollsBackAWS(t *testing.T) {
	world := newAWSWorld(t)
	world.apigw.AddUsagePlan("plan1", "public", &awsfake.Throttle{RateLimit: 100, BurstLimit: 200})
	world.lambda.AddFunction("chat-handler")
	world.lambda.SetReservedConcurrency("chat-handler", 50)
	world.iam.AddRole("app-role", 3600)
	world.iam.SetRolePolicy("app-role", "existing-inline", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	world.iam.AddUser("app-user")
	world.iam.AddAccessKey("app-user", "AKIAACTIVE0000000001", "Active")
	world.iam.AddAccessKey("app-user", "AKIAINACTIVE00000002", "Inactive")
	now := time.Now()
	world.cw.AddDatapoints("AWS/Bedrock", "Invocations", map[string]string{"ModelId": "anthropic.claude-3-haiku"},
		awsfake.MetricPoint{At: now.Add(-10 * time.Minute), Value: 900}, awsfake.MetricPoint{At: now.Add(-5 * time.Minute), Value: 1100})

	srv := startServer(t, t.TempDir(), 0)
	defer srv.Stop()
	c := dial(t, srv.FrontendAddress())
	defer c.Close()
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Logger: quiet, AWS: world.provider()})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, worker.Config{TaskQueue: contract.DefaultTaskQueue}, reg, activities.NewNotifier(nil, "", quiet))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	lib, err := runbooks.NewLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := lib.Get("usage-spike")
	if !ok {
		t.Fatalf("built-in usage-spike not loaded: %v", lib.Problems())
	}
	rbCopy := *rb
	approvals := *rb.Approvals
	approvals.Approvers.CLIUsers = []string{"alice"} // the operator's approver list
	rbCopy.Approvals = &approvals
	params, err := runbooks.ResolveParams(&rbCopy, map[string]string{
		"model_id": "anthropic.claude-3-haiku", "usage_plan_id": "plan1", "function_name": "chat-handler",
		"role_name": "app-role", "user_name": "app-user",
	})
	if err != nil {
		t.Fatal(err)
	}
	inc := incidents.New(c, contract.DefaultTaskQueue)
	ctx := context.Background()
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "spike-1", Runbook: rbCopy, Params: params, Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, inc, "spike-1", "awaiting approval", func(st contract.Status) bool { return st.State == contract.StateAwaitingApproval })
	if th := world.apigw.UsagePlanThrottle("plan1"); th == nil || th.RateLimit != 1 || th.BurstLimit != 2 {
		t.Errorf("usage plan throttle while contained = %+v, want 1/2", th)
	}
	if n, _ := world.lambda.ReservedConcurrency("chat-handler"); n != 1 {
		t.Errorf("reserved concurrency while contained = %d, want 1", n)
	}
	if !strings.Contains(st.PendingApproval.Message, "2000 invocations") {
		t.Errorf("approval message does not carry the captured metrics: %q", st.PendingApproval.Message)
	}
	if _, err := inc.Decide(ctx, "spike-1", contract.UpdateApprove, contract.Decision{Actor: "alice", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "spike-1", "contained", func(st contract.Status) bool { return st.State == contract.StateContained })
	if len(world.iam.RolePolicies("app-role")) != 2 {
		t.Errorf("role policies while contained = %v, want the existing one plus the deny", world.iam.RolePolicies("app-role"))
	}
	if s := world.iam.AccessKeyStatus("app-user", "AKIAACTIVE0000000001"); s != "Inactive" {
		t.Errorf("active key while contained = %s", s)
	}

	if err := inc.Resolve(ctx, "spike-1", contract.ResolveRequest{Actor: "alice", Mode: "rollback"}); err != nil {
		t.Fatal(err)
	}
	st, err = inc.Status(ctx, "spike-1")
	if err != nil || st.State != contract.StateRolledBack {
		t.Fatalf("after rollback: %s %v (%s)", st.State, err, st.Error)
	}
	if th := world.apigw.UsagePlanThrottle("plan1"); th == nil || th.RateLimit != 100 || th.BurstLimit != 200 {
		t.Errorf("usage plan throttle after rollback = %+v, want 100/200", th)
	}
	if n, ok := world.lambda.ReservedConcurrency("chat-handler"); !ok || n != 50 {
		t.Errorf("reserved concurrency after rollback = %d (%v), want 50", n, ok)
	}
	pols := world.iam.RolePolicies("app-role")
	if len(pols) != 1 || !strings.Contains(pols["existing-inline"], "s3:GetObject") {
		t.Errorf("role policies after rollback = %v, want only existing-inline", pols)
	}
	if s := world.iam.AccessKeyStatus("app-user", "AKIAACTIVE0000000001"); s != "Active" {
		t.Errorf("active key after rollback = %s", s)
	}
	if s := world.iam.AccessKeyStatus("app-user", "AKIAINACTIVE00000002"); s != "Inactive" {
		t.Errorf("a key that was inactive before is %s after rollback", s)
	}
}
