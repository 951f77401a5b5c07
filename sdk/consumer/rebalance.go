package consumer

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

func (p *PushConsumer) rebalanceLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.RebalanceInterval)
	defer t.Stop()
	for {
		p.applyResets()
		p.rebalance()
		select {
		case <-p.runCtx.Done():
			return
		case <-t.C:
		case <-p.rebalanceWake:
		}
	}
}

// rebalance recomputes this member's queues of every subscribed topic and starts or stops
// queues accordingly.
func (p *PushConsumer) rebalance() {
	changed := false
	topics := make([]string, 0, len(p.subs))
	for t := range p.subs {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, topic := range topics {
		if p.runCtx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
		mine, ok := p.allocate(ctx, topic)
		cancel()
		if ok && p.updateQueues(topic, mine) {
			changed = true
		}
	}
	if changed {
		ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
		if err := p.client.Heartbeat(ctx); err != nil && p.runCtx.Err() == nil {
			p.log.Debug("heartbeat after rebalance failed", "err", err)
		}
		cancel()
	}
}

// allocate computes this member's share of topic; ok is false when it cannot be known now (no
// route yet, no member list), and the current queues of the topic stay as they are.
func (p *PushConsumer) allocate(ctx context.Context, topic string) ([]message.Queue, bool) {
	route, err := p.client.Route(ctx, topic)
	if err != nil {
		if topic != p.retryTopic || !errors.Is(err, client.ErrTopicNotExist) {
			p.log.Debug("rebalance: no route", "topic", topic, "err", err)
		}
		return nil, false
	}
	if p.opts.Model == Broadcasting {
		return route.Subscribe, true
	}
	ids, err := p.memberIDs(ctx, route)
	if err != nil {
		p.log.Debug("rebalance: no member list", "topic", topic, "err", err)
		return nil, false
	}
	return AllocateAveragely(p.client.ID(), ids, route.Subscribe), true
}

// memberIDs asks the route's brokers, in turn, for the group's members.
func (p *PushConsumer) memberIDs(ctx context.Context, route *client.Route) ([]string, error) {
	var errs []error
	for _, name := range route.BrokerNames() {
		addr := route.MasterAddr(name)
		if addr == "" {
			continue
		}
		ids, err := p.client.ConsumerIDs(ctx, addr, p.group)
		if err == nil && len(ids) > 0 {
			return ids, nil
		}
		if err == nil {
			err = errors.New("empty member list from " + addr)
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("no broker master in the route")
	}
	return nil, errors.Join(errs...)
}

// updateQueues makes topic's queues those of mine; it reports whether anything changed.
func (p *PushConsumer) updateQueues(topic string, mine []message.Queue) bool {
	want := make(map[message.Queue]bool, len(mine))
	for _, q := range mine {
		want[q] = true
	}
	var removed []*processQueue
	var added []message.Queue
	p.mu.Lock()
	if p.state != stateStarted {
		p.mu.Unlock()
		return false
	}
	for q, pq := range p.queues {
		if q.Topic == topic && !want[q] {
			delete(p.queues, q)
			p.retiring[q] = pq
			removed = append(removed, pq)
		}
	}
	for _, q := range mine {
		if p.queues[q] == nil {
			added = append(added, q)
		}
	}
	p.mu.Unlock()

	for _, pq := range removed {
		p.log.Info("queue released", "queue", pq.q)
		pq.drop()
	}
	if p.lockingOrderly() && len(added) > 0 {
		added = p.lockNew(added)
	}
	for _, q := range added {
		p.addQueue(q)
	}
	return len(removed) > 0 || len(added) > 0
}

// addQueue starts consuming q from its start offset; false if it could not (tried again at the
// next rebalance).
func (p *PushConsumer) addQueue(q message.Queue) bool {
	p.mu.Lock()
	old := p.retiring[q]
	p.mu.Unlock()
	if old != nil {
		select {
		case <-old.done:
		case <-p.runCtx.Done():
			return false
		}
		p.mu.Lock()
		if p.retiring[q] == old {
			delete(p.retiring, q)
		}
		p.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
	start, err := p.startOffset(ctx, q)
	cancel()
	if err != nil {
		if p.runCtx.Err() == nil {
			p.log.Warn("queue not taken: no start offset", "queue", q, "err", err)
		}
		return false
	}
	pq := newProcessQueue(p, q, start)
	p.mu.Lock()
	if p.state != stateStarted {
		p.mu.Unlock()
		return false
	}
	p.queues[q] = pq
	pq.start()
	p.mu.Unlock()
	p.log.Info("queue assigned", "queue", q, "offset", start)
	return true
}

// startOffset is where consumption of a newly assigned queue begins (REMOTING.md §6.1).
func (p *PushConsumer) startOffset(ctx context.Context, q message.Queue) (int64, error) {
	off, ok, err := p.offsets.read(ctx, q)
	if err != nil {
		return 0, err
	}
	if ok && off >= 0 {
		p.offsets.update(q, off)
		return off, nil
	}
	retry := q.Topic == p.retryTopic
	switch {
	case p.opts.StartFrom == FromFirstOffset || retry && p.opts.StartFrom == FromLastOffset:
		off = 0
	case p.opts.StartFrom == FromTimestamp && !retry:
		off, err = p.client.SearchOffset(ctx, q, p.opts.StartTimestamp)
	default:
		off, err = p.client.MaxOffset(ctx, q)
	}
	if err != nil {
		return 0, err
	}
	p.offsets.update(q, off)
	return off, nil
}
