package mmap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// fakeEnv is a clock and a disk-usage gauge a test moves by hand.
type fakeEnv struct {
	now   atomic.Pointer[time.Time]
	usage atomic.Uint64 // math.Float64bits
	// usageFn, when set, replaces the fixed usage.
	usageFn func() float64
}

func (e *fakeEnv) setNow(t time.Time) { e.now.Store(&t) }
func (e *fakeEnv) setUsage(u float64) { e.usage.Store(math.Float64bits(u)) }
func (e *fakeEnv) clock() time.Time   { return *e.now.Load() }
func (e *fakeEnv) gauge() (float64, error) {
	if e.usageFn != nil {
		return e.usageFn(), nil
	}
	return math.Float64frombits(e.usage.Load()), nil
}

// startFake opens a store whose retention reads env; retention runs only when the test calls
// runRetention (the loop's interval is an hour).
func startFake(t *testing.T, cfg Config, env *fakeEnv) *Store {
	t.Helper()
	cfg.CleanInterval = time.Hour
	cfg.WarmAhead = 0 // the counts below are of segments the log wrote; one made ahead would shift them
	if env.now.Load() == nil {
		env.setNow(time.Now())
	}
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	s.ret.now, s.ret.usage = env.clock, env.gauge
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-s.ret.started
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// flushed waits until the flusher made the whole log durable (kicking it: one round at a time).
func flushed(t *testing.T, s *Store) {
	t.Helper()
	if err := s.awaitFlush(context.Background(), s.committed.Load()); err != nil {
		t.Fatal(err)
	}
}

func cqFiles(t *testing.T, dir string, q topic.QueueRef) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "consumequeue", q.Topic, fmt.Sprint(q.QueueID)))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// wantMin is the first queue offset of q whose record is at or past logMin.
func wantMin(a storagetest.Appended, q topic.QueueRef, logMin int64) int64 {
	best := int64(-1)
	for i, m := range a.Msgs {
		r := a.Results[i]
		if m.Topic == q.Topic && m.QueueID == q.QueueID && r.PhysicalOffset >= logMin && (best < 0 || r.QueueOffset < best) {
			best = r.QueueOffset
		}
	}
	return best
}

// checkTrimmed asserts that the log starts at logMin, every queue's minimum is its first unit
// still in the log, nothing below it can be looked up or read, and everything above it can.
func checkTrimmed(t *testing.T, s *Store, a storagetest.Appended, queues []topic.QueueRef) {
	t.Helper()
	ctx := context.Background()
	logMin, _ := s.LogBounds()
	for _, q := range queues {
		lo, hi := s.QueueBounds(q)
		if want := wantMin(a, q, logMin); lo != want {
			t.Fatalf("%v: QueueBounds min %d, want %d (log min %d)", q, lo, want, logMin)
		}
		if lo > 0 {
			if _, err := s.Lookup(ctx, q, lo-1, 1, nil); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%v: Lookup below the minimum: %v, want ErrNotFound", q, err)
			}
		}
		units, err := s.Lookup(ctx, q, lo, int(hi-lo), nil)
		if err != nil || int64(len(units)) != hi-lo {
			t.Fatalf("%v: Lookup(%d): %d units, %v", q, lo, len(units), err)
		}
		for _, u := range units {
			if u.PhyOffset < logMin {
				t.Fatalf("%v: unit at %d is below the log minimum %d", q, u.PhyOffset, logMin)
			}
		}
	}
	var kept storagetest.Appended
	for i, r := range a.Results {
		if r.PhysicalOffset >= logMin {
			kept.Msgs = append(kept.Msgs, a.Msgs[i])
			kept.Results = append(kept.Results, r)
		} else if _, err := s.Message(ctx, r.PhysicalOffset); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Message(%d) below the log minimum %d: %v, want ErrNotFound", r.PhysicalOffset, logMin, err)
		}
	}
	// Verify looks units up from 0; check the kept ones by offset and content instead.
	for i, r := range kept.Results {
		ext, err := s.Message(ctx, r.PhysicalOffset)
		if err != nil || string(ext.Body) != string(kept.Msgs[i].Body) {
			t.Fatalf("Message(%d): %v (body ok: %v)", r.PhysicalOffset, err, err == nil && string(ext.Body) == string(kept.Msgs[i].Body))
		}
	}
}

