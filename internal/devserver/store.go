package devserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// Sync is how hard SQLite pushes each commit to the disk. The store always
// runs in WAL mode; Sync is its synchronous pragma.
type Sync string

const (
	// SyncFull fsyncs the write-ahead log at every commit: a commit that
	// Temporal acknowledged survives a process kill, an OS crash and a power
	// loss.
	SyncFull Sync = "full"
	// SyncNormal fsyncs only at checkpoints. A commit survives a process kill
	// (kill -9, a panic, the OOM killer): it is in the OS's page cache. An OS
	// crash or power loss may lose the last commits before the checkpoint; the
	// database stays consistent either way.
	SyncNormal Sync = "normal"

	// DefaultSync is what `quench dev` runs with unless told otherwise.
	DefaultSync = SyncFull
)

// Syncs lists the valid Sync values, for flag help and validation.
var Syncs = []Sync{SyncFull, SyncNormal}

const (
	// MarkerFileName is written beside the database when its schema is
	// created. A data dir with the marker (or Options.StateFiles) but no
	// database lost its database: Start refuses it rather than start empty.
	MarkerFileName = "quench-store.json"
	// busyTimeout is how long a connection waits for another's write lock
	// before failing with SQLITE_BUSY.
	busyTimeout = 10 * time.Second
	// sqliteDriver is modernc.org/sqlite's database/sql name; the Temporal
	// SQLite plugin imports and registers it.
	sqliteDriver = "sqlite"
	// maxProblems bounds how many quick_check findings an error quotes.
	maxProblems = 5
)

var (
	// ErrStoreDamaged is wrapped by Start when the database exists but fails
	// SQLite's quick_check, is empty, or lacks Temporal's schema.
	ErrStoreDamaged = errors.New("temporal database damaged")
	// ErrStoreMissing is wrapped by Start when the data dir shows an earlier
	// run (marker, record store, WAL) but the database file is gone.
	ErrStoreMissing = errors.New("temporal database missing")
)

// recovery is the advice every refusal to open the store ends with.
func recovery(dir string) string {
	return fmt.Sprintf("to recover, restore %s from a backup (stop quench first), or run `quench dev --reset`, which moves the old files aside into %s and starts with no incidents",
		filepath.Join(dir, DBFileName), filepath.Join(dir, "reset-<time>"))
}

// requiredTables are tables of Temporal's SQLite schema whose absence means
// the file is not a Temporal store (an empty file opens as an empty database).
var requiredTables = []string{"namespaces", "executions", "current_executions", "history_node", "executions_visibility"}

// marker is the content of MarkerFileName.
type marker struct {
	Database string    `json:"database"`
	Created  time.Time `json:"created"`
}

// connectAttributes are the SQLite plugin's connect attributes for a file
// store. Attributes the plugin does not know become pragmas, applied to
// every connection it opens. WAL lets readers run beside the one writer and
// turns each commit into one append to the log instead of a rollback journal
// written, synced and deleted; it persists in the file, so an older data dir
// is converted on its first start.
func connectAttributes(sync Sync) map[string]string {
	return map[string]string{
		"mode":         "rwc",
		"journal_mode": "wal",
		"synchronous":  strings.ToUpper(string(sync)),
		"busy_timeout": strconv.FormatInt(busyTimeout.Milliseconds(), 10),
	}
}

// store is the prepared SQLite store of one server run.
type store struct {
	conf   *config.SQL
	path   string
	unlock func() // releases the data dir
	// movedAside is where Options.Reset moved the old files ("" if none).
	movedAside string
	// visibility is Options.SQL's visibility database; nil for SQLite,
	// which keeps visibility in the one database.
	visibility *config.SQL
}

// prepareStore locks the data dir and returns the SQLite configuration. A
// fresh dir gets the schema and the marker; an existing database is checked
// first (checkDatabase), and a dir whose database went missing is refused.
func prepareStore(ctx context.Context, opts Options) (_ *store, err error) {
	if sq := opts.SQL; sq != nil {
		// Its schemas are the database owner's job, as on any cluster.
		return &store{conf: sq.Default, visibility: sq.Visibility, unlock: func() {},
			path: fmt.Sprintf("%s database %s", sq.Default.PluginName, sq.Default.DatabaseName)}, nil
	}
	if opts.InMemory {
		// A fresh name per server: in-memory SQLite databases with a shared
		// cache are process-wide, keyed by name. WAL does not apply to memory.
		name := "quench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		return &store{conf: &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      name,
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}, path: ":memory:" + name, unlock: func() {}}, nil
	}

	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create temporal data dir %s: %w", opts.DataDir, err)
	}
	s := &store{path: filepath.Join(opts.DataDir, DBFileName)}
	if s.unlock, err = lockDataDir(opts.DataDir, s.path+".lock"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.unlock()
		}
	}()
	s.conf = &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      s.path,
		ConnectAttributes: connectAttributes(opts.Sync),
	}
	if opts.tune != nil {
		opts.tune(s.conf)
	}
	if opts.Reset {
		if s.movedAside, err = moveAside(opts.DataDir, s.path+".lock", time.Now()); err != nil {
			return nil, err
		}
	}
	switch _, err := os.Stat(s.path); {
	case errors.Is(err, os.ErrNotExist):
		if found := priorState(opts, s.path); len(found) > 0 {
			return nil, fmt.Errorf("%w: %s has %s from an earlier run but no %s; refusing to start with no incidents over it; %s",
				ErrStoreMissing, opts.DataDir, strings.Join(found, ", "), DBFileName, recovery(opts.DataDir))
		}
		if err := setupSchema(s.conf, s.path); err != nil {
			// Leave no half-initialised file behind: the next start would
			// take it for a complete database.
			for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
				_ = os.Remove(s.path + suffix)
			}
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("check temporal database %s: %w", s.path, err)
	default:
		if err := checkDatabase(ctx, s.path); err != nil {
			return nil, fmt.Errorf("%w; %s", err, recovery(opts.DataDir))
		}
	}
	// Written on every start, so data dirs from before the marker get one.
	if err := writeMarker(opts.DataDir, time.Now()); err != nil {
		return nil, err
	}
	return s, nil
}

