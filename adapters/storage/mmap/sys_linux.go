package mmap

import (
	"errors"
	"os"
	"syscall"
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

// reserve allocates the blocks of n bytes of f from off (fallocate, the size is kept as it is
// when the range is inside the file). errors.ErrUnsupported: the file system cannot.
func reserve(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	for {
		err := syscall.Fallocate(int(f.Fd()), fallocKeepSize, off, n)
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
