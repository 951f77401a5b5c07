package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/ports/storage"
)

var _ storage.TimerLog = (*TimerLog)(nil)

// TimerLog is the reference timer log: entries in a slice.
type TimerLog struct {
	mu      sync.RWMutex
	start   int64
	entries []storage.TimerEntry
}

// NewTimerLog returns an empty timer log.
func NewTimerLog() *TimerLog { return &TimerLog{} }

// Append implements storage.TimerLog.
func (l *TimerLog) Append(_ context.Context, entries []storage.TimerEntry) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := l.start + int64(len(l.entries))
	l.entries = append(l.entries, entries...)
	return pos, nil
}

// Read implements storage.TimerLog.
func (l *TimerLog) Read(_ context.Context, pos int64) (storage.TimerEntry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	i := pos - l.start
	if i < 0 || i >= int64(len(l.entries)) {
		return storage.TimerEntry{}, fmt.Errorf("timer entry %d: %w", pos, storage.ErrNotFound)
	}
	return l.entries[i], nil
}

// Scan implements storage.TimerLog.
func (l *TimerLog) Scan(ctx context.Context, from int64, fn func(int64, storage.TimerEntry) bool) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := max(from-l.start, 0); i < int64(len(l.entries)); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(l.start+i, l.entries[i]) {
			return nil
		}
	}
	return nil
}

// Bounds implements storage.TimerLog.
func (l *TimerLog) Bounds() (int64, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.start, l.start + int64(len(l.entries))
}

// Truncate implements storage.TimerLog.
func (l *TimerLog) Truncate(_ context.Context, end int64) error {
	if end < 0 {
		return fmt.Errorf("timer log truncate to %d: a position is not negative", end)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := max(end-l.start, 0); n < int64(len(l.entries)) { // below the start: empty
		l.entries = l.entries[:n]
	}
	return nil
}

// DropBefore implements storage.TimerLog.
func (l *TimerLog) DropBefore(_ context.Context, pos int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(max(pos-l.start, 0), int64(len(l.entries)))
	l.entries = append([]storage.TimerEntry(nil), l.entries[n:]...)
	l.start += n
	return nil
}

// Flush implements storage.TimerLog.
func (l *TimerLog) Flush(context.Context) error { return nil }
