package broker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/inbound"
)

type lockEntry struct {
	clientID string
	renewed  time.Time
}

// queueLocks grants orderly consumers exclusive queues: a lock belongs to one client of a group
// and lapses when it is not renewed within the lease.
type queueLocks struct {
	lease time.Duration
	clock clock.Clock

	mu    sync.Mutex
	table map[string]map[inbound.MessageQueue]*lockEntry // group -> queue -> holder
}

func newQueueLocks(lease time.Duration, clk clock.Clock) *queueLocks {
	return &queueLocks{lease: lease, clock: clk, table: make(map[string]map[inbound.MessageQueue]*lockEntry)}
}

// lock grants or renews each queue that is free, already the client's, or lapsed, and returns the
// queues the client now holds of those asked for.
func (l *queueLocks) lock(group, clientID string, qs []inbound.MessageQueue) []inbound.MessageQueue {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.table[group]
	if g == nil {
		g = make(map[inbound.MessageQueue]*lockEntry)
		l.table[group] = g
	}
	// Lapsed locks go now, so a group's table holds only what its consumers renew.
	for q, e := range g {
		if now.Sub(e.renewed) > l.lease {
			delete(g, q)
		}
	}
	out := make([]inbound.MessageQueue, 0, len(qs))
	for _, q := range qs {
		if q.QueueID < 0 || topic.ValidateTopic(q.Topic) != nil {
			continue
		}
		e := g[q]
		if e == nil || e.clientID == clientID || now.Sub(e.renewed) > l.lease {
			g[q] = &lockEntry{clientID: clientID, renewed: now}
			out = append(out, q)
		}
	}
	return out
}

// unlock releases the queues the client holds; others' locks are left alone.
func (l *queueLocks) unlock(group, clientID string, qs []inbound.MessageQueue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.table[group]
	for _, q := range qs {
		if e := g[q]; e != nil && e.clientID == clientID {
			delete(g, q)
		}
	}
	if len(g) == 0 {
		delete(l.table, group)
	}
}

// LockQueues grants, renews or refuses each queue for an orderly consumer.
func (b *Broker) LockQueues(_ context.Context, group, clientID string, qs []inbound.MessageQueue) ([]inbound.MessageQueue, error) {
	if err := topic.ValidateGroup(group); err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if clientID == "" {
		return nil, fmt.Errorf("%w: client id is empty", errs.ErrInvalidArgument)
	}
	return b.locks.lock(group, clientID, qs), nil
}

// UnlockQueues releases an orderly consumer's queues.
func (b *Broker) UnlockQueues(_ context.Context, group, clientID string, qs []inbound.MessageQueue) error {
	if err := topic.ValidateGroup(group); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	b.locks.unlock(group, clientID, qs)
	return nil
}
