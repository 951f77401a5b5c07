package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

const delayOffsetsDoc = "delayOffset.json"

type delayOffsetsFile struct {
	OffsetTable map[int32]int64 `json:"offsetTable"`
}

// scheduler delivers delayed messages: each level's queue of SCHEDULE_TOPIC_XXXX holds messages in
// the order they are due (one delay per queue), so a level only ever looks at its head.
type scheduler struct {
	levels []time.Duration
	store  storage.MessageStore
	clock  clock.Clock
	log    *zap.Logger
	doc    *document

	mu      sync.Mutex
	offsets map[int32]int64 // level -> next queue offset to deliver
	dirty   bool
	wake    []chan struct{} // per level, signalled when its queue grows
}

func newScheduler(levels []time.Duration, store storage.MessageStore, meta storage.MetaStore, clk clock.Clock, log *zap.Logger) *scheduler {
	s := &scheduler{levels: levels, store: store, clock: clk, log: log, doc: newDocument(meta, delayOffsetsDoc),
		offsets: make(map[int32]int64), wake: make([]chan struct{}, len(levels))}
	for i := range s.wake {
		s.wake[i] = make(chan struct{}, 1)
	}
	return s
}

func (s *scheduler) load(ctx context.Context) error {
	var f delayOffsetsFile
	if _, err := s.doc.load(ctx, &f); err != nil {
		return err
	}
	s.mu.Lock()
	for l, off := range f.OffsetTable {
		if l < 1 || int(l) > len(s.levels) || off < 0 {
			continue
		}
		// After a power loss the log may hold less than the progress recorded: continue from the
		// queue's end then, or new delayed messages at the lost offsets would be skipped.
		_, maxOff := s.store.QueueBounds(topic.QueueRef{Topic: topic.ScheduleTopic, QueueID: l - 1})
		s.offsets[l] = min(off, maxOff)
	}
	s.mu.Unlock()
	return nil
}

func (s *scheduler) persist(ctx context.Context) error {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = false
	s.mu.Unlock()
	if !dirty {
		return nil
	}
	return s.doc.save(ctx, func() any {
		s.mu.Lock()
		defer s.mu.Unlock()
		t := make(map[int32]int64, len(s.offsets))
		for k, v := range s.offsets {
			t[k] = v
		}
		return delayOffsetsFile{OffsetTable: t}
	})
}

// arrived is the store's arrival hook for the schedule topic.
func (s *scheduler) arrived(q topic.QueueRef, _ int64) {
	if q.Topic != topic.ScheduleTopic || q.QueueID < 0 || int(q.QueueID) >= len(s.wake) {
		return
	}
	select {
	case s.wake[q.QueueID] <- struct{}{}:
	default:
	}
}

// levelOf reads the DELAY property: 0 when absent or not a level, capped at the last level.
func (s *scheduler) levelOf(m *message.Message) int32 {
	v, ok := m.Properties[message.PropertyDelayLevel]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return int32(min(n, len(s.levels)))
}

// divert moves a message due later onto its level's schedule queue, remembering where it belongs.
func (s *scheduler) divert(m *message.Message, level int32) {
	m.SetProperty(message.PropertyRealTopic, m.Topic)
	m.SetProperty(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.SetProperty(message.PropertyDelayLevel, strconv.Itoa(int(level)))
	m.Topic, m.QueueID = topic.ScheduleTopic, level-1
}

// run delivers each level's due messages until ctx ends.
func (s *scheduler) run(ctx context.Context, wg *sync.WaitGroup) {
	for i := range s.levels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runLevel(ctx, int32(i+1))
		}()
	}
}

func (s *scheduler) runLevel(ctx context.Context, level int32) {
	q := topic.QueueRef{Topic: topic.ScheduleTopic, QueueID: level - 1}
	delay := s.levels[level-1]
	var units []storage.Unit
	for ctx.Err() == nil {
		s.mu.Lock()
		off := s.offsets[level]
		s.mu.Unlock()
		minOff, maxOff := s.store.QueueBounds(q)
		if off < minOff {
			off = minOff
		}
		if off >= maxOff {
			s.sleep(ctx, s.wake[level-1], time.Hour)
			continue
		}
		var err error
		units, err = s.store.Lookup(ctx, q, off, 32, units[:0])
		if errors.Is(err, storage.ErrCorrupt) {
			// The queue cannot give this unit (a damaged or missing queue file): go on past it,
			// or the level would stop here for good.
			s.log.Warn("schedule queue unit unreadable; skipped", zap.Int32("level", level), zap.Int64("offset", off), zap.Error(err))
			s.mu.Lock()
			s.offsets[level], s.dirty = off+1, true
			s.mu.Unlock()
			continue
		}
		if err != nil || len(units) == 0 {
			s.log.Warn("schedule queue lookup failed", zap.Int32("level", level), zap.Int64("offset", off), zap.Error(err))
			s.sleep(ctx, nil, time.Second)
			continue
		}
		for _, u := range units {
			wait, err := s.deliverIfDue(ctx, q, u, delay)
			if err != nil {
				s.log.Warn("delayed delivery failed; retrying", zap.Int32("level", level), zap.Int64("offset", off), zap.Error(err))
				s.sleep(ctx, nil, time.Second)
				break
			}
			if wait > 0 {
				s.sleep(ctx, nil, wait)
				break
			}
			off++
			s.mu.Lock()
			s.offsets[level], s.dirty = off, true
			s.mu.Unlock()
		}
	}
}

// deliverIfDue writes the message of unit u to its real topic when due and returns 0, or returns
// how long until it is due.
func (s *scheduler) deliverIfDue(ctx context.Context, q topic.QueueRef, u storage.Unit, delay time.Duration) (time.Duration, error) {
	phy := u.PhyOffset
	m, gone, err := unitMessage(ctx, s.store, s.log, q, u)
	if gone || err != nil {
		return 0, err // gone: nothing to deliver
	}
	due := time.UnixMilli(m.StoreTimestamp).Add(delay)
	if wait := due.Sub(s.clock.Now()); wait > 0 {
		return wait, nil
	}
	out, err := restoreDelayed(&m.Message)
	if err != nil {
		s.log.Error("dropping a delayed message without a valid target", zap.Int64("phyOffset", phy), zap.Error(err))
		return 0, nil
	}
	_, err = s.store.Append(ctx, []message.Message{out}, nil)
	if errors.Is(err, storage.ErrFlushTimeout) {
		err = nil // written; only the flush was slow
	}
	return 0, err
}

// restoreDelayed builds the message a delayed one becomes when due: its real topic and queue,
// DELAY removed (REAL_TOPIC and REAL_QID stay, as RocketMQ leaves them).
func restoreDelayed(m *message.Message) (message.Message, error) {
	out := *m
	out.Properties = make(map[string]string, len(m.Properties))
	for k, v := range m.Properties {
		out.Properties[k] = v
	}
	delete(out.Properties, message.PropertyDelayLevel)
	out.Topic = out.Properties[message.PropertyRealTopic]
	if err := topic.ValidateTopic(out.Topic); err != nil {
		return out, fmt.Errorf("REAL_TOPIC: %w", err)
	}
	qid, err := strconv.Atoi(out.Properties[message.PropertyRealQueueID])
	if err != nil || qid < 0 {
		return out, fmt.Errorf("REAL_QID %q is not a queue id", out.Properties[message.PropertyRealQueueID])
	}
	out.QueueID = int32(qid)
	return out, nil
}

func (s *scheduler) sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}
