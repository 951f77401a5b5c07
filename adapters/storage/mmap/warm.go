package mmap

import (
	"sync/atomic"

	"go.uber.org/zap"
)

// warmer keeps the commit log ready ahead of the writes, on its own goroutine: the blocks up to
// WarmAhead bytes past the log end are reserved, their pages are in the page cache, and the next
// segment exists before the log reaches it. An append then copies into resident pages instead of
// taking a page fault per 4 KiB that allocates and zeroes a page with the append lock held, and
// never waits for a segment file to be created and its directory synced.
//
// Pages are populated for reading (MADV_POPULATE_READ), not for writing: a page populated for
// writing is dirty, and every fdatasync of the segment would write its zeros to the disk ahead
// of the records.
type warmer struct {
	to      atomic.Int64 // log offset up to which the log is warm
	kick    chan struct{}
	quit    chan struct{}
	stopped chan struct{}
}

// warmStep is how much the warmer reserves and populates per hold of the append lock and of
// segMu: appends and readers wait at most for one step.
const warmStep = 4 << 20

func (w *warmer) start(s *Store) {
	w.kick = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.stopped = make(chan struct{})
	if s.cfg.WarmAhead <= 0 {
		close(w.stopped)
		return
	}
	w.to.Store(s.committed.Load())
	go func() {
		defer close(w.stopped)
		s.warmAhead() // the first appends after a start find the log warm too
		for {
			select {
			case <-w.quit:
				return
			case <-w.kick:
				s.warmAhead()
			}
		}
	}()
}

// stop ends the warmer goroutine and waits for it.
func (w *warmer) stop() {
	if w.quit == nil {
		return
	}
	close(w.quit)
	<-w.stopped
}

// wantsWarming is called after an append that moved the log end to end: it wakes the warmer once
// less than half of WarmAhead is warm past the end.
func (s *Store) wantsWarming(end int64) {
	if s.cfg.WarmAhead <= 0 || s.warm.to.Load()-end > s.cfg.WarmAhead/2 {
		return
	}
	select {
	case s.warm.kick <- struct{}{}:
	default:
	}
}

// warmAhead warms the log from where it is warm (or its end) to WarmAhead past its end, but not
// beyond the segment after the one the end is in (at most one segment is made ahead), in steps.
// It gives up at the first step that fails (a full disk, a closed store): the append path
// reserves its own blocks and reports a full disk itself.
func (s *Store) warmAhead() {
	end := s.committed.Load()
	target := min(end+s.cfg.WarmAhead, end-end%s.cfg.SegmentSize+2*s.cfg.SegmentSize)
	for from := max(s.warm.to.Load(), end); from < target; {
		select {
		case <-s.warm.quit:
			return
		default:
		}
		segEnd := from - from%s.cfg.SegmentSize + s.cfg.SegmentSize
		to := min(target, segEnd, from+warmStep)
		seg, err := s.reserveAhead(from, to)
		if err != nil {
			s.log.Debug("warming the commit log stopped", zap.Int64("offset", from), zap.Error(err))
			return
		}
		if seg == nil {
			return
		}
		s.segMu.RLock()
		if !s.segClosed && s.segmentAt(from) == seg { // not unmapped meanwhile
			populateRead(seg.data, int(from-seg.base), int(to-from))
		}
		s.segMu.RUnlock()
		s.warm.to.Store(to)
		from = to
	}
}

// reserveAhead reserves the blocks of log range [from, to), inside one segment, creating that
// segment when the log has not reached it yet. It returns nil when the store is not open or the
// range is already behind the log end.
func (s *Store) reserveAhead(from, to int64) (*segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.failed() != nil || s.diskFull() != nil {
		return nil, nil
	}
	from = max(from, s.writePos)
	if from >= to {
		return nil, nil
	}
	seg, err := s.writableSegment(from)
	if err != nil {
		return nil, err
	}
	if _, err := seg.r.ensure(seg.f, seg.data, from-seg.base, to-seg.base, logReserveChunk); err != nil {
		return nil, err
	}
	return seg, nil
}

// dropWarmSegments removes the segments the warmer created past the log end, so a clean stop
// leaves the log ending in its last segment, as a clean start expects. Called by Stop once appends
// are refused and the warmer has stopped.
func (s *Store) dropWarmSegments() error {
	end := s.committed.Load()
	s.segMu.Lock()
	defer s.segMu.Unlock()
	n := len(s.segs)
	for n > 1 && s.segs[n-1].base >= end && s.segs[n-1].base > s.segs[0].base {
		if err := s.segs[n-1].remove(); err != nil {
			return err
		}
		s.segs[n-1] = nil
		n--
	}
	if n == len(s.segs) {
		return nil
	}
	s.segs = s.segs[:n]
	return syncDir(s.clDir)
}
