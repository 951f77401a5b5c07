package consumer

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// orderlyLoop consumes one queue in order: one batch at a time, only while the queue is locked
// (clustering), retrying a failed batch in place.
func (pq *processQueue) orderlyLoop() {
	defer pq.wg.Done()
	c := pq.c
	for {
		pq.mu.Lock()
		n := min(len(pq.msgs), c.opts.BatchSize)
		batch := slices.Clone(pq.msgs[:n])
		pq.mu.Unlock()
		if n == 0 {
			select {
			case <-pq.ready:
				continue
			case <-pq.ctx.Done():
				return
			}
		}
		if pq.ctx.Err() != nil {
			return
		}
		if !pq.isLocked() {
			if !sleep(pq.ctx, 100*time.Millisecond) {
				return
			}
			continue
		}
		select {
		case c.sem <- struct{}{}:
		case <-pq.ctx.Done():
			return
		}
		if !pq.isLocked() || pq.dropped.Load() {
			<-c.sem
			continue
		}
		err := c.handleOrderly(batch)
		<-c.sem
		if err == nil {
			pq.remove(batch)
			continue
		}
		if c.consumeCtx.Err() != nil {
			return // a forced shutdown interrupted the handler
		}
		c.log.Debug("orderly consume failed", "queue", pq.q, "offset", batch[0].QueueOffset, "err", err)
		if c.exhausted(batch) {
			pq.remove(batch) // every message went to the dead-letter queue
			continue
		}
		if !sleep(pq.ctx, c.opts.SuspendInterval) {
			return
		}
	}
}

func (p *PushConsumer) handleOrderly(batch []*message.Ext) error {
	h := p.handlerFor(batch[0].Topic)
	if h == nil {
		return nil
	}
	return p.call(h, batch)
}

// exhausted handles a failed orderly batch as RocketMQ does: a message that reached
// MaxReconsumeTimes is sent to the dead-letter queue (send-back with delay level -1); the others
// count one more attempt. It reports whether the whole batch was sent away.
func (p *PushConsumer) exhausted(batch []*message.Ext) bool {
	all := true
	for _, m := range batch {
		if int(m.ReconsumeTimes) >= p.opts.MaxReconsumeTimes {
			m.Properties[message.PropertyReconsumeTime] = strconv.Itoa(int(m.ReconsumeTimes))
			if p.sendBack(m, -1) {
				continue
			}
		}
		m.ReconsumeTimes++
		all = false
	}
	return all
}

// lockNew locks newly assigned queues before they are taken; it returns those now locked.
func (p *PushConsumer) lockNew(qs []message.Queue) []message.Queue {
	ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
	defer cancel()
	var out []message.Queue
	for addr, group := range p.byBroker(ctx, qs) {
		locked, err := p.client.LockQueues(ctx, addr, p.group, group)
		if err != nil {
			p.log.Debug("lock failed", "broker", addr, "err", err)
			continue
		}
		out = append(out, locked...)
	}
	return out
}

// byBroker groups queues by the master address of their broker.
func (p *PushConsumer) byBroker(ctx context.Context, qs []message.Queue) map[string][]message.Queue {
	out := map[string][]message.Queue{}
	for _, q := range qs {
		addr, err := p.client.MasterAddr(ctx, q)
		if err != nil {
			continue
		}
		out[addr] = append(out[addr], q)
	}
	return out
}

// lockLoop renews the locks of the queues held, and marks those the broker no longer grants.
func (p *PushConsumer) lockLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.LockInterval)
	defer t.Stop()
	for {
		select {
		case <-p.runCtx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		pqs := make(map[message.Queue]*processQueue, len(p.queues))
		qs := make([]message.Queue, 0, len(p.queues))
		for q, pq := range p.queues {
			pqs[q] = pq
			qs = append(qs, q)
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
		for addr, group := range p.byBroker(ctx, qs) {
			locked, err := p.client.LockQueues(ctx, addr, p.group, group)
			if err != nil {
				p.log.Debug("lock renewal failed", "broker", addr, "err", err)
				continue // keep the state: the lock expires by itself after lockTTL
			}
			for _, q := range group {
				pqs[q].setLocked(slices.Contains(locked, q))
			}
		}
		cancel()
	}
}

// unlockAll releases the broker locks of qs.
func (p *PushConsumer) unlockAll(ctx context.Context, qs []message.Queue) {
	for addr, group := range p.byBroker(ctx, qs) {
		if err := p.client.UnlockQueues(ctx, addr, p.group, group); err != nil {
			p.log.Debug("unlock failed", "broker", addr, "err", err)
		}
	}
}
