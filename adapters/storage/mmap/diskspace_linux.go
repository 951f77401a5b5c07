package mmap

import (
	"errors"
	"os"
)

const (
	fallocKeepSize  = 0x01 // FALLOC_FL_KEEP_SIZE
	fallocPunchHole = 0x02 // FALLOC_FL_PUNCH_HOLE
)

// punchHole makes n bytes of f from off read as zeros and frees their blocks; it never needs
// space, so it works on a full disk. File systems without hole punching get zeros written.
func punchHole(f *os.File, off, n int64) error {
	err := fallocate(f, fallocKeepSize|fallocPunchHole, off, n)
	if errors.Is(err, errors.ErrUnsupported) {
		return writeZeros(f, off, n)
	}
	return err
}
