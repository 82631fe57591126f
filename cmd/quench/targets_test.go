package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/workflows/contract"
)

const chatKey = "lambda:-:us-east-1:function/chat-backend#reserved-concurrency"

func heldTarget() contract.TargetState {
	since := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	return contract.TargetState{
		Key: chatKey,
		Holders: []contract.TargetHolder{
			{Incident: "usage-spike-3f2a", Steps: []string{"limit"}, Since: since, Relies: 0},
			{Incident: "leaked-key-9b1c", Steps: []string{"limit"}, Since: since.Add(time.Minute), Relies: 0},
		},
		Changes: []contract.TargetChange{{Incident: "usage-spike-3f2a", Step: "limit", At: since,
			Undo: contract.UndoRecord{Action: "lambda.restore_concurrency", Args: map[string]any{"function_name": "chat-backend", "prior": 50}}}},
	}
}

func TestTargetsShowsHoldersSinceAndWhatTheLastRollbackRestores(t *testing.T) {
	fake := &fakeIncidents{targets: []contract.TargetState{heldTarget()}}
	r := runFake(t, fake, "targets")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		chatKey + "  usage-spike-3f2a  2026-11-30T04:00:00Z  lambda.restore_concurrency function_name=chat-backend prior=50",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	if !strings.Contains(r.stdout, "leaked-key-9b1c") || !strings.Contains(r.stdout, "2026-11-30T04:01:00Z") {
		t.Errorf("stdout lacks the second holder and when it took the lease:\n%s", r.stdout)
	}

	r = runFake(t, fake, "targets", "-o", "json")
	var got []contract.TargetState
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("targets -o json: %v\n%s", err, r.stdout)
	}
	if len(got) != 1 || got[0].Key != chatKey || len(got[0].Holders) != 2 || got[0].Changes[0].Undo.Args["prior"] != float64(50) {
		t.Errorf("targets -o json = %+v", got)
	}

	r = runFake(t, &fakeIncidents{}, "targets", "-o", "json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("no targets held: stdout %q, want []", r.stdout)
	}
}

func TestStatusListsTheIncidentsLeasesAndTheirOtherHolders(t *testing.T) {
	fake := &fakeIncidents{status: contract.Status{Runbook: "usage-spike", State: contract.StateContained,
		Leases: []contract.HeldLease{{Step: "limit", Target: chatKey, Holders: heldTarget().Holders},
			{Step: "old", Target: "iam:-:-:access-key/AKIA#status", Released: true}}}}
	r := runFake(t, fake, "status", "usage-spike-3f2a")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if want := chatKey + "  step limit  also held by leaked-key-9b1c"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}
	if strings.Contains(r.stdout, "access-key/AKIA") {
		t.Errorf("status lists a released lease:\n%s", r.stdout)
	}
	if got := strings.Join(fake.calls, "; "); got != "connect; status usage-spike-3f2a ; holders usage-spike-3f2a" {
		t.Errorf("calls = %s", got)
	}
}
