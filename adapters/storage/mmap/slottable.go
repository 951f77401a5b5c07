package mmap

import "math/bits"

// slotTable maps key-index slots to the entry a batch staged last for each, once a batch has
// too many staged writes to scan. Open addressing with linear probing over a power-of-two array
// of cells; reset starts a new epoch instead of clearing the cells. With a Go map in its place,
// its assignments, lookups, hashing and clearing took 2.2% of all CPU in bench store (batches of
// 128 messages with two keys each).
type slotTable struct {
	cells []slotCell
	shift uint8  // 64 - log2(len(cells)): a cell's home is the top bits of the slot's hash
	epoch uint32 // cells of other epochs are empty
	used  int    // cells of this epoch
}

type slotCell struct {
	slot  int64
	n     int32
	epoch uint32
}

// minSlotCells: the table's smallest size, for a batch just past stagedMapMin.
const minSlotCells = 128

// reset empties the table.
func (t *slotTable) reset() {
	t.used = 0
	t.epoch++
	if t.epoch == 0 { // wrapped: a cell could carry the new epoch from 2^32 resets ago
		clear(t.cells)
		t.epoch = 1
	}
}

// home is where slot's probe starts. Slots of similar keys are near each other (Java's string
// hash of "k-1" and "k-2" differ by 1), so they are spread by a multiplicative hash first.
func (t *slotTable) home(slot int64) int {
	return int((uint64(slot) * 0x9E3779B97F4A7C15) >> t.shift)
}

func (t *slotTable) get(slot int64) (int32, bool) {
	if t.used == 0 {
		return 0, false
	}
	mask := len(t.cells) - 1
	for i := t.home(slot); ; i = (i + 1) & mask {
		c := &t.cells[i]
		if c.epoch != t.epoch {
			return 0, false
		}
		if c.slot == slot {
			return c.n, true
		}
	}
}

func (t *slotTable) set(slot int64, n int32) {
	if 2*(t.used+1) > len(t.cells) {
		t.grow()
	}
	mask := len(t.cells) - 1
	for i := t.home(slot); ; i = (i + 1) & mask {
		c := &t.cells[i]
		if c.epoch != t.epoch {
			*c = slotCell{slot: slot, n: n, epoch: t.epoch}
			t.used++
			return
		}
		if c.slot == slot {
			c.n = n
			return
		}
	}
}

// grow doubles the table (to minSlotCells at first) and moves this epoch's cells into it.
func (t *slotTable) grow() {
	old, oldEpoch := t.cells, t.epoch
	size := max(minSlotCells, 2*len(old))
	t.cells = make([]slotCell, size)
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	t.epoch, t.used = 1, 0
	for _, c := range old {
		if c.epoch == oldEpoch {
			t.set(c.slot, c.n)
		}
	}
}
