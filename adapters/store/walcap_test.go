package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWALTruncated writes 8 MB through the SQLite writer while readers
// query without pause, and checks the WAL file is truncated (directly, and
// by the watcher) with every row kept.
func TestWALTruncated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wal.db")
	s, err := Open(ctx, "sqlite:"+path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				_ = s.r.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n)
			}
		}()
	}
	defer func() { close(stop); readers.Wait() }()

	row := strings.Repeat("x", 4096)
	write := func(n int) {
		t.Helper()
		for range n {
			if _, err := s.w.ExecContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, row); err != nil {
				t.Fatal(err)
			}
		}
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	count := func() int {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	write(2000)
	if size := walSize(); size < 1<<20 {
		t.Fatalf("WAL is %d bytes after 8 MB of writes; the test needs it large", size)
	}
	// A checkpoint may find a reader on an older snapshot for longer than
	// its wait on a loaded machine: busy leaves the log as it was, and, as
	// the watcher does, the next try truncates it.
	for tries := 0; ; tries++ {
		busy, err := s.TruncateWAL(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if !busy {
			break
		}
		if tries == 50 {
			t.Fatal("checkpoint: readers never let go in 50 tries")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if size := walSize(); size != 0 {
		t.Fatalf("WAL is %d bytes after the checkpoint, want 0", size)
	}

	// The watcher does the same once the file passes its limit.
	close(s.walStop)
	<-s.walDone
	s.watchWAL(path+"-wal", 10*time.Millisecond, 1<<20)
	write(2000)
	deadline := time.Now().Add(10 * time.Second)
	for walSize() >= 1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher left the WAL at %d bytes", walSize())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(); n != 4000 {
		t.Fatalf("%d rows, want 4000", n)
	}
}
