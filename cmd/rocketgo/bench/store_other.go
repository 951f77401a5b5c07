//go:build !linux

package bench

import "os"

// fdatasync falls back to fsync where there is no fdatasync.
func fdatasync(f *os.File) error { return f.Sync() }

// settle does nothing here: the phases are measured one after another as they are.
func settle() {}

// reserveFile does nothing where there is no fallocate: the writes allocate as they go.
func reserveFile(*os.File, int64) error { return nil }
