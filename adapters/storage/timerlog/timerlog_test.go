package timerlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.RunTimerLog(t, func(t *testing.T) storage.TimerLog { return openTL(t, t.TempDir()) })
}

func TestReopenKeepsEntriesAndIgnoresATornTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := l.Append(ctx, []storage.TimerEntry{{DueMs: int64(i), PrevPos: -1}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// Half an entry written at the tail before a crash.
	f, err := os.OpenFile(filepath.Join(dir, "00000000000000000032.tlog"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, EntrySize/2))
	f.Close()

	l, err = Open(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if start, end := l.Bounds(); start != 0 || end != 40 {
		t.Fatalf("bounds %d..%d", start, end)
	}
	if e, err := l.Read(ctx, 39); err != nil || e.DueMs != 39 {
		t.Fatalf("entry 39: %+v %v", e, err)
	}
	if pos, err := l.Append(ctx, []storage.TimerEntry{{DueMs: 40}}); err != nil || pos != 40 {
		t.Fatalf("append at %d: %v", pos, err)
	}
	if e, _ := l.Read(ctx, 40); e.DueMs != 40 {
		t.Fatalf("entry 40 overwrote wrongly: %+v", e)
	}
}

func appendN(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(context.Background(), []storage.TimerEntry{{DueMs: int64(from + i + 1), PrevPos: -1}}); err != nil {
			t.Fatal(err)
		}
	}
}

// openTL opens a log in dir with small segments (16 entries), so appends, truncates and drops
// cross files, and closes it at cleanup.
func openTL(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := Open(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A power loss can keep a new segment's creation but not the tail of the one before it: the
// log then ends in that short segment (the caller truncates to its checkpoint, which lies in
// what was synced) instead of refusing to open.
func TestShortSegmentEndsTheLog(t *testing.T) {
	dir := t.TempDir()
	l := openTL(t, dir)
	appendN(t, l, 0, 18)
	l.Close()
	if err := os.Truncate(filepath.Join(dir, "00000000000000000000.tlog"), 10*EntrySize); err != nil {
		t.Fatal(err)
	}
	l2 := openTL(t, dir)
	if lo, hi := l2.Bounds(); lo != 0 || hi != 10 {
		t.Fatalf("bounds after the short segment: %d, %d; want 0, 10", lo, hi)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000016.tlog")); !os.IsNotExist(err) {
		t.Fatalf("the segment after the short one is still there: %v", err)
	}
	if pos, err := l2.Append(context.Background(), []storage.TimerEntry{{DueMs: 99}}); err != nil || pos != 10 {
		t.Fatalf("append after: %d, %v; want 10", pos, err)
	}
}

// A batch that fails part way (its next segment cannot be made) takes nothing: its positions
// are free again, and no reopen finds the half it wrote.
func TestFailedAppendTakesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openTL(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "00000000000000000016.tlog"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, make([]storage.TimerEntry, 20)); err == nil {
		t.Fatal("append across a segment that cannot be made succeeded")
	}
	if _, hi := l.Bounds(); hi != 0 {
		t.Fatalf("a failed append left the end at %d", hi)
	}
	if err := os.Remove(filepath.Join(dir, "00000000000000000016.tlog")); err != nil {
		t.Fatal(err)
	}
	if pos, err := l.Append(ctx, []storage.TimerEntry{{DueMs: 7}}); err != nil || pos != 0 {
		t.Fatalf("append after: %d, %v; want 0", pos, err)
	}
	l.Close()
	if _, hi := openTL(t, dir).Bounds(); hi != 1 {
		t.Fatalf("reopened end %d, want 1", hi)
	}
}

// A closed log takes no call: an append after Close once re-created the last segment over its
// synced entries, and a flush after Close said they were durable.
func TestClosedLogRefusesCalls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openTL(t, dir)
	appendN(t, l, 0, 20)
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Append(ctx, []storage.TimerEntry{{DueMs: 999}}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	for name, err := range map[string]error{
		"Flush": l.Flush(ctx), "Truncate": l.Truncate(ctx, 5), "DropBefore": l.DropBefore(ctx, 16),
		"Scan": l.Scan(ctx, 0, func(int64, storage.TimerEntry) bool { return true }),
	} {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if _, err := l.Read(ctx, 3); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	e, err := openTL(t, dir).Read(ctx, 17)
	if err != nil || e.DueMs != 18 {
		t.Fatalf("entry 17 after the calls on the closed log: %+v, %v; want DueMs 18", e, err)
	}
}

// A segment longer than the log's segment size (another run's size, or damage) is read as full;
// the entries past it are not taken for this log's.
func TestOversizedSegmentIsReadAsFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000000.tlog"), make([]byte, 20*EntrySize), 0o644); err != nil {
		t.Fatal(err)
	}
	l := openTL(t, dir)
	if _, hi := l.Bounds(); hi != 16 {
		t.Fatalf("end %d, want 16", hi)
	}
	if pos, err := l.Append(ctx, []storage.TimerEntry{{DueMs: 5}, {DueMs: 6}}); err != nil || pos != 16 {
		t.Fatalf("append: %d, %v", pos, err)
	}
	if e, err := l.Read(ctx, 17); err != nil || e.DueMs != 6 {
		t.Fatalf("read 17: %+v, %v; want DueMs 6", e, err)
	}
}

// Truncating below the first entry empties the log, which goes on from its first position; a
// negative end is refused.
func TestTruncateBelowTheStart(t *testing.T) {
	ctx := context.Background()
	l := openTL(t, t.TempDir())
	appendN(t, l, 0, 40)
	if err := l.DropBefore(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(ctx, -1); err == nil {
		t.Fatal("Truncate(-1) accepted")
	}
	if err := l.Truncate(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if lo, hi := l.Bounds(); lo != 16 || hi != 16 {
		t.Fatalf("bounds %d, %d; want 16, 16", lo, hi)
	}
	if pos, err := l.Append(ctx, []storage.TimerEntry{{DueMs: 1}}); err != nil || pos != 16 {
		t.Fatalf("append: %d, %v; want 16", pos, err)
	}
}
