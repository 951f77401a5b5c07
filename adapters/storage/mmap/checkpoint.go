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

// The checkpoint is one small record rewritten in place at offset 0 of Dir/checkpoint:
//
//	magic u32 | version u16 | flags u16 | dispatched i64 | savedAt i64 (ms) | crc32 u32
//
// dispatched: the consume queues durably hold the unit of every record below this log offset
// (or its topic was deleted), so recovery never re-indexes records below it. flags bit 0: the
// store stopped cleanly. A torn or missing checkpoint reads as absent and recovery then scans the
// whole log, which is slower but loses nothing.
const (
	checkpointMagic   = 0x52474350 // "RGCP"
	checkpointVersion = 1
	checkpointSize    = 28
	checkpointClean   = 1
)

type checkpointData struct {
	clean      bool
	dispatched int64
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
	b = binary.BigEndian.AppendUint64(b, uint64(c.savedAt))
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func decodeCheckpoint(b []byte) (checkpointData, bool) {
	if len(b) < checkpointSize || binary.BigEndian.Uint32(b) != checkpointMagic ||
		binary.BigEndian.Uint16(b[4:]) != checkpointVersion ||
		crc32.ChecksumIEEE(b[:24]) != binary.BigEndian.Uint32(b[24:]) {
		return checkpointData{}, false
	}
	return checkpointData{
		clean:      binary.BigEndian.Uint16(b[6:])&checkpointClean != 0,
		dispatched: int64(binary.BigEndian.Uint64(b[8:])),
		savedAt:    int64(binary.BigEndian.Uint64(b[16:])),
	}, true
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
	return cp, ok, nil
}

// checkpoint makes the consume queues durable and records the log offset they cover.
func (s *Store) checkpoint(clean bool) error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	return s.checkpointLocked(clean)
}

// checkpointLocked is checkpoint for callers holding ckMu.
func (s *Store) checkpointLocked(clean bool) error {
	if s.ckFile == nil {
		return nil
	}
	dispatched := s.committed.Load()
	if dispatched == s.ckLast && !clean {
		return nil
	}
	s.qmu.RLock()
	queues := make([]*cqueue, 0, len(s.queues))
	for _, q := range s.queues {
		queues = append(queues, q)
	}
	s.qmu.RUnlock()
	for _, q := range queues {
		if err := q.sync(); err != nil {
			return err
		}
	}
	if err := s.syncKeyIndex(); err != nil {
		return err
	}
	cp := checkpointData{clean: clean, dispatched: max(dispatched, s.ckLast), savedAt: time.Now().UnixMilli()}
	if _, err := s.ckFile.WriteAt(cp.encode(), 0); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := datasync(s.ckFile); err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	s.ckLast = cp.dispatched
	s.log.Debug("checkpoint", zap.Int64("dispatched", cp.dispatched), zap.Bool("clean", clean))
	return nil
}
