package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// dieBeforeLambda is the HTTP client of a worker killed as it makes its
// first Lambda call: the lease is taken, AWS is not touched.
type dieBeforeLambda struct {
	die func()
}

func (d dieBeforeLambda) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/concurrency") {
		d.die()
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return awshttp.NewBuildableClient().Do(r)
}

// A worker is killed while incident A limits a function it leases: once
// after the lease is taken and before any AWS call, once after the write
// landed and before the lease recorded it. Incident B contains the same
// function meanwhile. A resumes on another worker; the lease records one
// change, A's, whose undo is the original 50 (B waited for A's change in
// flight instead of recording its own prior); resolving A leaves B's
// containment in place, resolving B restores 50, and no lease is left.
func TestWorkerKilledAroundALeasedChangeLeaksNoLeaseAndKeepsOnePriorState(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the action heartbeat timeout")
	}
	ts := startTemporal(t)
	for n, tc := range []struct {
		name string
		kill func(next aws.HTTPClient, die func()) aws.HTTPClient
		// puts is how many PutFunctionConcurrency calls land in all.
		puts int
	}{
		{"between the acquire and the AWS call", func(_ aws.HTTPClient, die func()) aws.HTTPClient { return dieBeforeLambda{die: die} }, 2},
		{"between the AWS call and recording the lease", func(next aws.HTTPClient, die func()) aws.HTTPClient { return dieAfterPut{next: next, die: die} }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fn := fmt.Sprintf("chat-%d", n)
			fake := awsfake.New()
			t.Cleanup(fake.Close)
			lambdaFake := awsfake.RegisterLambda(fake)
			awsfake.RegisterSTS(fake)
			lambdaFake.AddFunction(fn)
			lambdaFake.SetReservedConcurrency(fn, 50)

			p := newProxy(t, ts.GetFrontendHostPort())
			killed := make(chan struct{}, 1)
			cfg1 := fake.Config()
			cfg1.HTTPClient = tc.kill(awshttp.NewBuildableClient(), func() { p.cut(); killed <- struct{}{} })
			c1, err := client.Dial(client.Options{HostPort: p.addr(), Namespace: ts.GetDefaultNamespace(), Logger: sdklog.NewStructuredLogger(quiet)})
			if err != nil {
				t.Fatal(err)
			}
			defer c1.Close()
			w1 := startWorker(t, c1, awsactions.NewProvider(cfg1))
			defer w1.Stop()

			reg, err := worker.BuildRegistry(ctx, worker.ActionOptions{Logger: quiet, AWS: awsactions.NewProvider(fake.Config())})
			if err != nil {
				t.Fatal(err)
			}
			rb, err := runbooks.Load("limit.yaml", []byte(strings.ReplaceAll(limitRunbook, "function_name: chat", "function_name: "+fn)), reg)
			if err != nil {
				t.Fatal(err)
			}
			inc := incidents.New(ts.GetDefaultClient(), contract.DefaultTaskQueue).WithNamespace(ts.GetDefaultNamespace())
			a, b := fmt.Sprintf("lease-crash-a-%d", n), fmt.Sprintf("lease-crash-b-%d", n)
			key := "lambda:-:-:function/" + fn + "#reserved-concurrency"
			if _, err := inc.Start(ctx, contract.IncidentInput{ID: a, Runbook: *rb, Source: "cli", Requester: "carol"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-killed:
			case <-time.After(30 * time.Second):
				t.Fatal("the first worker never reached Lambda")
			}
			// The dead attempt holds the lease with its change in flight
			// (a query needs a live worker: the retry waits out the
			// heartbeat timeout, so it cannot have run yet).
			w2 := startWorker(t, ts.GetDefaultClient(), awsactions.NewProvider(fake.Config()))
			defer w2.Stop()
			tg, err := inc.Target(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(tg.Holders) != 1 || tg.Holders[0].Incident != a || tg.InFlight == nil || tg.InFlight.Incident != a || len(tg.Changes) != 0 {
				t.Fatalf("lease when the worker died = %+v; want %s holding with its change in flight, nothing recorded", tg, a)
			}

			if _, err := inc.Start(ctx, contract.IncidentInput{ID: b, Runbook: *rb, Source: "cli", Requester: "dave"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{a, b} {
				waitFor(t, inc, id, 90*time.Second, func(st contract.Status) bool { return st.State == contract.StateContained })
			}
			if got, _ := lambdaFake.ReservedConcurrency(fn); got != 1 {
				t.Fatalf("reserved = %d with both contained, want 1", got)
			}
			tg, err = inc.Target(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(tg.Holders) != 2 || tg.InFlight != nil || len(tg.Changes) != 1 || tg.Changes[0].Incident != a ||
				fmt.Sprint(tg.Changes[0].Undo.Args["prior"]) != "50" {
				t.Fatalf("lease with both contained = %+v; want A and B holding, one change (A's, undo to 50)", tg)
			}

			if err := inc.Resolve(ctx, a, contract.ResolveRequest{Actor: "carol", Mode: "rollback"}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, inc, a, 30*time.Second, func(st contract.Status) bool { return st.State == contract.StateRolledBack })
			if got, _ := lambdaFake.ReservedConcurrency(fn); got != 1 {
				t.Errorf("reserved = %d after A resolved while B holds, want B's containment (1)", got)
			}
			if err := inc.Resolve(ctx, b, contract.ResolveRequest{Actor: "dave", Mode: "rollback"}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, inc, b, 30*time.Second, func(st contract.Status) bool { return st.State == contract.StateRolledBack })
			if got, ok := lambdaFake.ReservedConcurrency(fn); !ok || got != 50 {
				t.Errorf("reserved = %d, %v after both resolved, want the original 50", got, ok)
			}
			if tg, err = inc.Target(ctx, key); err != nil || len(tg.Holders) != 0 || tg.InFlight != nil {
				t.Errorf("lease after both resolved = %+v, %v; want no holder, nothing in flight", tg, err)
			}
			puts := 0
			for _, c := range fake.Calls() {
				if c.Operation == "PutFunctionConcurrency" {
					puts++
				}
			}
			if puts != tc.puts {
				t.Errorf("PutFunctionConcurrency calls = %d, want %d (A's change once, the last rollback's restore)", puts, tc.puts)
			}
		})
	}
}
