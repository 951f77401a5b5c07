package inbound

import "context"

// QueryResult answers a query by key: RocketMQ's QUERY_MESSAGE.
type QueryResult struct {
	// Body holds the matching stored records, concatenated unchanged, oldest first (Java sorts
	// them by offset too); Count is how many.
	Body  []byte
	Count int
	// IndexLastUpdateTimestamp and IndexLastUpdatePhyOffset say how far the key index has got:
	// the store time and offset of the newest record it has taken in.
	IndexLastUpdateTimestamp int64
	IndexLastUpdatePhyOffset int64
}

// Querier finds stored messages for tools (mqadmin, dashboards): by commit-log offset, as an
// offset message id carries it, and by key.
type Querier interface {
	// ViewMessage returns the stored record at phyOffset byte for byte; errs.ErrNotFound when no
	// record starts there.
	ViewMessage(ctx context.Context, phyOffset int64) ([]byte, error)
	// QueryMessage returns the newest records of topic, at most maxNum (which the broker caps),
	// indexed under key (one KEYS entry or the UNIQ_KEY) and stored within [beginMs, endMs]. No
	// match is a result with Count 0, not an error.
	QueryMessage(ctx context.Context, topic, key string, maxNum int32, beginMs, endMs int64) (*QueryResult, error)
}
