package mmap

import (
	"math/rand/v2"
	"testing"
)

// The table answers as a map does through growth, overwrites, resets and neighbouring slots
// (which a home taken from the slot's low bits would pile up on one run of cells).
func TestSlotTableAnswersAsAMap(t *testing.T) {
	var tab slotTable
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		want := map[int64]int32{}
		n := rng.IntN(600)
		base := rng.Int64N(1 << 40)
		for i := range n {
			slot := base + int64(rng.IntN(n+1)) // neighbours, and repeats that overwrite
			if round%2 == 1 {
				slot = rng.Int64N(5_000_000)
			}
			tab.set(slot, int32(i))
			want[slot] = int32(i)
		}
		if tab.used != len(want) {
			t.Fatalf("round %d: %d cells used, %d slots set", round, tab.used, len(want))
		}
		for slot, v := range want {
			if got, ok := tab.get(slot); !ok || got != v {
				t.Fatalf("round %d: get(%d) = %d, %v; want %d", round, slot, got, ok, v)
			}
		}
		for range 50 {
			slot := rng.Int64N(1 << 41)
			if _, in := want[slot]; in {
				continue
			}
			if got, ok := tab.get(slot); ok {
				t.Fatalf("round %d: get(%d) = %d of a slot never set", round, slot, got)
			}
		}
		tab.reset()
		for slot := range want {
			if _, ok := tab.get(slot); ok {
				t.Fatalf("round %d: slot %d still set after reset", round, slot)
			}
		}
	}
}

// An epoch that wraps around clears the cells: a cell left from 2^32 resets ago carries the
// epoch the table starts again at, and is not taken for one of the new epoch.
func TestSlotTableEpochWrap(t *testing.T) {
	var tab slotTable
	tab.set(7, 1) // a cell of epoch 1
	tab.epoch = ^uint32(0)
	tab.reset() // wraps to epoch 1 again
	tab.set(8, 2)
	if n, ok := tab.get(7); ok {
		t.Fatalf("get(7) = %d from before the epoch wrapped", n)
	}
	if n, ok := tab.get(8); !ok || n != 2 {
		t.Fatalf("get(8) = %d, %v; want 2", n, ok)
	}
}
