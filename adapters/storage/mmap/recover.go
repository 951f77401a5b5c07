package mmap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// recovery counts what recover did, for its log line.
type recovery struct {
	scanFrom, logEnd int64
	records, units   int
	holes, trimmed   int64
	cut              bool
}

// recover opens the log and the consume queues and makes them agree:
//
//  1. open the segments (contiguous, full size);
//  2. open the consume queues and count their units;
//  3. scan the log from the start of the segment holding the checkpoint's dispatched offset (the
//     first segment without a checkpoint), checking each record's magic, size, layout and
//     physical offset; the first record that fails ends the log;
//  4. index the scanned records at or past the dispatched offset that their queue lacks;
//  5. cut the log after its last good record and drop units that point past it.
//
// Each step is a function, so CRC checks (in scanRecord), skipping a corrupt record in the
// middle (in scanLog) and faster start from a clean checkpoint can be added where they belong.
func (s *Store) recover(ctx context.Context) error {
	for _, d := range []string{s.clDir, s.cqDir} {
		if err := mkdirSynced(d); err != nil {
			return err
		}
	}
	cp, cpOK, err := s.openCheckpoint()
	if err != nil {
		return err
	}
	if err := s.openSegments(); err != nil {
		return err
	}
	if err := s.openQueues(); err != nil {
		return err
	}
	rec := recovery{scanFrom: s.scanStart(cp, cpOK)}
	dispatchFrom := int64(0)
	if cpOK {
		dispatchFrom = cp.dispatched
	}
	end, err := s.scanLog(ctx, rec.scanFrom, dispatchFrom, &rec)
	if err != nil {
		return err
	}
	rec.logEnd = end
	if rec.cut, err = s.cutLog(end); err != nil {
		return err
	}
	if rec.trimmed, err = s.trimQueues(end); err != nil {
		return err
	}
	s.writePos = end
	s.committed.Store(end)
	s.flush.init(end)
	s.log.Info("store recovered",
		zap.Bool("cleanCheckpoint", cpOK && cp.clean), zap.Int("segments", len(s.segs)), zap.Int("queues", len(s.queues)),
		zap.Int64("scanFrom", rec.scanFrom), zap.Int64("logEnd", end), zap.Int("recordsScanned", rec.records),
		zap.Int("unitsRebuilt", rec.units), zap.Int64("holesFilled", rec.holes), zap.Int64("unitsTrimmed", rec.trimmed),
		zap.Bool("tailCut", rec.cut))
	if cpOK && !cp.clean {
		s.log.Warn("the store was not stopped cleanly; the log tail was verified and the index rebuilt")
	}
	if err := s.recoverKeyIndex(ctx, end); err != nil {
		return err
	}
	return s.checkpoint(false) // from now on a crash reads as "not clean"
}

// openSegments opens every commit-log file; they must be contiguous. Only the last may have the
// wrong size (a crash while it was created, or a tail cut by hand): it is resized.
func (s *Store) openSegments() error {
	bases, err := listFiles(s.clDir, s.log)
	if err != nil {
		return err
	}
	for i, base := range bases {
		if base%s.cfg.SegmentSize != 0 || (i > 0 && base != bases[i-1]+s.cfg.SegmentSize) {
			return fmt.Errorf("%w: commit log file %s does not follow the previous one with segment size %d",
				storage.ErrCorrupt, fileName(base), s.cfg.SegmentSize)
		}
		last := i == len(bases)-1
		seg, err := openSegment(s.clDir, base, s.cfg.SegmentSize, false, last)
		if err != nil {
			return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
		}
		s.segs = append(s.segs, seg)
	}
	return nil
}

