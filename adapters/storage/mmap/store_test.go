package mmap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

const testSegment = 64 << 10

func testConfig(dir string) Config {
	cfg := Defaults()
	cfg.Dir = dir
	cfg.SegmentSize = testSegment
	cfg.ConsumeQueueUnits = 50 // several files per queue in most tests
	cfg.FlushInterval = 20 * time.Millisecond
	cfg.IndexSlots = 64     // small key index files: the copies in crash tests stay small,
	cfg.IndexEntries = 1000 // and tests that fill the log roll over to new index files
	return cfg
}

// start opens a store in cfg.Dir; the returned stop is idempotent and also runs at cleanup.
func start(t *testing.T, cfg Config) (*Store, func()) {
	t.Helper()
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func TestConformanceAsync(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.MessageStore {
		s, _ := start(t, testConfig(t.TempDir()))
		return s
	})
}

func TestConformanceSync(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.MessageStore {
		cfg := testConfig(t.TempDir())
		cfg.Flush = FlushSync
		s, _ := start(t, cfg)
		return s
	})
}

func TestRestart(t *testing.T) {
	storagetest.RunRestart(t, func(t *testing.T, dir string) (storage.MessageStore, func()) {
		return start(t, testConfig(dir))
	})
}

func TestRecordsNeverSpanSegments(t *testing.T) {
	s, _ := start(t, testConfig(t.TempDir()))
	a := storagetest.Fill(t, s, "TopicS", 2, 600, 333)
	segs := map[int64]bool{}
	for _, r := range a.Results {
		first, last := r.PhysicalOffset/testSegment, (r.PhysicalOffset+int64(r.Size)-1)/testSegment
		if first != last {
			t.Fatalf("record at %d of %d bytes spans segments", r.PhysicalOffset, r.Size)
		}
		segs[first] = true
	}
	if len(segs) < 3 {
		t.Fatalf("only %d segments used; the test should roll", len(segs))
	}
	entries, err := os.ReadDir(filepath.Join(s.cfg.Dir, "commitlog"))
	// The warmer may have made the next segment already.
	if err != nil || len(entries) < len(segs) || len(entries) > len(segs)+1 {
		t.Fatalf("%d segment files for %d segments: %v", len(entries), len(segs), err)
	}
	if entries[1].Name() != "00000000000000065536" {
		t.Fatalf("second segment is named %s", entries[1].Name())
	}
	storagetest.Verify(t, s, a)
}

// isLog reports whether f is a commit-log segment.
func isLog(f *os.File) bool {
	return strings.Contains(f.Name(), string(filepath.Separator)+"commitlog"+string(filepath.Separator))
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "commitlog", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no segments: %v", err)
	}
	slices.Sort(paths)
	return paths
}

// tornTail appends, stops, damages the last segment with damage, reopens and returns the store
// with what was appended.
func tornTail(t *testing.T, damage func(t *testing.T, path string, lastEnd int64, last storage.AppendResult)) (*Store, storagetest.Appended, int64) {
	dir := t.TempDir()
	s, stop := start(t, testConfig(dir))
	a := storagetest.Fill(t, s, "TopicTorn", 3, 500, 300)
	_, end := s.LogBounds()
	stop()
	paths := segmentFiles(t, dir)
	damage(t, paths[len(paths)-1], end%testSegment, a.Results[len(a.Results)-1])
	s, _ = start(t, testConfig(dir))
	return s, a, end
}

func TestTornTailGarbageAfterEnd(t *testing.T) {
	s, a, end := tornTail(t, func(t *testing.T, path string, off int64, _ storage.AppendResult) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		garbage := []byte{0, 0, 1, 0, 0xDA, 0xA3, 0x20, 0xA7, 1, 2, 3, 4, 5, 6, 7, 8}
		if _, err := f.WriteAt(garbage, off); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	})
	if _, hi := s.LogBounds(); hi != end {
		t.Fatalf("log end %d after cutting garbage, want %d", hi, end)
	}
	storagetest.Verify(t, s, a)
	res, err := s.Append(context.Background(), []message.Message{storagetest.Msg("TopicTorn", 0, "next", "")}, nil)
	if err != nil || res[0].PhysicalOffset != end {
		t.Fatalf("append after recovery at %v, %v, want offset %d", res, err, end)
	}
}

func TestTornTailGrownFile(t *testing.T) {
	s, a, end := tornTail(t, func(t *testing.T, path string, _ int64, _ storage.AppendResult) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("garbage beyond the segment size")); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	})
	if _, hi := s.LogBounds(); hi != end {
		t.Fatalf("log end %d, want %d", hi, end)
	}
	storagetest.Verify(t, s, a)
	if st, err := os.Stat(segmentFiles(t, s.cfg.Dir)[0]); err != nil || st.Size() != testSegment {
		t.Fatalf("segment size after recovery: %v, %v", st.Size(), err)
	}
}

