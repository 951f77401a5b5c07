package mmap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// Retention deletes commit-log segments from the head of the log, RocketMQ's way:
//
//   - at one of the DeleteWhen hours, the segments last written more than FileReservedTime ago;
//   - whenever the store's file system is more than DiskHighWatermark full, the oldest segments,
//     expired or not, until it is below again (at most DeleteFilesPerRun per run);
//   - never the last segment, and never one that reaches past the durable watermark (so never
//     the segment being written, and never one the flusher may still be syncing).
//
// Above DiskCriticalWatermark appends are refused with storage.ErrUnavailable (diskspace.go).
//
// Deleting a segment while readers use its mapping: every read of a segment's mapping happens
// under segMu held for reading (withRecord, the recovery scans), so a segment is first taken out
// of s.segs under segMu held for writing, and only then unmapped and closed. A reader that comes
// later does not find it and gets ErrNotFound; none can still hold it. The flusher syncs segments
// outside segMu (flushLog), but only those reaching past the durable watermark it read when its
// round began, and rounds never overlap, so it never touches a segment wholly below the
// watermark, which is all retention deletes. Consume-queue files are read under their queue's mu
// (readQueue) and synced under ckMu (checkpoint), so they are dropped under both.
//
// After segments go, each consume queue's minimum moves to its first unit whose record is still
// in the log, and queue files wholly below it are deleted: QueueBounds reports the new minimum,
// a pull below it answers PULL_OFFSET_MOVED with that minimum. The same correction runs at Start,
// since a queue reopened from its files starts at its first file. Key-index files whose last
// record is below the new minimum are deleted as well (never the one being written), under ckMu
// and the index's own lock, which queries hold while they read.
type retention struct {
	now   func() time.Time        // clock; tests replace it before Start
	usage func() (float64, error) // fraction of the file system in use; tests replace it
	hours [24]bool                // DeleteWhen
	full  atomic.Pointer[error]   // set while usage is above the critical watermark
	runMu sync.Mutex              // one run at a time

	quit, stopped chan struct{}
	started       chan struct{} // closed once the queues were corrected to the recovered log
}

// validateRetention checks the retention settings (part of Config.validate).
func (c Config) validateRetention() error {
	switch {
	case c.FileReservedTime <= 0:
		return fmt.Errorf("mmap store: fileReservedTime %v is not positive", c.FileReservedTime)
	case c.DiskHighWatermark <= 0 || c.DiskHighWatermark > 1:
		return fmt.Errorf("mmap store: diskHighWatermark %v is outside (0, 1]", c.DiskHighWatermark)
	case c.DiskCriticalWatermark <= 0 || c.DiskCriticalWatermark > 1:
		return fmt.Errorf("mmap store: diskCriticalWatermark %v is outside (0, 1]", c.DiskCriticalWatermark)
	case c.DiskCriticalWatermark < c.DiskHighWatermark:
		return fmt.Errorf("mmap store: diskCriticalWatermark %v is below diskHighWatermark %v",
			c.DiskCriticalWatermark, c.DiskHighWatermark)
	case c.CleanInterval <= 0:
		return fmt.Errorf("mmap store: cleanInterval %v is not positive", c.CleanInterval)
	case c.DeleteFilesPerRun <= 0:
		return fmt.Errorf("mmap store: deleteFilesPerRun %d is not positive", c.DeleteFilesPerRun)
	}
	_, err := parseDeleteWhen(c.DeleteWhen)
	return err
}

// parseDeleteWhen reads "04" or "04;16": hours of the day.
func parseDeleteWhen(s string) ([24]bool, error) {
	var hours [24]bool
	for _, f := range strings.Split(s, ";") {
		f = strings.TrimSpace(f)
		h, err := strconv.Atoi(f)
		if err != nil || h < 0 || h > 23 {
			return hours, fmt.Errorf("mmap store: deleteWhen %q: %q is not an hour 00..23 (list hours with ';', e.g. \"04;16\")", s, f)
		}
		hours[h] = true
	}
	return hours, nil
}

