package mmap

import (
	"context"
	"errors"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// readQueue calls fn with the queue of ref (nil when it has no units) while no one can close it.
func (s *Store) readQueue(ref topic.QueueRef, fn func(q *cqueue) error) error {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if s.qClosed {
		return fmt.Errorf("consume queue %s: %w", ref, storage.ErrClosed)
	}
	q := s.queues[ref]
	if q == nil {
		return fn(nil)
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	return fn(q)
}

// Lookup implements storage.ConsumeIndex.
func (s *Store) Lookup(_ context.Context, ref topic.QueueRef, from int64, limit int, dst []storage.Unit) ([]storage.Unit, error) {
	err := s.readQueue(ref, func(q *cqueue) error {
		if q == nil {
			if from < 0 {
				return fmt.Errorf("%w: queue %s has no offset %d", storage.ErrNotFound, ref, from)
			}
			return nil
		}
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		if from < lo {
			return fmt.Errorf("%w: queue %s starts at %d, not %d", storage.ErrNotFound, ref, lo, from)
		}
		for off := from; off < hi && off-from < int64(limit); off++ {
			u, ok := q.unitAt(off)
			if !ok {
				return fmt.Errorf("%w: queue %s has no file for offset %d", storage.ErrCorrupt, ref, off)
			}
			dst = append(dst, u)
		}
		return nil
	})
	return dst, err
}

// QueueBounds implements storage.ConsumeIndex.
func (s *Store) QueueBounds(ref topic.QueueRef) (minOff, maxOff int64) {
	s.qmu.RLock()
	q := s.queues[ref]
	s.qmu.RUnlock()
	if q == nil {
		return 0, 0
	}
	return q.minOff.Load(), q.maxOff.Load()
}

// OffsetAt implements storage.ConsumeIndex: a binary search over the queue's units by the store
// timestamp of their records, which never decreases along the log.
func (s *Store) OffsetAt(_ context.Context, ref topic.QueueRef, ts int64) (int64, error) {
	var found int64
	err := s.readQueue(ref, func(q *cqueue) error {
		if q == nil {
			return nil
		}
		lo, hi := q.minOff.Load(), q.maxOff.Load()
		var searchErr error
		i := sort.Search(int(hi-lo), func(i int) bool {
			if searchErr != nil {
				return true
			}
			u, ok := q.unitAt(lo + int64(i))
			if !ok || u.Size == holeUnit.Size {
				return false // a hole: treat as older, the search moves on
			}
			at, err := s.storeTimestampAt(u.PhyOffset, u.Size)
			if errors.Is(err, storage.ErrNotFound) {
				return false // the log no longer holds it: older than anything it holds
			}
			if err != nil {
				searchErr = err
				return true
			}
			return at >= ts
		})
		found = lo + int64(i)
		return searchErr
	})
	if err != nil {
		return 0, fmt.Errorf("offset of %s at %d: %w", ref, ts, err)
	}
	return found, nil
}

// DeleteTopic implements storage.ConsumeIndex. It removes the topic's queue directories and
// counters, then writes a checkpoint past the topic's records so recovery never re-indexes them.
func (s *Store) DeleteTopic(_ context.Context, topicName string) error {
	if err := records.CheckTopic(topicName); err != nil {
		return err
	}
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return fmt.Errorf("delete topic %s: %w", topicName, storage.ErrClosed)
	}
	s.qmu.Lock()
	var gone []*cqueue
	for ref, q := range s.queues {
		if ref.Topic == topicName {
			gone = append(gone, q)
			delete(s.queues, ref)
		}
	}
	s.qmu.Unlock()
	var errs []error
	for _, q := range gone {
		errs = append(errs, q.close())
	}
	dir := filepath.Join(s.cqDir, topicName)
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	} else if err := durable.SyncDir(s.cqDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	s.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete topic %s: %w", topicName, err)
	}
	if err := s.checkpointLocked(ckFull); err != nil {
		return fmt.Errorf("delete topic %s: %w", topicName, err)
	}
	s.log.Info("topic deleted from the consume queues", zap.String("topic", topicName), zap.Int("queues", len(gone)))
	return nil
}
