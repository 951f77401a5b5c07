package mmap

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/ports/storage"
)

// flusher makes the log durable. One goroutine runs every flush round, so a round covers
// everything written before it started and concurrent sync appenders share it (group commit):
//
//   - sync flush: an append that needs the disk wakes the flusher (kick) and waits for the round
//     that covers its records;
//   - async flush: every FlushInterval a tick flushes whatever is dirty, and an append that
//     leaves FlushDirtyThreshold bytes unflushed wakes the flusher before the tick, so nothing
//     stays only in the page cache longer than a tick and a burst never piles up more than the
//     threshold; an fsync is never on a sender's path;
//   - every tick that moved the watermark writes a light checkpoint (the watermark only), and
//     every FullFlushInterval a full one (consume queues synced, recovery start point moved up).
type flusher struct {
	mu         sync.Mutex
	flushed    int64          // log bytes below this are on disk
	err        error          // the flush failure, once there was one
	waiters    []*flushWaiter // sync appenders waiting for a round that covers their records
	want       int            // waiters the next round gathers before it starts (see gather)
	gatherWait time.Duration
	gone       chan struct{} // closed when the store has closed its files

	durable atomic.Int64 // flushed, for appenders that only compare

	kick    chan struct{}
	quit    chan struct{}
	stopped chan struct{}

	segs []*segment // flushLog's scratch list; only one flushLog runs at a time
	pool sync.Pool  // of *flushWaiter
}

// flushWaiter is one sync append waiting until the log is durable up to end. Waiters and their
// timers are pooled, so a sync append allocates nothing in steady state.
type flushWaiter struct {
	end   int64
	done  chan error // buffered: the round that covers end (or fails) sends once
	timer *time.Timer
}

// init sets the durable watermark; called by recovery before the flusher starts.
func (f *flusher) init(flushed int64) {
	f.flushed = flushed
	f.durable.Store(flushed)
	f.gone = make(chan struct{})
	f.gatherWait = gatherWait
	f.kick = make(chan struct{}, 1)
	f.quit = make(chan struct{})
	f.stopped = make(chan struct{})
}

func (f *flusher) start(s *Store) {
	go func() {
		defer close(f.stopped)
		tick := time.NewTicker(s.cfg.FlushInterval)
		defer tick.Stop()
		gatherTimer := time.NewTimer(time.Hour)
		gatherTimer.Stop()
		lastFull := time.Now()
		for {
			select {
			case <-f.quit:
				return
			case <-f.kick:
				if s.cfg.Flush == FlushSync && !f.gather(gatherTimer) {
					return
				}
				_ = s.flushLog()
			case now := <-tick.C:
				full := now.Sub(lastFull) >= s.cfg.FullFlushInterval
				if dirty := s.committed.Load() - f.durable.Load(); dirty > 0 {
					if s.flushLog() != nil {
						continue
					}
				}
				kind := ckLight
				if full {
					kind, lastFull = ckFull, now
				}
				if err := s.writeCheckpoint(kind); err != nil {
					s.log.Warn("checkpoint", zap.Error(err))
				}
			}
		}
	}()
}

// gatherWait bounds how long a sync-flush round waits for the appenders of the previous round
// to come back (see gather).
const gatherWait = 500 * time.Microsecond

// gather holds a sync-flush round back until as many appenders wait as took part in the last
// round (those it released plus those it left waiting), or gatherWait passed. Without it,
// appenders split into two cohorts that alternate: a round starts the moment the previous one
// ends, before the appenders it released have appended again, so each round carries about
// half of them and each appender waits for two fsyncs (64 writers: 31 per round). A lone
// appender is never held: it is the one the round waits for. False when the flusher is asked
// to stop.
func (f *flusher) gather(timer *time.Timer) bool {
	f.mu.Lock()
	have, want := len(f.waiters), f.want
	f.mu.Unlock()
	if have >= want {
		return true
	}
	timer.Reset(f.gatherWait)
	defer timer.Stop()
	for have < want {
		select {
		case <-f.kick:
		case <-timer.C:
			return true
		case <-f.quit:
			return false
		}
		f.mu.Lock()
		have = len(f.waiters)
		f.mu.Unlock()
	}
	return true
}

// wake asks for a flush round without waiting for it.
func (f *flusher) wake() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// stop ends the flusher goroutine and waits for it.
func (f *flusher) stop() {
	close(f.quit)
	<-f.stopped
}

// closed releases waiters that the final flush did not satisfy.
func (f *flusher) closed() { close(f.gone) }