// startRetention starts the retention loop, which first corrects the consume queues' minimums
// to the recovered log. Called by Start once the store is open.
func (s *Store) startRetention() {
	r := &s.ret
	if r.now == nil {
		r.now = time.Now
	}
	if r.usage == nil {
		dir := s.cfg.Dir
		r.usage = func() (float64, error) { return diskUsage(dir) }
	}
	r.hours, _ = parseDeleteWhen(s.cfg.DeleteWhen) // validated in New
	r.quit = make(chan struct{})
	r.stopped = make(chan struct{})
	r.started = make(chan struct{})
	s.measureDisk()
	go func() {
		defer close(r.stopped)
		// Start holds the append lock, which comes after ckMu: correct the queues (and drop
		// index files a crash kept between deleting segments and them) from here.
		if logMin, _ := s.LogBounds(); logMin > 0 {
			s.trimQueueHeads(logMin)
			s.trimKeyIndex(logMin)
		}
		close(r.started)
		tick := time.NewTicker(s.cfg.CleanInterval)
		defer tick.Stop()
		for {
			select {
			case <-r.quit:
				return
			case <-tick.C:
				s.runRetention()
			}
		}
	}()
}

// stopRetention ends the retention loop and waits for a run in progress.
func (s *Store) stopRetention() {
	if s.ret.quit == nil {
		return
	}
	close(s.ret.quit)
	<-s.ret.stopped
}

// runRetention is one retention pass: measure, delete what is due, correct the queues. It
// returns the number of segments deleted.
func (s *Store) runRetention() int {
	r := &s.ret
	r.runMu.Lock()
	defer r.runMu.Unlock()
	usage := s.measureDisk()
	now := r.now()
	deleted := 0
	if r.hours[now.Hour()] {
		deleted += s.deleteSegments(s.cfg.DeleteFilesPerRun, func(seg *segment) bool {
			st, err := seg.f.Stat()
			return err == nil && now.Sub(st.ModTime()) > s.cfg.FileReservedTime
		})
	}
	if usage > s.cfg.DiskHighWatermark && deleted < s.cfg.DeleteFilesPerRun {
		s.log.Warn("disk usage above the high watermark: deleting the oldest commit log segments",
			zap.Float64("usage", usage), zap.Float64("highWatermark", s.cfg.DiskHighWatermark))
		deleted += s.deleteSegments(s.cfg.DeleteFilesPerRun-deleted, func(*segment) bool {
			u, err := r.usage()
			return err == nil && u > s.cfg.DiskHighWatermark
		})
	}
	if deleted > 0 {
		logMin, _ := s.LogBounds()
		s.trimQueueHeads(logMin)
		s.trimKeyIndex(logMin)
		s.measureDisk()
	}
	return deleted
}

// deleteSegments deletes up to limit segments from the head of the log while due says so.
func (s *Store) deleteSegments(limit int, due func(*segment) bool) int {
	flushed, _ := s.flush.state()
	n := 0
	for n < limit {
		s.segMu.Lock()
		if s.segClosed || len(s.segs) < 2 {
			s.segMu.Unlock()
			break
		}
		seg := s.segs[0]
		if seg.base+s.cfg.SegmentSize > flushed || !due(seg) {
			s.segMu.Unlock()
			break
		}
		s.segs[0] = nil
		s.segs = s.segs[1:]
		s.segMu.Unlock()
		// No reader can reach seg any more (see the type comment): unmap and delete it.
		if err := seg.remove(); err != nil {
			s.log.Warn("delete commit log segment", zap.Int64("base", seg.base), zap.Error(err))
		}
		s.log.Info("commit log segment deleted by retention", zap.Int64("base", seg.base))
		n++
	}
	if n > 0 {
		if err := durable.SyncDir(s.clDir); err != nil {
			s.log.Warn("sync commit log directory", zap.Error(err))
		}
	}
	return n
}

