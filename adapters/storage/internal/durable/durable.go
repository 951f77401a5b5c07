// Package durable makes directory entries survive a power loss: a file that was created,
// renamed or removed is only durable once its directory is fsynced, and a new directory only
// once its parent is.
package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SyncDir fsyncs dir, making the entries created, renamed or removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// MkdirAll creates dir and its missing parents, as os.MkdirAll does, and fsyncs the parent of
// each directory it creates. Without that, a store made in a new directory could lose its
// files to a power loss after every one of them was fsynced: the directory's own entry in its
// parent was not.
func MkdirAll(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("create directory %s: %w", dir, &os.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")})
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("create directory: %w", err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create directory: %w", err)
	}
	return SyncDir(parent)
}
