package mmap

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// chunk is a contiguous run of an encoded batch, or the blank record ending a segment, and the
// log offset it goes to. A batch has more than one chunk only when it rolls over to a new
// segment.
type chunk struct {
	pos int64
	b   []byte // in a batch's buf, or in Store.blanks
}

// arrival is one queue's new max offset, announced after the append lock is released.
type arrival struct {
	q   topic.QueueRef
	max int64
}

// Append implements storage.CommitLog.
func (s *Store) Append(ctx context.Context, msgs []message.Message, dst []storage.AppendResult) ([]storage.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	if err := records.CheckBatch(msgs); err != nil {
		return dst, err
	}
	if len(msgs) == 0 {
		return dst, nil
	}
	b := s.getBatch()
	defer s.putBatch(b)
	if err := s.encode(b, msgs); err != nil {
		return dst, err
	}
	n := len(dst)
	dst = slices.Grow(dst, len(msgs))[:n+len(msgs)]
	b.msgs, b.res = msgs, dst[n:]
	s.commit(b)
	b.msgs, b.res = nil, nil
	end, err := b.end, b.err
	if err != nil {
		return dst[:n], err
	}
	s.noteAppend(end-dst[n].PhysicalOffset, end)
	if fns := s.arrivals.Load(); fns != nil {
		for _, a := range b.arrived {
			for _, fn := range *fns {
				fn(a.q, a.max)
			}
		}
	}
	switch {
	case s.cfg.Flush == FlushSync:
		if err := s.awaitFlush(ctx, end); err != nil {
			return dst, err
		}
	case end-s.flush.durable.Load() >= s.cfg.FlushDirtyThreshold:
		s.flush.wake()
	}
	return dst, nil
}

// appendLocked places, writes and indexes the encoded batches of group one after the other in
// one pass (one write per segment for small batches, one key-index commit), fills their results
// and ends and hands the queues that grew to the last batch (arrived). The caller holds mu. A
// failure fails every batch of the group, and none of them is stored.
func (s *Store) appendLocked(group []*batch) error {
	switch {
	case s.state != stateOpen:
		return fmt.Errorf("append: %w", storage.ErrClosed)
	case s.failed() != nil:
		return fmt.Errorf("append: %w", s.failed())
	case s.diskFull() != nil: // above the critical watermark (retention.go)
		return fmt.Errorf("append: %w", s.diskFull())
	}
	ts := max(time.Now().UnixMilli(), s.lastTS)
	pos := s.writePos
	s.blanks = s.blanks[:0]
	s.chunks = s.chunks[:0]
	for _, b := range group {
		pos = s.place(b, pos, ts)
		b.end = pos
	}
	s.lastTS = ts
	if err := s.writeBatch(); err != nil {
		s.abandonBatch()
		return fmt.Errorf("append: %w: %w", storage.ErrUnavailable, err)
	}
	for _, q := range s.touched {
		if err := q.write(q.maxOff.Load(), q.pending); err != nil {
			if uerr := s.unwindUnits(err); uerr != nil { // a full disk: not latched (diskspace.go)
				s.abandonBatch()
				return fmt.Errorf("append: %w", s.undoAll(uerr))
			}
			// The log holds the records but the index does not: refuse writes until a restart
			// rebuilds the index from the log, and take the refused records back out of it.
			s.abandonBatch()
			return fmt.Errorf("append: %w", s.undoAll(s.fail(err)))
		}
	}
	if err := s.dispatchKeys(group); err != nil {
		// A full disk under the key index: take the batches back out as for a consume queue.
		uerr := s.unwindUnits(err)
		if uerr == nil {
			uerr = s.fail(err) // the units could not be dropped
		}
		s.abandonBatch()
		return fmt.Errorf("append: %w", s.undoAll(uerr))
	}
	s.writePos = pos
	s.committed.Store(pos) // records first, then their units: a unit never points past the log end
	last := group[len(group)-1]
	for _, q := range s.touched {
		q.maxOff.Store(q.next)
		q.pending = q.pending[:0]
		last.arrived = append(last.arrived, arrival{q.ref, q.next})
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	return nil
}

// undoAll zeroes everything the group wrote (undoWrites) and returns cause.
func (s *Store) undoAll(cause error) error {
	last := len(s.chunks) - 1
	return s.undoWrites(last, len(s.chunks[last].b), cause)
}

// place gives the batch's records, from log offset pos, their positions, queue offsets and
// store timestamp ts, patching them into the encoded records, adds the batch's chunks (split at
// segment ends, where a blank record fills the rest of a segment that the next record does not
// fit in) and stages the records' consume-queue units. It fills b.res and returns the log end
// after the batch.
func (s *Store) place(b *batch, pos, ts int64) int64 {
	msgs, res := b.msgs, b.res
	from, start := pos, 0
	be := binary.BigEndian
	var last *cqueue
	for i := range b.recs {
		rec := &b.recs[i]
		if rem := s.cfg.SegmentSize - pos%s.cfg.SegmentSize; int64(rec.size)+blankHeaderSize > rem {
			if rec.start > start {
				s.chunks = append(s.chunks, chunk{pos: from, b: b.buf[start:rec.start]})
			}
			n := len(s.blanks)
			s.blanks = be.AppendUint32(s.blanks, uint32(rem))
			s.blanks = be.AppendUint32(s.blanks, wire.MagicBlank)
			// Earlier chunks keep slices of an outgrown s.blanks: its old array still holds them.
			s.chunks = append(s.chunks, chunk{pos: pos, b: s.blanks[n:]})
			pos += rem
			from, start = pos, rec.start
		}
		var qoff int64
		if rec.indexed {
			m := &msgs[i]
			if last == nil || last.ref.Topic != m.Topic || last.ref.QueueID != m.QueueID {
				last = s.queueFor(topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID})
			}
			if len(last.pending) == 0 {
				s.touched = append(s.touched, last)
			}
			qoff = last.next
			last.pending = appendUnit(last.pending, storage.Unit{PhyOffset: pos, Size: int32(rec.size), TagsCode: rec.tagsCode})
			last.next++
		}
		r := b.buf[rec.start : rec.start+rec.size]
		be.PutUint64(r[wire.RecordOffsetQueueOffset:], uint64(qoff))
		be.PutUint64(r[wire.RecordOffsetPhysOffset:], uint64(pos))
		be.PutUint64(r[rec.tsAt:], uint64(ts))
		res[i] = storage.AppendResult{PhysicalOffset: pos, QueueOffset: qoff, Size: int32(rec.size), StoreTimestamp: ts}
		pos += int64(rec.size)
	}
	if len(b.buf) > start {
		s.chunks = append(s.chunks, chunk{pos: from, b: b.buf[start:]})
	}
	return pos
}

