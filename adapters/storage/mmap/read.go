package mmap

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Offsets of the store timestamp for an IPv4 and an IPv6 born host.
const (
	storeTSOffsetV4 = wire.RecordOffsetBornHost + 8
	storeTSOffsetV6 = wire.RecordOffsetBornHost + 20
)

// withRecord calls fn with the mapped bytes of the record at phy (size bytes, or the size its
// header states when size is 0), once it passed verifyFramed (stored offset, layout, body
// CRC): a record that fails is never handed out, whatever the consume queue said about it
// (ErrCorrupt). The bytes are valid only during fn.
func (s *Store) withRecord(phy int64, size int32, fn func(b []byte) error) error {
	return s.readRecord(phy, size, true, fn)
}

// readRecord is withRecord, or without verify only the header checks (size, magic, bounds).
func (s *Store) readRecord(phy int64, size int32, verify bool, fn func(b []byte) error) error {
	end := s.committed.Load()
	if phy < 0 || phy+blankHeaderSize > end || (size > 0 && phy+int64(size) > end) {
		return fmt.Errorf("%w: no record at physical offset %d (log ends at %d)", storage.ErrNotFound, phy, end)
	}
	if size < 0 || int(size) > s.maxSize {
		// A hole unit (RocketMQ's filler for a missing queue offset) or a size no record has.
		return fmt.Errorf("%w: no record of %d bytes at physical offset %d", storage.ErrNotFound, size, phy)
	}
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	if s.segClosed {
		return fmt.Errorf("read at %d: %w", phy, storage.ErrClosed)
	}
	seg := s.segmentAt(phy)
	if seg == nil {
		return fmt.Errorf("%w: physical offset %d is below the log", storage.ErrNotFound, phy)
	}
	off := phy - seg.base
	hsize, magic, _ := wire.PeekRecordHeader(seg.data[off:])
	if magic != wire.MagicV1 && magic != wire.MagicV2 {
		return fmt.Errorf("%w: no record at physical offset %d (magic %#x)", storage.ErrNotFound, phy, magic)
	}
	if size == 0 {
		size = hsize
	}
	if hsize != size || size < minRecordSize || off+int64(size) > int64(len(seg.data)) || phy+int64(size) > end {
		return fmt.Errorf("%w: record at %d states %d bytes, expected %d", storage.ErrCorrupt, phy, hsize, size)
	}
	b := seg.data[off : off+int64(size)]
	if verify {
		if st := verifyFramed(b, phy, magic); st != recOK {
			s.stats.corruptReads.Add(1)
			what := "its fields do not add up"
			if st == recBadCRC {
				what = "its body fails the CRC"
			}
			s.log.Warn("refused to read a corrupt record", zap.Int64("phyOffset", phy), zap.Int32("size", size), zap.String("why", what))
			return fmt.Errorf("%w: record at %d: %s", storage.ErrCorrupt, phy, what)
		}
	}
	return fn(b)
}

// ReadRecord implements storage.CommitLog.
func (s *Store) ReadRecord(_ context.Context, phyOffset int64, size int32, dst []byte) ([]byte, error) {
	if size <= 0 {
		return dst, fmt.Errorf("%w: record size %d at %d", storage.ErrNotFound, size, phyOffset)
	}
	err := s.withRecord(phyOffset, size, func(b []byte) error {
		dst = append(dst, b...)
		return nil
	})
	return dst, err
}

// Message implements storage.CommitLog.
func (s *Store) Message(_ context.Context, phyOffset int64) (message.Ext, error) {
	var ext message.Ext
	err := s.withRecord(phyOffset, 0, func(b []byte) error {
		r, _, err := wire.DecodeRecord(b)
		if err != nil {
			return fmt.Errorf("%w: record at %d: %w", storage.ErrCorrupt, phyOffset, err)
		}
		ext = records.ToExt(&r) // copies the body out of the mapping
		return nil
	})
	return ext, err
}

// storeTimestampAt reads the store timestamp of the record at phy. It checks the header only:
// a search over a queue reads one record per step, and a timestamp cannot hurt a consumer.
func (s *Store) storeTimestampAt(phy int64, size int32) (int64, error) {
	var ts int64
	err := s.readRecord(phy, size, false, func(b []byte) error {
		sysFlag := int32(binary.BigEndian.Uint32(b[wire.RecordOffsetSysFlag:]))
		off := storeTSOffsetV4
		if sysFlag&wire.SysFlagBornHostV6 != 0 {
			off = storeTSOffsetV6
		}
		ts = int64(binary.BigEndian.Uint64(b[off:]))
		return nil
	})
	return ts, err
}
