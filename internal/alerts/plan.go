package alerts

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Starter starts incidents and folds alerts into them: the few incident
// operations the alert server needs (*incidents.Client in production). Each
// call returns once Temporal has durably recorded it.
type Starter interface {
	// FoldAlert starts the incident with the alert, or folds the alert into
	// the open incident with the same id (SignalWithStart).
	FoldAlert(ctx context.Context, in contract.IncidentInput, sig contract.AlertSignal) (started bool, runID string, err error)
	// SignalAlert records an alert on an open incident without starting
	// one; it returns an error wrapping ErrNoOpenIncident when none is open.
	SignalAlert(ctx context.Context, id string, sig contract.AlertSignal) error
	// Resolve asks the open incident to resolve.
	Resolve(ctx context.Context, id string, req contract.ResolveRequest) error
}

// plan is what one alert will do, computed for every alert of a request
// before anything is started, so a bad alert starts nothing.
type plan struct {
	alert Alert
	route *Route
	input contract.IncidentInput
}

// planAlert routes an alert and builds its incident input. It returns a nil
// plan (and no error) for an alert no route takes.
func planAlert(a Alert, rs *Routes, lib *runbooks.Library) (*plan, error) {
	r := rs.Find(a)
	if r == nil {
		return nil, nil
	}
	if lib == nil {
		return nil, &RequestError{Status: http.StatusInternalServerError, Msg: "alert server has no runbook library configured"}
	}
	unprocessable := func(format string, args ...any) error {
		return &RequestError{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("alert %s: route %s: ", a.Name, r.Name) + fmt.Sprintf(format, args...)}
	}
	rb, ok := lib.Get(r.Runbook)
	if !ok {
		return nil, unprocessable("runbook %q is not in the library", r.Runbook)
	}
	av := a.celValue()
	given := make(map[string]any, len(r.params))
	for _, k := range slices.Sorted(maps.Keys(r.params)) {
		v, err := renderValue(r.params[k], av)
		if err != nil {
			return nil, unprocessable("param %s: %v", k, err)
		}
		given[k] = v
	}
	params, err := runbooks.CheckParams(rb, given)
	if err != nil {
		return nil, unprocessable("params for runbook %s: %v", rb.Metadata.Name, err)
	}
	key, err := dedupKey(r, rb, params, av)
	if err != nil {
		return nil, unprocessable("dedup_key: %v", err)
	}
	return &plan{
		alert: a,
		route: r,
		input: contract.IncidentInput{
			ID:        IncidentID(rb.Metadata.Name, key),
			Runbook:   *rb,
			Params:    params,
			Severity:  r.Severity,
			Source:    a.Source,
			Requester: "alert:" + a.Source,
			Labels:    a.Labels,
		},
	}, nil
}

// dedupKey renders the route's dedup_key, or by default joins the runbook
// name with the params that identify the target: the runbook's required
// params, or every param when it declares none required.
func dedupKey(r *Route, rb *runbooks.Runbook, params map[string]any, av map[string]any) (string, error) {
	if r.dedup != nil {
		v, err := r.dedup.eval(av)
		if err != nil {
			return "", err
		}
		key := runbooks.InterpolatedText(v)
		if key == "" {
			return "", fmt.Errorf("%q rendered empty for this alert", r.DedupKey)
		}
		return rb.Metadata.Name + "|" + key, nil
	}
	var names []string
	for _, k := range slices.Sorted(maps.Keys(rb.Params)) {
		if rb.Params[k].Required {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(params))
	}
	var b strings.Builder
	b.WriteString(rb.Metadata.Name)
	for _, k := range names {
		b.WriteString("|" + k + "=" + runbooks.InterpolatedText(params[k]))
	}
	return b.String(), nil
}
