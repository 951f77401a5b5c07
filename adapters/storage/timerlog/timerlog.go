// Package timerlog keeps the timer wheel's log on disk: fixed-size entries in segment files named
// by the position of their first entry. Writes are pwrite and reads pread, so memory stays small
// however many timers are pending.
package timerlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// EntrySize is the encoded size of one entry.
const EntrySize = 32

// DefaultSegmentEntries is the number of entries per segment file (32 MiB).
const DefaultSegmentEntries = 1 << 20

const suffix = ".tlog"

var _ storage.TimerLog = (*Log)(nil)

type segment struct {
	first int64 // position of its first entry
	f     *os.File
	dirty bool
}

// Log is a file-backed storage.TimerLog. It is safe for concurrent use.
type Log struct {
	dir     string
	perFile int64

	mu       sync.RWMutex
	segs     []*segment // ordered by first
	end      int64
	closed   bool
	failed   error // a flush failed: what it covered may not be on disk, so nothing is taken
	dirDirty bool  // segments were made or removed since the directory was last synced
}

// Open opens (or creates) the log in dir with perFile entries per segment.
func Open(dir string, perFile int) (*Log, error) {
	if perFile <= 0 {
		perFile = DefaultSegmentEntries
	}
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("timer log dir: %w", err)
	}
	l := &Log{dir: dir, perFile: int64(perFile)}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("timer log dir: %w", err)
	}
	var firsts []int64
	for _, n := range names {
		base, ok := strings.CutSuffix(n.Name(), suffix)
		if !ok {
			continue
		}
		first, err := strconv.ParseInt(base, 10, 64)
		if err != nil || first < 0 || first%l.perFile != 0 || first > math.MaxInt64-l.perFile {
			return nil, fmt.Errorf("timer log: unexpected file %s", n.Name())
		}
		firsts = append(firsts, first)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	for i, first := range firsts {
		if i > 0 && first != firsts[i-1]+l.perFile {
			l.Close()
			return nil, fmt.Errorf("timer log: segment %s does not follow %s", filepath.Base(l.path(first)), filepath.Base(l.path(firsts[i-1])))
		}
		f, err := os.OpenFile(l.path(first), os.O_RDWR, 0o644)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("timer log: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			l.Close()
			return nil, fmt.Errorf("timer log: %w", err)
		}
		// A torn partial entry at the tail is ignored, and so is anything past a segment's
		// entries (a file from a run with other segment sizes cannot be read as this one).
		n := min(st.Size()/EntrySize, l.perFile)
		l.segs = append(l.segs, &segment{first: first, f: f})
		l.end = first + n
		if n < l.perFile && i < len(firsts)-1 {
			// A segment short of full ends the log: a power loss kept the next segment's
			// creation but not this one's tail. What follows cannot be read in order; the
			// caller truncates to its checkpoint, which lies in what was synced before.
			for _, later := range firsts[i+1:] {
				if err := os.Remove(l.path(later)); err != nil {
					l.Close()
					return nil, fmt.Errorf("timer log: %w", err)
				}
			}
			if err := l.syncDirLocked(); err != nil {
				l.Close()
				return nil, err
			}
			break
		}
	}
	return l, nil
}

// syncDirLocked makes the directory's entries (segments made or removed) durable.
func (l *Log) syncDirLocked() error {
	if err := durable.SyncDir(l.dir); err != nil {
		return fmt.Errorf("timer log: %w", err)
	}
	l.dirDirty = false
	return nil
}

func (l *Log) path(first int64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%020d%s", first, suffix))
}

// Close closes every segment; every call after it fails with storage.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var errs []error
	for _, s := range l.segs {
		errs = append(errs, s.f.Close())
	}
	l.segs = nil
	return errors.Join(errs...)
}

func encode(b []byte, e storage.TimerEntry) {
	binary.BigEndian.PutUint64(b[0:], uint64(e.PrevPos))
	binary.BigEndian.PutUint64(b[8:], uint64(e.DueMs))
	binary.BigEndian.PutUint64(b[16:], uint64(e.PhyOffset))
	binary.BigEndian.PutUint32(b[24:], uint32(e.Size))
	binary.BigEndian.PutUint32(b[28:], uint32(e.Flags))
}

func decode(b []byte) storage.TimerEntry {
	return storage.TimerEntry{
		PrevPos:   int64(binary.BigEndian.Uint64(b[0:])),
		DueMs:     int64(binary.BigEndian.Uint64(b[8:])),
		PhyOffset: int64(binary.BigEndian.Uint64(b[16:])),
		Size:      int32(binary.BigEndian.Uint32(b[24:])),
		Flags:     int32(binary.BigEndian.Uint32(b[28:])),
	}
}

// segmentForLocked returns the segment holding pos, creating it when pos starts a new one.
func (l *Log) segmentForLocked(pos int64, create bool) (*segment, error) {
	first := pos - pos%l.perFile
	if n := len(l.segs); n > 0 && l.segs[n-1].first == first {
		return l.segs[n-1], nil
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first >= first })
	if i < len(l.segs) && l.segs[i].first == first {
		return l.segs[i], nil
	}
	if !create {
		return nil, fmt.Errorf("timer entry %d: %w", pos, storage.ErrNotFound)
	}
	// Never over an existing file: one the log does not know of is not its to reuse.
	f, err := os.OpenFile(l.path(first), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("timer log segment: %w", err)
	}
	s := &segment{first: first, f: f}
	l.segs = append(l.segs, s)
	l.dirDirty = true
	return s, nil
}