func TestTornTailCutRecord(t *testing.T) {
	var lost storage.AppendResult
	s, a, _ := tornTail(t, func(t *testing.T, path string, _ int64, last storage.AppendResult) {
		lost = last
		if err := os.Truncate(path, last.PhysicalOffset%testSegment+int64(last.Size)/2); err != nil {
			t.Fatal(err)
		}
	})
	if _, hi := s.LogBounds(); hi != lost.PhysicalOffset {
		t.Fatalf("log end %d, want %d (the start of the torn record)", hi, lost.PhysicalOffset)
	}
	if _, err := s.Message(context.Background(), lost.PhysicalOffset); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the torn record is still readable: %v", err)
	}
	n := len(a.Msgs) - 1
	kept := storagetest.Appended{Msgs: a.Msgs[:n], Results: a.Results[:n]}
	storagetest.Verify(t, s, kept)
	m := a.Msgs[n]
	q := topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}
	if _, hi := s.QueueBounds(q); hi != lost.QueueOffset {
		t.Fatalf("%v max %d, want %d: the unit of the torn record must go", q, hi, lost.QueueOffset)
	}
	res, err := s.Append(context.Background(), []message.Message{m}, nil)
	if err != nil || res[0].PhysicalOffset != lost.PhysicalOffset || res[0].QueueOffset != lost.QueueOffset {
		t.Fatalf("append after the cut = %+v, %v, want offsets %d/%d", res, err, lost.PhysicalOffset, lost.QueueOffset)
	}
	storagetest.Verify(t, s, storagetest.Appended{Msgs: a.Msgs[n:], Results: res})
}

// copyDir copies a running store's files, as a crash would leave them (the page cache survives
// a process crash).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCrashRebuildsIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove []string
	}{
		{"KeepIndex", nil},
		{"LoseIndexAndCheckpoint", []string{"consumequeue", "checkpoint"}},
		{"LoseCheckpoint", []string{"checkpoint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := start(t, testConfig(dir))
			a := storagetest.Fill(t, s, "TopicCrash", 4, 400, 150)
			_, end := s.LogBounds()
			crashed := t.TempDir()
			copyDir(t, dir, crashed)
			for _, r := range tc.remove {
				if err := os.RemoveAll(filepath.Join(crashed, r)); err != nil {
					t.Fatal(err)
				}
			}
			s2, _ := start(t, testConfig(crashed))
			if _, hi := s2.LogBounds(); hi != end {
				t.Fatalf("log end %d, want %d", hi, end)
			}
			storagetest.Verify(t, s2, a)
		})
	}
}

func TestFlushFailureRefusesWrites(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Flush = FlushSync
	s, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("injected EIO")
	s.syncFn = func(f *os.File) error {
		if isLog(f) {
			return boom
		}
		return datasync(f)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	msg := []message.Message{storagetest.Msg("TopicF", 0, "x", "")}
	if _, err := s.Append(context.Background(), msg, nil); !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, boom) {
		t.Fatalf("sync append with a failing fsync: %v, want ErrUnavailable wrapping the cause", err)
	}
	if _, err := s.Append(context.Background(), msg, nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("append after a failed flush: %v, want ErrUnavailable", err)
	}
}

func TestSyncFlushTimeout(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Flush = FlushSync
	cfg.SyncFlushTimeout = 20 * time.Millisecond
	s, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	s.syncFn = func(f *os.File) error {
		if isLog(f) {
			<-release
		}
		return datasync(f)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(context.Background(), []message.Message{storagetest.Msg("TopicF", 0, "x", "")}, nil)
	if !errors.Is(err, storage.ErrFlushTimeout) || len(res) != 1 || res[0].Size == 0 {
		t.Fatalf("slow flush: %v, %v, want results with ErrFlushTimeout", res, err)
	}
	close(release)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStoppedStore(t *testing.T) {
	s, stop := start(t, testConfig(t.TempDir()))
	res := storagetest.Fill(t, s, "TopicX", 1, 3, 10).Results
	stop()
	ctx := context.Background()
	if _, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicX", 0, "x", "")}, nil); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Append after Stop: %v", err)
	}
	if _, err := s.ReadRecord(ctx, res[0].PhysicalOffset, res[0].Size, nil); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("ReadRecord after Stop: %v", err)
	}
	if _, err := s.Lookup(ctx, topic.QueueRef{Topic: "TopicX"}, 0, 1, nil); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Lookup after Stop: %v", err)
	}
}

func TestDirectoryIsLocked(t *testing.T) {
	cfg := testConfig(t.TempDir())
	start(t, cfg)
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatalf("a second store opened the same directory")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Dir = "" },
		func(c *Config) { c.SegmentSize = 100 },
		func(c *Config) { c.Flush = "sometimes" },
		func(c *Config) { c.ConsumeQueueUnits = 0 },
		func(c *Config) { c.FlushInterval = 0 },
	} {
		cfg := testConfig(t.TempDir())
		mutate(&cfg)
		if _, err := New(cfg, nil); err == nil {
			t.Fatalf("New accepted %+v", cfg)
		}
	}
}

// Stop while Start is still recovering returns at once; Start then closes what it opened
// instead of starting the flusher, the warmer and retention on a store nobody will stop.
func TestStopDuringStart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.mu.Lock()
	s.state = stateStarting // as Start does before it opens the files
	s.mu.Unlock()
	openErr := s.open(ctx)
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop during Start: %v", err)
	}
	if err := s.finishStart(openErr); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Start after a Stop: %v, want ErrClosed", err)
	}
	if s.warm.quit != nil || s.ret.quit != nil { // set only when they start
		t.Fatal("Start left background goroutines running after a Stop")
	}
	if _, err := s.Append(ctx, []message.Message{storagetest.Msg("TopicS", 0, "x", "")}, nil); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Append after a Stop during Start: %v, want ErrClosed", err)
	}
	s2, _ := start(t, cfg) // the directory lock was released
	if _, err := s2.Append(ctx, []message.Message{storagetest.Msg("TopicS", 0, "x", "")}, nil); err != nil {
		t.Fatal(err)
	}
}
