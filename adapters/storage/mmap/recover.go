package mmap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// recovery is what a start found and did, for its log line and Stats.
type recovery struct {
	clean            bool // trusted a clean checkpoint, scanned nothing
	scanFrom, logEnd int64
	records          int64 // records verified
	scanned          int64 // bytes verified
	units, holes     int64 // units rebuilt, hole units written
	corrupt          []span
	corruptBytes     int64
	tornBytes        int64
	unitsDropped     int64 // units that pointed past the log end or at a corrupt record
	took             time.Duration

	pending map[*cqueue]*pendingUnits // units rebuilt but not yet written, per queue
}

// pendingUnits are the units recovery rebuilt for one queue and writes in one go.
type pendingUnits struct {
	from    int64  // queue offset of the first unit in buf
	buf     []byte // encoded units
	lastEnd int64  // where the queue's last record ends in the log, or 0 when unknown
}

// pendingUnitsMax is how many bytes of units recovery gathers per queue before writing them.
const pendingUnitsMax = 64 << 10

// pendingFor returns the pending units of q, starting them at q.next.
func (r *recovery) pendingFor(q *cqueue, dispatchFrom int64) *pendingUnits {
	if pu := r.pending[q]; pu != nil {
		return pu
	}
	pu := &pendingUnits{from: q.next, lastEnd: dispatchFrom}
	if q.next > q.minOff.Load() {
		pu.lastEnd = 0 // behind a hole: only the log size bounds a gap
		if u, ok := q.unitAt(q.next - 1); ok && u.Size != holeUnit.Size {
			pu.lastEnd = u.PhyOffset + int64(u.Size)
		}
	}
	if r.pending == nil {
		r.pending = map[*cqueue]*pendingUnits{}
	}
	r.pending[q] = pu
	return pu
}

// flush writes the pending units of q.
func (pu *pendingUnits) flush(q *cqueue) error {
	if len(pu.buf) == 0 {
		return nil
	}
	if err := q.write(pu.from, pu.buf); err != nil {
		return err
	}
	pu.from += int64(len(pu.buf) / unitSize)
	pu.buf = pu.buf[:0]
	return nil
}

// flushUnits writes every queue's pending units.
func (r *recovery) flushUnits() error {
	for q, pu := range r.pending {
		if err := pu.flush(q); err != nil {
			return err
		}
	}
	return nil
}

// span is a run [from, to) of the log.
type span struct{ from, to int64 }

// recover opens the log and the consume queues and makes them agree.
//
// After a clean stop (checkpoint flagged clean, its offsets matching the files: see
// cleanStart) no record is read. Otherwise crashRecover:
//
//  1. every consume queue keeps the units of records below the checkpoint's dispatched offset
//     (durable when the checkpoint was written) and drops the rest (keepDispatchedUnits);
//  2. the log is verified (magic, size, layout, stored offset, body CRC: checkRecord) from the
//     start of the segment holding the smaller of the checkpoint's dispatched and flushed
//     offsets, and each good record at or past the dispatched offset is dispatched again
//     (dispatchRecovered: its unit, and any other index built from the log);
//  3. a bad record below the flushed offset is damage to durable data: it is skipped (resync)
//     and the records after it are kept; a bad record at or past it is a torn tail and ends the
//     log, and so does damage with no good record anywhere after it;
//  4. the log is cut after its end (the rest of the segment reads as zeros, later segments are
//     removed), units pointing past the end are dropped and units pointing at a skipped record
//     become holes (dropUnits), and the verified part of the log is fsynced, so that the new
//     checkpoint's flushed offset is true.
//
// Without a checkpoint, every unit is rebuilt from the whole log, and every bad record with a
// good one somewhere after it is taken for damage in the middle.
func (s *Store) recover(ctx context.Context) error {
	started := time.Now()
	for _, d := range []string{s.clDir, s.cqDir} {
		if err := durable.MkdirAll(d); err != nil {
			return err
		}
	}
	cp, cpOK, err := s.openCheckpoint()
	if err != nil {
		return err
	}
	resized, err := s.openSegments()
	if err != nil {
		return err
	}
	if err := s.openQueues(); err != nil {
		return err
	}
	var rec recovery
	switch {
	case !cpOK && len(s.segs) == 0 && len(s.queues) == 0:
		rec.clean = true // a new store: nothing to verify, nothing to warn about
	case cpOK && cp.clean && !resized && s.cleanStart(cp):
		rec.clean, rec.scanFrom, rec.logEnd = true, cp.dispatched, cp.dispatched
	default:
		if err := s.crashRecover(ctx, cp, cpOK, &rec); err != nil {
			return err
		}
	}
	end := rec.logEnd
	s.writePos = end
	s.committed.Store(end)
	s.flush.init(end)
	// The recovered log is the truth now, whatever the old checkpoint said: everything below
	// its end is dispatched and on disk, nothing above exists.
	s.ckLast, s.ckFlushed = end, end
	if err := s.recoverKeyIndex(ctx, end); err != nil {
		return err
	}
	took := time.Since(started)
	s.setRecovery(rec, took)
	fields := []zap.Field{
		zap.Bool("clean", rec.clean), zap.Duration("took", took), zap.Int("segments", len(s.segs)),
		zap.Int("queues", len(s.queues)), zap.Int64("logEnd", end),
	}
	if !rec.clean {
		fields = append(fields, zap.Int64("scanFrom", rec.scanFrom), zap.Int64("recordsVerified", rec.records),
			zap.Int64("bytesVerified", rec.scanned), zap.Int64("unitsRebuilt", rec.units), zap.Int64("holesFilled", rec.holes),
			zap.Int("corruptSkipped", len(rec.corrupt)), zap.Int64("corruptBytes", rec.corruptBytes),
			zap.Int64("tornTailBytes", rec.tornBytes), zap.Int64("unitsDropped", rec.unitsDropped))
	}
	s.log.Info("store recovered", fields...)
	if !rec.clean {
		s.log.Warn("the store was not stopped cleanly; the log was verified from the checkpoint on and the index rebuilt")
	}
	return s.writeCheckpoint(ckStart) // not clean: from now on a crash reads as one
}

