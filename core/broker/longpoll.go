package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/core/topic"
)

// longPolls holds pulls that found nothing, until a record lands on their queue or they time out.
// Held pulls are capped per connection and in total; a pull over a cap is answered at once.
type longPolls struct {
	maxTotal, maxPerConn int

	mu      sync.Mutex
	waiters map[topic.QueueRef]map[*pollWaiter]struct{}
	total   int
	perConn map[uint64]int
	// holding mirrors total so an append with nobody waiting (the usual case) skips the lock.
	holding atomic.Int64
}

type pollWaiter struct {
	offset int64
	conn   uint64
	wake   chan struct{}
}

func newLongPolls(maxTotal, maxPerConn int) *longPolls {
	return &longPolls{maxTotal: maxTotal, maxPerConn: maxPerConn,
		waiters: make(map[topic.QueueRef]map[*pollWaiter]struct{}), perConn: make(map[uint64]int)}
}

// wait blocks until q has a record at or beyond offset, the timeout passes or ctx ends, and
// reports whether it held at all (false: a cap was reached). hasData is checked after registering
// so an arrival between the caller's read and the registration is not missed.
func (l *longPolls) wait(ctx context.Context, conn uint64, q topic.QueueRef, offset int64, timeout time.Duration, hasData func() bool) bool {
	w := &pollWaiter{offset: offset, conn: conn, wake: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.total >= l.maxTotal || l.perConn[conn] >= l.maxPerConn {
		l.mu.Unlock()
		return false
	}
	l.total++
	l.holding.Add(1)
	l.perConn[conn]++
	set := l.waiters[q]
	if set == nil {
		set = make(map[*pollWaiter]struct{})
		l.waiters[q] = set
	}
	set[w] = struct{}{}
	l.mu.Unlock()
	defer l.remove(q, w)

	if hasData() {
		return true
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.wake:
	case <-timer.C:
	case <-ctx.Done():
	}
	return true
}

func (l *longPolls) remove(q topic.QueueRef, w *pollWaiter) {
	l.mu.Lock()
	if set := l.waiters[q]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(l.waiters, q)
		}
	}
	l.total--
	l.holding.Add(-1)
	if l.perConn[w.conn]--; l.perConn[w.conn] <= 0 {
		delete(l.perConn, w.conn)
	}
	l.mu.Unlock()
}

// arrived wakes every pull held on q that waits for an offset below maxOffset.
func (l *longPolls) arrived(q topic.QueueRef, maxOffset int64) {
	if l.holding.Load() == 0 {
		return
	}
	l.mu.Lock()
	for w := range l.waiters[q] {
		if w.offset < maxOffset {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	l.mu.Unlock()
}

// held counts the pulls being held.
func (l *longPolls) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}
