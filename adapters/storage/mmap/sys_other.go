//go:build unix && !linux

package mmap

import (
	"errors"
	"os"
)

// datasync flushes f to the disk; without fdatasync a full fsync does.
func datasync(f *os.File) error { return f.Sync() }

// nextData reports data everywhere from off: only Linux is asked for holes.
func nextData(_ *os.File, off int64) (int64, bool) { return off, true }

// populateRead does nothing here: the copies fault their pages in.
func populateRead([]byte, int, int) {}

// reserve cannot allocate blocks portably: files are written with pwrite.
func reserve(_ *os.File, _, _ int64) error { return errors.ErrUnsupported }