// cleanStart reports whether the files are as a clean stop at cp left them: the log ends at
// its offsets inside the last segment with nothing written after, and no unit points past it.
// Anything else (a file grown, cut or written since) falls back to a crash recovery.
func (s *Store) cleanStart(cp checkpointData) bool {
	end := cp.dispatched
	if cp.flushed != end {
		return false
	}
	if len(s.segs) == 0 {
		return end == 0
	}
	first, last := s.segs[0], s.segs[len(s.segs)-1]
	if end < first.base || end < last.base || end > last.base+s.cfg.SegmentSize {
		return false
	}
	if off := end - last.base; off < s.cfg.SegmentSize {
		// pread, not the mapping: past the end may be a hole, and reading a hole through a
		// mapping allocates a page on tmpfs, which faults when it is full.
		var after [blankHeaderSize]byte
		if off+blankHeaderSize > s.cfg.SegmentSize {
			return false
		}
		if _, err := last.f.ReadAt(after[:], off); err != nil || !allZero(after[:]) {
			return false
		}
	}
	for _, q := range s.queues {
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		if hi <= lo {
			continue
		}
		u, ok := q.unitAt(hi - 1)
		if !ok || u.Size != holeUnit.Size && u.PhyOffset+int64(u.Size) > end {
			return false
		}
	}
	return true
}

// crashRecover is recover after anything but a clean stop; it sets rec.logEnd.
func (s *Store) crashRecover(ctx context.Context, cp checkpointData, cpOK bool, rec *recovery) error {
	dispatched, flushed := int64(0), int64(math.MaxInt64) // no checkpoint: nothing known
	if cpOK {
		dispatched = cp.dispatched
		if cp.flushed >= 0 {
			flushed = cp.flushed
		}
	}
	dispatchFrom, err := s.keepDispatchedUnits(dispatched)
	if err != nil {
		return err
	}
	rec.scanFrom = s.scanStart(min(dispatchFrom, flushed))
	end, err := s.scanLog(ctx, rec.scanFrom, dispatchFrom, flushed, rec)
	if err != nil {
		return err
	}
	if err := rec.flushUnits(); err != nil {
		return err
	}
	rec.pending = nil
	rec.logEnd = end
	if end < flushed && flushed != math.MaxInt64 {
		s.log.Error("the commit log ends below its flushed offset: records that were on disk are lost",
			zap.Int64("logEnd", end), zap.Int64("flushed", flushed))
	}
	if err := s.cutLog(end, rec); err != nil {
		return err
	}
	if err := s.dropUnits(end, rec); err != nil {
		return err
	}
	// The verified records may be only in the page cache (the process died, the machine did
	// not): make them durable before a checkpoint says they are.
	for _, seg := range s.segmentsIn(rec.scanFrom, end) {
		if err := s.syncFn(seg.f); err != nil {
			return fmt.Errorf("sync commit log segment %d: %w", seg.base, err)
		}
	}
	return nil
}

