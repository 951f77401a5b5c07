//go:build unix && !linux

package mmap

import "os"

// datasync flushes f to the disk; without fdatasync a full fsync does.
func datasync(f *os.File) error { return f.Sync() }
