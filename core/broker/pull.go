package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/filter"
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
	f, err := b.pullFilter(req)
	if err != nil {
		return nil, err
	}
	if req.SysFlag&inbound.PullFlagCommitOffset != 0 && req.CommitOffset >= 0 {
		b.offsets.Commit(req.Group, req.Topic, req.QueueID, req.CommitOffset)
	}

	q := topic.QueueRef{Topic: req.Topic, QueueID: req.QueueID}
	res, err := b.readQueue(ctx, q, req, f)
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
	return b.readQueue(ctx, q, req, f)
}

// pullFilter picks the subscription: the one in the request when it says so, otherwise the one
// the group registered by heartbeat. Compiled filters are kept per group and topic (subFilters).
func (b *Broker) pullFilter(req *inbound.PullRequest) (filter.Filter, error) {
	if req.SysFlag&inbound.PullFlagSubscription != 0 {
		typ := req.ExpressionType
		if filter.NormalizeType(typ) == filter.TypeTag {
			// The Go client's push consumer labels every pull TAG, SQL92 included (REMOTING
			// §13 item 13); when it posts the expression (PostSubscriptionWhenPull), an
			// expression equal to the group's registered SQL92 one is that subscription.
			if sub, _, found := b.clients.Subscription(req.Group, req.Topic); found && sub.Expression == req.Subscription &&
				filter.NormalizeType(sub.ExpressionType) != filter.TypeTag {
				typ = sub.ExpressionType
			}
		}
		return b.filters.get(req.Group, req.Topic, req.SubVersion, typ, req.Subscription)
	}
	sub, groupFound, subFound := b.clients.Subscription(req.Group, req.Topic)
	if !groupFound {
		if err := b.filters.refusal(req.Group); err != nil {
			return nil, fmt.Errorf("the group's heartbeat was refused: %w", err)
		}
		return nil, fmt.Errorf("%w: consumer group %s is not online (no heartbeat yet)", errs.ErrSubscriptionNotExist, req.Group)
	}
	if !subFound {
		return nil, fmt.Errorf("%w: group %s does not subscribe to %s", errs.ErrSubscriptionNotExist, req.Group, req.Topic)
	}
	if sub.Version < req.SubVersion {
		return nil, fmt.Errorf("%w: group %s subscription version %d is older than %d", errs.ErrSubscriptionNotLatest,
			req.Group, sub.Version, req.SubVersion)
	}
	return b.filters.get(req.Group, req.Topic, sub.Version, sub.ExpressionType, sub.Expression)
}

// readQueue reads once, without holding: RocketMQ's getMessage.
func (b *Broker) readQueue(ctx context.Context, q topic.QueueRef, req *inbound.PullRequest, f filter.Filter) (*inbound.PullResult, error) {
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
	// An Exact filter (TAG "*") decides from the consume queue alone; any other may refuse
	// records it must read first, so the scan goes further before answering "no match".
	exact := filter.IsExact(f)
	scanLimit := maxMsgs
	if !exact {
		scanLimit = max(maxMsgs*20, minFilterScan)
	}
	next := offset
	var (
		units []storage.Unit
		body  []byte // owned by the transport once returned
		sel   filterScratch
	)
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
		for len(units) > 0 {
			// Decide a chunk holding about as many candidates as the answer still needs, so a
			// filter that keeps most records does not read the properties of many more.
			chunk := units
			if !exact {
				chunk = takeCandidates(units, f, max(maxMsgs-count, 16))
			}
			units = units[len(chunk):]
			keep, err := b.selectUnits(ctx, q, next, chunk, f, exact, &sel)
			if err != nil {
				return nil, err
			}
			// Only what the filter kept is read into the body; what it refused is skipped
			// and counted in nextBeginOffset.
			for k, u := range chunk {
				if !keep[k] {
					next++
					continue
				}
				if count > 0 && len(body)+int(u.Size) > b.cfg.MaxPullBytes {
					break scan
				}
				body, err = b.store.ReadRecord(ctx, u.PhyOffset, u.Size, body)
				if err != nil {
					if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrCorrupt) {
						// The log no longer holds it (retention ran ahead of the index), or the record
						// failed verification: skip it, or the consumer would be stuck at this offset.
						b.log.Warn("consume queue unit skipped", zap.Stringer("queue", q),
							zap.Int64("offset", next), zap.Int64("phyOffset", u.PhyOffset), zap.Error(err))
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

// takeCandidates returns the head of units that holds want units passing MatchUnit (or all
// of units).
func takeCandidates(units []storage.Unit, f filter.Filter, want int) []storage.Unit {
	n := 0
	for i, u := range units {
		if f.MatchUnit(u.TagsCode) {
			if n++; n == want {
				return units[:i+1]
			}
		}
	}
	return units
}

// filterScratch holds selectUnits' buffers across the chunks of one pull.
type filterScratch struct {
	keep    []bool
	idx     []int
	props   []message.Properties
	matched []bool
}

// selectUnits decides which units of chunk (whose first is at queue offset first) the pull
// delivers: MatchUnit on each, then, unless the filter is Exact, one decode of each candidate's
// record and MatchBatch over their properties. A record that cannot be read or decoded is
// refused with a warning (its bytes could not be filtered, and so are not sent).
func (b *Broker) selectUnits(ctx context.Context, q topic.QueueRef, first int64, chunk []storage.Unit,
	f filter.Filter, exact bool, sc *filterScratch) ([]bool, error) {
	keep := resize(&sc.keep, len(chunk))
	idx, props := sc.idx[:0], sc.props[:0]
	for k, u := range chunk {
		if !f.MatchUnit(u.TagsCode) {
			continue
		}
		if exact {
			keep[k] = true
			continue
		}
		m, err := b.store.Message(ctx, u.PhyOffset)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrCorrupt) {
				b.log.Warn("record of a filtered pull cannot be read; skipped", zap.Stringer("queue", q),
					zap.Int64("offset", first+int64(k)), zap.Int64("phyOffset", u.PhyOffset), zap.Error(err))
				continue
			}
			return nil, fmt.Errorf("read %s at %d for its properties: %w", q, first+int64(k), storeError(err))
		}
		idx = append(idx, k)
		props = append(props, m.Properties)
	}
	sc.idx, sc.props = idx, props
	if len(props) == 0 {
		return keep, nil
	}
	matched := resize(&sc.matched, len(props))
	if err := f.MatchBatch(ctx, props, matched); err != nil {
		return nil, fmt.Errorf("filter %s at %d: %w", q, first, err)
	}
	for p, k := range idx {
		keep[k] = matched[p]
	}
	clear(props) // drop the maps before the next chunk
	return keep, nil
}

// resize returns (*buf)[:n] cleared, growing *buf when it is too short.
func resize(buf *[]bool, n int) []bool {
	if cap(*buf) < n {
		*buf = make([]bool, n, max(n, 256))
	}
	b := (*buf)[:n]
	clear(b)
	return b
}