// openQueues opens the consume queues under consumequeue/<topic>/<queueId>/ and sets their
// bounds from the units they hold. Entries that are not the store's are left alone.
func (s *Store) openQueues() error {
	topics, err := os.ReadDir(s.cqDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.cqDir, err)
	}
	for _, t := range topics {
		if !t.IsDir() || checkTopic(t.Name()) != nil {
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
	first, last := q.files[0], q.files[len(q.files)-1]
	units := int(q.fileSize / unitSize)
	// Units are written in order, so the written ones are a prefix of the file: a real unit
	// never has size 0.
	n := sort.Search(units, func(i int) bool { return decodeUnit(last.data[i*unitSize:]).Size == 0 })
	q.minOff.Store(first.base / unitSize)
	q.maxOff.Store(last.base/unitSize + int64(n))
	q.next = q.maxOff.Load()
	q.synced = last.base
	return nil
}

// scanStart is where the log scan begins: the start of the segment holding the checkpoint's
// dispatched offset, so a tail cut below that offset is still found.
func (s *Store) scanStart(cp checkpointData, ok bool) int64 {
	if len(s.segs) == 0 {
		return 0
	}
	first, last := s.segs[0].base, s.segs[len(s.segs)-1].base
	if !ok || cp.dispatched < first {
		return first
	}
	base := cp.dispatched - cp.dispatched%s.cfg.SegmentSize
	return min(base, last)
}

// scanLog walks the records from from and returns the offset after the last good one. Records
// at or past dispatchFrom are indexed where their queue lacks them.
func (s *Store) scanLog(ctx context.Context, from, dispatchFrom int64, rec *recovery) (int64, error) {
	p := from
	for {
		if rec.records%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		seg := s.segmentAt(p)
		if seg == nil {
			return p, nil
		}
		off := p - seg.base
		r, size, blank, ok := scanRecord(seg.data[off:], p)
		switch {
		case !ok:
			return p, nil
		case blank:
			p = seg.base + s.cfg.SegmentSize
			continue
		}
		rec.records++
		if p >= dispatchFrom && indexed(r.SysFlag) {
			if err := s.reindex(&r, p, size, rec); err != nil {
				return 0, err
			}
		}
		p += int64(size)
	}
}

// scanRecord checks the record at the start of b (the rest of its segment), which should sit
// at physical offset p. blank: a filler that ends the segment. ok false: no valid record here.
func scanRecord(b []byte, p int64) (r wire.Record, size int32, blank, ok bool) {
	hsize, magic, hok := wire.PeekRecordHeader(b)
	if !hok {
		return r, 0, false, false
	}
	if magic == wire.MagicBlank {
		return r, hsize, int(hsize) == len(b), int(hsize) == len(b)
	}
	if hsize < minRecordSize || int(hsize)+blankHeaderSize > len(b) {
		return r, 0, false, false
	}
	r, _, err := wire.DecodeRecord(b[:hsize])
	if err != nil || r.PhysicalOffset != p {
		return r, 0, false, false
	}
	return r, hsize, false, true
}

// reindex writes the unit of the record at phy unless its queue already holds it. A queue that
// lacks units before it gets hole units, so queue offsets keep matching the records'.
func (s *Store) reindex(r *wire.Record, phy int64, size int32, rec *recovery) error {
	q := s.queueFor(topic.QueueRef{Topic: r.Topic, QueueID: r.QueueID})
	if r.QueueOffset < q.next {
		return nil
	}
	q.pending = q.pending[:0]
	for off := q.next; off < r.QueueOffset; off++ {
		q.pending = appendUnit(q.pending, holeUnit)
		rec.holes++
	}
	tags, _ := wire.PropertyValue(r.Properties, message.PropertyTags)
	q.pending = appendUnit(q.pending, storage.Unit{PhyOffset: phy, Size: size, TagsCode: message.TagsCode(tags)})
	if err := q.write(q.next, q.pending); err != nil {
		return err
	}
	q.pending = q.pending[:0]
	q.next = r.QueueOffset + 1
	q.maxOff.Store(q.next)
	rec.units++
	return nil
}

// cutLog drops everything after end: the rest of its segment reads as zeros, and later
// segments, which may only be empty leftovers, are removed. A later segment that holds data
// means a corrupt record in the middle of the log; the store refuses to start rather than
// drop it.
func (s *Store) cutLog(end int64) (bool, error) {
	seg := s.segmentAt(end)
	if seg == nil {
		return false, nil
	}
	cut := false
	i := int((seg.base - s.segs[0].base) / s.cfg.SegmentSize)
	for _, later := range s.segs[i+1:] {
		if size, magic, _ := wire.PeekRecordHeader(later.data); size != 0 || magic != 0 {
			return false, fmt.Errorf("%w: the log ends at a bad record at %d but segment %d holds data",
				storage.ErrCorrupt, end, later.base)
		}
	}
	for _, later := range s.segs[i+1:] {
		if err := later.remove(); err != nil {
			return false, fmt.Errorf("remove empty segment %d: %w", later.base, err)
		}
		s.log.Warn("removed an empty segment after the log end", zap.Int64("base", later.base))
		cut = true
	}
	s.segs = s.segs[:i+1]
	off := end - seg.base
	if size, magic, _ := wire.PeekRecordHeader(seg.data[off:]); size != 0 || magic != 0 {
		s.log.Warn("cutting a torn tail from the commit log", zap.Int64("offset", end))
		cut = true
	}
	// Always zero the rest: bytes a torn write left further on must never look like records.
	if err := seg.zeroFrom(off); err != nil {
		return false, err
	}
	return cut, syncDir(s.clDir)
}

// trimQueues drops units that point past the log end (their records were lost with the tail).
func (s *Store) trimQueues(end int64) (int64, error) {
	var trimmed int64
	for _, q := range s.queues {
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		n := hi
		for n > lo {
			u, ok := q.unitAt(n - 1)
			if ok && (u.Size == holeUnit.Size || u.PhyOffset+int64(u.Size) <= end) {
				break
			}
			n--
		}
		if n == hi {
			continue
		}
		if err := q.write(n, make([]byte, (hi-n)*unitSize)); err != nil {
			return 0, err
		}
		q.maxOff.Store(n)
		q.next = n
		trimmed += hi - n
		s.log.Warn("dropped consume queue units past the log end", zap.Stringer("queue", q.ref), zap.Int64("from", n), zap.Int64("count", hi-n))
	}
	return trimmed, nil
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
