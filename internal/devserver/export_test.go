package devserver

import (
	"context"
	"database/sql"

	"go.temporal.io/server/common/config"
)

// CheckDatabase is checkDatabase, for the tests and benchmarks.
var CheckDatabase = checkDatabase

// PragmaCheck runs PRAGMA check (quick_check, integrity_check) on the
// database at path, for the benchmarks.
func PragmaCheck(ctx context.Context, path, check string) ([]string, error) {
	db, err := sql.Open(sqliteDriver, "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return pragmaCheck(ctx, db, check)
}

// WithMaxConns sets the SQLite connection pool size, for the benchmarks.
func WithMaxConns(o Options, n int) Options {
	o.tune = func(c *config.SQL) { c.MaxConns, c.MaxIdleConns = n, n }
	return o
}

// WithRollbackJournal runs the store as it ran before WAL (rollback journal,
// synchronous FULL), for the before/after benchmarks.
func WithRollbackJournal(o Options) Options {
	o.tune = func(c *config.SQL) { c.ConnectAttributes = map[string]string{"mode": "rwc"} }
	return o
}
