package bench

import (
	"os"
	"syscall"
)

// fdatasync is the raw measurement's sync: the same call the store's flush makes.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
