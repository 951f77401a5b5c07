package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// readyDoc is the content of the ready file: the addresses and the pid, so a test that
// restarted the process can tell a fresh file from the previous run's.
type readyDoc struct {
	Addrs
	PID int `json:"pid"`
}

// writeReadyFile writes doc to path atomically (temp file in the same directory, then rename),
// so a reader polling for the file never sees it half written.
func writeReadyFile(path string, doc readyDoc) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding ready file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing ready file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing ready file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	return nil
}

// removeStale deletes a ready file left by an earlier run (a kill -9 leaves it behind), so
// nobody mistakes it for this run's before this run is ready.
func removeStale(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale ready file: %w", err)
	}
	return nil
}
