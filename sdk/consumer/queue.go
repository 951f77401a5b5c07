package consumer

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// processQueue is one assigned queue: its pull loop, the messages pulled and not yet consumed,
// and (orderly) its lock state and consume loop.
type processQueue struct {
	c   *PushConsumer
	q   message.Queue
	sub *subscription

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the queue's goroutines ended and it is retired
	wg     sync.WaitGroup

	dropped atomic.Bool // released by a rebalance: results no longer count

	mu   sync.Mutex
	msgs []*message.Ext // pulled, not yet consumed, in queue-offset order
	next int64          // offset after the last one pulled

	space chan struct{} // signalled when messages were consumed (flow control)
	ready chan struct{} // signalled when messages arrived (orderly)

	locked   atomic.Bool
	lockedAt atomic.Int64 // unix nanoseconds of the last successful lock
}

// lockTTL is how long a lock counts as held without renewal (RocketMQ's client uses 30s; the
// broker keeps it for 60s).
const lockTTL = 30 * time.Second

func newProcessQueue(c *PushConsumer, q message.Queue, start int64) *processQueue {
	pq := &processQueue{c: c, q: q, sub: c.subs[q.Topic], next: start, done: make(chan struct{}),
		space: make(chan struct{}, 1), ready: make(chan struct{}, 1)}
	pq.ctx, pq.cancel = context.WithCancel(c.runCtx)
	pq.setLocked(true) // orderly clustering queues are locked before they are added
	return pq
}

// start launches the queue's goroutines; called with c.mu held and the consumer started.
func (pq *processQueue) start() {
	pq.c.wg.Add(1)
	pq.wg.Add(1)
	go pq.pullLoop()
	if pq.c.opts.Orderly {
		pq.wg.Add(1)
		go pq.orderlyLoop()
	}
	go func() {
		pq.wg.Wait()
		pq.retire()
		close(pq.done)
		pq.c.wg.Done()
	}()
}

// drop stops the queue after a rebalance took it away.
func (pq *processQueue) drop() {
	pq.dropped.Store(true)
	pq.cancel()
}

// retire runs once the goroutines ended: a dropped queue commits its offset and releases its
// lock. (At shutdown the consumer does both itself, after the last handler returned.)
func (pq *processQueue) retire() {
	if !pq.dropped.Load() {
		return
	}
	c := pq.c
	ctx, cancel := context.WithTimeout(context.Background(), c.client.RequestTimeout())
	defer cancel()
	if err := c.offsets.persist(ctx, []message.Queue{pq.q}); err != nil {
		c.log.Debug("offset commit of a released queue failed", "queue", pq.q, "err", err)
	}
	c.offsets.forget(pq.q)
	if c.lockingOrderly() {
		c.unlockAll(ctx, []message.Queue{pq.q})
	}
}

func (pq *processQueue) cached() int {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return len(pq.msgs)
}

// add appends pulled messages and moves the pull position.
func (pq *processQueue) add(msgs []*message.Ext, next int64) {
	pq.mu.Lock()
	pq.msgs = append(pq.msgs, msgs...)
	pq.next = next
	empty := len(pq.msgs) == 0
	pq.mu.Unlock()
	if empty {
		pq.commit()
	}
	if len(msgs) > 0 {
		signal(pq.ready)
	}
}

// remove takes consumed messages out and commits the new position in memory.
func (pq *processQueue) remove(done []*message.Ext) {
	pq.mu.Lock()
	for _, m := range done {
		i := sort.Search(len(pq.msgs), func(i int) bool { return pq.msgs[i].QueueOffset >= m.QueueOffset })
		if i < len(pq.msgs) && pq.msgs[i] == m {
			pq.msgs = append(pq.msgs[:i], pq.msgs[i+1:]...)
		}
	}
	if len(pq.msgs) == 0 && cap(pq.msgs) > 4096 {
		pq.msgs = nil
	}
	pq.mu.Unlock()
	pq.commit()
	signal(pq.space)
}