// openSegments opens every commit-log file; they must be contiguous. Only the last may have the
// wrong size (a crash while it was created, or a tail cut by hand): it is resized, and resized
// reports it.
func (s *Store) openSegments() (resized bool, err error) {
	bases, err := listFiles(s.clDir, s.log)
	if err != nil {
		return false, err
	}
	for i, base := range bases {
		if base%s.cfg.SegmentSize != 0 || (i > 0 && base != bases[i-1]+s.cfg.SegmentSize) {
			return false, fmt.Errorf("%w: commit log file %s does not follow the previous one with segment size %d",
				storage.ErrCorrupt, fileName(base), s.cfg.SegmentSize)
		}
		last := i == len(bases)-1
		if last {
			st, err := os.Stat(filepath.Join(s.clDir, fileName(base)))
			if err != nil {
				return false, err
			}
			resized = st.Size() != s.cfg.SegmentSize
		}
		seg, err := openSegment(s.clDir, base, s.cfg.SegmentSize, false, last)
		if err != nil {
			return false, fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
		}
		s.segs = append(s.segs, seg)
	}
	return resized, nil
}

// openQueues opens the consume queues under consumequeue/<topic>/<queueId>/ and sets their
// bounds from the units they hold. Entries that are not the store's are left alone.
func (s *Store) openQueues() error {
	topics, err := os.ReadDir(s.cqDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.cqDir, err)
	}
	for _, t := range topics {
		if !t.IsDir() || records.CheckTopic(t.Name()) != nil {
			s.log.Warn("ignoring a foreign entry in the consume queue directory", zap.String("name", t.Name()))
			continue
		}
		ids, err := os.ReadDir(filepath.Join(s.cqDir, t.Name()))
		if err != nil {
			return fmt.Errorf("list consume queues of %s: %w", t.Name(), err)
		}
		for _, id := range ids {
			qid, ok := parseQueueDir(id.Name())
			if !id.IsDir() || !ok {
				s.log.Warn("ignoring a foreign entry in the consume queue directory", zap.String("topic", t.Name()), zap.String("name", id.Name()))
				continue
			}
			q := s.newQueue(topic.QueueRef{Topic: t.Name(), QueueID: qid})
			if err := s.openQueue(q); err != nil {
				_ = q.close()
				return err
			}
			s.queues[q.ref] = q
		}
	}
	return nil
}

func (s *Store) openQueue(q *cqueue) error {
	bases, err := listFiles(q.dir, s.log)
	if err != nil {
		return err
	}
	for i, base := range bases {
		if base%q.fileSize != 0 || (i > 0 && base != bases[i-1]+q.fileSize) {
			return fmt.Errorf("%w: consume queue %s: file %s does not follow the previous one", storage.ErrCorrupt, q.ref, fileName(base))
		}
		f, err := openCQFile(filepath.Join(q.dir, fileName(base)), base, q.fileSize, false)
		if err != nil {
			return fmt.Errorf("consume queue %s: %w", q.ref, err)
		}
		q.files = append(q.files, f)
	}
	if len(q.files) == 0 {
		return nil
	}
	if err := q.dropEmptyTail(); err != nil {
		return err
	}
	first, last := q.files[0], q.files[len(q.files)-1]
	units := int(q.fileSize / unitSize)
	// Units are written in order and recovery zeroes whatever follows the last unit it keeps,
	// so the written units are a prefix of the file: a real unit never has size 0.
	n := sort.Search(units, func(i int) bool { return decodeUnit(last.data[i*unitSize:]).Size == 0 })
	q.minOff.Store(first.base / unitSize)
	q.maxOff.Store(last.base/unitSize + int64(n))
	q.next = q.maxOff.Load()
	q.synced = last.base
	return nil
}

