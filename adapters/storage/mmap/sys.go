package mmap

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps size bytes of f shared, read-write when writable. The store writes through a
// mapping only into blocks it reserved first (reserve.go): a store to a page with no disk block
// behind it would raise SIGBUS on a full disk, where a fallocate or a pwrite returns ENOSPC
// instead.
func mapFile(f *os.File, size int64, writable bool) ([]byte, error) {
	prot := syscall.PROT_READ
	if writable {
		prot |= syscall.PROT_WRITE
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), prot, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

func unmap(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}

// lockDir takes an exclusive advisory lock on dir/lock, so two processes never share a store.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("store %s is in use by another process: %w", dir, err)
	}
	return f, nil
}
