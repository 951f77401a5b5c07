package mmap

import (
	"encoding/binary"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// keyIndex is the store's key index: its files, oldest first, and the writer's state.
//
// Writes come from the append path under Store.mu (and from recovery before the store opens),
// so the writer fields need no lock of their own. Queries take mu for reading, which keeps files
// mapped while they read; rollover and close take it for writing.
type keyIndex struct {
	dir string
	lay idxLayout
	log *zap.Logger

	mu     sync.RWMutex
	files  []*idxFile
	closed bool

	failure atomic.Pointer[error] // set once a write failed: no more indexing until a restart

	// Writer state.
	cur      *idxFile
	w        idxHeader   // cur's header including the batch not yet published
	first    int32       // entry number of pending[0]
	pending  []byte      // encoded entries of the batch, not yet written
	staged   []slotWrite // slot changes of the batch, applied once its entries are written
	stagedAt slotTable   // the last of staged for each slot, from stagedMapMin writes on
	lastName int64       // name of the newest file, as a number

	lastTopic  string // the topic of the last record indexed, and its topicPrefixHash
	lastPrefix int32

	batchFile *idxFile  // the file written when the batch began, and the index's end then
	batchEnd  idxHeader // (abandon puts headers a refused batch moved back to it)
}

type slotWrite struct {
	slot int64
	n    int32
}

// stagedMapMin is the batch size from which staged slots are also kept in a table: a linear
// scan is cheaper for the usual handful.
const stagedMapMin = 32

func newKeyIndex(cfg Config, log *zap.Logger) *keyIndex {
	return &keyIndex{
		dir: filepath.Join(cfg.Dir, "index"),
		lay: idxLayout{slots: int64(cfg.IndexSlots), entries: int64(cfg.IndexEntries)},
		log: log,
	}
}

func (ki *keyIndex) failed() error {
	if p := ki.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// fail stops indexing. The store keeps taking messages: the index is secondary, queries say it
// is unavailable, and the next start rebuilds it from the log after its last durable header.
func (ki *keyIndex) fail(err error) {
	wrapped := fmt.Errorf("%w: key index: %w", storage.ErrUnavailable, err)
	if ki.failure.CompareAndSwap(nil, &wrapped) {
		ki.log.Error("key index stopped; queries by key fail until a restart rebuilds it", zap.Error(err))
	}
}

// dispatchKeys indexes an appended batch: called by the append path once the batch's records and
// consume-queue units are written, before they are published. A full disk is returned, with
// the batch's entries taken back out of the writer (the append is then refused and undone, as
// for a consume-queue write: appends resume when space is free); any other failure stops the
// index and the append goes on.
func (s *Store) dispatchKeys(group []*batch) error {
	ki := s.keys.Load()
	if ki == nil || ki.failed() != nil {
		return nil
	}
	err := ki.addBatches(group)
	if err == nil {
		return nil
	}
	if isNoSpace(err) {
		ki.abandon()
		return err
	}
	ki.fail(err)
	return nil
}

// addBatches indexes placed batches with the key hashes encode computed, and commits once.
func (ki *keyIndex) addBatches(group []*batch) error {
	ki.batchFile, ki.batchEnd = ki.cur, ki.w
	for _, b := range group {
		for i := range b.recs {
			phy, ts := b.res[i].PhysicalOffset, b.res[i].StoreTimestamp
			for _, h := range b.hashes[b.recs[i].keysFrom:b.recs[i].keysTo] {
				if err := ki.put(h, phy, ts); err != nil {
					return err
				}
			}
			ki.w.endPhy, ki.w.endTS = phy, max(ki.w.endTS, ts)
		}
	}
	return ki.commit()
}

// abandon forgets what the writer staged and not yet published. Entries a rollover in the middle
// of the batch published in the full file stay: they point at records that were not stored, which
// queries verify away, and the next start's recovery cuts.
//
// Such a rollover also published the full file's header, and seeded the next file's (if it
// could make one), with the end of a record of the batch: both go back to where the index ended
// before the batch. Else a checkpoint would make that end durable, appends would resume below
// it (the refused records' offsets are the next ones), and a crash recovery, which re-indexes
// from the end its headers give, would skip the keys of the records acknowledged in between.
func (ki *keyIndex) abandon() {
	if ki.batchFile != nil {
		end := ki.batchEnd
		if h := ki.batchFile.header(); h.endPhy != end.endPhy || h.endTS != end.endTS {
			h.endPhy, h.endTS = end.endPhy, end.endTS
			ki.batchFile.publish(h)
		}
		ki.mu.RLock()
		files := ki.files
		ki.mu.RUnlock()
		if i := slices.Index(files, ki.batchFile); i >= 0 {
			for _, f := range files[i+1:] { // made by the batch's rollover
				h := f.header()
				h.beginPhy, h.beginTS = end.endPhy, end.endTS
				h.endPhy, h.endTS = end.endPhy, end.endTS
				f.publish(h)
			}
		}
	}
	ki.w = ki.cur.header()
	ki.first = ki.w.count
	ki.pending = ki.pending[:0]
	ki.staged = ki.staged[:0]
	ki.stagedAt.reset()
}

// add indexes one record (if its transaction type is indexed) and advances the dispatch mark.
// unique skips keys already indexed for phy: recovery sets it for a record that may have been
// indexed in part.
func (ki *keyIndex) add(topicName string, sysFlag int32, uniqKey, keys string, phy, ts int64, unique bool) error {
	if records.Indexed(sysFlag) {
		if topicName != ki.lastTopic || ki.lastTopic == "" {
			ki.lastTopic, ki.lastPrefix = topicName, topicPrefixHash(topicName)
		}
		for k := range message.IndexKeys(uniqKey, keys) {
			h := keyHashFrom(ki.lastPrefix, k)
			if unique && ki.indexedAt(h, phy) {
				continue
			}
			if err := ki.put(h, phy, ts); err != nil {
				return err
			}
		}
	}
	// endTS never goes back, even if the clock did across a restart: a header stays sane and
	// its time range keeps covering every entry.
	ki.w.endPhy, ki.w.endTS = phy, max(ki.w.endTS, ts)
	return nil
}

// put stages one entry.
func (ki *keyIndex) put(hash int32, phy, ts int64) error {
	if int64(ki.w.count) >= ki.lay.entries {
		if err := ki.rollover(); err != nil {
			return err
		}
	}
	slot := ki.lay.slotOf(hash)
	prev, ok := ki.stagedSlot(slot)
	if !ok {
		prev = ki.cur.slot(slot)
	}
	if prev < 0 || prev >= ki.w.count {
		prev = 0 // never link to an entry the header does not cover
	}
	if ki.w.empty() {
		ki.w.beginPhy, ki.w.beginTS = phy, ts
	}
	if prev == 0 {
		ki.w.slotsUsed++
	}
	n := ki.w.count
	ki.pending = appendIdxEntry(ki.pending, idxEntry{hash: hash, phy: phy, diff: ki.w.timeDiff(ts), prev: prev})
	ki.stage(slot, n)
	ki.w.count++
	// As Java does per key: a file that fills up in the middle of a record ends with that record.
	ki.w.endPhy, ki.w.endTS = phy, max(ki.w.endTS, ts)
	return nil
}

func (ki *keyIndex) stagedSlot(slot int64) (int32, bool) {
	if len(ki.staged) >= stagedMapMin {
		return ki.stagedAt.get(slot)
	}
	for i := len(ki.staged) - 1; i >= 0; i-- {
		if ki.staged[i].slot == slot {
			return ki.staged[i].n, true
		}
	}
	return 0, false
}

func (ki *keyIndex) stage(slot int64, n int32) {
	ki.staged = append(ki.staged, slotWrite{slot, n})
	switch {
	case len(ki.staged) == stagedMapMin:
		for _, w := range ki.staged {
			ki.stagedAt.set(w.slot, w.n)
		}
	case len(ki.staged) > stagedMapMin:
		ki.stagedAt.set(slot, n)
	}
}

// commit writes the staged entries with one pwrite, then makes them reachable (slots) and
// publishes the header. A reader that finds a new slot value finds its entry written.
func (ki *keyIndex) commit() error {
	f := ki.cur
	if len(ki.pending) > 0 {
		if _, err := writeMapped(f.f, f.data, &f.r, ki.pending, f.lay.entryPos(int64(ki.first)), idxReserveChunk, indexCopyMax); err != nil {
			return fmt.Errorf("write index file %s: %w", f.name, err)
		}
		f.setSlots(ki.staged)
	}
	f.publish(ki.w)
	ki.pending = ki.pending[:0]
	ki.staged = ki.staged[:0]
	ki.stagedAt.reset()
	ki.first = ki.w.count
	return nil
}

// setSlots applies slot writes to the in-memory slots, loading them on first use.
func (x *idxFile) setSlots(ws []slotWrite) {
	m := x.mem.Load()
	if m == nil {
		mem := make([]int32, x.lay.slots)
		for i := range mem {
			mem[i] = x.diskSlot(int64(i))
		}
		m = x.useSlots(mem, false)
	}
	x.smu.Lock()
	for _, w := range ws {
		atomic.StoreInt32(&(*m)[w.slot], w.n)
		page := w.slot / slotsPerPage
		x.dirty[page/64] |= 1 << (page % 64)
	}
	x.smu.Unlock()
}

// useSlots makes mem the file's slots; dirty marks every page as not yet in the file.
func (x *idxFile) useSlots(mem []int32, dirty bool) *[]int32 {
	x.smu.Lock()
	x.dirty = make([]uint64, (x.lay.slots+slotsPerPage*64-1)/(slotsPerPage*64))
	if dirty {
		for i := range x.dirty {
			x.dirty[i] = ^uint64(0)
		}
	}
	x.smu.Unlock()
	x.mem.Store(&mem)
	return &mem
}

// writeSlots copies the dirty slot pages to the file, a run of pages at a time so the writer is
// held off only while one run is copied.
func (x *idxFile) writeSlots(buf []byte) ([]byte, error) {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	m := x.mem.Load()
	if m == nil {
		return buf, nil
	}
	pages := (x.lay.slots + slotsPerPage - 1) / slotsPerPage
	const maxRun = 64 // pages per pwrite: 256 KiB
	for p := int64(0); p < pages; {
		x.smu.Lock()
		for p < pages && x.dirty[p/64]&(1<<(p%64)) == 0 {
			p++
		}
		start := p
		if start == pages {
			x.smu.Unlock()
			break
		}
		for p < pages && p-start < maxRun && x.dirty[p/64]&(1<<(p%64)) != 0 {
			x.dirty[p/64] &^= 1 << (p % 64)
			p++
		}
		lo, hi := start*slotsPerPage, min(p*slotsPerPage, x.lay.slots)
		buf = buf[:0]
		for _, v := range (*m)[lo:hi] {
			buf = binary.BigEndian.AppendUint32(buf, uint32(v))
		}
		x.smu.Unlock()
		if _, err := x.f.WriteAt(buf, x.lay.slotPos(lo)); err != nil {
			x.smu.Lock()
			for q := start; q < p; q++ {
				x.dirty[q/64] |= 1 << (q % 64) // still to be written
			}
			x.smu.Unlock()
			return buf, fmt.Errorf("write slots of index file %s: %w", x.name, err)
		}
	}
	return buf, nil
}

// rollover finishes the full file and starts the next. The full file's slots go to the file at
// once, so readers can drop the in-memory copy; its header follows at the next sync.
func (ki *keyIndex) rollover() error {
	if err := ki.commit(); err != nil {
		return err
	}
	old := ki.cur
	if _, err := old.writeSlots(nil); err != nil {
		return err
	}
	old.mem.Store(nil)
	next, err := ki.create(ki.w)
	if err != nil {
		return err
	}
	ki.log.Info("index file full, next one created", zap.String("full", filepath.Base(old.name)), zap.String("next", filepath.Base(next.name)))
	return nil
}

// create makes the next file, which starts where prev ended (Java does the same), and makes it
// the one written.
func (ki *keyIndex) create(prev idxHeader) (*idxFile, error) {
	name := max(nameOf(time.Now()), ki.lastName+1)
	path := filepath.Join(ki.dir, strconv.FormatInt(name, 10))
	f, err := openIdxFile(path, ki.lay, true)
	if err != nil {
		return nil, err
	}
	if err := durable.SyncDir(ki.dir); err != nil {
		_ = f.close()
		return nil, fmt.Errorf("sync %s: %w", ki.dir, err)
	}
	h := idxHeader{beginTS: prev.endTS, endTS: prev.endTS, beginPhy: prev.endPhy, endPhy: prev.endPhy, count: 1}
	f.hdr = h
	f.changed.Store(true)
	ki.mu.Lock()
	ki.files = append(ki.files, f)
	ki.mu.Unlock()
	ki.lastName = name
	ki.cur, ki.w, ki.first = f, h, h.count
	return f, nil
}

// nameOf is t as the number yyyyMMddHHmmssSSS, in UTC.
func nameOf(t time.Time) int64 {
	t = t.UTC()
	n, _ := strconv.ParseInt(t.Format("20060102150405"), 10, 64)
	return n*1000 + int64(t.Nanosecond()/1e6)
}

// indexedAt reports whether some file already has an entry of hash for phy.
func (ki *keyIndex) indexedAt(hash int32, phy int64) bool {
	ki.mu.RLock()
	defer ki.mu.RUnlock()
	for i := len(ki.files) - 1; i >= 0; i-- {
		f := ki.files[i]
		found, older := false, false
		f.walk(hash, func(_ int32, e idxEntry) bool {
			found = e.hash == hash && e.phy == phy
			older = e.phy < phy
			return !found && !older
		})
		if found {
			return true
		}
		if older || f.header().beginPhy < phy {
			return false
		}
	}
	return false
}

// sync makes the index durable as far as each file's published header says: slots and entries
// first, then the header, so a header on disk never covers data that is not.
func (ki *keyIndex) sync() error {
	if ki.failed() != nil {
		return nil
	}
	ki.mu.RLock()
	files := slices.Clone(ki.files)
	closed := ki.closed
	ki.mu.RUnlock()
	if closed {
		return nil
	}
	var buf []byte
	hb := make([]byte, idxHeaderSize)
	for _, f := range files {
		if !f.changed.Swap(false) {
			continue
		}
		h := f.header()
		var err error
		if buf, err = f.writeSlots(buf); err == nil {
			err = datasync(f.f)
		}
		if err == nil {
			h.encode(hb)
			if _, err = f.f.WriteAt(hb, 0); err == nil {
				err = datasync(f.f)
			}
		}
		if err != nil {
			f.changed.Store(true)
			ki.fail(fmt.Errorf("sync index file %s: %w", f.name, err))
			return nil // the rest of the store is fine: its checkpoint goes on
		}
	}
	return nil
}

// syncKeyIndex is called by the checkpoint after the consume queues are synced.
func (s *Store) syncKeyIndex() error {
	if ki := s.keys.Load(); ki != nil {
		return ki.sync()
	}
	return nil
}

// closeKeyIndex unmaps and closes the index files; queries get ErrClosed from then on.
func (s *Store) closeKeyIndex() {
	if ki := s.keys.Load(); ki != nil {
		ki.close()
	}
}

func (ki *keyIndex) close() {
	ki.mu.Lock()
	defer ki.mu.Unlock()
	ki.closed = true
	for _, f := range ki.files {
		if err := f.close(); err != nil {
			ki.log.Warn("close index file", zap.String("file", f.name), zap.Error(err))
		}
	}
	ki.files = nil
}

// removeIdxFile deletes an index file that recovery gave up on.
func removeIdxFile(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove index file: %w", err)
	}
	return nil
}

// trimBelow deletes the oldest index files whose every entry points below logMin, whose records
// went with the commit-log segments retention deleted; never the file being written. It returns
// how many it deleted. The caller holds Store.ckMu: the checkpoint syncs index files outside
// ki.mu.
func (ki *keyIndex) trimBelow(logMin int64) (int, error) {
	ki.mu.Lock()
	defer ki.mu.Unlock()
	if ki.closed {
		return 0, nil
	}
	// endPhy is where the file's last dispatched record starts; a record never spans segments,
	// so below logMin it is gone whole.
	n := 0
	for n < len(ki.files)-1 && ki.files[n].header().endPhy < logMin { // the last is the one written
		n++
	}
	if n == 0 {
		return 0, nil
	}
	var err error
	for _, f := range ki.files[:n] {
		if cerr := f.close(); cerr != nil {
			ki.log.Warn("close index file", zap.String("file", f.name), zap.Error(cerr))
		}
		if rerr := removeIdxFile(f.name); rerr != nil && err == nil {
			err = rerr
		}
	}
	clear(ki.files[:n])
	ki.files = ki.files[n:]
	if serr := durable.SyncDir(ki.dir); serr != nil && err == nil {
		err = serr
	}
	return n, err
}

// trimKeyIndex deletes the key-index files wholly below logMin (retention, after segments went).
func (s *Store) trimKeyIndex(logMin int64) {
	ki := s.keys.Load()
	if ki == nil {
		return
	}
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	n, err := ki.trimBelow(logMin)
	if err != nil {
		s.log.Warn("delete key index files below the log minimum", zap.Error(err))
	}
	if n > 0 {
		s.log.Info("key index files deleted by retention", zap.Int("files", n), zap.Int64("logMin", logMin))
	}
}
