package mmap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startWarmed opens a store with the warmer on in dir, appends less than a segment and waits
// until the warmer has made the second segment, whose path it returns.
func startWarmed(t *testing.T, dir string) (*Store, func(), storagetest.Appended, string) {
	t.Helper()
	cfg := testConfig(dir)
	cfg.WarmAhead = 2 * testSegment
	s, stop := start(t, cfg)
	a := storagetest.Fill(t, s, "TopicWarm", 2, 20, 300)
	next := filepath.Join(dir, "commitlog", fileName(testSegment))
	waitFor(t, "the warmer to make segment "+fileName(testSegment), func() bool { return fileExists(next) })
	if _, end := s.LogBounds(); end >= testSegment {
		t.Fatalf("the fill reached the second segment (log end %d): the test needs a smaller fill", end)
	}
	return s, stop, a, next
}

// The warmer makes the next segment before the log reaches it; a clean stop removes it again,
// so the next start trusts the checkpoint, and the log rolls into a segment made ahead intact.
func TestWarmerMakesTheNextSegmentAndCleanStopDropsIt(t *testing.T) {
	dir := t.TempDir()
	_, stop, a, next := startWarmed(t, dir)
	stop()
	if fileExists(next) {
		t.Fatal("a clean stop left the segment made ahead")
	}
	s2, _ := start(t, testConfig(dir))
	if !s2.Stats().LastStartClean {
		t.Fatal("the start after a clean stop was a recovery")
	}
	storagetest.Verify(t, s2, a)
	b := storagetest.Fill(t, s2, "TopicWarm", 2, 300, 300) // rolls over segments made ahead
	if _, end := s2.LogBounds(); end < 3*testSegment {
		t.Fatalf("log end %d: the fill should roll over several segments", end)
	}
	storagetest.Verify(t, s2, a)
	storagetest.Verify(t, s2, b)
}

// A crash leaves the segment made ahead; recovery removes it without calling it a torn tail,
// and everything appended is there.
func TestCrashWithASegmentMadeAhead(t *testing.T) {
	dir := t.TempDir()
	s, _, a, _ := startWarmed(t, dir)
	_, end := s.LogBounds()
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	cfg := testConfig(crashed)
	cfg.WarmAhead = 0 // else its own warmer makes the segment again
	s2, _ := start(t, cfg)
	st := s2.Stats()
	if st.LastStartClean || st.TornTailBytesCut != 0 {
		t.Fatalf("recovery: clean %v, torn tail %d bytes; want a recovery that cut nothing", st.LastStartClean, st.TornTailBytesCut)
	}
	if _, hi := s2.LogBounds(); hi != end {
		t.Fatalf("log end %d, want %d", hi, end)
	}
	if fileExists(filepath.Join(crashed, "commitlog", fileName(testSegment))) {
		t.Fatal("recovery kept an empty segment past the log end")
	}
	storagetest.Verify(t, s2, a)
}