// writeBatch writes the chunks to their segments, small chunks that follow each other in a
// segment (the batches of single messages a combiner gathers) with one write. When a write
// fails, what was written is zeroed again (undoWrites).
func (s *Store) writeBatch() error {
	for i := 0; i < len(s.chunks); {
		c := s.chunks[i]
		j, data := i+1, c.b
		if len(c.b) < coalesceChunk {
			end := c.pos + int64(len(c.b))
			for j < len(s.chunks) && s.chunks[j].pos == end && len(s.chunks[j].b) < coalesceChunk &&
				end%s.cfg.SegmentSize != 0 && int(end-c.pos)+len(s.chunks[j].b) <= coalesceMax {
				end += int64(len(s.chunks[j].b))
				j++
			}
			if j > i+1 {
				s.wbuf = s.wbuf[:0]
				for _, d := range s.chunks[i:j] {
					s.wbuf = append(s.wbuf, d.b...)
				}
				data = s.wbuf
			}
		}
		seg, err := s.writableSegment(c.pos)
		if err != nil {
			return s.undoWrites(i, 0, err)
		}
		if n, err := s.writeLog(seg, data, c.pos-seg.base); err != nil {
			k := i // the chunks of the run written in full, and n bytes of chunk k
			for k < j-1 && n >= len(s.chunks[k].b) {
				n -= len(s.chunks[k].b)
				k++
			}
			return s.undoWrites(k, min(n, len(s.chunks[k].b)), fmt.Errorf("write commit log at %d: %w", c.pos, err))
		}
		i = j
	}
	return nil
}

// Chunks under coalesceChunk bytes that follow each other in the log are copied together and
// written with one write of at most coalesceMax bytes: a write per message costs more than the
// copy, a write per large chunk less.
const (
	coalesceChunk = 16 << 10
	coalesceMax   = 256 << 10
)

// writeLog writes b at offset off of seg: a small write into pages the warmer populated by a copy
// into the mapping, anything else with pwrite, everything with the writeAt tests set.
func (s *Store) writeLog(seg *segment, b []byte, off int64) (int, error) {
	if s.writeAt != nil {
		return s.writeAt(seg.f, b, off)
	}
	if len(b) < smallAppend && seg.base+off+int64(len(b)) <= s.warm.populated.Load() {
		s.stats.copiedIn.Add(1)
		return seg.copyIn(b, off) // paged in by the warmer (warm.go)
	}
	return seg.write(b, off)
}

// undoWrites zeroes what a refused batch wrote past the log end (chunks before i in full, n
// bytes of chunk i) and returns cause. The next batch overwrites those bytes only as far as it
// reaches: without this, a shorter batch would leave complete records of the refused one after
// the log end, and a recovery scan would take them for records. Overwriting bytes that were
// just written needs no new disk block, so this works on a full disk; if it fails anyway, the
// store refuses writes.
func (s *Store) undoWrites(i, n int, cause error) error {
	for j := 0; j <= i; j++ {
		c := s.chunks[j]
		l := len(c.b)
		if j == i {
			l = n
		}
		if l <= 0 {
			continue
		}
		s.segMu.RLock()
		seg := s.segmentAt(c.pos)
		s.segMu.RUnlock()
		if seg == nil {
			continue
		}
		if _, err := s.writeLog(seg, make([]byte, l), c.pos-seg.base); err != nil {
			return s.fail(fmt.Errorf("%w; then zeroing it at %d: %w", cause, c.pos, err))
		}
	}
	return cause
}

// abandonBatch forgets the staged units and queue offsets of a batch that was not stored. Bytes
// already written past the log end are overwritten by the next batch.
func (s *Store) abandonBatch() {
	for _, q := range s.touched {
		q.next = q.maxOff.Load()
		q.pending = q.pending[:0]
	}
	clear(s.touched)
	s.touched = s.touched[:0]
}

// queueFor returns the consume queue of ref, creating it (without files) when new.
func (s *Store) queueFor(ref topic.QueueRef) *cqueue {
	s.qmu.RLock()
	q := s.queues[ref]
	s.qmu.RUnlock()
	if q != nil {
		return q
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if q = s.queues[ref]; q == nil {
		q = s.newQueue(ref)
		s.queues[ref] = q
	}
	return q
}

func (s *Store) newQueue(ref topic.QueueRef) *cqueue {
	dir := filepath.Join(s.cqDir, ref.Topic, strconv.Itoa(int(ref.QueueID)))
	return newCQueue(ref, dir, int64(s.cfg.ConsumeQueueUnits)*unitSize)
}
