// Package worker builds and runs a quench worker: configuration, the action
// registry with real clients, and registration of the Incident workflow and
// its activities with Temporal.
//
// Configuration is defaults, then environment, then flags. worker is the
// composition point for activities: it may import activities/..., workflows
// and Temporal's sdk/worker; nothing but cmd/quench and tests import it.
package worker
