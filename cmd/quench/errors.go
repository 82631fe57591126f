package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/runbooks"
)

// Exit codes are part of the CLI's contract: scripts branch on them, the
// README lists them, and exitCode below is the only place that decides
// them. The rule: a typed error picks its code; anything untyped is 1.
//
//	0  success
//	1  anything else: Temporal unreachable, an internal failure
//	2  usage: unknown command or flag, wrong arguments, an invalid incident
//	   or run id (checked before anything is sent to Temporal)
//	3  not found: no runbook, or no incident ever had that id (a closed
//	   incident is never "not found")
//	4  rejected: quench or the incident refused the request and changed
//	   nothing: validation failed, approval refused, the incident is already
//	   open, already being resolved or cancelled, or closed
//	5  the incident ended failed or cancelled: `run --wait` saw it end so,
//	   or `resolve` finished with a failed rollback
const (
	exitOK             = 0
	exitError          = 1
	exitUsage          = 2
	exitNotFound       = 3
	exitRejected       = 4
	exitIncidentFailed = 5
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

// incidentEndedError says an incident the command followed ended failed
// or cancelled; the status has already been printed.
type incidentEndedError struct{ id, state, reason string }

func (e *incidentEndedError) Error() string {
	msg := fmt.Sprintf("incident %s ended %s", e.id, e.state)
	if e.reason != "" {
		msg += ": " + e.reason
	}
	return msg
}

// exitCode maps an error to the process exit code, in this one place.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		usage    *usageError
		badID    *incidents.InvalidIDError
		nf       *notFoundError
		incNF    *incidents.NotFoundError
		rej      *rejectedError
		incRej   *incidents.RejectedError
		open     *incidents.AlreadyOpenError
		closed   *incidents.ClosedError
		rbErrors runbooks.Errors
		ended    *incidentEndedError
	)
	switch {
	case errors.As(err, &usage), errors.As(err, &badID):
		return exitUsage
	case errors.As(err, &nf), errors.As(err, &incNF):
		return exitNotFound
	case errors.As(err, &rej), errors.As(err, &incRej), errors.As(err, &open), errors.As(err, &closed), errors.As(err, &rbErrors):
		return exitRejected
	case errors.As(err, &ended):
		return exitIncidentFailed
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
