package activities

import (
	"bytes"
	"io"

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

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