func TestRetentionDeletesExpiredSegmentsAtTheConfiguredHour(t *testing.T) {
	dir := t.TempDir()
	real := time.Now()
	expired := real.Add(74 * time.Hour).Truncate(time.Hour) // more than 72h after every write
	cfg := testConfig(dir)
	cfg.DeleteWhen = fmt.Sprintf("%02d;%02d", (expired.Hour()+12)%24, expired.Hour())
	env := &fakeEnv{}
	env.setUsage(0.10)
	s := startFake(t, cfg, env)

	queues := []topic.QueueRef{{Topic: "TopicR", QueueID: 0}, {Topic: "TopicR", QueueID: 1}}
	a := storagetest.Fill(t, s, "TopicR", 2, 700, 333)
	flushed(t, s)
	segs := len(segmentFiles(t, dir))
	if segs < 4 {
		t.Fatalf("only %d segments; the test needs several", segs)
	}

	// Expired, but not a deleteWhen hour; a deleteWhen hour, but nothing is old enough.
	young := real.Truncate(time.Hour)
	for young.Hour() != expired.Hour() {
		young = young.Add(time.Hour)
	}
	for _, now := range []time.Time{expired.Add(time.Hour), young} {
		env.setNow(now)
		if n := s.runRetention(); n != 0 {
			t.Fatalf("at %v retention deleted %d segments", now, n)
		}
	}
	if got := len(segmentFiles(t, dir)); got != segs {
		t.Fatalf("%d segments, want %d untouched", got, segs)
	}
	filesBefore := cqFiles(t, dir, queues[0])

	env.setNow(expired)
	if n := s.runRetention(); n != segs-1 {
		t.Fatalf("retention deleted %d segments, want all but the last (%d)", n, segs-1)
	}
	if got := len(segmentFiles(t, dir)); got != 1 {
		t.Fatalf("%d segment files left, want 1", got)
	}
	logMin, logMax := s.LogBounds()
	if logMin != logMax-logMax%testSegment {
		t.Fatalf("log starts at %d, want the base of the last segment (end %d)", logMin, logMax)
	}
	checkTrimmed(t, s, a, queues)
	if got := cqFiles(t, dir, queues[0]); got >= filesBefore {
		t.Fatalf("consume queue files: %d before, %d after; the ones below the minimum should be gone", filesBefore, got)
	}

	// Appends go on; a restart keeps the minimums (reopened queues are corrected again).
	b := storagetest.Fill(t, s, "TopicR", 2, 20, 100)
	a.Msgs, a.Results = append(a.Msgs, b.Msgs...), append(a.Results, b.Results...)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := startFake(t, cfg, env)
	checkTrimmed(t, s2, a, queues)
}

func TestRetentionHighWatermarkDeletesOldestAtOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.DeleteWhen = fmt.Sprintf("%02d", (time.Now().Hour()+12)%24) // not now
	env := &fakeEnv{}
	// 0.6 + 0.05 per segment file: with 4 files 0.80, above 0.75; with 3, 0.75, not above.
	env.usageFn = func() float64 {
		entries, _ := os.ReadDir(filepath.Join(dir, "commitlog"))
		return 0.6 + 0.05*float64(len(entries))
	}
	s := startFake(t, cfg, env)
	queues := []topic.QueueRef{{Topic: "TopicH", QueueID: 0}}
	var a storagetest.Appended
	for n, _ := env.gauge(); n < 0.8; n, _ = env.gauge() { // until 4 segment files
		b := storagetest.Fill(t, s, "TopicH", 1, 50, 500)
		a.Msgs, a.Results = append(a.Msgs, b.Msgs...), append(a.Results, b.Results...)
	}
	flushed(t, s)
	if n := s.runRetention(); n != 1 {
		t.Fatalf("retention deleted %d segments above the high watermark, want 1 (until below it)", n)
	}
	if got := len(segmentFiles(t, dir)); got != 3 {
		t.Fatalf("%d segment files, want 3", got)
	}
	checkTrimmed(t, s, a, queues)
}

// Retention never deletes a segment the flusher has not made durable, nor the last one.
func TestRetentionKeepsUnflushedAndLastSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.FlushInterval, cfg.FullFlushInterval = time.Hour, time.Hour // only the test flushes
	cfg.FlushDirtyThreshold = 1 << 40
	env := &fakeEnv{}
	env.setUsage(0.99) // above every watermark: delete all it may
	s := startFake(t, cfg, env)
	env.setUsage(0.10)
	storagetest.Fill(t, s, "TopicU", 1, 300, 500)
	segs := len(segmentFiles(t, dir))
	env.setUsage(0.99)
	if n := s.runRetention(); n != 0 {
		t.Fatalf("retention deleted %d unflushed segments", n)
	}
	flushed(t, s)
	if n := s.runRetention(); n != segs-1 {
		t.Fatalf("retention deleted %d flushed segments, want %d (all but the last)", n, segs-1)
	}
	if n := s.runRetention(); n != 0 {
		t.Fatalf("retention deleted the last segment")
	}
}

