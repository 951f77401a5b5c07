package storage

import "context"

// TimerEntry is one fixed-size record of the timer log: a message (by its commit-log offset) due
// at DueMs, chained to the previous entry of the same wheel slot.
type TimerEntry struct {
	PrevPos   int64 // position of the previous entry in the same slot, -1 for none
	DueMs     int64
	PhyOffset int64
	Size      int32
	Flags     int32 // TimerFlagCancel marks a cancellation of the entry with the same PhyOffset
}

// Timer entry flags.
const TimerFlagCancel int32 = 1

// TimerLog is the append-only log behind the timer wheel. Positions are entry numbers: the first
// entry ever appended is 0, and they keep growing across DropBefore. The log holds the durable
// state; the wheel's slot heads are rebuilt from it by scanning.
type TimerLog interface {
	// Append adds entries in order and returns the position of the first.
	Append(ctx context.Context, entries []TimerEntry) (int64, error)
	// Read returns the entry at pos (ErrNotFound outside [Start, End)).
	Read(ctx context.Context, pos int64) (TimerEntry, error)
	// Scan calls fn for every entry from pos on, in order, until fn returns false.
	Scan(ctx context.Context, from int64, fn func(pos int64, e TimerEntry) bool) error
	// Bounds returns the first kept position and the next position to be written.
	Bounds() (start, end int64)
	// Truncate drops every entry at or after end (entries written after the last checkpoint).
	Truncate(ctx context.Context, end int64) error
	// DropBefore releases entries before pos once nothing needs them; it may keep more.
	DropBefore(ctx context.Context, pos int64) error
	// Flush makes every appended entry durable.
	Flush(ctx context.Context) error
}
