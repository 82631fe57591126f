package main

import (
	"errors"
	"strings"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
)

// Exit codes (CONVENTIONS.md): scripts branch on these.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
	exitRejected = 4
)

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(msg string) error { return &usageError{msg: msg} }

// notFoundError is a runbook or incident that does not exist.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// rejectedError is a request quench refused: validation failed, approval refused.
type rejectedError struct{ msg string }

func (e *rejectedError) Error() string { return e.msg }

// exitCode maps an error to the process exit code, in this one place.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		usage    *usageError
		nf       *notFoundError
		incNF    *incidents.NotFoundError
		rej      *rejectedError
		incRej   *incidents.RejectedError
		exists   *incidents.AlreadyExistsError
		rbErrors runbooks.Errors
	)
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &nf), errors.As(err, &incNF):
		return exitNotFound
	case errors.As(err, &rej), errors.As(err, &incRej), errors.As(err, &exists), errors.As(err, &rbErrors):
		return exitRejected
	}
	// cobra's own flag and argument errors are usage errors.
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "accepts ", "requires at least", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return exitUsage
		}
	}
	return exitError
}