// state returns the watermark and the failure.
func (f *flusher) state() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushed, f.err
}

// round records the outcome of a flush round and releases the waiters it satisfies: those
// whose records are now durable, or all of them when the flush failed.
func (f *flusher) round(flushed int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && f.err == nil {
		f.err = err
	}
	if err == nil && flushed > f.flushed {
		f.flushed = flushed
		f.durable.Store(flushed)
	}
	kept := f.waiters[:0]
	f.want = len(f.waiters)
	for _, w := range f.waiters {
		switch {
		case f.err != nil:
			w.done <- f.err
		case w.end <= f.flushed:
			w.done <- nil
		default:
			kept = append(kept, w)
		}
	}
	clear(f.waiters[len(kept):])
	f.waiters = kept
	if len(kept) > 0 {
		// Waiters that came during this round's fsync need another round, and their enqueue
		// may not have woken the flusher (see enqueue).
		f.wake()
	}
}

// enqueue registers a waiter for end unless the log is already durable there or the flush
// failed; ok is false then, with the failure. kick says whether the flusher needs waking: for
// the first waiter of a round, and when the waiters a gathering round waits for are all there;
// the others would only wake it to count.
func (f *flusher) enqueue(w *flushWaiter) (ok, kick bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil || w.end <= f.flushed {
		return false, false, f.err
	}
	f.waiters = append(f.waiters, w)
	n := len(f.waiters)
	return true, n == 1 || n >= f.want, nil
}

// dequeue withdraws a waiter that gave up. When a round released it meanwhile, its answer is
// taken out of the channel, so the waiter can be reused.
func (f *flusher) dequeue(w *flushWaiter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.waiters, w); i >= 0 {
		f.waiters = slices.Delete(f.waiters, i, i+1)
		return
	}
	<-w.done
}

func (f *flusher) getWaiter(end int64, timeout time.Duration) *flushWaiter {
	w, _ := f.pool.Get().(*flushWaiter)
	if w == nil {
		w = &flushWaiter{done: make(chan error, 1), timer: time.NewTimer(timeout)}
	} else {
		w.timer.Reset(timeout)
	}
	w.end = end
	return w
}

func (f *flusher) putWaiter(w *flushWaiter) {
	w.timer.Stop()
	f.pool.Put(w)
}

// flushLog fsyncs the segments written since the last round. A failure is final: the store
// refuses writes from then on, since the kernel may have dropped the dirty pages, and no
// append waiting for this round is answered as stored.
func (s *Store) flushLog() error {
	target := s.committed.Load()
	from, ferr := s.flush.state()
	if ferr != nil {
		return ferr
	}
	if target <= from {
		s.flush.round(target, nil)
		return nil
	}
	s.flush.segs = s.appendSegmentsIn(s.flush.segs[:0], from, target)
	defer clear(s.flush.segs)
	for _, seg := range s.flush.segs {
		if err := s.syncFn(seg.f); err != nil {
			err = s.fail(fmt.Errorf("flush commit log segment %d: %w", seg.base, err))
			s.flush.round(0, err)
			return err
		}
	}
	s.stats.flushes.Add(1)
	s.flush.round(target, nil)
	return nil
}

// awaitFlush waits until the log is durable up to end, kicking the flusher, for at most the
// sync flush timeout.
func (s *Store) awaitFlush(ctx context.Context, end int64) error {
	if s.flush.durable.Load() >= end {
		return nil
	}
	w := s.flush.getWaiter(end, s.cfg.SyncFlushTimeout)
	defer s.flush.putWaiter(w)
	ok, kick, err := s.flush.enqueue(w)
	if !ok {
		return err
	}
	if kick {
		s.flush.wake()
	}
	select {
	case err := <-w.done:
		return err
	case <-w.timer.C:
		s.flush.dequeue(w)
		s.stats.syncTimeouts.Add(1)
		return fmt.Errorf("%w: log offset %d not on disk after %v", storage.ErrFlushTimeout, end, s.cfg.SyncFlushTimeout)
	case <-ctx.Done():
		s.flush.dequeue(w)
		s.stats.syncTimeouts.Add(1)
		return fmt.Errorf("%w: waiting for the flush: %w", storage.ErrFlushTimeout, ctx.Err())
	case <-s.flush.gone:
		s.flush.dequeue(w)
		if flushed, _ := s.flush.state(); flushed >= end {
			return nil
		}
		return fmt.Errorf("%w: stopped before offset %d was flushed", storage.ErrClosed, end)
	}
}
