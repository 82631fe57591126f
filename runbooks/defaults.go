package runbooks

import "github.com/quenchhq/quench/internal/strictyaml"

// ReadOnlyOnError is the on_error of a step whose action only reads
// (ActionSpec.Mutating false) when the step does not say otherwise.
//
// Evidence never blocks containment: a metrics capture or a snapshot that
// fails (AccessDenied, throttling, a service outage) is recorded in the
// timeline as a failed step with its error, and the runbook goes on to
// contain. Making it the default, instead of a line each runbook author
// must remember, keeps a missing read permission from leaving an incident
// uncontained. A step that must stop the runbook when its read fails says
// on_error: fail.
const ReadOnlyOnError = "continue"

// applyActionDefaults sets on_error on the action steps that did not set
// it, from what their action does: continue for read-only actions, fail
// (the parser's default, kept) for mutating ones. It runs after
// validation, so every action is known; the runbook the workflow gets and
// `quench runbooks show -o json` carry the result.
//
// ps records what the YAML wrote: a step whose on_error has a position
// said it, and keeps it. Without positions (a runbook built in Go), an
// empty on_error counts as unset.
func applyActionDefaults(rb *Runbook, cat Catalog, ps positions) {
	if cat == nil {
		return
	}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		if s.Kind() != "action" || onErrorWritten(ps, i, *s) {
			continue
		}
		spec, ok := cat.Action(s.Action)
		if !ok {
			continue
		}
		if spec.Mutating {
			s.OnError = "fail"
		} else {
			s.OnError = ReadOnlyOnError
		}
	}
}

// onErrorWritten reports whether step i set on_error itself.
func onErrorWritten(ps positions, i int, s Step) bool {
	if ps == nil {
		return s.OnError != ""
	}
	_, ok := ps[strictyaml.Join(strictyaml.Index("steps", i), "on_error")]
	return ok
}
