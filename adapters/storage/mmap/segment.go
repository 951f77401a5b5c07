package mmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// segment is one commit-log file: size bytes starting at physical offset base, written and read
// through a shared mapping, into blocks reserved ahead of the writes (reserve.go). Files are
// created sparse at full size, so the mapping never needs to grow.
type segment struct {
	base int64
	f    *os.File
	data []byte
	r    resv // guarded by Store.mu
}

// write copies b to offset off of the segment, reserving its blocks first.
func (s *segment) write(b []byte, off int64) (int, error) {
	return writeMapped(s.f, s.data, &s.r, b, off, logReserveChunk)
}

// openSegment opens (create: creates) the segment file of base in dir and maps it. An existing
// file of another size is an error unless fix is set, when it is resized (cut or zero-extended).
func openSegment(dir string, base, size int64, create, fix bool) (*segment, error) {
	path := filepath.Join(dir, fileName(base))
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	seg, err := mapSegment(f, base, size, create || fix)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return seg, nil
}

func mapSegment(f *os.File, base, size int64, resize bool) (*segment, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat segment: %w", err)
	}
	if st.Size() != size {
		if !resize {
			return nil, fmt.Errorf("segment %s is %d bytes, want %d", f.Name(), st.Size(), size)
		}
		if err := f.Truncate(size); err != nil {
			return nil, fmt.Errorf("size segment %s: %w", f.Name(), err)
		}
	}
	data, err := mapFile(f, size)
	if err != nil {
		return nil, err
	}
	return &segment{base: base, f: f, data: data}, nil
}

// zeroFrom drops the bytes of the segment from off to its end (they read back as zeros), by
// cutting the file there and extending it again, and makes that durable with syncFn. No one
// may read the mapping meanwhile.
func (s *segment) zeroFrom(off int64, syncFn func(*os.File) error) error {
	s.r.cut(off)
	if err := zeroFileFrom(s.f, off, int64(len(s.data))); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	return syncFn(s.f)
}

func (s *segment) close() error {
	return errors.Join(unmap(s.data), s.f.Close())
}

// remove closes the segment and deletes its file.
func (s *segment) remove() error {
	return errors.Join(s.close(), os.Remove(s.f.Name()))
}
