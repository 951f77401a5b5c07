package mmap

import (
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
)

// warmer keeps the commit log ready ahead of the appends, on its own goroutine:
//
//   - it makes the next segment once the log end is within WarmAhead bytes of the end of its
//     segment, so no append waits for a segment file to be created, sized, mapped and its
//     directory synced with the append lock held;
//   - while the appends are small (smallAppend: single messages, a synchronous producer's
//     sends), it reserves and pages in the next WarmAhead bytes of the log (populated), and
//     those appends copy into the mapping instead of making a pwrite each (writeLog). A
//     one-message pwrite costs the request a syscall that the Go runtime may hand its thread
//     over for: measured with rocketgo bench produce, one synchronous producer, alternating
//     runs, 6.45-6.47k msgs/s at 87 µs of broker CPU per message with a pwrite each against
//     7.26-7.31k at 77 µs copying (later, on a busier machine, medians of four: 5.74k against
//     6.73k). Large appends (batches, the groups a pipelining producer's burst makes) are
//     written with pwrite into pages nobody zeroed; populating for them would zero every page
//     on this thread and save nothing (2.1 against 1.5 µs of CPU per message at batch 128), so
//     populating stops as soon as appends are large. Under sync flush appends never copy: an
//     fdatasync write-protects the pages written through the mapping, so the next copy into
//     the same page faults again (bench store, 64 sync writers: 49-55k msgs/s copying against
//     70-75k with pwrite).
type warmer struct {
	made      atomic.Int64 // base of the newest segment made ahead (0: none yet)
	populated atomic.Int64 // log offset up to which the pages are reserved and paged in
	smallRun  atomic.Int64 // appends in a row below smallAppend bytes
	kick      chan struct{}
	quit      chan struct{}
	stopped   chan struct{}
}

const (
	// smallAppend: an append of fewer bytes copies into populated pages; more is a pwrite.
	smallAppend = 4 << 10
	// smallRunToPopulate: this many small appends in a row turn populating on.
	smallRunToPopulate = 32
	// warmStep is how much the warmer reserves and populates per hold of the append lock and
	// of segMu: appends and readers wait at most for one step.
	warmStep = 4 << 20
)

func (w *warmer) start(s *Store) {
	w.kick = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.stopped = make(chan struct{})
	if s.cfg.WarmAhead <= 0 {
		close(w.stopped)
		return
	}
	go func() {
		defer close(w.stopped)
		s.warmAhead() // a log that starts near a segment end gets its next segment at once
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

// noteAppend is called after an append of n bytes that moved the log end to end: it counts
// small appends and wakes the warmer when there is work for it.
func (s *Store) noteAppend(n, end int64) {
	if s.cfg.WarmAhead <= 0 {
		return
	}
	small := int64(0)
	if n < smallAppend && s.cfg.Flush != FlushSync {
		small = s.warm.smallRun.Add(1)
	} else if s.warm.smallRun.Load() != 0 {
		s.warm.smallRun.Store(0)
	}
	next := end - end%s.cfg.SegmentSize + s.cfg.SegmentSize
	needSegment := end+s.cfg.WarmAhead >= next && s.warm.made.Load() < next
	needPages := small >= smallRunToPopulate && s.warm.populated.Load()-end < s.cfg.WarmAhead/2
	if !needSegment && !needPages {
		return
	}
	select {
	case s.warm.kick <- struct{}{}:
	default:
	}
}

// warmAhead makes the segment after the one the log end is in once the end is within WarmAhead
// of that segment's end, and while appends are small populates the log up to WarmAhead past its
// end, never beyond that next segment. It gives up at the first step that fails (a full disk, a
// closed store): the append path creates segments and reserves blocks itself and reports a full
// disk itself.
func (s *Store) warmAhead() {
	end := s.committed.Load()
	next := end - end%s.cfg.SegmentSize + s.cfg.SegmentSize
	if end+s.cfg.WarmAhead >= next && s.warm.made.Load() < next {
		made, err := s.makeAhead(next)
		if err != nil {
			s.log.Debug("making the next commit-log segment failed", zap.Int64("base", next), zap.Error(err))
		}
		if made { // else the next append near the segment end asks again
			s.warm.made.Store(next)
		}
	}
	target := min(end+s.cfg.WarmAhead, next+s.cfg.SegmentSize)
	for from := max(s.warm.populated.Load(), end); from < target && s.warm.smallRun.Load() >= smallRunToPopulate; {
		select {
		case <-s.warm.quit:
			return
		default:
		}
		to := min(target, from-from%s.cfg.SegmentSize+s.cfg.SegmentSize, from+warmStep)
		seg, err := s.reserveAhead(from, to)
		if err != nil || seg == nil {
			if err != nil {
				s.log.Debug("warming the commit log stopped", zap.Int64("offset", from), zap.Error(err))
			}
			return
		}
		s.segMu.RLock()
		if !s.segClosed && s.segmentAt(from) == seg { // not unmapped meanwhile
			populateRead(seg.data, int(from-seg.base), int(to-from))
		}
		s.segMu.RUnlock()
		s.warm.populated.Store(to)
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

// makeAhead creates the segment at base and reserves its first blocks, unless the store is not
// open or the log is already in it. made says whether the segment is there now.
func (s *Store) makeAhead(base int64) (made bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writePos >= base {
		return true, nil
	}
	if s.state != stateOpen || s.failed() != nil || s.diskFull() != nil {
		return false, nil
	}
	if _, err := s.writableSegment(s.writePos); err != nil { // segments are made in order
		return false, err
	}
	seg, err := s.writableSegment(base)
	if err != nil {
		return false, err
	}
	// Its first pages are read by a crash recovery that finds it past the log end (segment.go).
	if _, err := seg.r.ensure(seg.f, seg.data, 0, pageSize, logReserveChunk); err != nil {
		return false, err
	}
	return true, nil
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
	return durable.SyncDir(s.clDir)
}
