package worker_test

import (
	"context"
	"strings"
	"testing"

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
