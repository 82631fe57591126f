package devserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quenchhq/quench/internal/devserver"
)

// benchIncidents is how many incidents the store benchmarks write; set
// QUENCH_BENCH_INCIDENTS for more.
func benchIncidents(b *testing.B) int {
	n, err := strconv.Atoi(os.Getenv("QUENCH_BENCH_INCIDENTS"))
	if err != nil || n <= 0 {
		return 200
	}
	return n
}

// fillStore writes n incidents into a fresh data dir — a start and ten
// 2 KiB signals each, about the history of a contained incident with its
// alerts — and stops the server.
func fillStore(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	s, err := devserver.Start(b.Context(), devserver.Options{DataDir: dir, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Logger: sdklog.NewStructuredLogger(testLogger(b))})
	if err != nil {
		b.Fatal(err)
	}
	payload := strings.Repeat("x", 2<<10)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id := fmt.Sprintf("incident-%d", i)
				if _, err := c.ExecuteWorkflow(b.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, waitForFinish, time.Hour); err != nil {
					b.Error(err)
					return
				}
				for range 10 {
					if err := c.SignalWorkflow(b.Context(), id, "", "alert", payload); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	c.Close()
	if b.Failed() {
		b.FailNow()
	}
	if err := s.Stop(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkCheckStore measures the start-up check on a store of
// QUENCH_BENCH_INCIDENTS incidents, against SQLite's full integrity_check.
//
//	QUENCH_BENCH_INCIDENTS=1000 go test -run '^$' -bench CheckStore -benchtime 5x ./internal/devserver/
func BenchmarkCheckStore(b *testing.B) {
	n := benchIncidents(b)
	dir := fillStore(b, n)
	db := filepath.Join(dir, devserver.DBFileName)
	mib := func(path string) float64 {
		if info, err := os.Stat(path); err == nil {
			return float64(info.Size()) / (1 << 20)
		}
		return 0
	}
	b.Logf("%d incidents: %s is %.1f MiB (+ %.1f MiB of WAL)", n, db, mib(db), mib(db+"-wal"))
	b.Run("start-up check", func(b *testing.B) {
		for b.Loop() {
			if err := devserver.CheckDatabase(b.Context(), db); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, check := range []string{"quick_check", "integrity_check"} {
		b.Run(check, func(b *testing.B) {
			for b.Loop() {
				if problems, err := devserver.PragmaCheck(b.Context(), db, check); err != nil || len(problems) > 0 {
					b.Fatal(problems, err)
				}
			}
		})
	}
}

// BenchmarkStoreWrites measures acknowledged writes — a workflow start and
// three signals per op, from 8 concurrent clients per core — under each
// store configuration.
//
//	go test -run '^$' -bench StoreWrites -benchtime 300x ./internal/devserver/
func BenchmarkStoreWrites(b *testing.B) {
	configs := []struct {
		name string
		opts func(devserver.Options) devserver.Options
	}{
		{"rollback-journal", devserver.WithRollbackJournal},
		{"wal-sync-full", func(o devserver.Options) devserver.Options { o.Sync = devserver.SyncFull; return o }},
		{"wal-sync-normal", func(o devserver.Options) devserver.Options { o.Sync = devserver.SyncNormal; return o }},
		{"wal-sync-full-4conns", func(o devserver.Options) devserver.Options {
			o.Sync = devserver.SyncFull
			return devserver.WithMaxConns(o, 4)
		}},
		{"wal-sync-normal-4conns", func(o devserver.Options) devserver.Options {
			o.Sync = devserver.SyncNormal
			return devserver.WithMaxConns(o, 4)
		}},
	}
	for _, cfg := range configs {
		b.Run(cfg.name, func(b *testing.B) {
			s, err := devserver.Start(b.Context(), cfg.opts(devserver.Options{DataDir: b.TempDir(), Logger: testLogger(b)}))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop()
			c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Logger: sdklog.NewStructuredLogger(testLogger(b))})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var next atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprintf("w-%d", next.Add(1))
					if _, err := c.ExecuteWorkflow(b.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, waitForFinish, time.Hour); err != nil {
						b.Error(err)
						return
					}
					for range 3 {
						if err := c.SignalWorkflow(b.Context(), id, "", "alert", "x"); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
		})
	}
}
