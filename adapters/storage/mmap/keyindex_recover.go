package mmap

import (
	"context"
	"errors"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// idxRecovery counts what recoverKeyIndex did, for its log line.
type idxRecovery struct {
	files, dropped      int
	truncated, rebuilt  bool
	from                int64
	records, keyRecords int
}

// recoverKeyIndex opens the key index once the log is recovered (its end is logEnd and nothing
// past it is readable) and brings it up to the log:
//
//  1. open the files in name order, keeping the longest run that makes sense: right size,
//     sane header, every file but the last one full, offsets never going back; the rest are
//     deleted (their records are indexed again in step 4);
//  2. drop entries that point at or past the log end (the index may be ahead of the durable
//     log after a power loss);
//  3. rebuild the last file's slots from its entries when a slot points at an entry its header
//     does not cover (a crash between writing slots and the next header);
//  4. index the records after the last file's endPhyOffset, which only moves on a sync after
//     everything before it is durable.
//
// The headers make it idempotent: a record is indexed again only if its entries were lost.
func (s *Store) recoverKeyIndex(ctx context.Context, logEnd int64) (err error) {
	ki := newKeyIndex(s.cfg, s.log.Named("keyindex"))
	defer func() {
		if err != nil {
			ki.close()
			return
		}
		s.keys.Store(ki) // queries and appends see it only once it is complete
	}()
	if err := durable.MkdirAll(ki.dir); err != nil {
		return fmt.Errorf("key index: %w", err)
	}
	var rec idxRecovery
	if err := ki.openFiles(&rec); err != nil {
		return err
	}
	if err := s.cutKeyIndex(ki, logEnd, &rec); err != nil {
		return err
	}
	if len(ki.files) == 0 {
		if _, err := ki.create(idxHeader{}); err != nil {
			return fmt.Errorf("key index: %w", err)
		}
	}
	ki.cur = ki.files[len(ki.files)-1]
	ki.w = ki.cur.header()
	ki.first = ki.w.count
	// Load the slots now, so the first append after a start does not pay for it.
	switch mem, covered := ki.cur.loadSlots(ki.w.count); {
	case !covered:
		ki.cur.rebuildSlots(&ki.w)
		ki.cur.publish(ki.w)
		rec.rebuilt = true
	case int64(ki.w.count) < ki.lay.entries:
		ki.cur.useSlots(mem, false)
	}
	if err := s.reindexKeys(ctx, ki, logEnd, &rec); err != nil {
		return err
	}
	log := ki.log.Info
	if rec.dropped > 0 || rec.truncated || rec.rebuilt {
		log = ki.log.Warn
	}
	log("key index recovered", zap.Int("files", len(ki.files)), zap.Int("filesDropped", rec.dropped),
		zap.Bool("truncatedToLogEnd", rec.truncated), zap.Bool("slotsRebuilt", rec.rebuilt),
		zap.Int64("reindexFrom", rec.from), zap.Int("recordsRead", rec.records), zap.Int("recordsWithKeys", rec.keyRecords),
		zap.Int32("entries", ki.w.count-1))
	return nil
}

// openFiles opens the index files, keeping the longest sensible run (step 1).
func (ki *keyIndex) openFiles(rec *idxRecovery) error {
	entries, err := os.ReadDir(ki.dir)
	if err != nil {
		return fmt.Errorf("key index: %w", err)
	}
	var names []int64
	for _, e := range entries {
		n, ok := parseIdxName(e.Name())
		if ok {
			ki.lastName = max(ki.lastName, n) // a new file must not take the name of anything here
		}
		if !ok || !e.Type().IsRegular() {
			ki.log.Warn("ignoring a foreign file in the index directory", zap.String("name", e.Name()))
			continue
		}
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	var prev *idxHeader
	for i, n := range names {
		path := filepath.Join(ki.dir, strconv.FormatInt(n, 10))
		f, err := openIdxFile(path, ki.lay, false)
		var bad error
		switch {
		case errors.Is(err, errIdxLayout):
			bad = err
		case err != nil:
			return fmt.Errorf("key index: %w", err)
		default:
			bad = checkIdxSequence(f.header(), prev, ki.lay)
		}
		if bad != nil {
			if f != nil {
				_ = f.close()
			}
			ki.log.Warn("index file dropped with the ones after it; their records are indexed again",
				zap.String("file", path), zap.Error(bad))
			return ki.dropFrom(names[i:], rec)
		}
		ki.files = append(ki.files, f)
		h := f.header()
		prev = &h
		rec.files++
	}
	return nil
}

// checkIdxSequence reports what makes h impossible after prev (nil for the first file).
func checkIdxSequence(h idxHeader, prev *idxHeader, lay idxLayout) error {
	if err := h.check(lay); err != nil {
		return err
	}
	if prev == nil {
		return nil
	}
	switch {
	case int64(prev.count) < lay.entries:
		// A new file is started only when the previous one is full: this one's header is ahead
		// of the previous one's on disk.
		return fmt.Errorf("the previous file is not full (%d of %d entries)", prev.count, lay.entries)
	case h.endPhy < prev.endPhy || (!h.empty() && h.beginPhy < prev.endPhy):
		return fmt.Errorf("offsets %d..%d go back from the previous file's %d", h.beginPhy, h.endPhy, prev.endPhy)
	}
	return nil
}

func (ki *keyIndex) dropFrom(names []int64, rec *idxRecovery) error {
	for _, n := range names {
		if err := removeIdxFile(filepath.Join(ki.dir, strconv.FormatInt(n, 10))); err != nil {
			return fmt.Errorf("key index: %w", err)
		}
		rec.dropped++
	}
	return durable.SyncDir(ki.dir)
}

// parseIdxName reads a yyyyMMddHHmmssSSS file name as a number.
func parseIdxName(name string) (int64, bool) {
	if len(name) != idxNameLen {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return n, err == nil
}

// cutKeyIndex drops what points at or past the log end (step 2): whole files from the newest
// back, then the entries of the last file from the first one past the end.
func (s *Store) cutKeyIndex(ki *keyIndex, logEnd int64, rec *idxRecovery) error {
	for len(ki.files) > 0 {
		f := ki.files[len(ki.files)-1]
		h := f.header()
		if h.endPhy < logEnd || (h.empty() && !h.dispatched()) {
			return nil
		}
		rec.truncated = true
		if !h.empty() && h.beginPhy >= logEnd && len(ki.files) > 1 {
			ki.files = ki.files[:len(ki.files)-1]
			err := errors.Join(f.close(), removeIdxFile(f.name), durable.SyncDir(ki.dir))
			if err != nil {
				return fmt.Errorf("key index: %w", err)
			}
			rec.dropped++
			continue
		}
		// Entries are in log order: find the first at or past the end among those the header
		// covers (all durable, so the order holds).
		n := int32(1) + int32(sort.Search(int(h.count-1), func(i int) bool { return f.entry(int32(i)+1).phy >= logEnd }))
		h.count = n
		var prev idxHeader
		if len(ki.files) > 1 {
			prev = ki.files[len(ki.files)-2].header()
		}
		if n > 1 {
			h.endPhy = f.entry(n - 1).phy
			h.endTS = h.beginTS + int64(f.entry(n-1).diff)*1000
			if ts, err := s.storeTimestampAt(h.endPhy, 0); err == nil {
				h.endTS = ts
			}
		} else {
			h = idxHeader{beginTS: prev.endTS, endTS: prev.endTS, beginPhy: prev.endPhy, endPhy: prev.endPhy, count: 1}
		}
		f.publish(h) // the slots are checked against the lower count next, and rebuilt
		return nil
	}
	return nil
}

// loadSlots reads the file's slots and reports whether every one points at an entry below
// count (step 3).
func (x *idxFile) loadSlots(count int32) ([]int32, bool) {
	mem := make([]int32, x.lay.slots)
	covered := true
	for i := range mem {
		v := x.diskSlot(int64(i))
		mem[i] = v
		covered = covered && v >= 0 && v < count
	}
	return mem, covered
}

// rebuildSlots recomputes the slots from entries 1..h.count-1 (their prevIndex links stay valid:
// each points further back) and counts the slots in use. All slot pages go to the file at the
// next sync.
func (x *idxFile) rebuildSlots(h *idxHeader) {
	mem := make([]int32, x.lay.slots)
	used := int32(0)
	for n := int32(1); n < h.count; n++ {
		s := x.lay.slotOf(x.entry(n).hash)
		if mem[s] == 0 {
			used++
		}
		mem[s] = n
	}
	h.slotsUsed = used
	x.useSlots(mem, true)
}

// reindexKeys indexes the records after the index's end (step 4). The record at the end itself
// is indexed again, key by key where missing, only when the last file is full: its keys may have
// been cut between that file and a next one that was dropped.
func (s *Store) reindexKeys(ctx context.Context, ki *keyIndex, logEnd int64, rec *idxRecovery) error {
	logMin, _ := s.LogBounds()
	from, inclusive, unique := logMin, true, false
	for i := len(ki.files) - 1; i >= 0; i-- {
		if h := ki.files[i].header(); h.dispatched() {
			full := int64(h.count) >= ki.lay.entries
			from, inclusive, unique = h.endPhy, full, full
			break
		}
	}
	if from < logMin {
		from, inclusive, unique = logMin, true, false // what the index lacks below is gone anyway
	}
	rec.from = from
	for p := from; p < logEnd; {
		if rec.records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := ki.commit(); err != nil {
				return fmt.Errorf("key index: %w", err)
			}
		}
		r, size, next := s.recordAt(p)
		if size == 0 {
			if next <= p {
				break
			}
			p = next
			continue
		}
		if p != from || inclusive {
			rec.records++
			uniq, _ := wire.PropertyValue(r.Properties, message.PropertyUniqKey)
			keys, _ := wire.PropertyValue(r.Properties, message.PropertyKeys)
			if records.Indexed(r.SysFlag) && (uniq != "" || keys != "") {
				rec.keyRecords++
			}
			if err := ki.add(r.Topic, r.SysFlag, uniq, keys, p, r.StoreTimestamp, unique && p == from); err != nil {
				return fmt.Errorf("key index: %w", err)
			}
		}
		p += int64(size)
	}
	if err := ki.commit(); err != nil {
		return fmt.Errorf("key index: %w", err)
	}
	return nil
}

// recordAt decodes the record at p. size 0: no record there, and next is where to go on (the
// next segment, after a filler or a record that does not decode; a value not above p ends the
// walk).
func (s *Store) recordAt(p int64) (r wire.Record, size int32, next int64) {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	seg := s.segmentAt(p)
	if seg == nil {
		return r, 0, p
	}
	nextSeg := seg.base + s.cfg.SegmentSize
	off := p - seg.base
	hsize, magic, ok := wire.PeekRecordHeader(seg.data[off:])
	switch {
	case ok && magic == wire.MagicBlank:
		return r, 0, nextSeg
	case !ok || hsize < minRecordSize || off+int64(hsize) > int64(len(seg.data)):
		s.log.Warn("key index: no record where one should be; going on at the next segment", zap.Int64("offset", p))
		return r, 0, nextSeg
	}
	r, _, err := wire.DecodeRecord(seg.data[off : off+int64(hsize)])
	if err != nil || r.PhysicalOffset != p {
		s.log.Warn("key index: a record does not decode; going on at the next segment", zap.Int64("offset", p), zap.Error(err))
		return r, 0, nextSeg
	}
	return r, hsize, p + int64(hsize)
}
