package mmap

import (
	"os"
	"syscall"
)

const (
	fallocKeepSize  = 0x01 // FALLOC_FL_KEEP_SIZE
	fallocPunchHole = 0x02 // FALLOC_FL_PUNCH_HOLE
)

// punchHole makes n bytes of f from off read as zeros and frees their blocks; it never needs
// space, so it works on a full disk. File systems without hole punching get zeros written.
func punchHole(f *os.File, off, n int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), fallocKeepSize|fallocPunchHole, off, n)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EOPNOTSUPP, syscall.ENOSYS:
			return writeZeros(f, off, n)
		}
		return err
	}
}
