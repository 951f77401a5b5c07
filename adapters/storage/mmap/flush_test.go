package mmap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// newStore returns a store of cfg that is not started, with fn applied before Start.
func newStore(t *testing.T, cfg Config, fn func(s *Store)) *Store {
	t.Helper()
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if fn != nil {
		fn(s)
	}
	return s
}

// Async flush, in a bubble with a fake clock: a tick with less than the threshold dirty does not
// flush, the full flush interval flushes anything, and an append that passes the threshold
// wakes the flusher at once.
func TestAsyncFlushPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		cfg.FlushInterval = 500 * time.Millisecond
		cfg.FlushDirtyThreshold = 16 << 10
		cfg.FullFlushInterval = 10 * time.Second
		var logSyncs atomic.Int32
		s := newStore(t, cfg, func(s *Store) {
			s.syncFn = func(f *os.File) error {
				if isLog(f) {
					logSyncs.Add(1)
				}
				return datasync(f)
			}
		})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop(context.Background())
		ctx := context.Background()
		appendBody := func(n int) int64 {
			t.Helper()
			m := storagetest.Msg("TopicF", 0, strings.Repeat("x", n), "")
			delete(m.Properties, message.PropertyKeys) // the suite's keys repeat the body
			if _, err := s.Append(ctx, []message.Message{m}, nil); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			return s.Stats().LogEnd
		}
		end := appendBody(100)
		if d := s.Stats().DurableOffset; d >= end {
			t.Fatalf("a small append was flushed at once (durable %d, end %d)", d, end)
		}
		time.Sleep(400 * time.Millisecond) // before the tick
		synctest.Wait()
		if d := s.Stats().DurableOffset; d >= end || logSyncs.Load() != 0 {
			t.Fatalf("flushed below the threshold before the tick: durable %d, %d syncs", d, logSyncs.Load())
		}
		time.Sleep(100 * time.Millisecond) // the tick
		synctest.Wait()
		if d := s.Stats().DurableOffset; d != end || logSyncs.Load() != 1 {
			t.Fatalf("the tick did not flush what was dirty: durable %d, end %d, %d syncs", d, end, logSyncs.Load())
		}
		time.Sleep(5 * time.Second) // idle ticks: nothing dirty, no fsync
		synctest.Wait()
		if n := logSyncs.Load(); n != 1 {
			t.Fatalf("%d log syncs while idle, want none after the first", n)
		}
		before := time.Now()
		end = appendBody(int(cfg.FlushDirtyThreshold))
		if d := s.Stats().DurableOffset; d != end || time.Since(before) != 0 {
			t.Fatalf("passing the threshold did not flush at once: durable %d, end %d, after %v", d, end, time.Since(before))
		}
		// Just under the threshold, in two appends: the second one passes it.
		end = appendBody(int(cfg.FlushDirtyThreshold)/2 - 200)
		if d := s.Stats().DurableOffset; d == end {
			t.Fatalf("half the threshold was flushed at once: %+v", s.Stats())
		}
		end = appendBody(int(cfg.FlushDirtyThreshold)/2 + 200)
		if d := s.Stats().DurableOffset; d != end {
			t.Fatalf("the second half did not pass the threshold: durable %d, end %d", d, end)
		}
	})
}

// Under async flush the full flush interval also moves the checkpoint's dispatched offset, and
// each tick that flushed moves its flushed offset.
func TestAsyncFlushCheckpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		cfg.FlushInterval = 500 * time.Millisecond
		cfg.FlushDirtyThreshold = 0
		cfg.FullFlushInterval = 10 * time.Second
		s := newStore(t, cfg, nil)
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop(context.Background())
		storagetest.Fill(t, s, "TopicK", 2, 20, 100)
		_, end := s.LogBounds()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		cp := readCheckpoint(t, cfg.Dir)
		if cp.flushed != end || cp.dispatched >= end || cp.clean {
			t.Fatalf("checkpoint after a tick: %+v, want flushed %d and the old dispatched offset", cp, end)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if cp := readCheckpoint(t, cfg.Dir); cp.dispatched != end || cp.flushed != end {
			t.Fatalf("checkpoint after the full flush interval: %+v, want dispatched and flushed %d", cp, end)
		}
	})
}

