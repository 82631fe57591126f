package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/activities/core"
	"github.com/quenchhq/quench/workflows/contract"
)

func newCore(t *testing.T) (*core.RecordStore, func(name string, in contract.ActionInput) (contract.ActionResult, error)) {
	t.Helper()
	records, err := core.NewRecordStore("")
	if err != nil {
		t.Fatal(err)
	}
	reg := action.NewRegistry()
	reg.Register((&core.Core{Records: records}).Actions()...)
	return records, func(name string, in contract.ActionInput) (contract.ActionResult, error) {
		run, ok := reg.Activity(name)
		if !ok {
			t.Fatalf("no action %s", name)
		}
		in.Incident.ID = "inc-1"
		return run(context.Background(), in)
	}
}

func TestRecordUndoesToWhatTheKeyHeld(t *testing.T) {
	records, run := newCore(t)
	_ = records.Put("inc-1/limit", 50)
	res, err := run(core.ActionRecord, contract.ActionInput{Args: map[string]any{"key": "limit", "value": 1}})
	if err != nil || !res.Changed || res.Undo == nil {
		t.Fatalf("record: %+v %v", res, err)
	}
	if v, _ := records.Get("inc-1/limit"); v != float64(1) {
		t.Fatalf("recorded %v", v)
	}
	if _, err := run(res.Undo.Action, contract.ActionInput{Args: roundTrip(t, res.Undo.Args)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := records.Get("inc-1/limit"); v != float64(50) {
		t.Errorf("after undo %v, want 50", v)
	}
}

// An attempt that recorded and then lost its worker is retried with its
// checkpoint: the retry writes nothing and its undo restores what the key
// held before the first attempt, not the first attempt's value.
func TestRecordRetriedAfterACrashUndoesToTheOriginalValue(t *testing.T) {
	records, run := newCore(t)
	_ = records.Put("inc-1/limit", 50)
	cp := json.RawMessage(`{"existed":true,"value":50}`) // what attempt 1 checkpointed
	_ = records.Put("inc-1/limit", 1)                    // what attempt 1 wrote before it died
	writes := records.Writes("inc-1/limit")

	res, err := run(core.ActionRecord, contract.ActionInput{Args: map[string]any{"key": "limit", "value": 1}, Checkpoint: cp})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Undo == nil || res.Undo.Args["prior"] != float64(50) {
		t.Fatalf("retry = %+v, want a change whose undo restores 50", res)
	}
	if records.Writes("inc-1/limit") != writes {
		t.Error("the retry wrote the value again")
	}
}

func TestCoreArgumentsAreCheckedBeforeTheActionRuns(t *testing.T) {
	_, run := newCore(t)
	for name, args := range map[string]map[string]any{
		core.ActionLog:    {"message": ""},
		core.ActionSleep:  {"duration": "soon"},
		core.ActionRecord: {"key": "k"},
		core.ActionFail:   {"msg": "x"},
	} {
		_, err := run(name, contract.ActionInput{Args: args})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != action.ErrInvalidArgument || !app.NonRetryable() {
			t.Errorf("%s %v: err = %v, want a non-retryable InvalidArgument", name, args, err)
		}
	}
}

func TestSleepAndFail(t *testing.T) {
	_, run := newCore(t)
	start := time.Now()
	if res, err := run(core.ActionSleep, contract.ActionInput{Args: map[string]any{"duration": "20ms"}}); err != nil || res.Summary != "slept 20ms" || time.Since(start) < 20*time.Millisecond {
		t.Errorf("sleep: %+v %v", res, err)
	}
	_, err := run(core.ActionFail, contract.ActionInput{Args: map[string]any{"message": "boom"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != action.ErrActionFailed || !app.NonRetryable() || app.Message() != "boom" {
		t.Errorf("fail: %v", err)
	}
}

// roundTrip passes undo arguments through JSON, as workflow history does.
func roundTrip(t *testing.T, args map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
