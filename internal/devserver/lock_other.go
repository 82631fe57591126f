//go:build !unix

package devserver

// lockDataDir does not lock where flock is unavailable; SQLite's own locking
// then surfaces a second server as "database is locked" errors.
func lockDataDir(dir, path string) (unlock func(), err error) { return func() {}, nil }
