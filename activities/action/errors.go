package action

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Application error types for failures that retrying cannot fix. The
// workflow and the CLI match on these strings; keep them in this one place.
const (
	ErrInvalidArgument = "InvalidArgument"
	ErrAccessDenied    = "AccessDenied"
	ErrNotFound        = "NotFound"
	ErrValidation      = "ValidationFailed"
	ErrConflict        = "Conflict"
	// ErrActionFailed is core.fail's deliberate failure.
	ErrActionFailed = "ActionFailed"
)

// NonRetryable wraps err as a non-retryable application error of type typ.
func NonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// InvalidArg is the error for an argument the spec allows but the action
// cannot use (a malformed ARN, two arguments that exclude each other).
func InvalidArg(action, format string, args ...any) error {
	return NonRetryable(ErrInvalidArgument, fmt.Errorf(action+": "+format, args...))
}

// activityError is what an activity returns for err: one ApplicationError
// whose message is the whole message (with the context callers wrapped
// around it) and whose type, retryability and retry delay are those of the
// ApplicationError inside err, if any. Temporal looks only at the
// outermost error: returned as is, an AccessDenied wrapped in
// fmt.Errorf("…: %w") would reach the workflow as a retryable "wrapError".
// With checkpoint set, the error's single detail is the
// contract.AttemptCheckpoint (see Checkpoint). Cancellation passes through
// unchanged.
func activityError(err error, checkpoint any) error {
	if err == nil || errors.Is(err, context.Canceled) || temporal.IsCanceledError(err) {
		return err
	}
	var details []any
	if checkpoint != nil {
		details = []any{checkpoint}
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		if details == nil {
			return err // Temporal makes it a retryable ApplicationError of the same type
		}
		return temporal.NewApplicationErrorWithOptions(err.Error(), errType(err), temporal.ApplicationErrorOptions{Details: details})
	}
	if app == err && details == nil {
		return err
	}
	msg := app.Message()
	if app != err {
		// Keep what callers wrapped around it, without the type and
		// retryability the inner error's Error() appends.
		msg = strings.Replace(err.Error(), app.Error(), app.Message(), 1)
	}
	return temporal.NewApplicationErrorWithOptions(msg, app.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   app.NonRetryable(),
		Cause:          errors.Unwrap(app),
		Details:        details,
		NextRetryDelay: app.NextRetryDelay(),
		Category:       app.Category(),
	})
}

// errType names err's type as Temporal does for an error that is not an
// ApplicationError.
func errType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "errorString" {
		return ""
	}
	return t.Name()
}
