package bench

import (
	"testing"
	"time"
)

func TestPaceHalves(t *testing.T) {
	var p pace
	if _, _, ok := p.halves(); ok {
		t.Fatal("no marks split")
	}
	// 100 MB a second for 2 s, then 10 MB a second for 2 s: 220 MB in all, split at the first
	// mark at or past half of it, the one at 200 MB.
	p.mark(100e6, time.Second)
	p.mark(200e6, 2*time.Second)
	p.mark(200e6, 3*time.Second) // no progress: dropped
	p.mark(150e6, 4*time.Second) // backwards: dropped
	p.mark(210e6, 2*time.Second) // not later: dropped
	p.mark(210e6, 3*time.Second)
	p.mark(220e6, 4*time.Second)
	if len(p) != 4 {
		t.Fatalf("marks %v", p)
	}
	first, second, ok := p.halves()
	if !ok || first != 100 || second != 10 {
		t.Fatalf("halves %v %v %v", first, second, ok)
	}
	after, slowed := p.slowed()
	if !slowed || after != 200e6 {
		t.Fatalf("slowed %v after %d", slowed, after)
	}

	// Even: not slowed.
	even := pace{{100e6, time.Second}, {200e6, 2 * time.Second}, {300e6, 3 * time.Second}}
	if _, s := even.slowed(); s {
		t.Fatal("an even pace slowed")
	}
	// Half the rate exactly is not slower than half.
	half := pace{{100e6, time.Second}, {150e6, 2 * time.Second}}
	if _, s := half.slowed(); s {
		t.Fatal("half the rate counted as slowed")
	}
	// The split on the last mark cannot be made.
	if _, _, ok := (pace{{1, time.Second}, {10, 2 * time.Second}}).halves(); ok {
		t.Fatal("split on the last mark")
	}
}
