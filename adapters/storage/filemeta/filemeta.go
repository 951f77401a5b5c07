// Package filemeta keeps the broker's small documents (topics, groups, consumer offsets) as files
// in one directory, replacing each atomically: write a temporary file, fsync it, rename it over
// the target, fsync the directory.
package filemeta

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// ErrInvalidName: a document name is not a plain file name of [A-Za-z0-9._-].
var ErrInvalidName = errors.New("filemeta: invalid document name")

const tempSuffix = ".tmp"

var _ storage.MetaStore = (*Store)(nil)

// Store is a MetaStore over the files of one directory.
type Store struct {
	dir string
}

// New opens (creating if needed) the directory dir and removes temporary files a crash during
// Save left behind.
func New(dir string) (*Store, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("filemeta: create %s: %w", dir, err)
	}
	// Listed, not globbed: the directory's own name may hold pattern characters.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("filemeta: list %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), tempSuffix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			return nil, fmt.Errorf("filemeta: remove leftover %s: %w", p, err)
		}
	}
	return &Store{dir: dir}, nil
}

// Load implements storage.MetaStore.
func (s *Store) Load(_ context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: document %q in %s", storage.ErrNotFound, name, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("filemeta: load %q: %w", name, err)
	}
	return data, nil
}

// Save implements storage.MetaStore. Concurrent saves of one name each land whole; the last
// rename wins.
func (s *Store) Save(ctx context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, name+".*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("filemeta: save %q: %w", name, err)
	}
	tmpName := tmp.Name()
	if err := writeSynced(tmp, data); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("filemeta: save %q: %w", name, err)
	}
	if err := os.Rename(tmpName, filepath.Join(s.dir, name)); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("filemeta: save %q: %w", name, err)
	}
	if err := durable.SyncDir(s.dir); err != nil {
		return fmt.Errorf("filemeta: save %q: %w", name, err)
	}
	return nil
}

func writeSynced(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkName accepts a plain file name of [A-Za-z0-9._-] that is not "." and has no "..", and
// that cannot be mistaken for a temporary file.
func checkName(name string) error {
	if name == "" || name == "." || strings.Contains(name, "..") || strings.HasSuffix(name, tempSuffix) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q has %q at %d", ErrInvalidName, name, c, i)
		}
	}
	return nil
}