// With the warmer on, a full disk still surfaces as a refused append, never as a crash, and
// appends resume once space is free.
func TestWarmerOnAFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, 8<<20)
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	cfg.WarmAhead = 4 << 20
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 1, 1 // only ENOSPC stops writes
	s := openOn(t, cfg)
	ctx := context.Background()
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	_ = f.Close()
	var acked []storage.AppendResult
	body := string(make([]byte, 4000))
	var refused error
	for i := 0; i < 10_000 && refused == nil; i++ {
		res, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicWarmFull", 0, body, "")}, nil)
		if err != nil {
			refused = err
			break
		}
		acked = append(acked, res...)
	}
	if !errors.Is(refused, storage.ErrUnavailable) {
		t.Fatalf("append on a full disk: %v, want ErrUnavailable", refused)
	}
	for _, r := range acked {
		if _, err := s.ReadRecord(ctx, r.PhysicalOffset, r.Size, nil); err != nil {
			t.Fatalf("acknowledged record at %d unreadable on a full disk: %v", r.PhysicalOffset, err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "appends to resume", func() bool {
		_, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicWarmFull", 0, body, "")}, nil)
		return err == nil
	})
}

// A warmer that finds the disk full makes nothing and asks again on a later append: the segment
// is made ahead once space is free, not by the append that rolls into it.
func TestWarmerRetriesAfterTheDiskWasFull(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.WarmAhead = 0
	s0, stop0 := start(t, cfg)
	body := strings.Repeat("x", 500)
	for {
		if _, end := s0.LogBounds(); end >= testSegment*3/4 {
			break
		}
		if _, err := s0.Append(context.Background(), []message.Message{storagetest.Msg("TopicWarmRetry", 0, body, "")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop0()

	cfg.WarmAhead = testSegment / 2 // the log end is in the zone where the next segment is made
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 0.99, 0.99
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	var usage atomic.Value
	usage.Store(1.0)
	s.ret.usage = func() (float64, error) { return usage.Load().(float64), nil }
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	next := filepath.Join(dir, "commitlog", fileName(testSegment))
	s.warmAhead() // as the warmer does at start: the disk is full, nothing is made
	if fileExists(next) || s.warm.made.Load() != 0 {
		t.Fatalf("made ahead on a full disk: file %v, made %d", fileExists(next), s.warm.made.Load())
	}
	usage.Store(0.1)
	s.measureDisk()
	if _, err := s.Append(context.Background(), []message.Message{storagetest.Msg("TopicWarmRetry", 0, body, "")}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the warmer to make segment "+fileName(testSegment), func() bool { return fileExists(next) })
}

// While appends are small the warmer pages the log in ahead and they copy into the mapping;
// once appends are large they are written with pwrite and the warmer stops paging in.
func TestSmallAppendsCopyIntoPagesPagedInAhead(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentSize = 1 << 20
	cfg.WarmAhead = 256 << 10
	s, _ := start(t, cfg)
	ctx := context.Background()
	small := []message.Message{storagetest.Msg("TopicWarmMode", 0, "small", "")}
	for range smallRunToPopulate {
		if _, err := s.Append(ctx, small, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the warmer to page the log in ahead", func() bool {
		_, end := s.LogBounds()
		return s.warm.populated.Load() >= end+cfg.WarmAhead/2
	})
	before := s.stats.copiedIn.Load()
	var a storagetest.Appended
	for range 10 {
		res, err := s.Append(ctx, small, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Msgs, a.Results = append(a.Msgs, small[0]), append(a.Results, res...)
	}
	if got := s.stats.copiedIn.Load() - before; got != 10 {
		t.Fatalf("%d of 10 small appends copied into paged-in pages", got)
	}

	large := make([]message.Message, 16)
	for i := range large {
		large[i] = storagetest.Msg("TopicWarmMode", 0, strings.Repeat("L", 1000), "")
	}
	copied := s.stats.copiedIn.Load()
	for i := 0; ; i++ {
		if i == 1000 { // 16 MiB
			t.Fatalf("the warmer kept paging in ahead of large appends (paged in to %d)", s.warm.populated.Load())
		}
		res, err := s.Append(ctx, large, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Msgs, a.Results = append(a.Msgs, large...), append(a.Results, res...)
		if _, end := s.LogBounds(); end > s.warm.populated.Load()+cfg.WarmAhead {
			break // well past what was paged in: the warmer did not follow
		}
	}
	if s.stats.copiedIn.Load() != copied {
		t.Fatal("large appends were copied into the mapping")
	}
	storagetest.Verify(t, s, a)
}

// Under sync flush small appends are written with pwrite: nothing is paged in for them.
func TestSyncFlushAppendsNeverCopy(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentSize = 1 << 20
	cfg.WarmAhead = 256 << 10
	cfg.Flush = FlushSync
	s, _ := start(t, cfg)
	small := []message.Message{storagetest.Msg("TopicWarmSync", 0, "small", "")}
	for range 4 * smallRunToPopulate {
		if _, err := s.Append(context.Background(), small, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.stats.copiedIn.Load(); got != 0 || s.warm.populated.Load() != 0 {
		t.Fatalf("sync flush: %d appends copied, paged in to %d", got, s.warm.populated.Load())
	}
}
