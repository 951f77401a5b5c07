package mmap

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/ports/storage"
)

var _ storage.StatsReporter = (*Store)(nil)

// storeStats holds the counters behind Stats.
type storeStats struct {
	flushes      atomic.Uint64
	syncTimeouts atomic.Uint64
	corruptReads atomic.Uint64
	copiedIn     atomic.Uint64 // log writes copied into populated pages instead of a pwrite

	mu   sync.Mutex
	last recovery // what the last start found
}

// Stats implements storage.StatsReporter.
func (s *Store) Stats() storage.Stats {
	durable, _ := s.flush.state()
	s.stats.mu.Lock()
	r := s.stats.last
	s.stats.mu.Unlock()
	return storage.Stats{
		LogEnd:            s.committed.Load(),
		DurableOffset:     durable,
		Unavailable:       s.failed() != nil,
		Flushes:           s.stats.flushes.Load(),
		SyncFlushTimeouts: s.stats.syncTimeouts.Load(),
		CorruptReads:      s.stats.corruptReads.Load(),

		LastStartClean:        r.clean,
		LastRecoveryDuration:  r.took,
		RecoveryScannedBytes:  r.scanned,
		UnitsRebuilt:          r.units,
		CorruptRecordsSkipped: int64(len(r.corrupt)),
		CorruptBytesSkipped:   r.corruptBytes,
		TornTailBytesCut:      r.tornBytes,
	}
}

// setRecovery publishes what a start found.
func (s *Store) setRecovery(r recovery, took time.Duration) {
	r.took = took
	s.stats.mu.Lock()
	s.stats.last = r
	s.stats.mu.Unlock()
}