// usableLocked says why the log takes no call now, if it does not.
func (l *Log) usableLocked() error {
	switch {
	case l.closed:
		return fmt.Errorf("timer log: %w", storage.ErrClosed)
	case l.failed != nil:
		return l.failed
	}
	return nil
}

// Append implements storage.TimerLog.
func (l *Log) Append(ctx context.Context, entries []storage.TimerEntry) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return 0, err
	}
	first := l.end
	if err := l.appendLocked(entries); err != nil {
		// All or nothing: what the batch wrote goes, so the positions it took are free again
		// and no restart finds half of it.
		if terr := l.truncateLocked(first); terr != nil {
			return 0, errors.Join(err, terr)
		}
		return 0, err
	}
	return first, nil
}

func (l *Log) appendLocked(entries []storage.TimerEntry) error {
	var buf [64 * EntrySize]byte
	for len(entries) > 0 {
		s, err := l.segmentForLocked(l.end, true)
		if err != nil {
			return err
		}
		room := s.first + l.perFile - l.end
		n := min(int64(len(entries)), room, int64(len(buf)/EntrySize))
		for i := int64(0); i < n; i++ {
			encode(buf[i*EntrySize:], entries[i])
		}
		if _, err := s.f.WriteAt(buf[:n*EntrySize], (l.end-s.first)*EntrySize); err != nil {
			return fmt.Errorf("timer log write: %w", err)
		}
		s.dirty = true
		l.end += n
		entries = entries[n:]
	}
	return nil
}

// Read implements storage.TimerLog.
func (l *Log) Read(_ context.Context, pos int64) (storage.TimerEntry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return storage.TimerEntry{}, fmt.Errorf("timer log: %w", storage.ErrClosed)
	}
	if len(l.segs) == 0 || pos < l.segs[0].first || pos >= l.end {
		return storage.TimerEntry{}, fmt.Errorf("timer entry %d: %w", pos, storage.ErrNotFound)
	}
	s, err := l.segmentForLocked(pos, false)
	if err != nil {
		return storage.TimerEntry{}, err
	}
	var b [EntrySize]byte
	if _, err := s.f.ReadAt(b[:], (pos-s.first)*EntrySize); err != nil {
		return storage.TimerEntry{}, fmt.Errorf("timer log read %d: %w", pos, err)
	}
	return decode(b[:]), nil
}

// Scan implements storage.TimerLog.
func (l *Log) Scan(ctx context.Context, from int64, fn func(int64, storage.TimerEntry) bool) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return fmt.Errorf("timer log: %w", storage.ErrClosed)
	}
	buf := make([]byte, 2048*EntrySize)
	for _, s := range l.segs {
		segEnd := min(s.first+l.perFile, l.end)
		pos := max(from, s.first)
		for pos < segEnd {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(segEnd-pos, int64(len(buf)/EntrySize))
			if _, err := s.f.ReadAt(buf[:n*EntrySize], (pos-s.first)*EntrySize); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("timer log scan at %d: %w", pos, err)
			}
			for i := int64(0); i < n; i++ {
				if !fn(pos+i, decode(buf[i*EntrySize:])) {
					return nil
				}
			}
			pos += n
		}
	}
	return nil
}

// Bounds implements storage.TimerLog.
func (l *Log) Bounds() (int64, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segs) == 0 {
		return l.end, l.end
	}
	return l.segs[0].first, l.end
}

// Truncate implements storage.TimerLog. An end below the log's first entry empties the log,
// which goes on from that first position.
func (l *Log) Truncate(_ context.Context, end int64) error {
	if end < 0 {
		return fmt.Errorf("timer log truncate to %d: a position is not negative", end)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	return l.truncateLocked(end)
}

func (l *Log) truncateLocked(end int64) error {
	if end >= l.end {
		return nil
	}
	if len(l.segs) > 0 {
		end = max(end, l.segs[0].first)
	}
	for len(l.segs) > 0 {
		s := l.segs[len(l.segs)-1]
		if s.first < end || s.first == end && len(l.segs) == 1 {
			if err := s.f.Truncate((end - s.first) * EntrySize); err != nil {
				return fmt.Errorf("timer log truncate: %w", err)
			}
			s.dirty = true
			break
		}
		// Removed before closed: a segment that could not go stays whole and usable.
		if err := os.Remove(l.path(s.first)); err != nil {
			return fmt.Errorf("timer log truncate: %w", err)
		}
		s.f.Close()
		l.segs = l.segs[:len(l.segs)-1]
		l.end = s.first
		l.dirDirty = true
	}
	l.end = end
	return nil
}

// DropBefore implements storage.TimerLog: whole segments below pos are removed.
func (l *Log) DropBefore(_ context.Context, pos int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	for len(l.segs) > 1 && l.segs[0].first+l.perFile <= pos {
		s := l.segs[0]
		if err := os.Remove(l.path(s.first)); err != nil {
			return fmt.Errorf("timer log retention: %w", err)
		}
		s.f.Close()
		l.segs = l.segs[1:]
		l.dirDirty = true
	}
	return nil
}

// Flush implements storage.TimerLog.
func (l *Log) Flush(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	for _, s := range l.segs {
		if !s.dirty {
			continue
		}
		if err := s.f.Sync(); err != nil {
			// After a failed fsync the kernel may have dropped the pages it could not write
			// and the next fsync succeed without them: nothing this log holds is known to be
			// on disk any more, so it takes nothing until it is opened again.
			l.failed = fmt.Errorf("timer log flush: %w: %w", storage.ErrUnavailable, err)
			return l.failed
		}
		s.dirty = false
	}
	if l.dirDirty {
		if err := l.syncDirLocked(); err != nil {
			l.failed = fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
			return l.failed
		}
	}
	return nil
}
