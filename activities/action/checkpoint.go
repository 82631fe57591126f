package action

import (
	"context"
	"encoding/json"
)

// Checkpoint returns the prior state an action must undo to, and keeps it
// for later attempts of the same step.
//
// An attempt that wrote and then failed (a lost response, a worker killed
// right after the write) leaves its own change behind; the next attempt
// would read that change as the prior state and undo to it. So the first
// attempt records what it read here, before writing; the Registry sends it
// with every heartbeat and with the attempt's error, the workflow hands it
// to the next attempt (contract.ActionInput.Checkpoint), and there
// Checkpoint returns it instead of read — an earlier attempt's checkpoint
// always wins over a fresh read. Call it once per attempt, after reading
// and before the first write: it returns once the checkpoint has reached
// the server, so no write can get ahead of it.
//
// Outside an action run by the Registry (a function called directly) it
// returns read.
func Checkpoint[T any](ctx context.Context, read T) T {
	k := keeperFrom(ctx)
	prior := read
	if raw := k.earlier(); raw != nil {
		var earlier T
		if json.Unmarshal(raw, &earlier) == nil {
			prior = earlier
		}
	}
	if raw, err := json.Marshal(prior); err == nil {
		k.record(raw)
	}
	return prior
}