// dropEmptyTail removes the queue's last files while they hold no unit (and another file is
// before them). The append path makes a file when a batch's first unit falls into it; a batch
// refused after that (a full disk) leaves the file empty behind the queue's real end, which may
// be short of the file before it: counted from the empty file, that end would jump over a gap
// of units that do not exist.
func (q *cqueue) dropEmptyTail() error {
	removed := false
	for n := len(q.files); n > 1; n = len(q.files) {
		f := q.files[n-1]
		// Read, not through the mapping: the empty file may be a hole on a full tmpfs, where
		// reading it through a mapping needs a page and faults.
		var first [unitSize]byte
		if _, err := f.f.ReadAt(first[:], 0); err != nil {
			return fmt.Errorf("consume queue %s: read %s: %w", q.ref, f.f.Name(), err)
		}
		if decodeUnit(first[:]).Size != 0 {
			break
		}
		name := f.f.Name()
		if err := errors.Join(f.close(), os.Remove(name)); err != nil {
			return fmt.Errorf("consume queue %s: remove empty %s: %w", q.ref, name, err)
		}
		q.files[n-1] = nil
		q.files = q.files[:n-1]
		removed = true
	}
	if removed {
		if err := durable.SyncDir(q.dir); err != nil {
			return fmt.Errorf("consume queue %s: %w", q.ref, err)
		}
	}
	return nil
}

// keepDispatchedUnits cuts every queue after its last genuine unit of a record below
// dispatched, and returns where the log must be dispatched again from: dispatched, or lower
// when a queue lost units below it.
//
// The checkpoint synced the units of every record below dispatched before recording it, so
// they are intact; units written since (for records at dispatched or past it) may, after a
// power loss, be missing, or torn (part of a unit on disk, part not), while a later one
// survived. A unit counts as genuine if it is a hole, or points below dispatched at the start
// of a record that names it (magic, size, stored offset, queue offset); every unit past the
// genuine ones is not (zeros, at or past dispatched, or torn and pointing nowhere), so a binary
// search finds the cut whatever survived. A unit below dispatched that is not genuine can also
// be the victim of a record damaged in place: the records after the last genuine unit of that
// queue are then dispatched again.
func (s *Store) keepDispatchedUnits(dispatched int64) (int64, error) {
	dispatchFrom := dispatched
	for _, q := range s.queues {
		if len(q.files) == 0 {
			continue
		}
		lo := q.files[0].base / unitSize
		hi := (q.files[len(q.files)-1].base + q.fileSize) / unitSize
		genuine := func(off int64) bool {
			u, _ := q.unitAt(off)
			return u.Size == holeUnit.Size || u.Size > 0 && u.PhyOffset < dispatched && s.unitMatches(q.ref, off, u)
		}
		n := lo + int64(sort.Search(int(hi-lo), func(i int) bool { return !genuine(lo + int64(i)) }))
		if n < hi {
			if u, _ := q.unitAt(n); u.Size != 0 && u.PhyOffset < dispatched {
				from := int64(0)
				if n > lo {
					if prev, _ := q.unitAt(n - 1); prev.Size != holeUnit.Size {
						from = prev.PhyOffset + int64(prev.Size)
					}
				}
				dispatchFrom = min(dispatchFrom, from)
				s.log.Warn("a consume queue unit below the checkpoint does not match its record; the log is dispatched again from the unit before it",
					zap.Stringer("queue", q.ref), zap.Int64("offset", n), zap.Int64("dispatchFrom", from))
			}
		}
		if err := q.truncateUnits(n); err != nil {
			return 0, err
		}
	}
	return dispatchFrom, nil
}

// unitMatches reports whether u, the unit at offset off of queue ref, points at the start of a
// record that names it: magic, size, stored offset and queue offset. The body is not read.
func (s *Store) unitMatches(ref topic.QueueRef, off int64, u storage.Unit) bool {
	seg := s.segmentAt(u.PhyOffset)
	if seg == nil {
		// Below the log (its segment was removed) there is nothing to check it with.
		return u.PhyOffset >= 0 && len(s.segs) > 0 && u.PhyOffset < s.segs[0].base
	}
	b := seg.data[u.PhyOffset-seg.base:]
	size, magic, ok := wire.PeekRecordHeader(b)
	return ok && size == u.Size && (magic == wire.MagicV1 || magic == wire.MagicV2) && int(size) <= len(b) &&
		size >= minRecordSize &&
		int64(binary.BigEndian.Uint64(b[wire.RecordOffsetPhysOffset:])) == u.PhyOffset &&
		int64(binary.BigEndian.Uint64(b[wire.RecordOffsetQueueOffset:])) == off &&
		int32(binary.BigEndian.Uint32(b[wire.RecordOffsetQueueID:])) == ref.QueueID
}

