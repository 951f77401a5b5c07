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
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

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

	mu   sync.RWMutex
	segs []*segment // ordered by first
	end  int64
}

// Open opens (or creates) the log in dir with perFile entries per segment.
func Open(dir string, perFile int) (*Log, error) {
	if perFile <= 0 {
		perFile = DefaultSegmentEntries
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
		if err != nil || first < 0 || first%l.perFile != 0 {
			return nil, fmt.Errorf("timer log: unexpected file %s", n.Name())
		}
		firsts = append(firsts, first)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	for i, first := range firsts {
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
		n := st.Size() / EntrySize
		if i < len(firsts)-1 && n != l.perFile || i > 0 && first != firsts[i-1]+l.perFile {
			f.Close()
			l.Close()
			return nil, fmt.Errorf("timer log: segment %s is not contiguous with its neighbours", filepath.Base(l.path(first)))
		}
		l.segs = append(l.segs, &segment{first: first, f: f})
		l.end = first + n // a torn partial entry at the tail is ignored
	}
	return l, nil
}

func (l *Log) path(first int64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%020d%s", first, suffix))
}

// Close closes every segment.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
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
	f, err := os.OpenFile(l.path(first), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("timer log segment: %w", err)
	}
	s := &segment{first: first, f: f}
	l.segs = append(l.segs, s)
	return s, nil
}

// Append implements storage.TimerLog.
func (l *Log) Append(ctx context.Context, entries []storage.TimerEntry) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.end
	var buf [64 * EntrySize]byte
	for len(entries) > 0 {
		s, err := l.segmentForLocked(l.end, true)
		if err != nil {
			return 0, err
		}
		room := s.first + l.perFile - l.end
		n := min(int64(len(entries)), room, int64(len(buf)/EntrySize))
		for i := int64(0); i < n; i++ {
			encode(buf[i*EntrySize:], entries[i])
		}
		if _, err := s.f.WriteAt(buf[:n*EntrySize], (l.end-s.first)*EntrySize); err != nil {
			return 0, fmt.Errorf("timer log write: %w", err)
		}
		s.dirty = true
		l.end += n
		entries = entries[n:]
	}
	return first, nil
}

// Read implements storage.TimerLog.
func (l *Log) Read(_ context.Context, pos int64) (storage.TimerEntry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
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

// Truncate implements storage.TimerLog.
func (l *Log) Truncate(_ context.Context, end int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if end >= l.end {
		return nil
	}
	for len(l.segs) > 0 {
		s := l.segs[len(l.segs)-1]
		if s.first < end || s.first == end && end == 0 && len(l.segs) == 1 {
			if err := s.f.Truncate((end - s.first) * EntrySize); err != nil {
				return fmt.Errorf("timer log truncate: %w", err)
			}
			s.dirty = true
			break
		}
		s.f.Close()
		if err := os.Remove(l.path(s.first)); err != nil {
			return fmt.Errorf("timer log truncate: %w", err)
		}
		l.segs = l.segs[:len(l.segs)-1]
	}
	l.end = end
	return nil
}

// DropBefore implements storage.TimerLog: whole segments below pos are removed.
func (l *Log) DropBefore(_ context.Context, pos int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.segs) > 1 && l.segs[0].first+l.perFile <= pos {
		s := l.segs[0]
		s.f.Close()
		if err := os.Remove(l.path(s.first)); err != nil {
			return fmt.Errorf("timer log retention: %w", err)
		}
		l.segs = l.segs[1:]
	}
	return nil
}

// Flush implements storage.TimerLog.
func (l *Log) Flush(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.segs {
		if !s.dirty {
			continue
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("timer log flush: %w: %w", storage.ErrUnavailable, err)
		}
		s.dirty = false
	}
	return nil
}
