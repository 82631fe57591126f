package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/quenchhq/quench/activities"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// missingCredentials is the credential chain of a laptop without AWS
// configuration: it finds nothing, and counts how often it was asked.
type missingCredentials struct{ asked atomic.Int32 }

func (m *missingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	m.asked.Add(1)
	return aws.Credentials{}, errors.New("no credentials in the environment, profile or instance metadata")
}

// TestGenAIRunbooksWithoutAWSCredentials is `quench dev` on a machine with
// no AWS configuration: the worker forces every AWS action to a dry run
// and cannot read AWS. Each built-in GenAI runbook, started with every
// optional path switched on, runs to contained on the embedded Temporal
// server (approvals granted from the CLI's identity), its evidence steps
// say they were skipped, its changes are plans, status and `quench status`
// show a dry run, and not one call reaches AWS, although the provider's
// endpoint would answer.
func TestGenAIRunbooksWithoutAWSCredentials(t *testing.T) {
	quenchBinary(t)
	srv := startServer(t, t.TempDir(), 0)
	t.Cleanup(func() { _ = srv.Stop() })
	c := dial(t, srv.FrontendAddress())
	t.Cleanup(c.Close)

	fake := awsfake.New()
	t.Cleanup(fake.Close)
	awsfake.RegisterIAM(fake)
	awsfake.RegisterSTS(fake)
	awsfake.RegisterLambda(fake)
	awsfake.RegisterAPIGateway(fake)
	awsfake.RegisterCloudWatch(fake)
	awsfake.RegisterSSM(fake)
	awsfake.RegisterBedrock(fake)
	awsfake.RegisterBedrockAgent(fake)
	cfg := fake.Config()
	creds := &missingCredentials{}
	cfg.Credentials = creds

	reg, err := worker.BuildRegistry(context.Background(), worker.ActionOptions{Logger: quiet, AWS: activities.NewAWSProvider(cfg),
		ForceDryRunAWS: "no AWS credentials", NoAWSCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	taskQueue := "nocreds-e2e-" + strconv.FormatInt(queueSeq.Add(1), 10)
	wk := worker.New(c, worker.Config{TaskQueue: taskQueue}, reg, activities.NewNotifier(nil, "", quiet))
	if err := wk.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(wk.Stop)
	inc := incidents.New(c, taskQueue)
	lib, err := runbooks.NewLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	cli := &genaiWorld{temporal: srv.FrontendAddress()}

	cases := []struct {
		name, runbook string
		params        map[string]string
		approvals     int
	}{
		{"usage-spike-iam-user", "usage-spike", map[string]string{"model_id": haiku, "principal_type": "iam-user", "user_name": "Alice",
			"usage_plan_id": "abc123", "function_name": "chat-backend"}, 1},
		{"usage-spike-assumed-role", "usage-spike", map[string]string{"model_id": haiku, "principal_type": "assumed-role", "role_name": appRole,
			"usage_plan_id": "abc123"}, 2},
		{"compromised-data-source", "compromised-data-source", map[string]string{"knowledge_base_id": kbID, "data_source_id": dsID,
			"agent_id": agentID, "alias_id": aliasID, "app_role_name": appRole}, 2},
		{"unsafe-output", "unsafe-output", map[string]string{"model_id": haiku, "guardrail_id": guardrail,
			"guardrail_version_parameter": guardrailParam, "agent_id": agentID, "alias_id": aliasID}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rb, ok := lib.Get(tc.runbook)
			if !ok {
				t.Fatalf("built-in runbook %s not loaded", tc.runbook)
			}
			params, err := runbooks.ResolveParams(rb, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			id := "nocreds-" + tc.name
			if _, err := inc.Start(ctx, contract.IncidentInput{ID: id, Runbook: *rb, Params: params, Source: "cli", Requester: "dev-laptop"}); err != nil {
				t.Fatal(err)
			}
			approved := 0
			st := waitFor(t, inc, id, "contained", func(st contract.Status) bool {
				if st.State == contract.StateAwaitingApproval && st.PendingApproval != nil {
					if _, err := inc.Decide(ctx, id, "approve", contract.Decision{Actor: "oncall-lead", Via: "cli"}); err == nil {
						approved++
					}
				}
				return st.State == contract.StateContained || st.State == contract.StateFailed
			})
			if st.State != contract.StateContained || approved != tc.approvals {
				t.Fatalf("incident %s after %d approvals (want %d): %s", st.State, approved, tc.approvals, st.Error)
			}
			if !st.DryRun {
				t.Error("status does not show the incident as a dry run")
			}
			ran := 0
			for _, step := range st.Steps {
				spec, isAction := reg.Action(step.Action)
				if !isAction || step.State == contract.StepSkipped {
					continue
				}
				if !strings.HasPrefix(step.Action, "core.") && !strings.HasPrefix(step.Action, "slack.") {
					ran++
				}
				want := "skipped: no AWS credentials"
				if spec.Mutating {
					want = "[dry run: no AWS credentials] would run " + step.Action
				}
				if step.State != contract.StepSucceeded || !strings.HasPrefix(step.Summary, want) {
					t.Errorf("step %s (%s) is %s: %q, want succeeded with %q", step.ID, step.Action, step.State, step.Summary, want)
				}
			}
			if ran == 0 {
				t.Error("no AWS step ran")
			}

			var status struct {
				State  string `json:"state"`
				DryRun bool   `json:"dry_run"`
			}
			if err := json.Unmarshal([]byte(cli.cli(t, "status", id, "-o", "json")), &status); err != nil || status.State != contract.StateContained || !status.DryRun {
				t.Errorf("quench status -o json: %+v, %v; want contained and dry_run", status, err)
			}
			if text := cli.cli(t, "status", id); !strings.Contains(text, "dry run") {
				t.Errorf("quench status does not say dry run:\n%s", text)
			}
			cli.cli(t, "resolve", id, "--rollback")
			waitFor(t, inc, id, "rolled back", func(st contract.Status) bool { return st.State == contract.StateRolledBack })
		})
	}
	t.Cleanup(func() {
		// Runs after the parallel subtests: nothing of any incident reached AWS.
		if calls := fake.Calls(); len(calls) != 0 || creds.asked.Load() != 0 {
			t.Errorf("%d calls reached the AWS endpoint (%v); the missing credentials were asked %d times", len(calls), calls, creds.asked.Load())
		}
	})
}