// trimQueueHeads moves every consume queue's minimum to its first unit whose record is at or
// past logMin, and deletes the queue files wholly below it (never a queue's last file).
func (s *Store) trimQueueHeads(logMin int64) {
	s.ckMu.Lock() // checkpoint syncs queue files outside their mu
	defer s.ckMu.Unlock()
	s.qmu.RLock()
	if s.qClosed {
		s.qmu.RUnlock()
		return
	}
	queues := make([]*cqueue, 0, len(s.queues))
	for _, q := range s.queues {
		queues = append(queues, q)
	}
	s.qmu.RUnlock()
	for _, q := range queues {
		var gone []*cqFile
		q.mu.Lock()
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		newMin := lo + searchUnits(hi-lo, func(i int64) bool { return q.keptFrom(lo+i, hi, logMin) })
		if newMin > lo {
			q.minOff.Store(newMin)
		}
		for len(q.files) > 1 && q.files[0].base+q.fileSize <= newMin*unitSize {
			gone = append(gone, q.files[0])
			q.files[0] = nil
			q.files = q.files[1:]
		}
		q.mu.Unlock()
		if newMin > lo {
			s.log.Info("consume queue minimum moved by retention", zap.Stringer("queue", q.ref),
				zap.Int64("from", lo), zap.Int64("to", newMin), zap.Int("filesDeleted", len(gone)))
		}
		for _, f := range gone {
			if err := f.close(); err != nil {
				s.log.Warn("close consume queue file", zap.Stringer("queue", q.ref), zap.Error(err))
			}
			if err := os.Remove(f.f.Name()); err != nil {
				s.log.Warn("delete consume queue file", zap.Stringer("queue", q.ref), zap.Error(err))
			}
		}
		if len(gone) > 0 {
			if err := durable.SyncDir(q.dir); err != nil {
				s.log.Warn("sync consume queue directory", zap.Stringer("queue", q.ref), zap.Error(err))
			}
		}
	}
}

// keptFrom reports whether the first non-hole unit at or after off (before hi) points at or past
// logMin; true when there is none. Monotone in off, since a queue's records ascend in the log.
// Callers hold q.mu.
func (q *cqueue) keptFrom(off, hi, logMin int64) bool {
	for ; off < hi; off++ {
		u, ok := q.unitAt(off)
		if !ok {
			return false
		}
		if u.Size != holeUnit.Size {
			return u.PhyOffset >= logMin
		}
	}
	return true
}

// searchUnits is sort.Search over int64: the least i in [0, n) with f(i), or n.
func searchUnits(n int64, f func(int64) bool) int64 {
	i, j := int64(0), n
	for i < j {
		h := int64(uint64(i+j) >> 1)
		if !f(h) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

// measureDisk measures the file system's usage and sets or clears the critical-watermark
// refusal. A failed measurement refuses nothing.
func (s *Store) measureDisk() float64 {
	r := &s.ret
	usage, err := r.usage()
	if err != nil {
		s.log.Warn("cannot measure disk usage", zap.String("dir", s.cfg.Dir), zap.Error(err))
		return 0
	}
	if usage > s.cfg.DiskCriticalWatermark {
		err := fmt.Errorf("%w: disk usage %.1f%% of %s is above the critical watermark %.1f%%; writes resume once space is free",
			storage.ErrUnavailable, usage*100, s.cfg.Dir, s.cfg.DiskCriticalWatermark*100)
		if r.full.Swap(&err) == nil {
			s.log.Error("store refuses writes: disk almost full", zap.Float64("usage", usage),
				zap.Float64("criticalWatermark", s.cfg.DiskCriticalWatermark))
		}
	} else if r.full.Swap(nil) != nil {
		s.log.Info("store takes writes again: disk usage below the critical watermark", zap.Float64("usage", usage))
	}
	return usage
}

// diskFull is the append path's check: the refusal error while the disk is above the critical
// watermark, nil otherwise. While refusing it measures again (a statfs, cheap), so writes resume
// as soon as space is free rather than at the next retention run.
func (s *Store) diskFull() error {
	r := &s.ret
	if r.full.Load() == nil {
		return nil
	}
	s.measureDisk()
	if p := r.full.Load(); p != nil {
		return *p
	}
	return nil
}