func readCheckpoint(t *testing.T, dir string) checkpointData {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	cp, ok := decodeCheckpoint(b)
	if !ok {
		t.Fatalf("checkpoint does not decode: %x", b)
	}
	return cp
}

// Sync flush: appenders that arrive while a flush is running all wait for the next round,
// which makes them durable with one fsync.
func TestSyncFlushGroupCommit(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Flush = FlushSync
	cfg.FlushInterval = time.Hour // no ticks: every flush below is asked for by an append
	var (
		armed    atomic.Bool
		logSyncs atomic.Int32
		entered  = make(chan struct{})
		gate     = make(chan struct{})
	)
	s := newStore(t, cfg, func(s *Store) {
		s.syncFn = func(f *os.File) error {
			if armed.Load() && isLog(f) {
				if logSyncs.Add(1) == 1 {
					close(entered)
					<-gate
				}
			}
			return datasync(f)
		}
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	var arrived atomic.Int32
	allIn := make(chan struct{})
	const waiters = 8
	s.OnArrival(func(topic.QueueRef, int64) {
		if arrived.Add(1) == waiters+1 {
			close(allIn)
		}
	})
	armed.Store(true)
	ctx := context.Background()
	errs := make(chan error, waiters+1)
	go func() {
		_, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicG", 0, "first", "")}, nil)
		errs <- err
	}()
	<-entered // the first round is in its fsync
	for i := range waiters {
		go func() {
			_, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicG", int32(i+1), "waiter", "")}, nil)
			errs <- err
		}()
	}
	<-allIn // every waiter has written its record and waits for the flush
	close(gate)
	for range waiters + 1 {
		if err := <-errs; err != nil {
			t.Fatalf("sync append: %v", err)
		}
	}
	if n := logSyncs.Load(); n != 2 {
		t.Fatalf("%d fsyncs of the log for %d appenders, want 2: one round for the first, one shared by the rest", n, waiters+1)
	}
	if st := s.Stats(); st.DurableOffset != st.LogEnd || st.Flushes < 2 {
		t.Fatalf("stats after the flushes: %+v", st)
	}
}

// A sync flush slower than syncFlushTimeout answers ErrFlushTimeout (FLUSH_DISK_TIMEOUT) with
// the results; the data is stored and becomes durable when the flush ends.
func TestSyncFlushTimeoutThenDurable(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Flush = FlushSync
	cfg.SyncFlushTimeout = 20 * time.Millisecond
	var slow atomic.Bool
	release := make(chan struct{})
	s := newStore(t, cfg, func(s *Store) {
		s.syncFn = func(f *os.File) error {
			if slow.Load() && isLog(f) {
				<-release
			}
			return datasync(f)
		}
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	msg := storagetest.Msg("TopicF", 0, "slow", "")
	res, err := s.Append(context.Background(), []message.Message{msg}, nil)
	if !errors.Is(err, storage.ErrFlushTimeout) || len(res) != 1 {
		t.Fatalf("slow flush: %v, %v, want results with ErrFlushTimeout", res, err)
	}
	if st := s.Stats(); st.SyncFlushTimeouts != 1 || st.DurableOffset >= st.LogEnd {
		t.Fatalf("stats during the slow flush: %+v", st)
	}
	slow.Store(false)
	close(release)
	if _, err := s.Append(context.Background(), []message.Message{storagetest.Msg("TopicF", 0, "next", "")}, nil); err != nil {
		t.Fatalf("append after the slow flush: %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2, _ := start(t, cfg)
	storagetest.Verify(t, s2, storagetest.Appended{Msgs: []message.Message{msg}, Results: res})
}

// A failed fsync fails every append waiting for it and every later one with ErrUnavailable (the
// broker answers SERVICE_NOT_AVAILABLE), never success; Stop then leaves a checkpoint that is
// not clean, so the next start verifies the log.
func TestFlushFailureFailsWaitersAndLatches(t *testing.T) {
	for _, flush := range []string{FlushSync, FlushAsync} {
		t.Run(flush, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			cfg.Flush = flush
			cfg.FlushDirtyThreshold = 0
			cfg.FlushInterval = time.Hour
			boom := errors.New("injected EIO")
			var failing atomic.Bool
			s := newStore(t, cfg, func(s *Store) {
				s.syncFn = func(f *os.File) error {
					if failing.Load() && isLog(f) {
						return boom
					}
					return datasync(f)
				}
			})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			ok := storagetest.Fill(t, s, "TopicF", 1, 5, 10)
			failing.Store(true)
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 8 {
				wg.Go(func() {
					_, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicF", 0, fmt.Sprint(i), "")}, nil)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if flush == FlushSync && (!errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, boom)) {
					t.Fatalf("sync append during a failing flush: %v, want ErrUnavailable wrapping the cause", err)
				}
			}
			if flush == FlushAsync {
				// The failure is found by the flusher, which the appends above woke.
				deadline := time.Now().Add(5 * time.Second)
				for !s.Stats().Unavailable {
					if time.Now().After(deadline) {
						t.Fatalf("a failed async flush was not latched")
					}
					time.Sleep(time.Millisecond)
				}
			}
			if _, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicF", 0, "later", "")}, nil); !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("append after a failed flush: %v, want ErrUnavailable", err)
			}
			if err := s.Stop(ctx); err == nil {
				t.Fatalf("Stop after a failed flush reported success")
			}
			if cp := readCheckpoint(t, cfg.Dir); cp.clean {
				t.Fatalf("a store whose flush failed left a clean checkpoint: %+v", cp)
			}
			s2, _ := start(t, cfg)
			if s2.Stats().LastStartClean {
				t.Fatalf("the start after a failed flush trusted the checkpoint")
			}
			storagetest.Verify(t, s2, ok)
		})
	}
}

// A write that fails half way (a full disk) refuses the batch with ErrUnavailable without
// latching, zeroes what it wrote so no refused record can be recovered later, and the store
// takes the next batch at the same offset. The same holds for a group of single messages a
// combiner wrote with one write: every batch of the group is refused.
func TestFailedWriteLeavesNoRecord(t *testing.T) {
	t.Run("batch", func(t *testing.T) {
		testFailedWriteLeavesNoRecord(t, func(s *Store, refused []message.Message) []error {
			_, err := s.Append(context.Background(), refused, nil)
			return []error{err}
		})
	})
	t.Run("combined", func(t *testing.T) {
		testFailedWriteLeavesNoRecord(t, func(s *Store, refused []message.Message) []error {
			batches := make([][]message.Message, len(refused))
			for i := range refused {
				batches[i] = refused[i : i+1]
			}
			_, errs := groupAppend(t, s, batches)
			return errs
		})
	})
}

func testFailedWriteLeavesNoRecord(t *testing.T, appendRefused func(s *Store, refused []message.Message) []error) {
	cfg := testConfig(t.TempDir())
	var failNext atomic.Bool
	var failedLen atomic.Int64
	s := newStore(t, cfg, func(s *Store) {
		s.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
			if failNext.Swap(false) {
				failedLen.Store(int64(len(b)))
				n, err := f.WriteAt(b[:len(b)*3/4], off)
				if err != nil {
					return n, err
				}
				return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
			}
			return f.WriteAt(b, off)
		}
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	ctx := context.Background()
	kept := storagetest.Fill(t, s, "TopicW", 1, 3, 50)
	_, end := s.LogBounds()
	var refused []message.Message
	for i := range 4 {
		refused = append(refused, storagetest.Msg("TopicW", 0, fmt.Sprint("refused-", i, strings.Repeat("r", 200+i*37)), ""))
	}
	failNext.Store(true)
	for i, err := range appendRefused(s, refused) {
		if !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append %d on a full disk: %v, want ErrUnavailable wrapping ENOSPC", i, err)
		}
	}
	if n := failedLen.Load(); n < 4*200 {
		t.Fatalf("the failed write had %d bytes, want the 4 records in one write", n)
	}
	if st := s.Stats(); st.Unavailable || st.LogEnd != end {
		t.Fatalf("after a refused batch: %+v, want the store writable and the log end at %d", st, end)
	}
	short := storagetest.Msg("TopicW", 0, "short", "")
	res, err := s.Append(ctx, []message.Message{short}, nil)
	if err != nil || res[0].PhysicalOffset != end || res[0].QueueOffset != 3 {
		t.Fatalf("append after the refused batch: %+v, %v, want offset %d, queue offset 3", res, err, end)
	}
	// A crash now, with no checkpoint to tell what was flushed: recovery searches past any bad
	// bytes for records, and must find none of the refused batch.
	crashed := t.TempDir()
	copyDir(t, cfg.Dir, crashed)
	if err := os.Remove(filepath.Join(crashed, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	s2, _ := start(t, testConfig(crashed))
	if _, hi := s2.LogBounds(); hi != res[0].PhysicalOffset+int64(res[0].Size) {
		t.Fatalf("recovered log ends at %d, want %d: a refused record came back", hi, res[0].PhysicalOffset+int64(res[0].Size))
	}
	if _, hi := s2.QueueBounds(topic.QueueRef{Topic: "TopicW"}); hi != 4 {
		t.Fatalf("recovered queue max %d, want 4", hi)
	}
	storagetest.Verify(t, s2, kept)
	storagetest.Verify(t, s2, storagetest.Appended{Msgs: []message.Message{short}, Results: res})
}

// gather holds a round until as many waiters as the last round had are back, is woken by the
// enqueue that completes them, never holds a round that has them, and gives way to a stop.
func TestSyncFlushGatherWaitsForTheLastRoundsWaiters(t *testing.T) {
	var f flusher
	f.init(0)
	f.gatherWait = time.Hour // only the waiters or a stop end a gather here
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	f.want = 2
	if ok, kick, _ := f.enqueue(&flushWaiter{end: 10, done: make(chan error, 1)}); !ok || !kick {
		t.Fatalf("first waiter: ok %v kick %v, want both", ok, kick)
	}
	done := make(chan bool, 1)
	go func() { done <- f.gather(timer) }()
	ok, kick, _ := f.enqueue(&flushWaiter{end: 20, done: make(chan error, 1)})
	if !ok || !kick {
		t.Fatalf("waiter completing the gather: ok %v kick %v, want both", ok, kick)
	}
	f.wake()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("gather reported a stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gather did not end when the waiters were back")
	}
	f.round(20, nil)
	if f.want != 2 || len(f.waiters) != 0 {
		t.Fatalf("after the round: want %d, %d waiters; want 2 and 0", f.want, len(f.waiters))
	}
	f.want = 0
	if !f.gather(timer) { // nothing to wait for: at once
		t.Fatal("gather with nothing to wait for reported a stop")
	}
	f.want = 1
	close(f.quit)
	if f.gather(timer) {
		t.Fatal("gather went on after a stop")
	}
}

// An appender that comes while a round's fsync runs, and is not the one its gathering round
// waits for, still gets a round as soon as that one ends: the round that leaves it waiting wakes
// the flusher (before, it waited for the next tick, here an hour away, and timed out).
func TestSyncFlushWaiterDuringFsyncGetsTheNextRound(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Flush = FlushSync
	cfg.FlushInterval, cfg.FullFlushInterval = time.Hour, time.Hour
	cfg.SyncFlushTimeout = 30 * time.Second // the failure this guards against is a timeout
	entered, gate := make(chan struct{}, 16), make(chan struct{})
	var blocking atomic.Bool
	s := newStore(t, cfg, func(s *Store) {
		s.syncFn = func(f *os.File) error {
			if blocking.Load() && strings.Contains(f.Name(), "commitlog") {
				entered <- struct{}{}
				<-gate
			}
			return datasync(f)
		}
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	ctx := context.Background()
	s.flush.mu.Lock()
	s.flush.want = 3 // as if the last round had had three appenders
	s.flush.mu.Unlock()
	blocking.Store(true)
	done := make(chan error, 2)
	send := func(body string) {
		_, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicG", 0, body, "")}, nil)
		done <- err
	}
	go send("a")
	<-entered // a's round is in its fsync
	blocking.Store(false)
	go send("c")
	waitFor(t, "c to wait", func() bool {
		s.flush.mu.Lock()
		defer s.flush.mu.Unlock()
		return len(s.flush.waiters) == 2
	})
	close(gate)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("sync append: %v", err)
		}
	}
}
