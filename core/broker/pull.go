package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

// minFilterScan is the fewest units a filtered pull scans before it answers "no match".
const minFilterScan = 400

// Pull answers a PULL_MESSAGE, holding it when the queue has nothing at the offset and the
// consumer allows suspension.
func (b *Broker) Pull(ctx context.Context, req *inbound.PullRequest) (*inbound.PullResult, error) {
	if err := topic.ValidateTopic(req.Topic); err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if err := topic.ValidateGroup(req.Group); err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	tc, ok := b.topics.Get(req.Topic)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errs.ErrTopicNotExist, req.Topic)
	}
	if !tc.Readable() {
		return nil, fmt.Errorf("%w: topic %s is not readable", errs.ErrNoPermission, req.Topic)
	}
	if req.QueueID < 0 || req.QueueID >= tc.ReadQueueNums {
		return nil, fmt.Errorf("%w: queue %d of topic %s does not exist (it has %d readable)",
			errs.ErrInvalidArgument, req.QueueID, req.Topic, tc.ReadQueueNums)
	}
	group, err := b.groups.Ensure(ctx, req.Group)
	if err != nil {
		return nil, err
	}
	if !group.ConsumeEnable {
		return nil, fmt.Errorf("%w: group %s may not consume", errs.ErrNoPermission, req.Group)
	}
	filter, err := b.pullFilter(req)
	if err != nil {
		return nil, err
	}
	if req.SysFlag&inbound.PullFlagCommitOffset != 0 && req.CommitOffset >= 0 {
		b.offsets.Commit(req.Group, req.Topic, req.QueueID, req.CommitOffset)
	}

	q := topic.QueueRef{Topic: req.Topic, QueueID: req.QueueID}
	res, err := b.readQueue(ctx, q, req, filter)
	if err != nil || res.Status != inbound.PullNoNewMsg || req.SysFlag&inbound.PullFlagSuspend == 0 {
		return res, err
	}
	hold := min(req.SuspendTimeout, b.cfg.LongPollMaxSuspend)
	if hold <= 0 {
		return res, nil
	}
	held := b.polls.wait(ctx, req.ConnID, q, req.QueueOffset, hold, func() bool {
		_, max := b.store.QueueBounds(q)
		return max > req.QueueOffset
	})
	if !held {
		// Over a cap: answering "busy" rather than "nothing new" makes the client back off
		// instead of pulling again at once.
		return nil, fmt.Errorf("%w: too many held pulls (%d in total, %d per connection at most)",
			errs.ErrSystemBusy, b.cfg.MaxHeldPulls, b.cfg.MaxHeldPullsPerConn)
	}
	return b.readQueue(ctx, q, req, filter)
}

// pullFilter picks the subscription: the one in the request when it says so, otherwise the one
// the group registered by heartbeat.
func (b *Broker) pullFilter(req *inbound.PullRequest) (tagFilter, error) {
	if req.SysFlag&inbound.PullFlagSubscription != 0 {
		return compileFilter(req.ExpressionType, req.Subscription)
	}
	sub, groupFound, subFound := b.clients.Subscription(req.Group, req.Topic)
	if !groupFound {
		return tagFilter{}, fmt.Errorf("%w: consumer group %s is not online (no heartbeat yet)", errs.ErrSubscriptionNotExist, req.Group)
	}
	if !subFound {
		return tagFilter{}, fmt.Errorf("%w: group %s does not subscribe to %s", errs.ErrSubscriptionNotExist, req.Group, req.Topic)
	}
	if sub.Version < req.SubVersion {
		return tagFilter{}, fmt.Errorf("%w: group %s subscription version %d is older than %d", errs.ErrSubscriptionNotLatest,
			req.Group, sub.Version, req.SubVersion)
	}
	return compileFilter(sub.ExpressionType, sub.Expression)
}

// readQueue reads once, without holding: RocketMQ's getMessage.
func (b *Broker) readQueue(ctx context.Context, q topic.QueueRef, req *inbound.PullRequest, f tagFilter) (*inbound.PullResult, error) {
	minOff, maxOff := b.store.QueueBounds(q)
	res := &inbound.PullResult{MinOffset: minOff, MaxOffset: maxOff}
	offset := req.QueueOffset
	switch {
	case maxOff == 0:
		res.NextBeginOffset = 0
		if offset == 0 {
			res.Status = inbound.PullNoNewMsg
		} else {
			res.Status = inbound.PullOffsetMoved
		}
		return res, nil
	case offset < minOff:
		res.Status, res.NextBeginOffset = inbound.PullOffsetMoved, minOff
		return res, nil
	case offset == maxOff:
		res.Status, res.NextBeginOffset = inbound.PullNoNewMsg, offset
		return res, nil
	case offset > maxOff:
		// A queue that never lost its head but is shorter than the consumer thinks was reset:
		// start over at its head. Otherwise continue at its end.
		res.Status, res.NextBeginOffset = inbound.PullOffsetMoved, maxOff
		if minOff == 0 {
			res.NextBeginOffset = 0
		}
		return res, nil
	}

	maxMsgs := int(req.MaxMsgNums)
	if maxMsgs <= 0 || maxMsgs > b.cfg.MaxPullBatch {
		maxMsgs = b.cfg.MaxPullBatch
	}
	scanLimit := maxMsgs
	if !f.all {
		scanLimit = max(maxMsgs*20, minFilterScan)
	}
	next := offset
	var units []storage.Unit
	var body []byte // owned by the transport once returned
	count := 0
scan:
	for next < maxOff && next-offset < int64(scanLimit) && count < maxMsgs {
		want := min(int(maxOff-next), scanLimit-int(next-offset), 256)
		var err error
		units, err = b.store.Lookup(ctx, q, next, want, units[:0])
		if err != nil {
			return nil, fmt.Errorf("lookup %s at %d: %w", q, next, storeError(err))
		}
		if len(units) == 0 {
			break
		}
		for _, u := range units {
			if !f.match(u.TagsCode) {
				next++
				continue
			}
			if count > 0 && len(body)+int(u.Size) > b.cfg.MaxPullBytes {
				break scan
			}
			if !f.all && !b.tagMatches(ctx, u, f) {
				next++
				continue
			}
			body, err = b.store.ReadRecord(ctx, u.PhyOffset, u.Size, body)
			if err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					// The log no longer holds it (retention ran ahead of the index): skip it.
					b.log.Warn("consume queue unit points outside the commit log", zap.Stringer("queue", q),
						zap.Int64("offset", next), zap.Int64("phyOffset", u.PhyOffset))
					next++
					continue
				}
				return nil, fmt.Errorf("read %s at %d: %w", q, next, storeError(err))
			}
			count++
			next++
			if count >= maxMsgs {
				break scan
			}
		}
	}
	res.NextBeginOffset = next
	res.Count = count
	if count == 0 {
		res.Status = inbound.PullNoMatched
		return res, nil
	}
	res.Status = inbound.PullFound
	res.Body = body
	return res, nil
}

// tagMatches reads the record's tag to settle a hash match, so a tag that merely collides with a
// subscribed one never goes over the wire. An unreadable record is left to the read that follows.
func (b *Broker) tagMatches(ctx context.Context, u storage.Unit, f tagFilter) bool {
	m, err := b.store.Message(ctx, u.PhyOffset)
	if err != nil {
		return true
	}
	return f.matchTag(m.Properties[message.PropertyTags])
}
