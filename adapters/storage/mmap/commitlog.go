package mmap

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
)

// blankHeaderSize is the length of the filler header (size and magic) that ends a segment. A
// record is placed in a segment only if it leaves room for one.
const blankHeaderSize = 8

// segmentAt returns the segment holding physical offset off, or nil. Callers hold segMu.
func (s *Store) segmentAt(off int64) *segment {
	if len(s.segs) == 0 || off < s.segs[0].base {
		return nil
	}
	i := (off - s.segs[0].base) / s.cfg.SegmentSize
	if i >= int64(len(s.segs)) {
		return nil
	}
	return s.segs[i]
}

// writableSegment returns the segment for off, creating the next one when off is its first
// byte. Called under mu, the append lock.
func (s *Store) writableSegment(off int64) (*segment, error) {
	s.segMu.RLock()
	seg := s.segmentAt(off)
	s.segMu.RUnlock()
	if seg != nil {
		return seg, nil
	}
	base := off - off%s.cfg.SegmentSize
	seg, err := openSegment(s.clDir, base, s.cfg.SegmentSize, true, false)
	if err != nil {
		return nil, err
	}
	if err := durable.SyncDir(s.clDir); err != nil {
		_ = seg.close()
		return nil, fmt.Errorf("sync %s: %w", s.clDir, err)
	}
	s.segMu.Lock()
	if n := len(s.segs); n > 0 && s.segs[n-1].base+s.cfg.SegmentSize != base {
		s.segMu.Unlock()
		_ = seg.close()
		return nil, fmt.Errorf("segment %d does not follow segment %d", base, s.segs[n-1].base)
	}
	s.segs = append(s.segs, seg)
	s.segMu.Unlock()
	s.log.Info("commit log segment created", zap.Int64("base", base))
	return seg, nil
}

// segmentsIn returns the segments overlapping [from, to).
func (s *Store) segmentsIn(from, to int64) []*segment { return s.appendSegmentsIn(nil, from, to) }

// appendSegmentsIn appends the segments overlapping [from, to) to out.
func (s *Store) appendSegmentsIn(out []*segment, from, to int64) []*segment {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	for _, seg := range s.segs {
		if seg.base < to && seg.base+s.cfg.SegmentSize > from {
			out = append(out, seg)
		}
	}
	return out
}
