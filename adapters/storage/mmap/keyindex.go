package mmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/core/message"
)

// The key index lives in Dir/index/ as files in RocketMQ's IndexFile layout (REMOTING.md §9.4),
// big-endian, so Java tooling can read them:
//
//	header   40 bytes: beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 |
//	                   endPhyOffset i64 | hashSlotCount i32 | indexCount i32
//	slots    IndexSlots × i32: the number of the newest entry of each hash slot, 0 when empty
//	entries  IndexEntries × 20 bytes: keyHash i32 | phyOffset i64 |
//	                   timeDiff i32 (seconds since beginTimestamp) | prevIndex i32
//
// Entry 0 is never used: indexCount is the next entry number, starts at 1, and the file is full
// when it reaches IndexEntries. The key "<topic>#<key>" hashes to abs(Java String.hashCode) and
// lands in slot hash % IndexSlots; entries of one slot form a chain from the newest back
// through prevIndex, so a chain is in descending entry number and physical offset.
//
// Files are named by their creation time, yyyyMMddHHmmssSSS in UTC (Java uses local time; UTC
// keeps the names sorted across DST changes), and a name is always greater than the previous
// one, so name order is file order.
//
// Where this store differs from Java, on purpose: endPhyOffset and endTimestamp advance with
// every record dispatched, with or without keys, so the header says how far indexing got and a
// restart re-reads only the log after it; hashSlotCount counts the slots in use.
const (
	idxHeaderSize = 40
	idxSlotSize   = 4
	idxEntrySize  = 20
	idxNameLen    = 17
)

// idxLayout is the geometry of every index file of a store, from its config.
type idxLayout struct {
	slots   int64 // hash slots
	entries int64 // entry numbers per file, 0 included; indexCount reaches it when full
}

func (l idxLayout) size() int64              { return idxHeaderSize + l.slots*idxSlotSize + l.entries*idxEntrySize }
func (l idxLayout) slotPos(slot int64) int64 { return idxHeaderSize + slot*idxSlotSize }
func (l idxLayout) entryPos(n int64) int64 {
	return idxHeaderSize + l.slots*idxSlotSize + n*idxEntrySize
}

// slotOf is the slot of a key hash. Hashes are never negative (keyHash); a negative one read
// from a damaged file still lands in a slot instead of out of bounds.
func (l idxLayout) slotOf(hash int32) int64 { return int64(uint32(hash)) % l.slots }

// idxHeader is an index file's header.
type idxHeader struct {
	beginTS, endTS   int64 // store timestamps of the first indexed and the last dispatched record
	beginPhy, endPhy int64 // their physical offsets
	slotsUsed        int32
	count            int32 // next entry number: entries 1..count-1 are written
}

func (h idxHeader) encode(b []byte) {
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(h.beginTS))
	be.PutUint64(b[8:], uint64(h.endTS))
	be.PutUint64(b[16:], uint64(h.beginPhy))
	be.PutUint64(b[24:], uint64(h.endPhy))
	be.PutUint32(b[32:], uint32(h.slotsUsed))
	be.PutUint32(b[36:], uint32(h.count))
}

func decodeIdxHeader(b []byte) idxHeader {
	be := binary.BigEndian
	h := idxHeader{
		beginTS:   int64(be.Uint64(b[0:])),
		endTS:     int64(be.Uint64(b[8:])),
		beginPhy:  int64(be.Uint64(b[16:])),
		endPhy:    int64(be.Uint64(b[24:])),
		slotsUsed: int32(be.Uint32(b[32:])),
		count:     int32(be.Uint32(b[36:])),
	}
	if h.count == 0 {
		h.count = 1 // a new file reads as zeros; Java starts counting at 1 as well
	}
	return h
}

// empty reports whether no entry has been written.
func (h idxHeader) empty() bool { return h.count <= 1 }

// dispatched reports whether any record went through the file (keys or not).
func (h idxHeader) dispatched() bool { return !h.empty() || h.endTS > 0 }

// check reports what makes a header impossible for layout l.
func (h idxHeader) check(l idxLayout) error {
	switch {
	case h.count < 1 || int64(h.count) > l.entries:
		return fmt.Errorf("indexCount %d outside 1..%d", h.count, l.entries)
	case h.slotsUsed < 0 || int64(h.slotsUsed) > l.slots:
		return fmt.Errorf("hashSlotCount %d outside 0..%d", h.slotsUsed, l.slots)
	case h.beginPhy < 0 || h.endPhy < h.beginPhy:
		return fmt.Errorf("physical offsets %d..%d", h.beginPhy, h.endPhy)
	case h.beginTS < 0 || h.endTS < h.beginTS:
		return fmt.Errorf("timestamps %d..%d", h.beginTS, h.endTS)
	}
	return nil
}

// timeDiff is an entry's timeDiff for a record stored at ts, as Java computes it.
func (h idxHeader) timeDiff(ts int64) int32 {
	if h.beginTS <= 0 || ts <= h.beginTS {
		return 0
	}
	return int32(min((ts-h.beginTS)/1000, math.MaxInt32))
}

// idxEntry is one decoded entry.
type idxEntry struct {
	hash int32
	phy  int64
	diff int32
	prev int32
}

func appendIdxEntry(dst []byte, e idxEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.hash))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.phy))
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.diff))
	return binary.BigEndian.AppendUint32(dst, uint32(e.prev))
}

// keyHash is the index hash of key in topic: abs of the Java hashCode of "<topic>#<key>", and 0
// for the one value abs cannot make positive, as RocketMQ's IndexFile does.
func keyHash(topicName, key string) int32 { return keyHashFrom(topicPrefixHash(topicName), key) }

