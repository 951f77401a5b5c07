package timerlog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.RunTimerLog(t, func(t *testing.T) storage.TimerLog {
		l, err := Open(t.TempDir(), 16) // small segments: appends, truncates and drops cross files
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
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
