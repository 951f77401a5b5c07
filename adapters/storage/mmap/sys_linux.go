package mmap

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// datasync flushes f's data (and the metadata needed to read it back) to the disk.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// seekData is lseek's SEEK_DATA.
const seekData = 3

// nextData returns the first offset at or after off where f holds data, skipping holes (never
// written, or cut by zeroFileFrom), or ok false when nothing after off was ever written. A
// file system without hole tracking reports data everywhere, which is only slower.
func nextData(f *os.File, off int64) (int64, bool) {
	n, err := syscall.Seek(int(f.Fd()), off, seekData)
	switch {
	case err == syscall.ENXIO:
		return 0, false
	case err != nil:
		return off, true
	}
	return n, true
}

// populateRead maps the pages holding b in for reading (MADV_POPULATE_READ): the page cache then
// holds them, up to date, so a later store into one only marks it dirty instead of faulting a
// zeroed page in. b need not start on a page boundary (madvise wants one: the start is rounded
// down within the mapping, whose start is page-aligned). Errors are ignored: a kernel before
// 5.14 does not know the advice, and the writes fault the pages in anyway.
func populateRead(mapping []byte, off, n int) {
	start := off &^ (pageSize - 1)
	b := mapping[start : off+n]
	if len(b) == 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), madvPopulateRead)
}

const madvPopulateRead = 22

// reserve allocates the blocks of n bytes of f from off (fallocate, the size is kept as it is
// when the range is inside the file). errors.ErrUnsupported: the file system cannot.
func reserve(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	return fallocate(f, fallocKeepSize, off, n)
}

// fallocate is fallocate(2) retried on EINTR; errors.ErrUnsupported where the file system
// cannot do what mode asks.
func fallocate(f *os.File, mode uint32, off, n int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), mode, off, n)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EOPNOTSUPP, syscall.ENOSYS:
			return errors.ErrUnsupported
		}
		return err
	}
}