func TestCriticalWatermarkRefusesWritesUntilSpaceIsFree(t *testing.T) {
	cfg := testConfig(t.TempDir())
	env := &fakeEnv{}
	env.setUsage(0.10)
	s := startFake(t, cfg, env)
	ctx := context.Background()
	msg := storagetest.Msg("TopicC", 0, "body", "")
	if _, err := s.Append(ctx, []message.Message{msg}, nil); err != nil {
		t.Fatal(err)
	}
	env.setUsage(0.95)
	s.measureDisk() // what the retention loop does every cleanInterval
	_, err := s.Append(ctx, []message.Message{msg}, nil)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "disk usage 95.0%") ||
		!strings.Contains(err.Error(), "critical watermark 90.0%") {
		t.Fatalf("Append above the critical watermark: %v, want ErrUnavailable naming usage and watermark", err)
	}
	env.setUsage(0.50)
	if _, err := s.Append(ctx, []message.Message{msg}, nil); err != nil {
		t.Fatalf("Append once space is free: %v", err)
	}
	if _, hi := s.QueueBounds(topic.QueueRef{Topic: "TopicC"}); hi != 2 {
		t.Fatalf("queue max %d, want 2", hi)
	}
}

// Readers racing with deletion get a record or ErrNotFound, never a fault (run with -race).
func TestRetentionWithConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	env := &fakeEnv{}
	env.setUsage(0.10)
	s := startFake(t, cfg, env)
	a := storagetest.Fill(t, s, "TopicX", 2, 600, 333)
	flushed(t, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads atomic.Int64
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i = (i + 7) % len(a.Results) {
				select {
				case <-stop:
					return
				default:
				}
				r := a.Results[i]
				if _, err := s.ReadRecord(ctx, r.PhysicalOffset, r.Size, nil); err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("ReadRecord(%d): %v", r.PhysicalOffset, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	for reads.Load() < 1000 {
		time.Sleep(time.Millisecond) // let the readers get going; not a synchronisation point
	}
	env.setUsage(0.99)
	n := s.runRetention()
	close(stop)
	wg.Wait()
	if n == 0 {
		t.Fatal("nothing deleted")
	}
	checkTrimmed(t, s, a, []topic.QueueRef{{Topic: "TopicX", QueueID: 0}, {Topic: "TopicX", QueueID: 1}})
}

// Once retention has deleted segments, the key-index files that only point into them go too;
// keys of the records still in the log are found, in this run and after a restart.
func TestRetentionDeletesKeyIndexFilesBelowTheLog(t *testing.T) {
	dir := t.TempDir()
	cfg := idxConfig(dir, 64, 50) // 49 entries per file, one key a message: about 9 files
	env := &fakeEnv{}
	env.setUsage(0.10)
	s := startFake(t, cfg, env)
	a := storagetest.Fill(t, s, "TopicK", 2, 400, 500) // about 3 segments of 64 KiB
	idxFiles := func() int {
		entries, err := os.ReadDir(filepath.Join(dir, "index"))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := idxFiles()
	flushed(t, s)
	env.setUsage(0.99)
	if n := s.runRetention(); n == 0 {
		t.Fatal("retention deleted nothing")
	}
	logMin, _ := s.LogBounds()
	after := idxFiles()
	if after >= before {
		t.Fatalf("%d key index files before retention, %d after: none deleted", before, after)
	}
	ki := s.keys.Load()
	ki.mu.RLock()
	for _, f := range ki.files[:len(ki.files)-1] {
		if h := f.header(); h.endPhy < logMin {
			t.Errorf("index file %s ends at %d, below the log minimum %d, and was kept", f.name, h.endPhy, logMin)
		}
	}
	ki.mu.RUnlock()
	check := func(s *Store) {
		t.Helper()
		for i, m := range a.Msgs {
			r := a.Results[i]
			res, err := s.QueryByKey(context.Background(), storage.KeyQuery{Topic: "TopicK", Key: m.Properties[message.PropertyKeys], MaxNum: 4, EndMs: math.MaxInt64})
			if err != nil {
				t.Fatal(err)
			}
			found := len(res.Hits) == 1 && res.Hits[0].PhyOffset == r.PhysicalOffset
			if want := r.PhysicalOffset >= logMin; found != want {
				t.Fatalf("key %q of the record at %d (log min %d): found %v, want %v", m.Properties[message.PropertyKeys], r.PhysicalOffset, logMin, found, want)
			}
		}
	}
	check(s)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.setUsage(0.10)
	check(startFake(t, cfg, env))
}

// Retention drops a queue's head files under the queue's lock alone, while the append path may
// be rolling the same queue over to a new file: the appender must read the file list under that
// lock (it once indexed a list the trimmer had just shortened, and panicked). The race detector
// reports the old code at once; without it the panic takes a while to come.
func TestQueueRolloverDuringHeadTrim(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.ConsumeQueueUnits = 4 // a new queue file every 4 messages
	s, _ := start(t, cfg)
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			_, end := s.LogBounds()
			s.trimQueueHeads(end) // as if retention had deleted every segment below the end
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	for i := range 2000 {
		if _, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicTrim", 0, fmt.Sprint(i), "")}, nil); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if lo, hi := s.QueueBounds(topic.QueueRef{Topic: "TopicTrim", QueueID: 0}); hi != 2000 || lo > hi {
		t.Fatalf("queue bounds %d..%d after 2000 appends", lo, hi)
	}
}