// setupSchema creates Temporal's schema in a new database. Each of its
// ~100 statements is a transaction of its own, and with synchronous=FULL
// each would wait for an fsync (0.3 s of a fresh start on this machine's
// disk, most of it at load); they run unsynced instead and the files are
// synced once at the end, before the marker says a store exists. A crash in
// between leaves a database that checkDatabase refuses or that Start
// removes, as before.
//
// The SQLite plugin keeps a connection pool per DSN for the life of the
// process, so the unsynced connection stays open (idle) beside the
// server's own; it never writes again.
func setupSchema(conf *config.SQL, path string) error {
	unsynced := *conf
	unsynced.ConnectAttributes = maps.Clone(conf.ConnectAttributes)
	if unsynced.ConnectAttributes == nil {
		unsynced.ConnectAttributes = map[string]string{}
	}
	unsynced.ConnectAttributes["synchronous"] = "OFF"
	if err := sqliteschema.SetupSchema(&unsynced); err != nil {
		return fmt.Errorf("create temporal schema in %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", filepath.Dir(path)} {
		if err := syncFile(p); err != nil {
			return fmt.Errorf("create temporal schema in %s: %w", path, err)
		}
	}
	return nil
}

// syncFile fsyncs the file or dir at p; a missing one (no WAL in rollback
// journal mode) has nothing to sync.
func syncFile(p string) error {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}

// priorState lists what in the data dir shows that a database existed.
func priorState(opts Options, dbPath string) []string {
	var found []string
	for _, p := range append([]string{filepath.Join(opts.DataDir, MarkerFileName), dbPath + "-wal", dbPath + "-journal"}, opts.StateFiles...) {
		if _, err := os.Stat(p); err == nil {
			found = append(found, filepath.Base(p))
		}
	}
	return found
}

func writeMarker(dir string, now time.Time) error {
	path := filepath.Join(dir, MarkerFileName)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, _ := json.Marshal(marker{Database: DBFileName, Created: now.UTC()})
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write store marker %s: %w", path, err)
	}
	return nil
}

// checkDatabase opens the existing database on a connection of its own and
// refuses it when SQLite's quick_check finds damage or Temporal's tables
// are missing. quick_check reads every page and checks each b-tree's
// structure (it skips only the index-against-table comparison of
// integrity_check); it also replays a WAL left by a killed server.
func checkDatabase(ctx context.Context, dbPath string) error {
	info, err := os.Stat(dbPath)
	if err != nil {
		return fmt.Errorf("check temporal database %s: %w", dbPath, err)
	}
	if info.Size() == 0 {
		return fmt.Errorf("%w: %s is empty (0 bytes; was it truncated?)", ErrStoreDamaged, dbPath)
	}
	db, err := sql.Open(sqliteDriver, "file:"+dbPath+"?mode=rw&_pragma=busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	if err != nil {
		return fmt.Errorf("open temporal database %s: %w", dbPath, err)
	}
	defer db.Close()

	problems, err := pragmaCheck(ctx, db, "quick_check")
	if err != nil {
		// "file is not a database", "database disk image is malformed": the
		// check itself could not read the file.
		return fmt.Errorf("%w: %s failed SQLite's quick_check: %v", ErrStoreDamaged, dbPath, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s failed SQLite's quick_check (%s)", ErrStoreDamaged, dbPath, summarize(problems))
	}
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return fmt.Errorf("%w: list tables of %s: %v", ErrStoreDamaged, dbPath, err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("%w: list tables of %s: %v", ErrStoreDamaged, dbPath, err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: list tables of %s: %v", ErrStoreDamaged, dbPath, err)
	}
	var missing []string
	for _, t := range requiredTables {
		if !slices.Contains(tables, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s is not a Temporal store: tables %s are missing (%d tables found)", ErrStoreDamaged, dbPath, strings.Join(missing, ", "), len(tables))
	}
	return nil
}

// pragmaCheck returns what PRAGMA check (quick_check or integrity_check)
// reports, nothing when it says ok.
func pragmaCheck(ctx context.Context, db *sql.DB, check string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "PRAGMA "+check)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			out = append(out, line)
		}
	}
	return out, rows.Err()
}

func summarize(problems []string) string {
	s := strings.Join(problems[:min(len(problems), maxProblems)], "; ")
	if n := len(problems) - maxProblems; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}

// moveAside moves every entry of dir except the lock file and earlier
// reset-* dirs into a new dir/reset-<time>, and returns its path ("" when
// there was nothing to move). Nothing is deleted.
func moveAside(dir, lockPath string, now time.Time) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reset temporal data dir %s: %w", dir, err)
	}
	var move []string
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); p != lockPath && !strings.HasPrefix(e.Name(), "reset-") {
			move = append(move, e.Name())
		}
	}
	if len(move) == 0 {
		return "", nil
	}
	aside := filepath.Join(dir, "reset-"+now.UTC().Format("20060102T150405.000Z"))
	if err := os.Mkdir(aside, 0o700); err != nil {
		return "", fmt.Errorf("reset temporal data dir %s: %w", dir, err)
	}
	for _, name := range move {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil {
			return "", fmt.Errorf("reset temporal data dir %s: move %s to %s: %w", dir, name, aside, err)
		}
	}
	return aside, nil
}
