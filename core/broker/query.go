package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
)

var _ inbound.Querier = (*Broker)(nil)

// defaultMaxQueryResults is Java's maxMsgsNumBatch, the cap of one query by key.
const defaultMaxQueryResults = 64

// maxQueryBody bounds the body of one query answer, so the frame stays well within the 16 MiB
// RocketMQ clients accept even when every match is a 4 MiB message. The newest records are kept,
// and one always fits.
const maxQueryBody = 8 << 20

// ViewMessage returns the stored record at phyOffset, as VIEW_MESSAGE_BY_ID answers it.
func (b *Broker) ViewMessage(ctx context.Context, phyOffset int64) ([]byte, error) {
	if phyOffset < 0 {
		return nil, fmt.Errorf("%w: negative offset %d", errs.ErrInvalidArgument, phyOffset)
	}
	// The decoded message gives the record's size, which reading the raw bytes needs.
	m, err := b.store.Message(ctx, phyOffset)
	if err != nil {
		return nil, fmt.Errorf("view message at %d: %w", phyOffset, storeError(err))
	}
	rec, err := b.store.ReadRecord(ctx, phyOffset, m.StoreSize, nil)
	if err != nil {
		return nil, fmt.Errorf("view message at %d: %w", phyOffset, storeError(err))
	}
	return rec, nil
}

// QueryMessage finds records by key, as QUERY_MESSAGE answers it.
func (b *Broker) QueryMessage(ctx context.Context, topicName, key string, maxNum int32, beginMs, endMs int64) (*inbound.QueryResult, error) {
	if err := topic.ValidateTopic(topicName); err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if key == "" {
		return nil, fmt.Errorf("%w: empty key", errs.ErrInvalidArgument)
	}
	if maxNum <= 0 {
		return nil, fmt.Errorf("%w: maxNum %d is not positive", errs.ErrInvalidArgument, maxNum)
	}
	limit := b.cfg.MaxQueryResults
	if limit <= 0 {
		limit = defaultMaxQueryResults
	}
	found, err := b.store.QueryByKey(ctx, storage.KeyQuery{
		Topic: topicName, Key: key, MaxNum: min(int(maxNum), limit), BeginMs: beginMs, EndMs: endMs,
	})
	if err != nil {
		return nil, fmt.Errorf("query %s by key: %w", topicName, storeError(err))
	}
	res := &inbound.QueryResult{
		IndexLastUpdateTimestamp: found.LastUpdateTimestamp,
		IndexLastUpdatePhyOffset: found.LastUpdatePhyOffset,
	}
	// Hits come newest first: keep the newest that fit, then lay them out oldest first.
	hits, size := found.Hits, 0
	for i, h := range hits {
		if size += int(h.Size); size > maxQueryBody && i > 0 {
			hits, size = hits[:i], size-int(h.Size)
			break
		}
	}
	res.Body = make([]byte, 0, size)
	for i := len(hits) - 1; i >= 0; i-- {
		body, err := b.store.ReadRecord(ctx, hits[i].PhyOffset, hits[i].Size, res.Body)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // gone since the index found it (the log was cut or expired)
		case err != nil:
			return nil, fmt.Errorf("query %s by key: read record at %d: %w", topicName, hits[i].PhyOffset, storeError(err))
		}
		res.Body = body
		res.Count++
	}
	return res, nil
}
