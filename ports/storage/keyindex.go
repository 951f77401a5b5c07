package storage

import "context"

// KeyQuery selects stored records by one of their keys, as RocketMQ's QUERY_MESSAGE does.
//
// A record is indexed under its UNIQ_KEY property and under each entry of its KEYS property
// (entries separated by message.KeySeparator; empty entries are skipped), always together with
// its topic: RocketMQ's index key is "<topic>#<key>". Prepared and rollback transaction records
// (sysFlag&0xC of 0x4 or 0xC) are not indexed, like they get no consume-queue unit.
type KeyQuery struct {
	Topic string
	Key   string // one KEYS entry or a UNIQ_KEY
	// MaxNum is the most hits returned; zero or less returns none.
	MaxNum int
	// BeginMs and EndMs bound the records' store timestamps (ms since the epoch), both included.
	BeginMs, EndMs int64
}

// KeyHit is one record a key query found: enough to read it with CommitLog.ReadRecord.
type KeyHit struct {
	PhyOffset      int64
	Size           int32
	StoreTimestamp int64
}

// KeyResult is the answer to a key query.
type KeyResult struct {
	// Hits are the matching records, newest (highest physical offset) first, each at most once.
	Hits []KeyHit
	// LastUpdateTimestamp and LastUpdatePhyOffset are the store timestamp and physical offset of
	// the newest record the index has taken in, indexed or not (RocketMQ answers them as
	// indexLastUpdateTimestamp and indexLastUpdatePhyoffset); both 0 before the first record.
	LastUpdateTimestamp int64
	LastUpdatePhyOffset int64
}

// KeyIndex finds records by key. The index is built by the store from the records it appends
// (and rebuilt from the log after a crash), so a record is findable once Append returned it.
// The answer is one batch, so the port costs one call behind a plugin boundary.
type KeyIndex interface {
	// QueryByKey returns the records of q.Topic indexed under q.Key whose store timestamp is
	// within [q.BeginMs, q.EndMs], newest first, at most q.MaxNum. Every hit is a record the
	// store verified to carry the key (hash collisions never surface). No match is not an
	// error: the result has no hits.
	QueryByKey(ctx context.Context, q KeyQuery) (KeyResult, error)
}