// scanStart is where the log scan begins: the start of the segment holding from (or the first
// segment), so a tail cut below from is still found.
func (s *Store) scanStart(from int64) int64 {
	if len(s.segs) == 0 {
		return 0
	}
	first, last := s.segs[0].base, s.segs[len(s.segs)-1].base
	if from < first {
		return first
	}
	return min(from-from%s.cfg.SegmentSize, last)
}

// scanLog verifies the records from from on and returns the log end. Good records at or past
// dispatchFrom are dispatched. A bad record below flushed is skipped (see resync); one at or
// past it ends the log.
func (s *Store) scanLog(ctx context.Context, from, dispatchFrom, flushed int64, rec *recovery) (int64, error) {
	p := from
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		seg := s.segmentAt(p)
		if seg == nil {
			return p, nil
		}
		off := p - seg.base
		size, st := checkRecord(seg.data[off:], p)
		if st == recOK && p >= flushed && tornInside(seg.data[off:off+int64(size)], p) {
			st = recBad
		}
		switch st {
		case recBlank:
			rec.scanned += blankHeaderSize
			p = seg.base + s.cfg.SegmentSize
			continue
		case recOK:
			if p >= dispatchFrom {
				ok, err := s.dispatchRecovered(seg.data[off:off+int64(size)], p, dispatchFrom, rec)
				if err != nil {
					return 0, err
				}
				if !ok {
					st = recBadHeader
					break
				}
			}
			rec.records++
			rec.scanned += int64(size)
			p += int64(size)
			continue
		}
		if p >= flushed {
			return p, nil // a torn tail: nothing from here on was known to be on disk
		}
		next, ok := s.resync(seg, p, size, st)
		if !ok {
			return p, nil // nothing good after it anywhere: the tail after all
		}
		s.log.Error("skipping a corrupt stretch of the commit log; the records after it are kept",
			zap.Int64("from", p), zap.Int64("to", next), zap.Bool("framedRecordFailsCRC", st == recBadCRC),
			zap.Bool("framedRecordWithImpossibleHeader", st == recBadHeader))
		rec.corrupt = append(rec.corrupt, span{p, next})
		rec.corruptBytes += next - p
		p = next
	}
}

// resync finds where the log goes on after a bad record at p in seg: right after it when its
// frame and stored offset are intact (only its body CRC failed, or its header names an
// impossible queue), else at the next position in
// seg where a record or the segment's filler verifies, found by searching for their magic
// codes (a record must also carry its own position as its stored offset, which stray bytes
// practically never do), else at the next segment if a later one holds data. ok is false when
// nothing after p verifies, which makes p the end of the log.
func (s *Store) resync(seg *segment, p int64, size int32, st recordState) (int64, bool) {
	if st == recBadCRC || st == recBadHeader {
		return p + int64(size), true
	}
	data := seg.data
	var m magicFinder
	from := p - seg.base + 1
	if next, ok := nextData(seg.f, from); !ok {
		from = int64(len(data)) // nothing was ever written after p: no need to read the zeros
	} else {
		from = max(from, next-next%4096) // a hole reads as zeros: start at the next data
	}
	for i := int(from); i+blankHeaderSize <= len(data); {
		j := m.next(data, i+4)
		if j < 0 {
			break
		}
		q := j - 4
		if _, st := checkRecord(data[q:], seg.base+int64(q)); st != recBad {
			return seg.base + int64(q), true
		}
		i = q + 1
	}
	i := int((seg.base - s.segs[0].base) / s.cfg.SegmentSize)
	for _, later := range s.segs[i+1:] {
		if !allZero(later.data[:blankHeaderSize]) {
			return seg.base + s.cfg.SegmentSize, true
		}
	}
	return 0, false
}

var (
	magicRecordPrefix = []byte{0xDA, 0xA3, 0x20} // V1 0xDAA320A7 and V2 0xDAA320AB
	magicBlankBytes   = []byte{0xCB, 0xD4, 0x31, 0x94}
)

