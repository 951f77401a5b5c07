package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
)

// RunTimerLog holds a storage.TimerLog to its contract.
func RunTimerLog(t *testing.T, open func(t *testing.T) storage.TimerLog) {
	ctx := context.Background()
	entry := func(i int) storage.TimerEntry {
		return storage.TimerEntry{PrevPos: int64(i) - 1, DueMs: 1000 + int64(i), PhyOffset: int64(i) * 100, Size: int32(i), Flags: int32(i % 2)}
	}
	t.Run("TruncateBelowTheStart", func(t *testing.T) {
		l := open(t)
		for i := 0; i < 40; i++ {
			if _, err := l.Append(ctx, []storage.TimerEntry{entry(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.DropBefore(ctx, 20); err != nil {
			t.Fatal(err)
		}
		lo, _ := l.Bounds()
		if err := l.Truncate(ctx, -1); err == nil {
			t.Fatal("Truncate(-1) accepted")
		}
		if err := l.Truncate(ctx, lo-1); err != nil {
			t.Fatal(err)
		}
		if lo2, hi := l.Bounds(); lo2 != lo || hi != lo {
			t.Fatalf("after truncating below the start %d: bounds %d, %d; want an empty log at %d", lo, lo2, hi, lo)
		}
		if pos, err := l.Append(ctx, []storage.TimerEntry{entry(1)}); err != nil || pos != lo {
			t.Fatalf("append after: %d, %v; want %d", pos, err, lo)
		}
	})
	t.Run("AppendReadScan", func(t *testing.T) {
		l := open(t)
		for batch := 0; batch < 10; batch++ {
			var es []storage.TimerEntry
			for i := 0; i < 7; i++ {
				es = append(es, entry(batch*7+i))
			}
			pos, err := l.Append(ctx, es)
			if err != nil || pos != int64(batch*7) {
				t.Fatalf("append batch %d at %d: %v", batch, pos, err)
			}
		}
		if start, end := l.Bounds(); start != 0 || end != 70 {
			t.Fatalf("bounds %d..%d", start, end)
		}
		for i := 0; i < 70; i++ {
			got, err := l.Read(ctx, int64(i))
			if err != nil || got != entry(i) {
				t.Fatalf("read %d: %+v %v", i, got, err)
			}
		}
		if _, err := l.Read(ctx, 70); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("read past the end: %v", err)
		}
		n := 0
		if err := l.Scan(ctx, 30, func(pos int64, e storage.TimerEntry) bool {
			if pos != int64(30+n) || e != entry(30+n) {
				t.Fatalf("scan at %d: %+v", pos, e)
			}
			n++
			return n < 25
		}); err != nil || n != 25 {
			t.Fatalf("scan saw %d: %v", n, err)
		}
	})
	t.Run("TruncateAndDrop", func(t *testing.T) {
		l := open(t)
		var es []storage.TimerEntry
		for i := 0; i < 100; i++ {
			es = append(es, entry(i))
		}
		if _, err := l.Append(ctx, es); err != nil {
			t.Fatal(err)
		}
		if err := l.Truncate(ctx, 40); err != nil {
			t.Fatal(err)
		}
		if _, end := l.Bounds(); end != 40 {
			t.Fatalf("end after truncate %d", end)
		}
		if pos, err := l.Append(ctx, []storage.TimerEntry{entry(999)}); err != nil || pos != 40 {
			t.Fatalf("append after truncate at %d: %v", pos, err)
		}
		if got, _ := l.Read(ctx, 40); got != entry(999) {
			t.Fatalf("entry 40 is %+v", got)
		}
		if err := l.DropBefore(ctx, 35); err != nil {
			t.Fatal(err)
		}
		start, end := l.Bounds()
		if start > 35 || end != 41 {
			t.Fatalf("bounds after drop %d..%d", start, end)
		}
		if got, err := l.Read(ctx, 36); err != nil || got != entry(36) {
			t.Fatalf("entry 36 after drop: %+v %v", got, err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
