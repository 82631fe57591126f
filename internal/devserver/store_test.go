package devserver_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/devserver"
)

// preparedStore returns a data dir holding a database with one running
// workflow, written by a server that has stopped, with the write-ahead log
// checkpointed into the database file so that damage to the file is not
// masked by newer pages in the log.
func preparedStore(t *testing.T) (dir, dbPath string) {
	t.Helper()
	dir = t.TempDir()
	s := start(t, devserver.Options{DataDir: dir, SearchAttributes: quenchAttrs(saState)})
	c, stopClient := connect(t, s.FrontendAddress())
	startWorkflow(t, c, "incident-1", time.Hour)
	waitListed(t, c, saState+" = 'contained'", "incident-1")
	stopClient()
	stop(t, s)

	dbPath = filepath.Join(dir, devserver.DBFileName)
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy, logPages, moved int
	if err := db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &moved); err != nil || busy != 0 {
		t.Fatalf("checkpoint %s: busy %d, err %v", dbPath, busy, err)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode of %s = %q (%v), want wal", dbPath, mode, err)
	}
	return dir, dbPath
}

func overwriteTail(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	off := max(0, info.Size()-n)
	junk := make([]byte, info.Size()-off)
	_, _ = rand.Read(junk)
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
	t.Logf("overwrote the last %d of %d bytes of %s", len(junk), info.Size(), path)
}

// A damaged or missing store is refused with what was found and how to
// recover; the server never comes up over it.
func TestStartRefusesBrokenStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir, dbPath string)
		// stateFiles are passed as Options.StateFiles.
		stateFiles []string
		want       error
		says       []string
	}{
		{
			name:   "last 40 KB overwritten",
			damage: func(t *testing.T, _, db string) { overwriteTail(t, db, 40<<10) },
			want:   devserver.ErrStoreDamaged,
			says:   []string{"quick_check"},
		},
		{
			name: "truncated to half",
			damage: func(t *testing.T, _, db string) {
				info, _ := os.Stat(db)
				if err := os.Truncate(db, info.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			want: devserver.ErrStoreDamaged,
			says: []string{"quick_check"},
		},
		{
			name:   "truncated to nothing",
			damage: func(t *testing.T, _, db string) { _ = os.Truncate(db, 0) },
			want:   devserver.ErrStoreDamaged,
			says:   []string{"empty (0 bytes"},
		},
		{
			name: "not a database",
			damage: func(t *testing.T, _, db string) {
				_ = os.WriteFile(db, []byte(strings.Repeat("not sqlite\n", 1000)), 0o600)
			},
			want: devserver.ErrStoreDamaged,
			says: []string{"quick_check", "not a database"},
		},
		{
			name:   "database deleted",
			damage: func(t *testing.T, _, db string) { _ = os.Remove(db) },
			want:   devserver.ErrStoreMissing,
			says:   []string{devserver.MarkerFileName, "no " + devserver.DBFileName},
		},
		{
			name: "database deleted from a data dir older than the marker",
			damage: func(t *testing.T, dir, db string) {
				_ = os.Remove(db)
				_ = os.Remove(filepath.Join(dir, devserver.MarkerFileName))
				_ = os.WriteFile(filepath.Join(dir, "records.json"), []byte("{}"), 0o600)
			},
			stateFiles: []string{"records.json"},
			want:       devserver.ErrStoreMissing,
			says:       []string{"records.json"},
		},
	}
	// One server writes the store; each case damages a copy of it.
	orig, _ := preparedStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(orig)); err != nil {
				t.Fatal(err)
			}
			dbPath := filepath.Join(dir, devserver.DBFileName)
			tt.damage(t, dir, dbPath)
			var files []string
			for _, f := range tt.stateFiles {
				files = append(files, filepath.Join(dir, f))
			}
			began := time.Now()
			s, err := devserver.Start(t.Context(), devserver.Options{DataDir: dir, Logger: testLogger(t), StateFiles: files})
			if err == nil {
				_ = s.Stop()
				t.Fatal("started over a broken store")
			}
			t.Logf("refused in %s: %v", time.Since(began), err)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			for _, want := range append(tt.says, "quench dev --reset", "backup") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q", want)
				}
			}
		})
	}
}

// --reset moves a refused store aside, keeps every file, and starts empty.
func TestResetMovesOldDataAside(t *testing.T) {
	t.Parallel()
	// Files written by hand: a store opened in this process stays open in the
	// SQLite plugin's process-wide pool, which a reset cannot undo (the CLI
	// resets before anything opens the store).
	dir := t.TempDir()
	old := map[string]string{
		devserver.DBFileName:     strings.Repeat("damaged\n", 512),
		devserver.MarkerFileName: `{"database":"temporal.db"}`,
		"records.json":           `{"k":"v"}`,
	}
	for name, content := range old {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := devserver.Start(t.Context(), devserver.Options{DataDir: dir, Logger: testLogger(t)}); !errors.Is(err, devserver.ErrStoreDamaged) {
		t.Fatalf("start over a damaged store: %v, want ErrStoreDamaged", err)
	}

	s := start(t, devserver.Options{DataDir: dir, Reset: true, SearchAttributes: quenchAttrs(saState)})
	aside := s.MovedAside()
	if filepath.Dir(aside) != dir || !strings.HasPrefix(filepath.Base(aside), "reset-") {
		t.Fatalf("moved aside to %q, want %s/reset-<time>", aside, dir)
	}
	for name, content := range old {
		got, err := os.ReadFile(filepath.Join(aside, name))
		if err != nil || string(got) != content {
			t.Errorf("%s in %s: %q, %v; want the old file unchanged", name, aside, got, err)
		}
	}
	for _, name := range []string{"records.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still in the data dir after reset: %v", name, err)
		}
	}
	c, _ := connect(t, s.FrontendAddress())
	startWorkflow(t, c, "incident-after-reset", time.Hour)
	waitListed(t, c, saState+" = 'contained'", "incident-after-reset")
}

func TestFreshStoreIsWALWithMarker(t *testing.T) {
	t.Parallel()
	for _, sync := range devserver.Syncs {
		t.Run(string(sync), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stop(t, start(t, devserver.Options{DataDir: dir, Sync: sync}))
			if _, err := os.Stat(filepath.Join(dir, devserver.MarkerFileName)); err != nil {
				t.Errorf("marker: %v", err)
			}
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, devserver.DBFileName)+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode string
			if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal mode = %q (%v), want wal", mode, err)
			}
		})
	}
	if _, err := devserver.Start(t.Context(), devserver.Options{InMemory: true, Sync: "off"}); err == nil || !strings.Contains(err.Error(), `"off"`) {
		t.Errorf("sync off: %v, want an error naming it", err)
	}
}
