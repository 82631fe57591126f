// Package devserver runs a Temporal server inside the quench process for
// `quench dev`: every service in one process, state in a SQLite file that
// survives restarts, static membership and a single history shard.
//
// It owns the data dir's Temporal side:
//
//	DATA_DIR/temporal.db         the store, in SQLite's WAL mode
//	DATA_DIR/temporal.db-wal,-shm  its write-ahead log and index
//	DATA_DIR/temporal.db.lock    held while a server runs (flock)
//	DATA_DIR/quench-store.json   marker: this dir has had a store
//	DATA_DIR/reset-<time>/       where Options.Reset moved old files
//
// Start refuses a store it cannot trust rather than start empty or serve
// errors: an existing database must pass SQLite's quick_check and hold
// Temporal's tables (ErrStoreDamaged); a dir with the marker or one of the
// caller's StateFiles but no database is refused (ErrStoreMissing). Both
// errors say what was found and how to recover (restore from a backup, or
// `quench dev --reset`). Options.Sync chooses between fsync at every commit
// (SyncFull) and at checkpoints only (SyncNormal); see Sync.
//
// The Temporal SQLite plugin keeps one connection pool per database for the
// life of the process, even after Stop; a Reset must therefore happen before
// anything in the process has opened that data dir's store.
//
// StartUI serves the Temporal Web UI (github.com/temporalio/ui-server, the
// one `temporal server start-dev` embeds) for a running server.
//
// It is modelled on the Temporal CLI's dev server and the server module's
// temporaltest lite server, neither of which can be imported here. It must
// not import any quench package but the leaf internal/buildid: cmd/quench
// wires it to the worker and the HTTP endpoints, and readiness beyond "the
// frontend serves the namespace" is internal/httpapi's probe.
package devserver
