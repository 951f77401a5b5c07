package storage

import "time"

// Stats is a snapshot of a store's durability and recovery counters, for metrics. Counters
// count since the store was started; a store that has no such notion leaves a field zero.
type Stats struct {
	// LogEnd is the next physical offset (LogBounds max).
	LogEnd int64
	// DurableOffset is the flushed watermark: log bytes below it are on disk.
	DurableOffset int64
	// Unavailable is set once a failed write or flush made the store refuse writes.
	Unavailable bool

	// Flushes counts flush rounds that made log bytes durable.
	Flushes uint64
	// SyncFlushTimeouts counts appends answered with ErrFlushTimeout.
	SyncFlushTimeouts uint64
	// CorruptReads counts reads refused because the record failed verification.
	CorruptReads uint64

	// LastStartClean is set when the last start trusted a clean checkpoint and scanned nothing.
	LastStartClean bool
	// LastRecoveryDuration is how long the last start took to recover the log and the indexes.
	LastRecoveryDuration time.Duration
	// RecoveryScannedBytes is how many log bytes the last recovery read and verified.
	RecoveryScannedBytes int64
	// UnitsRebuilt counts consume-queue units the last recovery wrote from the log.
	UnitsRebuilt int64
	// CorruptRecordsSkipped counts the corrupt records (or unreadable runs of bytes) in the
	// middle of the log that the last recovery skipped, keeping the records after them.
	CorruptRecordsSkipped int64
	// CorruptBytesSkipped is the length of those skipped runs.
	CorruptBytesSkipped int64
	// TornTailBytesCut is how many bytes after the last good record the last recovery cut.
	TornTailBytesCut int64
}

// StatsReporter is an optional capability of a MessageStore: a snapshot of its counters.
type StatsReporter interface {
	Stats() Stats
}
