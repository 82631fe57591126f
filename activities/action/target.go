package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// Leaser keeps target leases (activities.Targets, over the TargetLease
// workflows). The registry acquires before an action with a declared
// target runs and records its outcome after, so the lease exists before
// AWS is touched and the undo is registered once whatever the retries.
type Leaser interface {
	Acquire(ctx context.Context, req contract.TargetAcquire) (contract.TargetAcquired, error)
	Record(ctx context.Context, req contract.TargetRecord) error
	// Release is registered as the activity contract.ActivityTargetRelease.
	Release(ctx context.Context, req contract.TargetRelease) (contract.TargetReleased, error)
}

// SetLeaser sets the leaser (nil: actions take no leases, as in tests
// without a Temporal client). Set it before RegisterActivities.
func (r *Registry) SetLeaser(l Leaser) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaser = l
}

// TargetKey is the stable key of the target an action changes:
// "<service>:<account>:<region>:<resource>#<attribute>", e.g.
// "lambda:123456789012:us-east-1:function/chat-backend#reserved-concurrency".
// The account comes from the incident's role ARN and the region from the
// incident; "-" stands for the worker's own credentials or region. It is
// "" for an action that declares no target.
func TargetKey(spec runbooks.ActionSpec, in contract.ActionInput) (string, error) {
	t := spec.Target
	if t == nil {
		return "", nil
	}
	resource, err := fillTarget(t.Resource, in.Args)
	if err != nil {
		return "", fmt.Errorf("target of action %s: %w", spec.Name, err)
	}
	account, region := "-", "-"
	if arn := strings.Split(in.Incident.RoleARN, ":"); len(arn) > 4 && arn[4] != "" {
		account = arn[4]
	}
	if in.Incident.Region != "" {
		region = in.Incident.Region
	}
	return fmt.Sprintf("%s:%s:%s:%s#%s", t.Service, account, region, resource, t.Attribute), nil
}

// fillTarget replaces each {arg} in tmpl with the argument's value.
func fillTarget(tmpl string, args map[string]any) (string, error) {
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		end := strings.IndexByte(tmpl[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("resource %q: unclosed {", tmpl)
		}
		name := tmpl[open+1 : open+end]
		v, ok := args[name].(string)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("argument %s names the target and is not a string", name)
		}
		b.WriteString(tmpl[:open])
		b.WriteString(v)
		tmpl = tmpl[open+end+1:]
	}
}

// leased runs an attempt of a targeted action under a lease: acquire
// (waiting while another incident's change is in flight), run, record.
// A retryable failure records nothing: the next attempt acquires again as
// the same step, so the change stays in flight and no other incident
// reads it as the prior state. A final failure, a dry run or an attempt
// the incident cancelled (its step will never note the lease) drops the
// step from the lease.
func leased(ctx context.Context, l Leaser, key string, in contract.ActionInput, run func() (contract.ActionResult, error)) (contract.ActionResult, error) {
	ref := contract.TargetAcquire{Key: key, Incident: in.Incident.ID, Step: in.Step}
	drop := contract.TargetRecord{Key: key, Incident: ref.Incident, Step: ref.Step, Drop: true}
	if _, err := l.Acquire(ctx, ref); err != nil {
		if ctx.Err() != nil {
			withdraw(ctx, l, drop)
		}
		return contract.ActionResult{}, fmt.Errorf("lease target %s: %w", key, err)
	}
	res, err := run()
	rec := contract.TargetRecord{Key: key, Incident: ref.Incident, Step: ref.Step, Summary: res.Summary, Undo: res.Undo}
	switch {
	case err != nil && ctx.Err() != nil:
		// The incident stopped the step (resolve, cancel): it will not
		// note this lease, so it must not hold the target.
		withdraw(ctx, l, drop)
		return res, err
	case err != nil && !isNonRetryable(err):
		return res, err
	case err != nil, res.DryRun:
		rec = drop
	}
	if rerr := l.Record(ctx, rec); rerr != nil {
		return res, errors.Join(err, fmt.Errorf("record lease of target %s: %w", key, rerr))
	}
	if err == nil && !res.DryRun {
		res.Target = key
	}
	return res, err
}

// withdrawTimeout bounds the drop sent after the attempt was cancelled.
const withdrawTimeout = 10 * time.Second

// withdraw drops a cancelled attempt's step from the lease, best effort:
// the attempt's own context is already done.
func withdraw(ctx context.Context, l Leaser, drop contract.TargetRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), withdrawTimeout)
	defer cancel()
	_ = l.Record(ctx, drop)
}

func isNonRetryable(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable()
}
