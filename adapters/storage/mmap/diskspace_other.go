//go:build unix && !linux

package mmap

import "os"

// punchHole makes n bytes of f from off read as zeros (written: no portable hole punching).
func punchHole(f *os.File, off, n int64) error { return writeZeros(f, off, n) }
