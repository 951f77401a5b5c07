package mmap

import (
	"errors"
	"fmt"
	"os"
)

// Writes through mappings. The consume queues and the key-index entries are written by copying
// into a shared read-write mapping of their files, not with one pwrite per batch: their writes
// are 20 bytes a message, so the copy is a memcpy where a pwrite would be a syscall; batches of
// them from indexCopyMax bytes on are written with pwrite (see there). (The commit
// log is written with pwrite: segment.go says why.) A store to a mapped page with no
// disk block behind it would raise SIGBUS on a full disk, so blocks are reserved (fallocate)
// before any byte of a range is copied, and a full disk is an ENOSPC from the fallocate, in the
// append path, exactly where a pwrite would have returned it. Reservations go ahead of the
// writes in chunks (logReserveChunk, cqReserveChunk, idxReserveChunk), so the fallocate is one
// syscall per chunk, not per batch. Where the file system cannot fallocate, the file is written
// with pwrite as before.
//
// Every path that frees blocks of a mapped file (truncation in recovery, punched holes after a
// full disk) cuts its reservation, so the next write reserves again.
const (
	logReserveChunk = 4 << 20   // commit log (written with pwrite, reserved for recovery's reads)
	cqReserveChunk  = 4 << 10   // consume queue: a page, as the pwrite it replaces allocated
	idxReserveChunk = 256 << 10 // key index entries: 13 107 entries ahead
)

// resv is the range of a mapped file whose blocks are known to be allocated: [start, end).
// Guarded by whoever writes the file (the append lock).
type resv struct {
	start, end  int64
	unsupported bool // the file system cannot fallocate: write with pwrite
}

// ensure makes sure [off, end) of f (size bytes) has blocks, reserving up to the next multiple
// of chunk. ok is false when the file system cannot reserve: the caller writes with pwrite.
func (r *resv) ensure(f *os.File, data []byte, off, end, chunk int64) (ok bool, err error) {
	size := int64(len(data))
	if r.unsupported {
		return false, nil
	}
	if off >= r.start && end <= r.end {
		return true, nil
	}
	from := r.end
	if off < r.start || off > r.end || r.start == r.end {
		from = off &^ (pageSize - 1)
	}
	to := min(size, (end+chunk-1)/chunk*chunk)
	if err := reserve(f, from, to-from); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			r.unsupported = true
			return false, nil
		}
		return false, &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	if from != r.end || r.start == r.end {
		r.start = from
	}
	r.end = to
	return true, nil
}

// cut forgets the reservation from off on: blocks there may have been freed.
func (r *resv) cut(off int64) {
	r.end = min(r.end, off)
	if r.end <= r.start {
		r.start, r.end = 0, 0
	}
}

const pageSize = 4096

// indexCopyMax: consume-queue units and key-index entries are copied into their mappings when
// a batch has fewer than this many bytes of them, else written with pwrite. Every page written
// through a mapping has a writable, dirty page-table entry, and the writeback of the next fsync
// must write-protect it again with a TLB shootdown (an IPI to every CPU running the process):
// in perf, over a 14 s bench store run of batches of 128, 1.1% of all CPU went to folio_mkclean
// and 1.0% to the IPIs (6.5% in the 4 s around the full checkpoint), about 40 µs per page on
// this VM; with pwrite, 0.01% each. A pwrite dirties the page
// cache only, so its pages need no shootdown; for a few units the syscall costs more than the
// copy. 1 KiB is 51 units.
const indexCopyMax = 1 << 10

// writeMapped writes b at off of a file mapped as data, through the mapping when its blocks
// can be reserved and b is shorter than copyMax, else with pwrite. A file whose descriptor was
// closed is refused as a pwrite would be: nothing written to it could be synced.
//
// A pwrite reserves nothing: it allocates its own blocks and answers ENOSPC itself, and the
// next copy into a page it wrote reserves that page first, since a reservation only grows
// from where it ends. Reserving for pwrites as well cost a fallocate every cqReserveChunk of a
// queue: 4.3% of all CPU in bench store, batches of 128 into one queue.
func writeMapped(f *os.File, data []byte, r *resv, b []byte, off, chunk int64, copyMax int) (int, error) {
	if f.Fd() == ^uintptr(0) {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: os.ErrClosed}
	}
	if len(b) >= copyMax {
		return f.WriteAt(b, off)
	}
	ok, err := r.ensure(f, data, off, off+int64(len(b)), chunk)
	if err != nil {
		return 0, err
	}
	if !ok {
		return f.WriteAt(b, off)
	}
	if off < 0 || off+int64(len(b)) > int64(len(data)) {
		return 0, fmt.Errorf("write %s: %d bytes at %d past its %d", f.Name(), len(b), off, len(data))
	}
	return copy(data[off:], b), nil
}
