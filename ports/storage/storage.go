// Package storage states what the broker needs from a message store: a commit log that appends
// and reads records, consume indexes per queue, arrival notifications for long polling, and a
// small document store for metadata (topics, groups, offsets). Adapters implement it; the
// conformance suite in storagetest holds every adapter to the same contract.
package storage

import (
	"context"
	"errors"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
)

// Errors every store returns for the same conditions; wrap them with context.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("storage: closed")
	// ErrNotFound: nothing is stored at that offset or under that name.
	ErrNotFound = errors.New("storage: not found")
	// ErrMessageTooLarge: a record is larger than the store accepts.
	ErrMessageTooLarge = errors.New("storage: message too large")
	// ErrUnavailable: the store refuses writes (disk full, a failed flush, read-only role).
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrFlushTimeout: the data was written but not flushed within the sync flush timeout.
	ErrFlushTimeout = errors.New("storage: flush timeout")
	// ErrCorrupt: a record failed verification.
	ErrCorrupt = errors.New("storage: corrupt record")
)

// AppendResult is what the store assigned to one appended message.
type AppendResult struct {
	PhysicalOffset int64 // commit-log offset of the record's first byte
	QueueOffset    int64 // index of the record in its consume queue
	Size           int32 // encoded record length
	StoreTimestamp int64 // ms since the epoch
}

// CommitLog is the single append-only log of every record, in RocketMQ's stored layout.
type CommitLog interface {
	// Append stores msgs in order as consecutive records, assigning each its physical offset, its
	// queue offset (consecutive per topic and queue) and its store timestamp. It returns once the
	// flush policy holds for all of them: page cache for async flush, disk for sync flush. A
	// sync flush slower than the configured timeout returns the results with ErrFlushTimeout.
	// Either every message is appended or none is. The results, one per message in order, are
	// appended to dst and the extended slice is returned (dst unchanged when nothing was
	// appended), so a caller that keeps dst appends without allocating.
	Append(ctx context.Context, msgs []message.Message, dst []AppendResult) ([]AppendResult, error)
	// ReadRecord appends the raw record of size bytes at phyOffset to dst and returns dst.
	ReadRecord(ctx context.Context, phyOffset int64, size int32, dst []byte) ([]byte, error)
	// Message decodes the record at phyOffset (ErrNotFound when there is none).
	Message(ctx context.Context, phyOffset int64) (message.Ext, error)
	// LogBounds returns the smallest readable and the next physical offset.
	LogBounds() (min, max int64)
}

// Unit is one consume-queue entry.
type Unit struct {
	PhyOffset int64
	Size      int32
	TagsCode  int64
}

// ConsumeIndex is the per-queue index of records, built from the commit log.
type ConsumeIndex interface {
	// Lookup appends to dst the units of q from queue offset from on, at most max, in order.
	Lookup(ctx context.Context, q topic.QueueRef, from int64, max int, dst []Unit) ([]Unit, error)
	// QueueBounds returns the smallest queue offset still held and the next offset to be written
	// (both 0 for a queue that has never had a record).
	QueueBounds(q topic.QueueRef) (min, max int64)
	// OffsetAt returns the queue offset of the first record stored at or after ts (ms), or the
	// max offset when every record is older.
	OffsetAt(ctx context.Context, q topic.QueueRef, ts int64) (int64, error)
	// DeleteTopic drops the consume queues of topic; the commit log keeps its records.
	DeleteTopic(ctx context.Context, topicName string) error
}

// ArrivalFunc is called after new records of q are indexed; maxOffset is the queue's new max.
// It must not block.
type ArrivalFunc func(q topic.QueueRef, maxOffset int64)

// ArrivalNotifier lets long polling learn that a queue has new records.
type ArrivalNotifier interface {
	OnArrival(fn ArrivalFunc)
}

// MessageStore is what the broker uses: the log, its indexes and arrival notification.
type MessageStore interface {
	CommitLog
	ConsumeIndex
	KeyIndex
	ArrivalNotifier
}

// MetaStore keeps small named documents (topic configs, groups, consumer offsets). Save replaces
// a document atomically: after a crash a reader sees the old or the new version, never a mix.
type MetaStore interface {
	Load(ctx context.Context, name string) ([]byte, error) // ErrNotFound when never saved
	Save(ctx context.Context, name string, data []byte) error
}
