package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/activities/core"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// The registry is the whole catalogue, put together in one place: every
// action a boundary declares is there, with nothing registered by hand.
func TestBuildRegistryHoldsEveryDeclaredAction(t *testing.T) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	p := awsactions.NewProvider(fake.Config())
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Logger: quiet, AWS: p})
	if err != nil {
		t.Fatal(err)
	}
	declared := append(awsactions.Actions(p), (&core.Core{}).Actions()...)
	for _, a := range declared {
		if _, ok := reg.Activity(a.Spec.Name); !ok {
			t.Errorf("%s is declared but not in the worker's registry", a.Spec.Name)
		}
	}
	if _, ok := reg.Action("slack.notify"); !ok {
		t.Error("slack.notify is not in the worker's registry")
	}
	if got, want := len(reg.Specs()), len(declared)+1; got != want {
		t.Errorf("registry holds %d actions, want %d", got, want)
	}
}

func TestForceDryRunAWSNeverMutates(t *testing.T) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	lambdaFake := awsfake.RegisterLambda(fake)
	lambdaFake.AddFunction("chat")
	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{
		Logger: quiet, AWS: awsactions.NewProvider(fake.Config()), ForceDryRunAWS: "no AWS credentials",
	})
	if err != nil {
		t.Fatal(err)
	}
	run, _ := reg.Activity(awsactions.ActionLimitConcurrency)
	res, err := run(context.Background(), contract.ActionInput{Incident: contract.IncidentRef{ID: "inc-1"}, Args: map[string]any{"function_name": "chat", "reserved": 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || !strings.HasPrefix(res.Summary, "[dry run: no AWS credentials] would set") || len(fake.MutatingCalls()) != 0 {
		t.Errorf("result %+v, mutating calls %v", res, fake.MutatingCalls())
	}
}

// noCredentials is a credential chain that finds nothing, as on a laptop
// without AWS configuration, and counts how often it was asked.
type noCredentials struct{ asked atomic.Int32 }

func (n *noCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	n.asked.Add(1)
	return aws.Credentials{}, errors.New("no EC2 IMDS role found, no credentials in the environment or profile")
}

// withoutCredentials is the fake's configuration with its credentials
// taken away; endpoint keeps or drops the fake's endpoint.
func withoutCredentials(fake *awsfake.Server, endpoint bool) (*awsactions.Provider, *noCredentials) {
	cfg := fake.Config()
	creds := &noCredentials{}
	cfg.Credentials = creds
	if !endpoint {
		cfg.BaseEndpoint = nil
	}
	return awsactions.NewProvider(cfg), creds
}

// Without credentials and without an endpoint to read from, no AWS action
// calls AWS, and none fails: read-only ones are skipped, mutating ones
// report the plan their arguments describe. Checked for every AWS action
// in the catalogue, with a provider that would reach the fake if asked.
func TestNoAWSCallsWithoutCredentials(t *testing.T) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	awsfake.RegisterIAM(fake)
	awsfake.RegisterSTS(fake)
	p, creds := withoutCredentials(fake, true)
	opts := worker.ActionOptions{Logger: quiet, AWS: p, ForceDryRunAWS: "no AWS credentials", NoAWSCalls: true}
	reg, err := worker.BuildRegistry(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	declared := awsactions.Actions(p)
	if len(declared) == 0 {
		t.Fatal("no AWS actions declared")
	}
	for _, decl := range declared {
		a, _ := reg.Lookup(decl.Spec.Name)
		res, err := a.Run(context.Background(), contract.ActionInput{Incident: contract.IncidentRef{ID: "inc-1"}, Step: "s",
			Args: map[string]any{"user_name": "Alice", "include_bedrock_credentials": true}})
		want := "skipped: no AWS credentials ("
		if decl.Spec.Mutating {
			want = "[dry run: no AWS credentials] would run " + decl.Spec.Name + " {include_bedrock_credentials=true, user_name=Alice}; the current state was not read"
		}
		if err != nil || !res.DryRun || res.Changed || res.Undo != nil || !strings.HasPrefix(res.Summary, want) {
			t.Errorf("%s: result %+v, err %v; want a dry run whose summary starts %q", decl.Spec.Name, res, err, want)
		}
	}
	if calls := fake.Calls(); len(calls) != 0 || creds.asked.Load() != 0 {
		t.Errorf("AWS was asked: %d calls reached the endpoint, credentials asked %d times", len(calls), creds.asked.Load())
	}
}

// WithoutAWSCredentials picks the mode: with an endpoint (an emulator)
// reads go there and mutating actions run their real dry run against it
// (the user-keys one included, which asks STS who the worker is); with
// none, nothing calls AWS.
func TestWithoutAWSCredentialsReadsFromAConfiguredEndpoint(t *testing.T) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	iam := awsfake.RegisterIAM(fake)
	awsfake.RegisterSTS(fake)
	iam.AddUser("Alice")
	iam.AddAccessKey("Alice", "AKIAIOSFODNN7EXAMPLE", "Active")

	p, creds := withoutCredentials(fake, true)
	if p.HasCredentials(context.Background()) {
		t.Fatal("the provider without credentials says it has some")
	}
	probed := creds.asked.Load()
	opts := worker.ActionOptions{Logger: quiet, AWS: p}
	line := opts.WithoutAWSCredentials()
	if opts.NoAWSCalls || opts.ForceDryRunAWS != "no AWS credentials" || !strings.Contains(line, "reads go to "+fake.URL) {
		t.Fatalf("mode %q, options %+v", line, opts)
	}
	reg, err := worker.BuildRegistry(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := reg.Activity(awsactions.ActionDeactivateAccessKeys)
	res, err := run(context.Background(), contract.ActionInput{Incident: contract.IncidentRef{ID: "inc-1"}, Step: "keys", Args: map[string]any{"user_name": "Alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || !res.Changed || !strings.HasPrefix(res.Summary, "[dry run: no AWS credentials] ") || !strings.Contains(res.Summary, "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("dry run against the endpoint: %+v", res)
	}
	if len(fake.Calls()) == 0 || len(fake.MutatingCalls()) != 0 || creds.asked.Load() != probed {
		t.Errorf("calls %v (mutating %v); the missing credentials were asked %d times after the probe", fake.Calls(), fake.MutatingCalls(), creds.asked.Load()-probed)
	}
	if s := iam.AccessKeyStatus("Alice", "AKIAIOSFODNN7EXAMPLE"); s != "Active" {
		t.Errorf("key is %s after a dry run", s)
	}

	none, _ := withoutCredentials(fake, false)
	opts = worker.ActionOptions{Logger: quiet, AWS: none}
	if line := opts.WithoutAWSCredentials(); !opts.NoAWSCalls || !strings.Contains(line, "reads skipped") {
		t.Errorf("without an endpoint: mode %q, options %+v", line, opts)
	}
}
