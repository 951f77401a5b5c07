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
	"unsafe"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// chunk is a contiguous run of the batch buffer and the log offset it goes to. A batch has more
// than one chunk only when it rolls over to a new segment.
type chunk struct {
	pos        int64
	start, end int
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
	n := len(dst)
	dst = slices.Grow(dst, len(msgs))[:n+len(msgs)]
	var stack [4]arrival
	arrived, end, err := s.appendLocked(msgs, dst[n:], stack[:0])
	if err != nil {
		return dst[:n], err
	}
	s.noteAppend(end-dst[n].PhysicalOffset, end)
	if fns := s.arrivals.Load(); fns != nil {
		for _, a := range arrived {
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

// appendLocked encodes, writes and indexes the batch under the append lock, fills res and
// returns the queues that grew and the new log end.
func (s *Store) appendLocked(msgs []message.Message, res []storage.AppendResult, arrived []arrival) ([]arrival, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state != stateOpen:
		return nil, 0, fmt.Errorf("append: %w", storage.ErrClosed)
	case s.failed() != nil:
		return nil, 0, fmt.Errorf("append: %w", s.failed())
	case s.diskFull() != nil: // above the critical watermark (retention.go)
		return nil, 0, fmt.Errorf("append: %w", s.diskFull())
	}
	pos, err := s.encodeBatch(msgs, res)
	if err != nil {
		s.abandonBatch()
		return nil, 0, err
	}
	if err := s.writeBatch(); err != nil {
		s.abandonBatch()
		return nil, 0, fmt.Errorf("append: %w: %w", storage.ErrUnavailable, err)
	}
	for _, q := range s.touched {
		if err := q.write(q.maxOff.Load(), q.pending); err != nil {
			if uerr := s.unwindUnits(err); uerr != nil { // a full disk: not latched (diskspace.go)
				s.abandonBatch()
				last := len(s.chunks) - 1
				return nil, 0, fmt.Errorf("append: %w", s.undoWrites(last, s.chunks[last].end-s.chunks[last].start, uerr))
			}
			// The log holds the records but the index does not: refuse writes until a restart
			// rebuilds the index from the log, and take the refused records back out of it.
			s.abandonBatch()
			err = s.fail(err)
			last := len(s.chunks) - 1
			return nil, 0, fmt.Errorf("append: %w", s.undoWrites(last, s.chunks[last].end-s.chunks[last].start, err))
		}
	}
	if err := s.dispatchKeys(msgs, res); err != nil {
		// A full disk under the key index: take the batch back out as for a consume queue.
		last := len(s.chunks) - 1
		uerr := s.unwindUnits(err)
		if uerr == nil {
			uerr = s.fail(err) // the units could not be dropped
		}
		s.abandonBatch()
		return nil, 0, fmt.Errorf("append: %w", s.undoWrites(last, s.chunks[last].end-s.chunks[last].start, uerr))
	}
	s.writePos = pos
	s.committed.Store(pos) // records first, then their units: a unit never points past the log end
	for _, q := range s.touched {
		q.maxOff.Store(q.next)
		q.pending = q.pending[:0]
		arrived = append(arrived, arrival{q.ref, q.next})
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	return arrived, pos, nil
}

// encodeBatch encodes msgs into s.buf (split into chunks at segment ends), assigning offsets and
// the store timestamp, and stages their units in the queues. It returns the new log end.
func (s *Store) encodeBatch(msgs []message.Message, res []storage.AppendResult) (int64, error) {
	ts := max(time.Now().UnixMilli(), s.lastTS)
	pos := s.writePos
	s.buf = s.buf[:0]
	s.chunks = append(s.chunks[:0], chunk{pos: pos})
	var (
		r    wire.Record
		last *cqueue
	)
	for i := range msgs {
		m := &msgs[i]
		s.props = wire.AppendProperties(s.props[:0], m.Properties)
		if len(s.props) > wire.MaxPropertiesLen {
			return 0, fmt.Errorf("%w: properties of message %d are %d bytes, over %d",
				storage.ErrMessageTooLarge, i, len(s.props), wire.MaxPropertiesLen)
		}
		// The record borrows s.props only until AppendRecord has copied it.
		records.Fill(&r, m, unsafe.String(unsafe.SliceData(s.props), len(s.props)))
		size := wire.RecordSize(&r)
		if size > s.maxSize {
			return 0, fmt.Errorf("%w: message %d is %d bytes, over %d", storage.ErrMessageTooLarge, i, size, s.maxSize)
		}
		if rem := s.cfg.SegmentSize - pos%s.cfg.SegmentSize; int64(size)+blankHeaderSize > rem {
			s.buf = binary.BigEndian.AppendUint32(s.buf, uint32(rem))
			s.buf = binary.BigEndian.AppendUint32(s.buf, wire.MagicBlank)
			pos += rem
			s.chunks[len(s.chunks)-1].end = len(s.buf)
			s.chunks = append(s.chunks, chunk{pos: pos, start: len(s.buf)})
		}
		var q *cqueue
		if records.Indexed(m.SysFlag) {
			if last == nil || last.ref.Topic != m.Topic || last.ref.QueueID != m.QueueID {
				last = s.queueFor(topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID})
			}
			q = last
			if len(q.pending) == 0 {
				s.touched = append(s.touched, q)
			}
			r.QueueOffset = q.next
		}
		r.PhysicalOffset = pos
		r.StoreTimestamp = ts
		s.buf = wire.AppendRecord(s.buf, &r)
		if q != nil {
			q.pending = appendUnit(q.pending, storage.Unit{PhyOffset: pos, Size: int32(size), TagsCode: message.TagsCode(m.Tags())})
			q.next++
		}
		res[i] = storage.AppendResult{PhysicalOffset: pos, QueueOffset: r.QueueOffset, Size: int32(size), StoreTimestamp: ts}
		pos += int64(size)
	}
	s.chunks[len(s.chunks)-1].end = len(s.buf)
	s.lastTS = ts
	return pos, nil
}

// writeBatch writes the encoded chunks to their segments. When a write fails, what the batch
// wrote is zeroed again (undoWrites).
func (s *Store) writeBatch() error {
	for i, c := range s.chunks {
		if c.start == c.end {
			continue
		}
		seg, err := s.writableSegment(c.pos)
		if err != nil {
			return s.undoWrites(i, 0, err)
		}
		if n, err := s.writeLog(seg, s.buf[c.start:c.end], c.pos-seg.base); err != nil {
			return s.undoWrites(i, n, fmt.Errorf("write commit log at %d: %w", c.pos, err))
		}
	}
	return nil
}

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
		l := c.end - c.start
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
