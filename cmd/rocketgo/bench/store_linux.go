package bench

import (
	"os"
	"syscall"
)

// fdatasync is the raw measurement's sync: the same call the store's flush makes.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// settle writes every dirty page of the machine back, so each measured phase starts with none:
// a phase that starts behind the previous one's writeback is throttled by the kernel's dirty
// limits for bytes it did not write.
func settle() { syscall.Sync() }

// reserveFile allocates n bytes of blocks for f, as the store reserves its log ahead of the
// writes.
func reserveFile(f *os.File, n int64) error { return syscall.Fallocate(int(f.Fd()), 0, 0, n) }
