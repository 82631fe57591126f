package action_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

type limitArgs struct {
	FunctionName string `json:"function_name"`
	Reserved     int32  `json:"reserved"`
	Note         string `json:"note"`
}

var limitSpec = runbooks.ActionSpec{Name: "test.limit", Mutating: true, Args: []runbooks.ArgSpec{
	{Name: "function_name", Type: "string", Required: true},
	{Name: "reserved", Type: "int", Required: true, Min: runbooks.AtLeast(0)},
	{Name: "note", Type: "string", Enum: []string{"a", "b"}},
}}

func TestRegistryChecksArgumentsAgainstTheSpecBeforeTheActionRuns(t *testing.T) {
	var ran []limitArgs
	reg := action.NewRegistry()
	reg.Register(action.New(limitSpec, func(_ context.Context, _ contract.ActionInput, args limitArgs) (contract.ActionResult, error) {
		ran = append(ran, args)
		return contract.ActionResult{Summary: "ok"}, nil
	}))
	run, ok := reg.Activity("test.limit")
	if !ok {
		t.Fatal("no activity for test.limit")
	}
	for _, tc := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"missing", map[string]any{"reserved": 1}, `missing argument "function_name"`},
		{"blank", map[string]any{"function_name": " ", "reserved": 1}, `argument "function_name" is required and must not be blank`},
		{"wrong type", map[string]any{"function_name": "f", "reserved": "one"}, `argument "reserved" must be an integer`},
		{"below minimum", map[string]any{"function_name": "f", "reserved": -1}, `argument "reserved" must be 0 or more`},
		{"not in enum", map[string]any{"function_name": "f", "reserved": 1, "note": "c"}, `argument "note" must be one of a, b`},
		{"unknown", map[string]any{"function_name": "f", "reserved": 1, "reserve": 2}, `unknown argument "reserve"`},
		{"out of the Go type's range", map[string]any{"function_name": "f", "reserved": float64(1 << 40)}, `arguments of action test.limit: decode arguments`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(context.Background(), contract.ActionInput{Args: tc.args})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != action.ErrInvalidArgument || !app.NonRetryable() || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a non-retryable InvalidArgument containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "test.limit") {
				t.Errorf("error %q does not name the action", err)
			}
		})
	}
	if len(ran) != 0 {
		t.Fatalf("the action ran with bad arguments: %+v", ran)
	}

	// JSON numbers from workflow history are float64; the body gets its Go types.
	if _, err := run(context.Background(), contract.ActionInput{Args: map[string]any{"function_name": "chat", "reserved": float64(0)}}); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || ran[0] != (limitArgs{FunctionName: "chat", Reserved: 0}) {
		t.Errorf("body got %+v", ran)
	}
}

func TestRegistryChecksArgumentsOfActionsNotDeclaredWithNew(t *testing.T) {
	reg := action.NewRegistry()
	called := false
	reg.Register(action.Action{Spec: runbooks.ActionSpec{Name: "test.raw", Args: []runbooks.ArgSpec{{Name: "message", Type: "string", Required: true}}},
		Run: func(context.Context, contract.ActionInput) (contract.ActionResult, error) {
			called = true
			return contract.ActionResult{}, nil
		}})
	run, _ := reg.Activity("test.raw")
	if _, err := run(context.Background(), contract.ActionInput{Args: map[string]any{}}); err == nil || called {
		t.Fatalf("err = %v, called = %v; want the registry to refuse a missing message", err, called)
	}
}

func TestRegistryRegistersEveryActionAsAnActivityNamedAfterIt(t *testing.T) {
	reg := action.NewRegistry()
	reg.Register(action.New(limitSpec, func(context.Context, contract.ActionInput, limitArgs) (contract.ActionResult, error) {
		return contract.ActionResult{}, nil
	}))
	var names []string
	reg.RegisterActivities(registrarFunc(func(a any, name string) {
		if _, ok := a.(action.Func); !ok {
			t.Errorf("%s registered as %T, want the checked action.Func", name, a)
		}
		names = append(names, name)
	}))
	if fmt.Sprint(names) != "[test.limit]" {
		t.Errorf("registered %v", names)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	reg.Register(action.Action{Spec: limitSpec})
}

// The observer sees every attempt with the error the workflow gets: the
// worker's step metrics count failures by its type.
func TestRegistryObserverSeesEveryAttemptAndItsError(t *testing.T) {
	reg := action.NewRegistry()
	reg.Register(action.New(limitSpec, func(_ context.Context, _ contract.ActionInput, args limitArgs) (contract.ActionResult, error) {
		if args.FunctionName == "denied" {
			return contract.ActionResult{}, fmt.Errorf("limit %s: %w", args.FunctionName, action.NonRetryable(action.ErrAccessDenied, errors.New("access denied")))
		}
		return contract.ActionResult{Summary: "ok"}, nil
	}))
	type seen struct {
		action string
		typ    string
	}
	var got []seen
	reg.SetObserver(func(name string, _ bool, took time.Duration, err error) {
		if took <= 0 {
			t.Errorf("attempt of %s took %s", name, took)
		}
		s := seen{action: name}
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			s.typ = app.Type()
		}
		got = append(got, s)
	})
	run, _ := reg.Activity("test.limit")
	for _, fn := range []string{"ok", "denied"} {
		_, _ = run(context.Background(), contract.ActionInput{Args: map[string]any{"function_name": fn, "reserved": 1}})
	}
	_, _ = run(context.Background(), contract.ActionInput{Args: map[string]any{"reserved": 1}})
	want := []seen{{"test.limit", ""}, {"test.limit", action.ErrAccessDenied}, {"test.limit", action.ErrInvalidArgument}}
	if !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}