// magicFinder finds where record and filler magic codes start in a segment. It remembers the
// next match of each kind, so a resync reads the segment once however many candidates fail.
type magicFinder struct {
	searched   bool
	rec, blank int // next match at or after the last from, or -1 for none
}

// next returns the first index at or after from where a magic code starts, or -1. Calls must
// not decrease from.
func (m *magicFinder) next(data []byte, from int) int {
	if !m.searched || m.rec >= 0 && m.rec < from {
		m.rec = findRecordMagic(data, from)
	}
	if !m.searched || m.blank >= 0 && m.blank < from {
		m.blank = indexFrom(data, from, magicBlankBytes)
	}
	m.searched = true
	switch {
	case m.rec < 0:
		return m.blank
	case m.blank < 0:
		return m.rec
	}
	return min(m.rec, m.blank)
}

// findRecordMagic is the first index at or after from of a V1 or V2 magic code, or -1.
func findRecordMagic(data []byte, from int) int {
	for {
		k := indexFrom(data, from, magicRecordPrefix)
		if k < 0 || k+3 < len(data) && (data[k+3] == 0xA7 || data[k+3] == 0xAB) {
			return k
		}
		from = k + 1
	}
}

func indexFrom(data []byte, from int, sep []byte) int {
	if from >= len(data) {
		return -1
	}
	if j := bytes.Index(data[from:], sep); j >= 0 {
		return from + j
	}
	return -1
}

// dispatchRecovered re-runs the dispatch of the verified record b at phy, which is at or past
// dispatchFrom: its consume-queue unit, unless the queue holds it. Every index built from the
// log is rebuilt here. ok is false when the record's header names a queue it cannot belong to
// (see reindex): the caller skips it as corrupt.
func (s *Store) dispatchRecovered(b []byte, phy, dispatchFrom int64, rec *recovery) (ok bool, err error) {
	r, _, err := wire.DecodeRecord(b)
	if err != nil {
		return false, fmt.Errorf("%w: verified record at %d does not decode: %w", storage.ErrCorrupt, phy, err)
	}
	if !records.Indexed(r.SysFlag) {
		return true, nil
	}
	return s.reindex(&r, phy, int32(len(b)), dispatchFrom, rec)
}

// reindex adds the unit of the record at phy to its queue's pending units unless the queue holds
// it already. A queue that lacks units before it gets hole units, so queue offsets keep
// matching the records'.
//
// The header fields outside the body carry no checksum, so they are checked before they become
// a path or a number of holes: the topic must be a safe name, the queue id not negative, and
// the gap before the record's queue offset no larger than the number of records that fit
// between the queue's last unit (or dispatchFrom) and phy. ok is false when they are not.
func (s *Store) reindex(r *wire.Record, phy int64, size int32, dispatchFrom int64, rec *recovery) (ok bool, err error) {
	if records.CheckTopic(r.Topic) != nil || r.QueueID < 0 || r.QueueOffset < 0 {
		return false, nil
	}
	q := s.queueFor(topic.QueueRef{Topic: r.Topic, QueueID: r.QueueID})
	if r.QueueOffset < q.next {
		return true, nil
	}
	pu := rec.pendingFor(q, dispatchFrom)
	if gap := r.QueueOffset - q.next; gap > 0 && (phy < pu.lastEnd || gap > (phy-pu.lastEnd)/int64(minRecordSize)) {
		s.log.Error("a record names a queue offset its queue cannot have reached; skipping it",
			zap.Int64("phyOffset", phy), zap.Stringer("queue", q.ref), zap.Int64("queueOffset", r.QueueOffset), zap.Int64("queueMax", q.next))
		return false, nil
	}
	for ; q.next < r.QueueOffset; q.next++ {
		pu.buf = appendUnit(pu.buf, holeUnit)
		rec.holes++
		if len(pu.buf) >= pendingUnitsMax {
			if err := pu.flush(q); err != nil {
				return false, err
			}
		}
	}
	tags, _ := wire.PropertyValue(r.Properties, message.PropertyTags)
	pu.buf = appendUnit(pu.buf, storage.Unit{PhyOffset: phy, Size: size, TagsCode: message.TagsCode(tags)})
	pu.lastEnd = phy + int64(size)
	q.next = r.QueueOffset + 1
	q.maxOff.Store(q.next)
	rec.units++
	if len(pu.buf) >= pendingUnitsMax {
		if err := pu.flush(q); err != nil {
			return false, err
		}
	}
	return true, nil
}

