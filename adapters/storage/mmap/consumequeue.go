package mmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// unitSize is the length of a consume-queue unit: phyOffset int64, size int32, tagsCode int64.
const unitSize = 20

// holeUnit fills a gap in a queue, as RocketMQ does: it points nowhere a read can succeed.
var holeUnit = storage.Unit{PhyOffset: 0, Size: math.MaxInt32}

func appendUnit(dst []byte, u storage.Unit) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(u.PhyOffset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(u.Size))
	return binary.BigEndian.AppendUint64(dst, uint64(u.TagsCode))
}

func decodeUnit(b []byte) storage.Unit {
	return storage.Unit{
		PhyOffset: int64(binary.BigEndian.Uint64(b)),
		Size:      int32(binary.BigEndian.Uint32(b[8:])),
		TagsCode:  int64(binary.BigEndian.Uint64(b[12:])),
	}
}

// cqFile is one consume-queue file: the units of a queue from byte base of its logical stream.
type cqFile struct {
	base int64
	f    *os.File
	data []byte
	r    resv // guarded by Store.mu (or recovery)
}

// cqueue is the consume queue of one topic and queue id: files of fileSize bytes in dir.
type cqueue struct {
	ref      topic.QueueRef
	dir      string
	fileSize int64

	mu    sync.RWMutex // guards files
	files []*cqFile    // contiguous

	minOff atomic.Int64 // first queue offset held
	maxOff atomic.Int64 // next queue offset: units below it are written and readable
	dirty  atomic.Bool  // written since the last fsync
	synced int64        // files before the one holding this byte were synced; guarded by Store.ckMu

	// Appender state, guarded by Store.mu.
	next    int64  // next queue offset to assign
	pending []byte // encoded units of the current batch, starting at maxOff
}

func newCQueue(ref topic.QueueRef, dir string, fileSize int64) *cqueue {
	return &cqueue{ref: ref, dir: dir, fileSize: fileSize}
}

// unitAt returns the unit at queue offset off, which the caller knows to be in [minOff, maxOff).
// Callers hold mu for reading.
func (q *cqueue) unitAt(off int64) (storage.Unit, bool) {
	if len(q.files) == 0 {
		return storage.Unit{}, false
	}
	pos := off * unitSize
	i := (pos - q.files[0].base) / q.fileSize
	if pos < q.files[0].base || i >= int64(len(q.files)) {
		return storage.Unit{}, false
	}
	f := q.files[i]
	return decodeUnit(f.data[pos-f.base:]), true
}

// write stores encoded units b at queue offset off, creating files as needed. It does not
// publish them (maxOff); the caller does once the commit log holds their records.
func (q *cqueue) write(off int64, b []byte) error {
	pos := off * unitSize
	for len(b) > 0 {
		f, err := q.fileFor(pos)
		if err != nil {
			return err
		}
		n := min(int64(len(b)), f.base+q.fileSize-pos)
		if _, err := writeMapped(f.f, f.data, &f.r, b[:n], pos-f.base, cqReserveChunk, indexCopyMax); err != nil {
			return fmt.Errorf("write consume queue %s: %w", q.ref, err)
		}
		b, pos = b[n:], pos+n
	}
	q.dirty.Store(true)
	return nil
}

// fileFor returns the file holding byte pos of the queue's stream, creating it (and the files
// before it) when pos is past the last one.
//
// Retention drops head files under q.mu alone (not the append lock), so the bounds are read
// under it once; the last file never goes while the appender is here.
func (q *cqueue) fileFor(pos int64) (*cqFile, error) {
	q.mu.RLock()
	n := len(q.files)
	var first, last int64
	if n > 0 {
		first, last = q.files[0].base, q.files[n-1].base
		if pos >= first && pos < last+q.fileSize {
			f := q.files[(pos-first)/q.fileSize]
			q.mu.RUnlock()
			return f, nil
		}
	}
	q.mu.RUnlock()
	if n > 0 && pos < first {
		return nil, fmt.Errorf("consume queue %s: offset %d is below its first file", q.ref, pos/unitSize)
	}
	base := pos - pos%q.fileSize
	if n > 0 {
		base = last + q.fileSize
	}
	for {
		f, err := q.createFile(base)
		if err != nil {
			return nil, err
		}
		if pos < base+q.fileSize {
			return f, nil
		}
		base += q.fileSize
	}
}

