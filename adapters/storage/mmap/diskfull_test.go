package mmap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// mountTmpfs mounts a tmpfs of size bytes made for this test and unmounts it at cleanup (after
// cleanups registered later, such as the store's Stop).
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cannot mount tmpfs: the test is not running as root")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func openOn(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// A full disk: appends fail with ErrUnavailable ("no space left"), nothing refused becomes
// visible, everything acknowledged stays readable, the store does not latch the failure, and
// appends succeed again, without a restart, once space is free. A restart afterwards finds
// exactly the acknowledged messages.
func TestDiskFullRefusesAndResumes(t *testing.T) {
	mnt := mountTmpfs(t, 8<<20)
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte{'f'}, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	cfg.ConsumeQueueUnits = 1000
	// The watermarks are off: this test wants the writes themselves to hit the full disk.
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 1, 1
	s := openOn(t, cfg)
	ctx := context.Background()

	var acked storagetest.Appended
	appendOne := func(i, size int) error {
		body := strings.Repeat(string(rune('a'+i%26)), size)
		m := storagetest.Msg("TopicFull", int32(i%3), fmt.Sprintf("%d|%s", i, body), fmt.Sprint("tag", i%2))
		res, err := s.Append(ctx, []message.Message{m}, nil)
		if err == nil {
			acked.Msgs = append(acked.Msgs, m)
			acked.Results = append(acked.Results, res...)
		}
		return err
	}

	var full error
	i := 0
	for ; i < 100_000 && full == nil; i++ {
		full = appendOne(i, 900)
	}
	if full == nil {
		t.Fatal("the 8 MiB tmpfs never filled up")
	}
	if !errors.Is(full, storage.ErrUnavailable) || !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ErrUnavailable wrapping ENOSPC", full)
	}
	t.Logf("full after %d messages: %v", len(acked.Msgs), full)

	// Keep pushing, with smaller messages too: every answer is a clean acknowledgement or a clean
	// refusal (the log end never moves for a refusal), and nothing is latched.
	refused := 0
	for j := 0; j < 300; j++ {
		_, before := s.LogBounds()
		if err := appendOne(i, 10+j*3); err != nil {
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("append on a full disk: %v, want ErrUnavailable", err)
			}
			if _, after := s.LogBounds(); after != before {
				t.Fatalf("a refused append moved the log end from %d to %d", before, after)
			}
			refused++
		}
		i++
	}
	if refused == 0 {
		t.Fatal("no append was refused while the disk was full")
	}
	if err := s.failed(); err != nil {
		t.Fatalf("the store latched a full disk: %v", err)
	}
	storagetest.Verify(t, s, acked)
	checkQueueMax(t, s, acked)

	// Free space: appends succeed again at once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 50; j++ {
		if err := appendOne(i, 900); err != nil {
			t.Fatalf("append %d after space was freed: %v", j, err)
		}
		i++
	}
	storagetest.Verify(t, s, acked)

	// A restart finds exactly the acknowledged messages: no refused record came back.
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := openOn(t, cfg)
	storagetest.Verify(t, s2, acked)
	checkQueueMax(t, s2, acked)
}

// checkQueueMax asserts that each queue holds exactly the acknowledged messages.
func checkQueueMax(t *testing.T, s *Store, a storagetest.Appended) {
	t.Helper()
	want := map[topic.QueueRef]int64{}
	for _, m := range a.Msgs {
		want[topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}]++
	}
	for q, n := range want {
		if _, hi := s.QueueBounds(q); hi != n {
			t.Fatalf("%v: max offset %d, want %d acknowledged", q, hi, n)
		}
	}
}

// Above the critical watermark of a real file system the refusal says so, and freeing space
// lifts it at the next append.
func TestDiskCriticalWatermarkOnTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, 8<<20)
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 0.5, 0.5
	s := openOn(t, cfg)
	ctx := context.Background()
	m := storagetest.Msg("TopicCrit", 0, "body", "")
	if _, err := s.Append(ctx, []message.Message{m}, nil); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte{'f'}, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	s.measureDisk() // the retention loop's periodic check
	_, err := s.Append(ctx, []message.Message{m}, nil)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "above the critical watermark 50.0%") {
		t.Fatalf("append above the critical watermark: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, []message.Message{m}, nil); err != nil {
		t.Fatalf("append once space is free: %v", err)
	}
}

