package broker

import (
	"context"
	"fmt"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"go.uber.org/zap"
)

// ResetOffsetByTime moves group's offsets on topic to the first message stored at or after
// timestampMs (-1: the end of each queue), commits them, and tells the group's live consumers to
// continue from there. Without force, a queue only moves back, never past what was committed.
// It returns the new offset of each queue.
func (b *Broker) ResetOffsetByTime(ctx context.Context, group, topicName string, timestampMs int64, force bool) (map[int32]int64, error) {
	if err := validNames(group, topicName); err != nil {
		return nil, err
	}
	tc, ok := b.topics.Get(topicName)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errs.ErrTopicNotExist, topicName)
	}
	out := make(map[int32]int64, tc.QueueNums())
	for qid := int32(0); qid < tc.QueueNums(); qid++ {
		q := topic.QueueRef{Topic: topicName, QueueID: qid}
		var target int64
		if timestampMs < 0 {
			_, target = b.store.QueueBounds(q)
		} else {
			off, err := b.store.OffsetAt(ctx, q, timestampMs)
			if err != nil {
				return nil, fmt.Errorf("offset of %s at %d: %w", q, timestampMs, storeError(err))
			}
			target = off
		}
		if cur, ok := b.offsets.Get(group, topicName, qid); ok && !force && target > cur {
			target = cur
		}
		out[qid] = target
		b.offsets.Commit(group, topicName, qid, target)
	}
	for _, ch := range b.clients.consumerChannels(group) {
		if err := ch.ResetConsumerOffsets(ctx, topicName, group, b.cfg.Name, timestampMs, out); err != nil {
			b.log.Warn("reset offsets: notifying a consumer failed", zap.String("group", group), zap.Error(err))
		}
	}
	b.log.Info("consumer offsets reset", zap.String("group", group), zap.String("topic", topicName),
		zap.Int64("timestamp", timestampMs), zap.Bool("force", force), zap.Any("offsets", out))
	return out, nil
}
