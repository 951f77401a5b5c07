package mmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// The checkpoint is one small record rewritten in place at offset 0 of Dir/checkpoint (within
// one sector, so a torn write leaves the old or the new version, and the CRC tells which):
//
//	v2: magic u32 | version u16 | flags u16 | dispatched i64 | flushed i64 | savedAt i64 (ms) | crc32 u32
//	v1: magic u32 | version u16 | flags u16 | dispatched i64 | savedAt i64 (ms) | crc32 u32
//
// dispatched: the consume queues durably hold the unit of every record below this log offset
// (or its topic was deleted), so recovery never re-indexes records below it and treats units
// at or past it as unconfirmed. flushed: log bytes below it were on disk when the checkpoint
// was written, so a bad record below it is damage to durable data (skipped, the records after
// it kept) while a bad record past it is a torn tail (the log ends there). flags bit 0: the
// store stopped cleanly and both offsets are the log end. A torn or missing checkpoint reads as
// absent: recovery then scans and re-indexes the whole log, which is slower but loses nothing.
const (
	checkpointMagic   = 0x52474350 // "RGCP"
	checkpointVersion = 2
	checkpointSize    = 36
	checkpointSizeV1  = 28
	checkpointClean   = 1
)

type checkpointData struct {
	clean      bool
	dispatched int64
	flushed    int64 // -1: unknown (a version 1 checkpoint)
	savedAt    int64
}

func (c checkpointData) encode() []byte {
	b := make([]byte, 0, checkpointSize)
	b = binary.BigEndian.AppendUint32(b, checkpointMagic)
	b = binary.BigEndian.AppendUint16(b, checkpointVersion)
	var flags uint16
	if c.clean {
		flags |= checkpointClean
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(c.dispatched))
	b = binary.BigEndian.AppendUint64(b, uint64(c.flushed))
	b = binary.BigEndian.AppendUint64(b, uint64(c.savedAt))
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func decodeCheckpoint(b []byte) (checkpointData, bool) {
	if len(b) < checkpointSizeV1 || binary.BigEndian.Uint32(b) != checkpointMagic {
		return checkpointData{}, false
	}
	c := checkpointData{
		clean:      binary.BigEndian.Uint16(b[6:])&checkpointClean != 0,
		dispatched: int64(binary.BigEndian.Uint64(b[8:])),
	}
	switch binary.BigEndian.Uint16(b[4:]) {
	case 1:
		if crc32.ChecksumIEEE(b[:24]) != binary.BigEndian.Uint32(b[24:]) {
			return checkpointData{}, false
		}
		c.flushed = -1
		c.savedAt = int64(binary.BigEndian.Uint64(b[16:]))
	case checkpointVersion:
		if len(b) < checkpointSize || crc32.ChecksumIEEE(b[:32]) != binary.BigEndian.Uint32(b[32:]) {
			return checkpointData{}, false
		}
		c.flushed = int64(binary.BigEndian.Uint64(b[16:]))
		c.savedAt = int64(binary.BigEndian.Uint64(b[24:]))
	default:
		return checkpointData{}, false
	}
	if c.dispatched < 0 || c.flushed < -1 {
		return checkpointData{}, false
	}
	return c, true
}

// openCheckpoint opens Dir/checkpoint and reads it; ok is false when there is none or it does
// not verify.
func (s *Store) openCheckpoint() (checkpointData, bool, error) {
	path := filepath.Join(s.cfg.Dir, "checkpoint")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return checkpointData{}, false, fmt.Errorf("open checkpoint: %w", err)
	}
	b := make([]byte, checkpointSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		_ = f.Close()
		return checkpointData{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	s.ckFile = f
	cp, ok := decodeCheckpoint(b[:n])
	if !ok && n > 0 {
		s.log.Warn("checkpoint does not verify; recovery scans the whole log")
	}
	if ok {
		s.ckLast, s.ckFlushed, s.ckClean = cp.dispatched, max(cp.flushed, 0), cp.clean
	}
	return cp, ok, nil
}

// Kinds of checkpoint.
const (
	// ckLight records the durable watermark only: one small write and fsync; no consume queue
	// is synced and the dispatched offset stays.
	ckLight = iota
	// ckFull syncs the consume queues and moves the dispatched offset to the log end.
	ckFull
	// ckClean is ckFull for a store that has stopped writing: it also marks the stop clean.
	ckClean
	// ckStart is ckFull written even when nothing changed: recovery ends with it, so a store
	// that ever accepted a write has a checkpoint, and a missing one means it was lost.
	ckStart
)

// checkpoint writes a full checkpoint, flagged clean when the store no longer writes.
func (s *Store) checkpoint(clean bool) error {
	kind := ckFull
	if clean {
		kind = ckClean
	}
	return s.writeCheckpoint(kind)
}

// writeCheckpoint writes a checkpoint of kind.
func (s *Store) writeCheckpoint(kind int) error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	return s.checkpointLocked(kind)
}

// checkpointLocked is checkpoint for callers holding ckMu.
func (s *Store) checkpointLocked(kind int) error {
	if s.ckFile == nil {
		return nil
	}
	flushed, _ := s.flush.state()
	dispatched := s.ckLast
	if kind != ckLight {
		// Read the log end before syncing the queues: every unit of a record below it is
		// written by then, so the sync below makes it durable.
		dispatched = max(s.committed.Load(), s.ckLast)
	}
	clean := kind == ckClean
	if kind != ckStart && clean == s.ckClean && dispatched == s.ckLast && flushed <= s.ckFlushed {
		return nil
	}
	if kind != ckLight {
		s.qmu.RLock()
		queues := make([]*cqueue, 0, len(s.queues))
		for _, q := range s.queues {
			queues = append(queues, q)
		}
		s.qmu.RUnlock()
		for _, q := range queues {
			if err := q.sync(s.syncFn); err != nil {
				return err
			}
		}
	}
	if kind != ckLight {
		if err := s.syncKeyIndex(); err != nil {
			return err
		}
	}
	cp := checkpointData{clean: clean, dispatched: dispatched, flushed: max(flushed, s.ckFlushed), savedAt: time.Now().UnixMilli()}
	if _, err := s.ckFile.WriteAt(cp.encode(), 0); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := s.syncFn(s.ckFile); err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	s.ckLast, s.ckFlushed, s.ckClean = cp.dispatched, cp.flushed, cp.clean
	s.log.Debug("checkpoint", zap.Int64("dispatched", cp.dispatched), zap.Int64("flushed", cp.flushed), zap.Bool("clean", cp.clean))
	return nil
}
