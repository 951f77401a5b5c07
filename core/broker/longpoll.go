package broker

import (
	"context"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/topic"
)

// longPolls holds pulls that found nothing, until a record lands on their queue or they time out.
type longPolls struct {
	mu      sync.Mutex
	waiters map[topic.QueueRef]map[*pollWaiter]struct{}
}

type pollWaiter struct {
	offset int64
	wake   chan struct{}
}

func newLongPolls() *longPolls {
	return &longPolls{waiters: make(map[topic.QueueRef]map[*pollWaiter]struct{})}
}

// wait blocks until q has a record at or beyond offset, the timeout passes or ctx ends. hasData is
// checked after registering so an arrival between the caller's read and the registration is not
// missed.
func (l *longPolls) wait(ctx context.Context, q topic.QueueRef, offset int64, timeout time.Duration, hasData func() bool) {
	w := &pollWaiter{offset: offset, wake: make(chan struct{}, 1)}
	l.mu.Lock()
	set := l.waiters[q]
	if set == nil {
		set = make(map[*pollWaiter]struct{})
		l.waiters[q] = set
	}
	set[w] = struct{}{}
	l.mu.Unlock()
	defer l.remove(q, w)

	if hasData() {
		return
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.wake:
	case <-timer.C:
	case <-ctx.Done():
	}
}

func (l *longPolls) remove(q topic.QueueRef, w *pollWaiter) {
	l.mu.Lock()
	if set := l.waiters[q]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(l.waiters, q)
		}
	}
	l.mu.Unlock()
}

// arrived wakes every pull held on q that waits for an offset below maxOffset.
func (l *longPolls) arrived(q topic.QueueRef, maxOffset int64) {
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
	n := 0
	for _, set := range l.waiters {
		n += len(set)
	}
	return n
}
