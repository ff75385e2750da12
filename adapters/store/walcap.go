package store

import (
	"context"
	"fmt"
	"os"
	"time"
)

// SQLite's WAL file only starts again from its beginning when a checkpoint
// finds no reader on an older snapshot. Under sustained writes with
// concurrent readers that moment may never come, and the file grows
// without bound: over 4 GB during a 100,000-recipient campaign. A watcher
// truncates it once it passes walLimit. wal_checkpoint(TRUNCATE) waits for
// the readers of the moment (short queries) and holds writers back while it
// copies the log into the database, so its wait is bounded by a short busy
// timeout; a checkpoint that could not finish is tried again at the next
// look, and nothing is lost either way.
const (
	walLimit          = 64 << 20
	walCheckEvery     = 5 * time.Second
	walCheckpointWait = 250 * time.Millisecond
	sqliteBusyTimeout = 10000 // ms, as in the connection parameters
)

// watchWAL looks at the WAL file's size every interval and truncates the
// log when it is at least limit bytes, until Close.
func (s *Store) watchWAL(path string, every time.Duration, limit int64) {
	s.walStop, s.walDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.walDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.walStop:
				return
			case <-t.C:
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() < limit {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, _ = s.TruncateWAL(ctx) // busy or failed: the next look tries again
			cancel()
		}
	}()
}

// TruncateWAL copies SQLite's write-ahead log into the database and
// truncates it. busy reports that readers on an older snapshot did not let
// go within walCheckpointWait: the log was left as it was. On PostgreSQL it
// does nothing.
func (s *Store) TruncateWAL(ctx context.Context) (busy bool, err error) {
	if s.dialect != SQLite {
		return false, nil
	}
	conn, err := s.w.Conn(ctx) // the single writer: writes queue behind it
	if err != nil {
		return false, fmt.Errorf("store: wal checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", walCheckpointWait.Milliseconds())); err != nil {
		return false, fmt.Errorf("store: wal checkpoint: %w", err)
	}
	defer conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout))
	var blocked, logFrames, moved int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&blocked, &logFrames, &moved); err != nil {
		return false, fmt.Errorf("store: wal checkpoint: %w", err)
	}
	return blocked != 0, nil
}