// topicPrefixHash is the Java hashCode of "<topic>#", which keyHashFrom goes on from: the writer
// hashes a topic once per run of its messages instead of once per key.
func topicPrefixHash(topicName string) int32 {
	return message.HashCode(message.HashCode(0, topicName), "#")
}

// keyHashFrom is keyHash for the topic whose topicPrefixHash is prefix.
func keyHashFrom(prefix int32, key string) int32 {
	h := message.HashCode(prefix, key)
	if h == math.MinInt32 {
		return 0
	}
	if h < 0 {
		return -h
	}
	return h
}

// idxFile is one index file, read through a shared mapping: entries are written through it
// into reserved blocks (reserve.go), slots and the header with pwrite.
type idxFile struct {
	name string
	lay  idxLayout
	f    *os.File
	data []byte // the whole file, mapped
	r    resv   // entries reserved; guarded by the writer (Store.mu, or recovery)

	hmu sync.Mutex
	hdr idxHeader // the published header: entries and slots it covers are written

	// mem holds the slots of the file being written (nil before its first write and once it is
	// full): readers load them atomically, the writer stores a batch's slots once the batch's
	// entries are written, and a sync copies the pages marked in dirty to the file under smu.
	// Keeping them in memory saves a pwrite per key.
	mem   atomic.Pointer[[]int32]
	smu   sync.Mutex
	dirty []uint64 // one bit per 1024 slots (a 4 KiB page of the slot table)
	// wmu serializes copies of the slots to the file, so rollover knows every copy landed
	// before readers switch to the file's slots.
	wmu sync.Mutex

	changed atomic.Bool // written since the last sync
}

// slotsPerPage is how many slots a dirty bit covers.
const slotsPerPage = 1024

func openIdxFile(path string, lay idxLayout, create bool) (*idxFile, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open index file: %w", err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case create:
		// Sparse, but the header and the slot table get their blocks now: they are read through
		// the mapping before they are ever written, and where reading a hole needs a page (tmpfs)
		// a full disk would make that read a fault. The entries are reserved ahead of the writes
		// through the mapping (reserve.go). Either way a full disk is an error, never a fault.
		err = f.Truncate(lay.size())
		if err == nil {
			if rerr := reserve(f, 0, lay.entryPos(0)); rerr != nil && !errors.Is(rerr, errors.ErrUnsupported) {
				err = &os.PathError{Op: "fallocate", Path: path, Err: rerr}
			}
		}
	case st.Size() != lay.size():
		err = fmt.Errorf("%w: %d bytes, want %d for %d slots and %d entries", errIdxLayout, st.Size(), lay.size(), lay.slots, lay.entries)
	}
	var data []byte
	if err == nil {
		data, err = mapFile(f, lay.size(), true)
	}
	hb := make([]byte, idxHeaderSize)
	if err == nil {
		// pread, not the mapping: a file made before the header had blocks reserved may still
		// have a hole there.
		_, err = f.ReadAt(hb, 0)
	}
	if err != nil {
		if data != nil {
			_ = unmap(data)
		}
		_ = f.Close()
		if create {
			_ = os.Remove(path)
		}
		return nil, fmt.Errorf("index file %s: %w", path, err)
	}
	x := &idxFile{name: path, lay: lay, f: f, data: data}
	x.hdr = decodeIdxHeader(hb)
	return x, nil
}

// errIdxLayout: an index file was written with other slot or entry counts.
var errIdxLayout = errors.New("index file of another layout")

func (x *idxFile) close() error {
	err := errors.Join(unmap(x.data), x.f.Close())
	x.data = nil
	return err
}

func (x *idxFile) header() idxHeader {
	x.hmu.Lock()
	defer x.hmu.Unlock()
	return x.hdr
}

func (x *idxFile) publish(h idxHeader) {
	x.hmu.Lock()
	x.hdr = h
	x.hmu.Unlock()
	x.changed.Store(true)
}

// slot returns the entry number slot points at.
func (x *idxFile) slot(slot int64) int32 {
	if m := x.mem.Load(); m != nil {
		return atomic.LoadInt32(&(*m)[slot])
	}
	return int32(binary.BigEndian.Uint32(x.data[x.lay.slotPos(slot):]))
}

// diskSlot returns what the file itself holds for slot.
func (x *idxFile) diskSlot(slot int64) int32 {
	return int32(binary.BigEndian.Uint32(x.data[x.lay.slotPos(slot):]))
}

// entry decodes entry n, which the caller checked is within 1..entries-1.
func (x *idxFile) entry(n int32) idxEntry {
	b := x.data[x.lay.entryPos(int64(n)):]
	be := binary.BigEndian
	return idxEntry{
		hash: int32(be.Uint32(b)),
		phy:  int64(be.Uint64(b[4:])),
		diff: int32(be.Uint32(b[12:])),
		prev: int32(be.Uint32(b[16:])),
	}
}

// walk calls fn with the entries of hash's slot chain, newest first, until fn returns false.
// It trusts nothing it reads: an entry number out of range ends the chain, and so does a
// prevIndex that does not go back (which is what keeps a damaged file from looping).
func (x *idxFile) walk(hash int32, fn func(n int32, e idxEntry) bool) {
	n := x.slot(x.lay.slotOf(hash))
	for n > 0 && int64(n) < x.lay.entries {
		e := x.entry(n)
		if !fn(n, e) || e.prev >= n {
			return
		}
		n = e.prev
	}
}