// A full disk hit by a consume-queue write (the log write of the batch succeeded): the batch
// is refused, its units and records are taken back out, and nothing is latched. The log and key
// index files are fully allocated first, so only the consume queue needs new blocks. The queue
// file's first page is written either by copying a unit through the mapping or by a pwrite of
// a batch's units, which reserves nothing ahead (writeMapped): the single units copied after
// it must still meet the full disk as an error at the second page, never as a SIGBUS.
func TestDiskFullInConsumeQueueWrite(t *testing.T) {
	t.Run("after a copied unit", func(t *testing.T) { diskFullInConsumeQueue(t, 1) })
	t.Run("after units written with pwrite", func(t *testing.T) { diskFullInConsumeQueue(t, 60) })
}

// diskFullInConsumeQueue opens the queue with a batch of first messages, then fills the disk and
// appends one message at a time.
func diskFullInConsumeQueue(t *testing.T, first int) {
	mnt := mountTmpfs(t, 4<<20)
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	// No warmer: making the next segment while fillRest runs, its reservation would fail part
	// way and give its pages back, leaving the disk not quite full (seen once in 60 runs).
	cfg.WarmAhead = 0
	cfg.ConsumeQueueUnits = 1000 // 20 000-byte files: a new page every 204.8 units
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 1, 1
	s := openOn(t, cfg)
	ctx := context.Background()
	var acked storagetest.Appended
	appendOne := func(i int) error {
		m := storagetest.Msg("TopicCQ", 0, fmt.Sprintf("%d|%s", i, strings.Repeat("x", 60)), "")
		res, err := s.Append(ctx, []message.Message{m}, nil)
		if err == nil {
			acked.Msgs = append(acked.Msgs, m)
			acked.Results = append(acked.Results, res...)
		}
		return err
	}
	opening := make([]message.Message, first)
	for i := range opening {
		opening[i] = storagetest.Msg("TopicCQ", 0, fmt.Sprintf("%d|%s", i, strings.Repeat("x", 60)), "")
	}
	res, err := s.Append(ctx, opening, nil)
	if err != nil {
		t.Fatal(err)
	}
	acked.Msgs, acked.Results = append(acked.Msgs, opening...), append(acked.Results, res...)
	allocateFiles(t, cfg.Dir, "commitlog", "index")
	fillRest(t, mnt)

	var full error
	for i := first; i < 1000 && full == nil; i++ {
		full = appendOne(i)
	}
	if !errors.Is(full, storage.ErrUnavailable) || !errors.Is(full, syscall.ENOSPC) || !strings.Contains(full.Error(), "consume queue") {
		t.Fatalf("append on a full disk: %v, want ErrUnavailable wrapping a consume queue ENOSPC", full)
	}
	if n := len(acked.Msgs); n < 200 || n > 206 {
		t.Fatalf("%d messages acknowledged; the queue file's second page starts at unit 204", n)
	}
	if err := s.failed(); err != nil {
		t.Fatalf("the store latched a full disk: %v", err)
	}
	_, end := s.LogBounds()
	if last := acked.Results[len(acked.Results)-1]; end != last.PhysicalOffset+int64(last.Size) {
		t.Fatalf("log end %d is not the end of the last acknowledged record", end)
	}
	storagetest.Verify(t, s, acked)
	checkQueueMax(t, s, acked)

	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := appendOne(5000 + i); err != nil {
			t.Fatalf("append after space was freed: %v", err)
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := openOn(t, cfg)
	storagetest.Verify(t, s2, acked)
	checkQueueMax(t, s2, acked)
}

// A full disk met by the key index (a new index file's entries need blocks) refuses the append
// like one met by the consume queue: nothing of it is published, nothing is latched, the index
// keeps every acknowledged key, and appends and indexing resume once space is free.
func TestDiskFullInKeyIndexWrite(t *testing.T) {
	k := fullUnderKeyIndex(t)
	cfg, s, ctx, mnt, appendOne := k.cfg, k.s, context.Background(), k.mnt, k.appendOne

	var full error
	for i := 1; i < 1000 && full == nil; i++ {
		full = appendOne(s, i)
	}
	if !errors.Is(full, storage.ErrUnavailable) || !errors.Is(full, syscall.ENOSPC) || !strings.Contains(full.Error(), "index") {
		t.Fatalf("append on a full disk: %v, want ErrUnavailable wrapping a key index ENOSPC", full)
	}
	if err := s.failed(); err != nil {
		t.Fatalf("the store latched a full disk: %v", err)
	}
	if err := s.keys.Load().failed(); err != nil {
		t.Fatalf("the key index stopped on a full disk: %v", err)
	}
	_, end := s.LogBounds()
	if last := k.acked.Results[len(k.acked.Results)-1]; end != last.PhysicalOffset+int64(last.Size) {
		t.Fatalf("log end %d is not the end of the last acknowledged record", end)
	}
	checkKeys := func(s *Store) {
		t.Helper()
		storagetest.Verify(t, s, k.acked)
		checkQueueMax(t, s, k.acked)
		for i, m := range k.acked.Msgs {
			res, err := s.QueryByKey(ctx, storage.KeyQuery{Topic: "TopicIdx", Key: m.Properties[message.PropertyKeys], MaxNum: 4, EndMs: math.MaxInt64})
			if err != nil || len(res.Hits) != 1 || res.Hits[0].PhyOffset != k.acked.Results[i].PhysicalOffset {
				t.Fatalf("key of acknowledged message %d: %+v, %v", i, res.Hits, err)
			}
		}
	}
	checkKeys(s)

	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ { // past the next rollover too
		if err := appendOne(s, 5000+i); err != nil {
			t.Fatalf("append after space was freed: %v", err)
		}
	}
	checkKeys(s)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	checkKeys(openOn(t, cfg))
}

// allocateFiles gives every file under the subdirectories of dir all its blocks.
func allocateFiles(t *testing.T, dir string, subdirs ...string) {
	t.Helper()
	for _, sub := range subdirs {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if err := syscall.Fallocate(int(f.Fd()), 0x01 /* KEEP_SIZE */, 0, st.Size()); err != nil {
				t.Skipf("cannot fallocate on tmpfs: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// fillRest fills what is left of the file system at mnt with the file mnt/filler.
func fillRest(t *testing.T, mnt string) {
	t.Helper()
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 4096)
	for {
		if _, err := filler.Write(page); err != nil {
			break
		}
	}
	_ = filler.Close()
}

// A restart on a full tmpfs whose last segment has a hole right after the log end (as a cut
// tail leaves it): a clean start reads past the end without a mapping and opens; a crash
// recovery that reads the hole through the mapping fails the start with an error instead of
// ending the process; both open once space is free.
func TestStartOnAFullTmpfsWithAHoleAfterTheLogEnd(t *testing.T) {
	mnt, cfg := restartOnTmpfs(t, 4<<20)
	ctx := context.Background()
	// One record of exactly a page, so the log ends on a page boundary and the next page can be
	// a hole: size it from a probe record.
	probe := storagetest.Msg("TopicHole", 0, "x", "")
	pres, err := openOn(t, testConfig(t.TempDir())).Append(ctx, []message.Message{probe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := storagetest.Msg("TopicHole", 0, strings.Repeat("x", pageSize-int(pres[0].Size)+1), "")
	m.Properties[message.PropertyKeys] = probe.Properties[message.PropertyKeys] // same size as the probe's
	s := openOn(t, cfg)
	res, err := s.Append(ctx, []message.Message{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if end := res[0].PhysicalOffset + int64(res[0].Size); end != pageSize {
		t.Fatalf("log ends at %d, want a page boundary", end)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	seg, err := os.OpenFile(filepath.Join(cfg.Dir, "commitlog", fileName(0)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := punchHole(seg, pageSize, cfg.SegmentSize-pageSize); err != nil {
		t.Fatal(err)
	}
	_ = seg.Close()
	fillRest(t, mnt)

	s = openOn(t, cfg) // clean start: fails the test if it faults
	if !s.Stats().LastStartClean {
		t.Fatal("the start after a clean stop was a recovery")
	}
	if _, err := s.Append(ctx, []message.Message{m}, nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("append on the full tmpfs: %v, want ErrUnavailable", err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Crash recovery scans the log through its mapping and reaches the hole.
	if err := os.Remove(filepath.Join(cfg.Dir, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	s2, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(ctx); err == nil {
		t.Log("recovery did not fault here (the kernel mapped the hole without a new page); nothing to check")
		_ = s2.Stop(ctx)
	} else if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("start on a full tmpfs: %v, want ErrUnavailable", err)
	} else {
		t.Logf("start on a full tmpfs: %v", err)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	s3 := openOn(t, cfg)
	storagetest.Verify(t, s3, storagetest.Appended{Msgs: []message.Message{m}, Results: res})
}

// A crash recovery on a full tmpfs reads past the log end through the mapping (the torn-tail
// measure, the check of later segments); the log is written with pwrite, and the blocks it
// keeps reserved ahead give those pages, so the recovery does not fault.
func TestCrashRecoveryOnAFullTmpfs(t *testing.T) {
	mnt, cfg := restartOnTmpfs(t, 8<<20)
	s := openOn(t, cfg)
	a := storagetest.Fill(t, s, "TopicFullCrash", 2, 30, 1000)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	allocateFiles(t, cfg.Dir, "consumequeue", "index")
	fillRest(t, mnt)
	if err := os.Remove(filepath.Join(cfg.Dir, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	s2 := openOn(t, cfg) // fails the test if the start fails
	if s2.Stats().LastStartClean {
		t.Fatal("the start without a checkpoint was clean")
	}
	storagetest.Verify(t, s2, a)
}

// restartOnTmpfs mounts a tmpfs of size for a test that fills it and restarts a store on it:
// 1 MiB segments, no segment made ahead, and only ENOSPC stops writes.
func restartOnTmpfs(t *testing.T, size int64) (string, Config) {
	t.Helper()
	mnt := mountTmpfs(t, size)
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	cfg.WarmAhead = 0
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 1, 1
	return mnt, cfg
}

// A full disk met where a batch's units cross into a new consume-queue file: the batch is
// refused and the new file stays empty behind the queue's end, which is short of the file
// before it. A restart must find the end in that earlier file, not take the empty one's start
// for it: new messages then get the next queue offsets, not ones past a gap of units that do
// not exist, and a crash after that keeps them (found in review).
func TestDiskFullAtAQueueFileBoundary(t *testing.T) {
	mnt := mountTmpfs(t, 4<<20)
	cfg := testConfig(filepath.Join(mnt, "store"))
	cfg.SegmentSize = 1 << 20
	cfg.WarmAhead = 0           // as in TestDiskFullInConsumeQueueWrite
	cfg.ConsumeQueueUnits = 100 // 2 000-byte files
	cfg.DiskHighWatermark, cfg.DiskCriticalWatermark = 1, 1
	s := openOn(t, cfg)
	ctx := context.Background()
	q := topic.QueueRef{Topic: "TopicEdge", QueueID: 0}
	var acked storagetest.Appended
	appendN := func(s *Store, from, n int) error {
		msgs := make([]message.Message, n)
		for i := range msgs {
			msgs[i] = storagetest.Msg(q.Topic, 0, fmt.Sprintf("%d|%s", from+i, strings.Repeat("x", 60)), "")
		}
		res, err := s.Append(ctx, msgs, nil)
		if err == nil {
			acked.Msgs = append(acked.Msgs, msgs...)
			acked.Results = append(acked.Results, res...)
		}
		return err
	}
	for i := range 101 { // queue files 0 and 1
		if err := appendN(s, i, 1); err != nil {
			t.Fatal(err)
		}
	}
	allocateFiles(t, cfg.Dir, "commitlog", "consumequeue", "index")
	fillRest(t, mnt)
	for i := 101; i < 180; i++ {
		if err := appendN(s, i, 1); err != nil {
			t.Fatalf("append %d into allocated files: %v", i, err)
		}
	}
	err := appendN(s, 180, 25) // queue offsets 180..204: file 2 starts at 200
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "consume queue") {
		t.Fatalf("batch into a new queue file on a full disk: %v, want a consume queue ENOSPC", err)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	s2 := openOn(t, cfg)
	if _, hi := s2.QueueBounds(q); hi != 180 {
		t.Fatalf("queue end after a clean restart: %d, want 180", hi)
	}
	if err := appendN(s2, 1000, 10); err != nil {
		t.Fatal(err)
	}
	if got := acked.Results[len(acked.Results)-10].QueueOffset; got != 180 {
		t.Fatalf("first message after the restart at queue offset %d, want 180", got)
	}
	storagetest.Verify(t, s2, acked)
	checkQueueMax(t, s2, acked)

	// A crash now (the page cache kept, a full checkpoint taken) keeps the ten.
	if err := s2.flushLog(); err != nil {
		t.Fatal(err)
	}
	if err := s2.writeCheckpoint(ckFull); err != nil {
		t.Fatal(err)
	}
	crashed := testConfig(filepath.Join(t.TempDir(), "crashed"))
	crashed.SegmentSize, crashed.ConsumeQueueUnits = cfg.SegmentSize, cfg.ConsumeQueueUnits
	copyDir(t, cfg.Dir, crashed.Dir)
	s3 := openOn(t, crashed)
	storagetest.Verify(t, s3, acked)
	checkQueueMax(t, s3, acked)
}

// A full disk met by the key index in the middle of a batch, where its first keys filled an
// index file and the rest needed the next: the rollover had published the full file's header,
// and seeded the next one's, with the offset of a message of the batch, which was then
// refused. A full checkpoint while the disk is full makes those headers durable; appends resume
// at the old log end, below that offset; a crash before the next checkpoint must still find the
// keys of every message acknowledged since (recovery re-indexes from the headers' end, which
// must not be past them; found in review).
func TestKeyIndexRolloverRefusedThenCrash(t *testing.T) {
	k := fullUnderKeyIndex(t)
	cfg, s, ctx, mnt, appendOne := k.cfg, k.s, context.Background(), k.mnt, k.appendOne
	for i := 1; i < 45; i++ { // keys 1..45 of the first file's 49
		if err := appendOne(s, i); err != nil {
			t.Fatalf("append %d into allocated files: %v", i, err)
		}
	}
	batch := make([]message.Message, 8) // keys 46..53: the rollover comes at the fifth
	for i := range batch {
		batch[i] = storagetest.Msg("TopicIdx", 0, fmt.Sprintf("%d|%s", 100+i, strings.Repeat("x", 60)), "")
	}
	if _, err := s.Append(ctx, batch, nil); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "index") {
		t.Fatalf("batch across an index rollover on a full disk: %v, want a key index ENOSPC", err)
	}
	if err := s.writeCheckpoint(ckFull); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := appendOne(s, 5000+i); err != nil {
			t.Fatalf("append after space was freed: %v", err)
		}
	}
	crashed := cfg
	crashed.Dir = filepath.Join(t.TempDir(), "crashed")
	copyDir(t, cfg.Dir, crashed.Dir) // a process crash: the page cache is kept
	s2 := openOn(t, crashed)
	storagetest.Verify(t, s2, k.acked)
	for i, m := range k.acked.Msgs {
		res, err := s2.QueryByKey(ctx, storage.KeyQuery{Topic: "TopicIdx", Key: m.Properties[message.PropertyKeys], MaxNum: 4, EndMs: math.MaxInt64})
		if err != nil || len(res.Hits) != 1 || res.Hits[0].PhyOffset != k.acked.Results[i].PhysicalOffset {
			t.Fatalf("key of acknowledged message %d of %d after the crash: %+v, %v", i, len(k.acked.Msgs), res.Hits, err)
		}
	}
}

// keyIndexFull is a store on a tmpfs that is full but for the blocks its files hold after one
// message (log, queue and index files allocated whole), so the first write that needs a block
// is a new key-index file's: one key a message, a new index file every 49 keys.
type keyIndexFull struct {
	cfg   Config
	s     *Store
	mnt   string
	acked storagetest.Appended
}

func fullUnderKeyIndex(t *testing.T) *keyIndexFull {
	k := &keyIndexFull{mnt: mountTmpfs(t, 4<<20)}
	k.cfg = testConfig(filepath.Join(k.mnt, "store"))
	k.cfg.SegmentSize = 1 << 20
	k.cfg.WarmAhead = 0                           // only the blocks allocated below
	k.cfg.ConsumeQueueUnits = 10_000              // one queue file
	k.cfg.IndexSlots, k.cfg.IndexEntries = 64, 50 // a new index file every 49 keys
	k.cfg.DiskHighWatermark, k.cfg.DiskCriticalWatermark = 1, 1
	k.s = openOn(t, k.cfg)
	if err := k.appendOne(k.s, 0); err != nil {
		t.Fatal(err)
	}
	allocateFiles(t, k.cfg.Dir, "commitlog", "consumequeue", "index")
	fillRest(t, k.mnt)
	return k
}

// appendOne appends message i to s and records it when acknowledged.
func (k *keyIndexFull) appendOne(s *Store, i int) error {
	m := storagetest.Msg("TopicIdx", 0, fmt.Sprintf("%d|%s", i, strings.Repeat("x", 60)), "")
	res, err := s.Append(context.Background(), []message.Message{m}, nil)
	if err == nil {
		k.acked.Msgs = append(k.acked.Msgs, m)
		k.acked.Results = append(k.acked.Results, res...)
	}
	return err
}
