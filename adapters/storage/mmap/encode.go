package mmap

import (
	"fmt"
	"unsafe"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// batch is one Append's messages encoded before the append lock is taken, as RocketMQ's broker
// has done since 5.0: records in the stored layout whose queue offset, physical offset and store
// timestamp are zero until place fills them in under the lock, with what the lock holder needs
// of each message (consume-queue tags code, key-index hashes) already computed. Concurrent
// appenders encode (properties, body copy, body CRC, key hashes) in parallel and hold the lock
// only to place, write and index their records.
type batch struct {
	buf    []byte
	recs   []batchRec
	hashes []int32 // key-index hashes of the records, recs[i].keysFrom to keysTo
	props  []byte
	pairs  []wire.Property // the properties of the message being encoded

	lastTopic  string // topic of the last record hashed, and its topicPrefixHash
	lastPrefix int32

	// Set by Append for commit, and the outcome commit leaves.
	msgs    []message.Message
	res     []storage.AppendResult
	arrived []arrival
	end     int64
	err     error
	done    chan bool // true: a combiner stored the batch; false: the turn is handed to its owner (combine.go)
}

type batchRec struct {
	start, size      int   // the record is buf[start:start+size]
	tsAt             int   // offset of the store timestamp in the record (after the born host)
	tagsCode         int64 // consume-queue tags code, when indexed
	keysFrom, keysTo int32
	indexed          bool // gets a consume-queue unit and key-index entries (records.Indexed)
}

// maxPooledBatch: an encode buffer grown past this is left to the garbage collector instead of
// being kept for the next append.
const maxPooledBatch = 8 << 20

func (s *Store) getBatch() *batch {
	if b, ok := s.batches.Get().(*batch); ok {
		return b
	}
	return &batch{done: make(chan bool, 1)}
}

func (s *Store) putBatch(b *batch) {
	if cap(b.buf) > maxPooledBatch {
		return
	}
	clear(b.pairs[:cap(b.pairs)]) // the pooled batch keeps no message's properties alive
	s.batches.Put(b)
}

// encode fills b with msgs, each with its queue offset, physical offset and store timestamp
// left zero. It refuses, before anything is written, a message over the size limits.
func (s *Store) encode(b *batch, msgs []message.Message) error {
	b.buf, b.recs, b.hashes = b.buf[:0], b.recs[:0], b.hashes[:0]
	var r wire.Record
	for i := range msgs {
		m := &msgs[i]
		b.pairs = wire.SortProperties(b.pairs[:0], m.Properties)
		b.props = wire.AppendSortedProperties(b.props[:0], b.pairs)
		if len(b.props) > wire.MaxPropertiesLen {
			return fmt.Errorf("%w: properties of message %d are %d bytes, over %d",
				storage.ErrMessageTooLarge, i, len(b.props), wire.MaxPropertiesLen)
		}
		// The record borrows b.props only until AppendRecord has copied it.
		records.Fill(&r, m, unsafe.String(unsafe.SliceData(b.props), len(b.props)))
		size := wire.RecordSize(&r)
		if size > s.maxSize {
			return fmt.Errorf("%w: message %d is %d bytes, over %d", storage.ErrMessageTooLarge, i, size, s.maxSize)
		}
		rec := batchRec{start: len(b.buf), size: size, tsAt: wire.StoreTimestampOffset(&r), indexed: records.Indexed(m.SysFlag)}
		b.buf = wire.AppendRecord(b.buf, &r)
		if rec.indexed {
			tags, uniq, keys := indexedProperties(b.pairs)
			rec.tagsCode = message.TagsCode(tags)
			if m.Topic != b.lastTopic || b.lastTopic == "" {
				b.lastTopic, b.lastPrefix = m.Topic, topicPrefixHash(m.Topic)
			}
			rec.keysFrom = int32(len(b.hashes))
			for k := range message.IndexKeys(uniq, keys) {
				b.hashes = append(b.hashes, keyHashFrom(b.lastPrefix, k))
			}
			rec.keysTo = int32(len(b.hashes))
		}
		b.recs = append(b.recs, rec)
	}
	return nil
}

// indexedProperties finds the properties a record is indexed by among its pairs: a switch on the
// few names costs less than three map lookups.
func indexedProperties(ps []wire.Property) (tags, uniq, keys string) {
	for _, p := range ps {
		switch p.Name {
		case message.PropertyTags:
			tags = p.Value
		case message.PropertyUniqKey:
			uniq = p.Value
		case message.PropertyKeys:
			keys = p.Value
		}
	}
	return tags, uniq, keys
}