// committable is the next offset to consume: the oldest message not yet consumed, or the pull
// position when none waits.
func (pq *processQueue) committable() int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.committableLocked()
}

func (pq *processQueue) committableLocked() int64 {
	if len(pq.msgs) > 0 {
		return pq.msgs[0].QueueOffset
	}
	return pq.next
}

// commit publishes the committable offset. The offset is read and published under pq.mu: two
// handlers finishing together could otherwise publish in the reverse order of their reads and
// leave the older position in place until the next message arrives.
func (pq *processQueue) commit() {
	if pq.dropped.Load() {
		return
	}
	pq.mu.Lock()
	defer pq.mu.Unlock()
	pq.c.offsets.update(pq.q, pq.committableLocked())
}

// setNext moves the pull position when the broker said the offset was out of range.
func (pq *processQueue) setNext(next int64) {
	pq.mu.Lock()
	pq.next = next
	pq.mu.Unlock()
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// isLocked reports whether an orderly queue may be consumed now.
func (pq *processQueue) isLocked() bool {
	return pq.locked.Load() && (!pq.c.lockingOrderly() || time.Since(time.Unix(0, pq.lockedAt.Load())) < lockTTL)
}

func (pq *processQueue) setLocked(ok bool) {
	if ok {
		pq.lockedAt.Store(time.Now().UnixNano())
	}
	pq.locked.Store(ok)
}

func (pq *processQueue) pullLoop() {
	defer pq.wg.Done()
	c := pq.c
	next := pq.committable()
	tags := pq.sub.tags
	for pq.ctx.Err() == nil {
		if pq.cached() >= c.opts.MaxCachedPerQueue {
			select {
			case <-pq.space:
			case <-time.After(time.Second):
			case <-pq.ctx.Done():
				return
			}
			continue
		}
		if !pq.isLocked() {
			if !sleep(pq.ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		addr, err := c.client.MasterAddr(pq.ctx, pq.q)
		if err != nil {
			c.log.Debug("pull: no broker address", "queue", pq.q, "err", err)
			if !sleep(pq.ctx, 3*time.Second) {
				return
			}
			continue
		}
		h := pullHeader{group: c.group, queue: pq.q, offset: next, maxNums: c.opts.PullBatchSize, sysFlag: pullSuspend,
			suspend: 20 * time.Second}
		if c.opts.Model == Clustering {
			if off, ok := c.offsets.get(pq.q); ok && off > 0 {
				h.sysFlag |= pullCommitOffset
				h.commitOffset = off
			}
		}
		ctx, cancel := context.WithTimeout(pq.ctx, c.opts.PullTimeout)
		res, err := pullOnce(ctx, c.client, addr, &h, tags)
		cancel()
		if err != nil {
			if pq.ctx.Err() != nil {
				return
			}
			c.log.Debug("pull failed", "queue", pq.q, "offset", next, "err", err)
			if !sleep(pq.ctx, 3*time.Second) {
				return
			}
			continue
		}
		switch res.Status {
		case Found:
			msgs := res.Messages
			for _, m := range msgs {
				if m.Topic == c.retryTopic {
					if t := m.Properties[message.PropertyRetryTopic]; t != "" {
						m.Topic = t
					}
				}
			}
			pq.add(msgs, res.NextBeginOffset)
			if len(msgs) > 0 && !c.opts.Orderly {
				if !c.dispatch(pq, msgs) {
					return
				}
			}
		case NoNewMessage, NoMatchedMessage:
			pq.add(nil, res.NextBeginOffset)
		case OffsetIllegal:
			c.log.Warn("pull offset out of range; moving", "queue", pq.q, "offset", next, "next", res.NextBeginOffset)
			pq.setNext(res.NextBeginOffset)
			pq.commit()
		}
		next = res.NextBeginOffset
	}
}
