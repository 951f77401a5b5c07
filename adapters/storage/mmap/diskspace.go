package mmap

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/rocketgo/rocketgo/ports/storage"
)

// Disk full. The store writes the commit log with pwrite and the rest through mappings only into
// blocks it reserved (reserve.go), else with pwrite, so a full disk is an error from a fallocate or a write, never a SIGBUS. Where it can surface in the append path:
//
//   - the commit-log write (writeBatch): the batch is abandoned, the log end does not move, so no
//     part of it is visible, and the next batch overwrites the bytes that made it; nothing is
//     latched;
//   - a consume-queue write: the log holds the batch's records but not all their units. The units
//     already written past each queue's end are punched out (unwindUnits), so a restart never
//     counts them, and the append fails with ErrUnavailable without latching. Only when that
//     cleanup fails does the store latch the failure (as for any other queue write error);
//   - above DiskCriticalWatermark the append is refused before it writes (retention.go).
//
// A failed flush (fsync) stays latched (flush.go): after it the kernel may have dropped pages.

// diskUsage returns the fraction of the file system holding dir that is in use, as df counts
// it: used / (used + available to unprivileged users).
func diskUsage(dir string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	used := uint64(st.Blocks) - uint64(st.Bfree)
	total := used + uint64(st.Bavail)
	if total == 0 {
		return 0, nil
	}
	return float64(used) / float64(total), nil
}

// isNoSpace reports whether err is a full disk or an exhausted quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// unwindUnits handles a failed consume-queue write under the append lock, before abandonBatch:
// when the disk is full it drops the units the batch wrote past each touched queue's end and
// returns the ErrUnavailable to answer with; otherwise, or when the units cannot be dropped, it
// returns nil and the caller latches the failure.
func (s *Store) unwindUnits(werr error) error {
	if !isNoSpace(werr) {
		return nil
	}
	for _, q := range s.touched {
		from, to := q.maxOff.Load()*unitSize, q.next*unitSize
		if err := q.dropRange(from, to); err != nil {
			s.log.Error("cannot drop consume queue units after a full disk")
			return nil
		}
	}
	return fmt.Errorf("%w: disk full: %w", storage.ErrUnavailable, werr)
}

// dropRange makes bytes [from, to) of the queue's stream read as zeros without allocating
// space, in the files that exist.
func (q *cqueue) dropRange(from, to int64) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	for _, f := range q.files {
		lo, hi := max(from, f.base), min(to, f.base+q.fileSize)
		if lo >= hi {
			continue
		}
		f.r.cut(lo - f.base)
		if err := punchHole(f.f, lo-f.base, hi-lo); err != nil {
			return fmt.Errorf("consume queue %s: drop units: %w", q.ref, err)
		}
	}
	return nil
}

// writeZeros writes n zero bytes to f at off.
func writeZeros(f *os.File, off, n int64) error {
	_, err := f.WriteAt(make([]byte, n), off)
	return err
}
