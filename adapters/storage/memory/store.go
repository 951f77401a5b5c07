// Package memory is the reference message store: the storage port's contract held in memory,
// with records encoded exactly as the commit log stores them. Tests and the conformance suite
// compare every other store against it.
package memory

import (
	"context"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"sort"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// DefaultMaxMessageSize matches RocketMQ's limit plus room for the record header.
const DefaultMaxMessageSize = 4<<20 + 64<<10

var _ storage.MessageStore = (*Store)(nil)

// Store keeps the log as a list of encoded records and each consume queue as a slice of units.
type Store struct {
	maxSize int

	mu       sync.RWMutex
	records  []record // ordered by physical offset
	next     int64    // next physical offset
	lastTS   int64
	queues   map[topic.QueueRef]*queue
	arrivals []storage.ArrivalFunc
	props    []byte
	keys     map[keyRef][]int // positions in records, ascending, per topic and key
}

type record struct {
	phy  int64
	ts   int64
	data []byte
}

type queue struct {
	units []storage.Unit
}

// New returns an empty store.
func New() *Store {
	return &Store{maxSize: DefaultMaxMessageSize, queues: make(map[topic.QueueRef]*queue)}
}

// Append implements storage.CommitLog.
func (s *Store) Append(ctx context.Context, msgs []message.Message, dst []storage.AppendResult) ([]storage.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	if err := records.CheckBatch(msgs); err != nil {
		return dst, err
	}
	s.mu.Lock()
	ts := max(time.Now().UnixMilli(), s.lastTS)
	s.lastTS = ts
	// Size every record before storing any, so the batch is all or nothing.
	var r wire.Record
	for i := range msgs {
		s.props = wire.AppendProperties(s.props[:0], msgs[i].Properties)
		if len(s.props) > wire.MaxPropertiesLen {
			s.mu.Unlock()
			return dst, fmt.Errorf("%w: properties of message %d are %d bytes", storage.ErrMessageTooLarge, i, len(s.props))
		}
		records.Fill(&r, &msgs[i], string(s.props))
		if n := wire.RecordSize(&r); n > s.maxSize {
			s.mu.Unlock()
			return dst, fmt.Errorf("%w: message %d is %d bytes, over %d", storage.ErrMessageTooLarge, i, n, s.maxSize)
		}
	}
	type arrival struct {
		q   topic.QueueRef
		max int64
	}
	var arrived []arrival
	for i := range msgs {
		m := &msgs[i]
		records.Fill(&r, m, string(wire.AppendProperties(nil, m.Properties)))
		r.PhysicalOffset = s.next
		r.StoreTimestamp = ts
		ref := topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}
		var q *queue
		if records.Indexed(m.SysFlag) {
			q = s.queues[ref]
			if q == nil {
				q = &queue{}
				s.queues[ref] = q
			}
			r.QueueOffset = int64(len(q.units))
		}
		data := wire.AppendRecord(nil, &r)
		s.records = append(s.records, record{phy: s.next, ts: ts, data: data})
		s.indexKeys(m, len(s.records)-1)
		dst = append(dst, storage.AppendResult{PhysicalOffset: s.next, QueueOffset: r.QueueOffset, Size: int32(len(data)), StoreTimestamp: ts})
		if q != nil {
			q.units = append(q.units, storage.Unit{PhyOffset: s.next, Size: int32(len(data)), TagsCode: message.TagsCode(m.Tags())})
			arrived = append(arrived, arrival{ref, int64(len(q.units))})
		}
		s.next += int64(len(data))
	}
	fns := s.arrivals
	s.mu.Unlock()
	for _, a := range arrived {
		for _, fn := range fns {
			fn(a.q, a.max)
		}
	}
	return dst, nil
}

// find returns the record starting at phy.
func (s *Store) find(phy int64) (record, bool) {
	i := sort.Search(len(s.records), func(i int) bool { return s.records[i].phy >= phy })
	if i == len(s.records) || s.records[i].phy != phy {
		return record{}, false
	}
	return s.records[i], true
}

// ReadRecord implements storage.CommitLog.
func (s *Store) ReadRecord(_ context.Context, phyOffset int64, size int32, dst []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.find(phyOffset)
	if !ok {
		return dst, fmt.Errorf("%w: no record at physical offset %d", storage.ErrNotFound, phyOffset)
	}
	if int(size) != len(rec.data) {
		return dst, fmt.Errorf("%w: record at %d is %d bytes, not %d", storage.ErrCorrupt, phyOffset, len(rec.data), size)
	}
	return append(dst, rec.data...), nil
}

// Message implements storage.CommitLog.
func (s *Store) Message(_ context.Context, phyOffset int64) (message.Ext, error) {
	s.mu.RLock()
	rec, ok := s.find(phyOffset)
	s.mu.RUnlock()
	if !ok {
		return message.Ext{}, fmt.Errorf("%w: no record at physical offset %d", storage.ErrNotFound, phyOffset)
	}
	r, _, err := wire.DecodeRecord(rec.data)
	if err != nil {
		return message.Ext{}, fmt.Errorf("%w: record at %d: %w", storage.ErrCorrupt, phyOffset, err)
	}
	return records.ToExt(&r), nil
}

// LogBounds implements storage.CommitLog.
func (s *Store) LogBounds() (minOff, maxOff int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return 0, s.next
}

// Lookup implements storage.ConsumeIndex.
func (s *Store) Lookup(_ context.Context, q topic.QueueRef, from int64, limit int, dst []storage.Unit) ([]storage.Unit, error) {
	if from < 0 {
		return dst, fmt.Errorf("%w: negative queue offset %d", storage.ErrNotFound, from)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cq := s.queues[q]
	if cq == nil || from >= int64(len(cq.units)) || limit <= 0 {
		return dst, nil
	}
	end := min(from+int64(limit), int64(len(cq.units)))
	return append(dst, cq.units[from:end]...), nil
}

// QueueBounds implements storage.ConsumeIndex.
func (s *Store) QueueBounds(q topic.QueueRef) (minOff, maxOff int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cq := s.queues[q]; cq != nil {
		return 0, int64(len(cq.units))
	}
	return 0, 0
}

// OffsetAt implements storage.ConsumeIndex.
func (s *Store) OffsetAt(_ context.Context, q topic.QueueRef, ts int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cq := s.queues[q]
	if cq == nil {
		return 0, nil
	}
	i := sort.Search(len(cq.units), func(i int) bool {
		rec, _ := s.find(cq.units[i].PhyOffset)
		return rec.ts >= ts
	})
	return int64(i), nil
}

// DeleteTopic implements storage.ConsumeIndex.
func (s *Store) DeleteTopic(_ context.Context, topicName string) error {
	if err := records.CheckTopic(topicName); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ref := range s.queues {
		if ref.Topic == topicName {
			delete(s.queues, ref)
		}
	}
	return nil
}

// OnArrival implements storage.ArrivalNotifier.
func (s *Store) OnArrival(fn storage.ArrivalFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arrivals = append(s.arrivals[:len(s.arrivals):len(s.arrivals)], fn)
}