// cutLog drops everything after end: the rest of its segment reads as zeros, and later
// segments are removed. A later segment can hold data only when the log ended at a bad record
// past the flushed offset: data that was never known to be on disk.
func (s *Store) cutLog(end int64, rec *recovery) error {
	seg := s.segmentAt(end)
	if seg == nil {
		return nil
	}
	i := int((seg.base - s.segs[0].base) / s.cfg.SegmentSize)
	for _, later := range s.segs[i+1:] {
		if n := dataRun(later.data); n > 0 {
			rec.tornBytes += int64(n)
			s.log.Error("removing a commit log segment after the log end that holds data never known to be on disk",
				zap.Int64("base", later.base), zap.Int64("logEnd", end))
		}
		if err := later.remove(); err != nil {
			return fmt.Errorf("remove segment %d after the log end: %w", later.base, err)
		}
	}
	if len(s.segs) > i+1 {
		clear(s.segs[i+1:])
		s.segs = s.segs[:i+1]
		if err := durable.SyncDir(s.clDir); err != nil {
			return fmt.Errorf("sync %s: %w", s.clDir, err)
		}
	}
	off := end - seg.base
	if n := dataRun(seg.data[off:]); n > 0 {
		rec.tornBytes += int64(n)
		s.log.Warn("cutting a torn tail from the commit log", zap.Int64("offset", end), zap.Int("bytes", n))
	}
	// Always zero the rest: bytes a torn write left further on must never look like records.
	return seg.zeroFrom(off, s.syncFn)
}

// dataRun is the length of the data at the start of b: up to the first 4 KiB-aligned block of
// zeros. It measures a torn tail without reading a whole sparse segment.
func dataRun(b []byte) int {
	const block = 4096
	for i := 0; i < len(b); {
		next := min(len(b), (i/block+1)*block)
		if allZero(b[i:next]) {
			return i
		}
		i = next
	}
	return len(b)
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// dropUnits makes the units that point at records recovery skipped or cut unreadable: those
// past the log end are dropped (the queue ends before them, trailing holes go too) and those at
// a corrupt record in the middle become holes, which a pull skips like RocketMQ's.
func (s *Store) dropUnits(end int64, rec *recovery) error {
	lowest := end
	if len(rec.corrupt) > 0 {
		lowest = rec.corrupt[0].from
	}
	corrupt := func(u storage.Unit) bool {
		for _, c := range rec.corrupt {
			if u.PhyOffset >= c.from && u.PhyOffset < c.to {
				return true
			}
		}
		return false
	}
	for _, q := range s.queues {
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		n := hi
		for n > lo {
			u, ok := q.unitAt(n - 1)
			if ok && u.Size != holeUnit.Size && u.PhyOffset+int64(u.Size) <= end {
				break
			}
			n--
		}
		if n < hi {
			if err := q.truncateUnits(n); err != nil {
				return err
			}
			rec.unitsDropped += hi - n
			s.log.Warn("dropped consume queue units past the log end", zap.Stringer("queue", q.ref), zap.Int64("from", n), zap.Int64("count", hi-n))
		}
		for i := n - 1; i >= lo; i-- {
			u, ok := q.unitAt(i)
			if !ok {
				break
			}
			if u.Size == holeUnit.Size {
				continue
			}
			if u.PhyOffset < lowest {
				break
			}
			if corrupt(u) {
				if err := q.write(i, appendUnit(nil, holeUnit)); err != nil {
					return err
				}
				rec.unitsDropped++
				s.log.Warn("the consume queue unit of a corrupt record became a hole", zap.Stringer("queue", q.ref), zap.Int64("offset", i))
			}
		}
	}
	return nil
}

// listFiles returns the offsets named by the 20-digit files in dir, ascending.
func listFiles(dir string, log *zap.Logger) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []int64
	for _, e := range entries {
		off, ok := parseFileName(e.Name())
		if !ok || !e.Type().IsRegular() {
			log.Warn("ignoring a foreign file", zap.String("dir", dir), zap.String("name", e.Name()))
			continue
		}
		out = append(out, off)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