func (q *cqueue) createFile(base int64) (*cqFile, error) {
	if err := durable.MkdirAll(q.dir); err != nil {
		return nil, fmt.Errorf("consume queue %s: %w", q.ref, err)
	}
	f, err := openCQFile(filepath.Join(q.dir, fileName(base)), base, q.fileSize, true)
	if err != nil {
		return nil, fmt.Errorf("consume queue %s: %w", q.ref, err)
	}
	if err := durable.SyncDir(q.dir); err != nil {
		_ = f.close()
		return nil, fmt.Errorf("consume queue %s: %w", q.ref, err)
	}
	q.mu.Lock()
	q.files = append(q.files, f)
	q.mu.Unlock()
	return f, nil
}

func openCQFile(path string, base, size int64, create bool) (*cqFile, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Size() != size {
		err = f.Truncate(size)
	}
	var data []byte
	if err == nil {
		data, err = mapFile(f, size, true)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &cqFile{base: base, f: f, data: data}, nil
}

func (f *cqFile) close() error { return errors.Join(unmap(f.data), f.f.Close()) }

// sync fsyncs (with syncFn) the files written since the last sync, if any. Callers hold
// Store.ckMu, or are recovery.
func (q *cqueue) sync(syncFn func(*os.File) error) error {
	if !q.dirty.Swap(false) {
		return nil
	}
	q.mu.RLock()
	var files []*cqFile
	for _, f := range q.files {
		if f.base+q.fileSize > q.synced {
			files = append(files, f)
		}
	}
	q.mu.RUnlock()
	for _, f := range files {
		if err := syncFn(f.f); err != nil {
			q.dirty.Store(true)
			return fmt.Errorf("sync consume queue %s: %w", q.ref, err)
		}
	}
	if n := len(files); n > 0 {
		q.synced = files[n-1].base
	}
	return nil
}

// truncateUnits drops every unit from queue offset off on: the rest of the file holding it reads
// as zeros and later files are removed, so the written units are a prefix again. It sets the
// queue's max and next offsets to off. Recovery only: no one may read the queue meanwhile.
func (q *cqueue) truncateUnits(off int64) error {
	pos := off * unitSize
	keep := 0
	for i, f := range q.files {
		if pos >= f.base+q.fileSize {
			keep = i + 1
			continue
		}
		if pos > f.base {
			keep = i + 1
			f.r.cut(pos - f.base)
			if err := zeroFileFrom(f.f, pos-f.base, q.fileSize); err != nil {
				return fmt.Errorf("consume queue %s: %w", q.ref, err)
			}
			q.synced = min(q.synced, f.base)
		}
		break
	}
	for _, f := range q.files[keep:] {
		if err := errors.Join(f.close(), os.Remove(f.f.Name())); err != nil {
			return fmt.Errorf("consume queue %s: remove %s: %w", q.ref, f.f.Name(), err)
		}
	}
	if keep < len(q.files) {
		clear(q.files[keep:])
		q.files = q.files[:keep]
		if err := durable.SyncDir(q.dir); err != nil {
			return fmt.Errorf("consume queue %s: %w", q.ref, err)
		}
	}
	q.dirty.Store(true)
	q.maxOff.Store(off)
	q.next = off
	return nil
}

// zeroFileFrom makes the bytes of f from off to size read as zeros, by cutting the file there
// and extending it again, which frees the blocks instead of writing zeros.
func zeroFileFrom(f *os.File, off, size int64) error {
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("cut %s at %d: %w", f.Name(), off, err)
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("extend %s: %w", f.Name(), err)
	}
	return nil
}

func (q *cqueue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var errs []error
	for _, f := range q.files {
		errs = append(errs, f.close())
	}
	q.files = nil
	return errors.Join(errs...)
}
