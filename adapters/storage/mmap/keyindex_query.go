package mmap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"math"
	"unsafe"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

var _ storage.KeyIndex = (*Store)(nil)

// QueryByKey implements storage.KeyIndex: the index proposes candidates, and each candidate's
// record is read to check its topic, keys, transaction type and exact store time, since a hash
// match alone proves nothing.
func (s *Store) QueryByKey(ctx context.Context, q storage.KeyQuery) (storage.KeyResult, error) {
	var res storage.KeyResult
	ki := s.keys.Load()
	if ki == nil {
		return res, fmt.Errorf("query by key: %w", storage.ErrClosed)
	}
	ki.mu.RLock()
	defer ki.mu.RUnlock()
	if ki.closed {
		return res, fmt.Errorf("query by key: %w", storage.ErrClosed)
	}
	if err := ki.failed(); err != nil {
		return res, fmt.Errorf("query by key: %w", err)
	}
	if n := len(ki.files); n > 0 {
		h := ki.files[n-1].header()
		res.LastUpdateTimestamp, res.LastUpdatePhyOffset = h.endTS, h.endPhy
	}
	if q.MaxNum <= 0 || q.BeginMs > q.EndMs {
		return res, nil
	}
	res.Hits = make([]storage.KeyHit, 0, min(q.MaxNum, 32))
	var err error
	ki.candidates(keyHash(q.Topic, q.Key), q.BeginMs, q.EndMs, func(phy int64) bool {
		if err = ctx.Err(); err != nil {
			return false
		}
		var hit storage.KeyHit
		var ok bool
		if hit, ok, err = s.verifyHit(phy, q); ok {
			res.Hits = append(res.Hits, hit)
		}
		return err == nil && len(res.Hits) < q.MaxNum
	})
	if err != nil {
		return storage.KeyResult{}, fmt.Errorf("query by key %s#%s: %w", q.Topic, q.Key, err)
	}
	return res, nil
}

// candidates calls fn with the physical offset of every entry of hash that may have been stored
// within [begin, end], newest first and each offset once, until fn returns false. It walks the
// hash's slot chain in each file whose time range meets the query's, newest file first, and
// skips entries whose second-precision time is outside the range. Callers hold ki.mu for
// reading.
func (ki *keyIndex) candidates(hash int32, begin, end int64, fn func(phy int64) bool) {
	last := int64(math.MaxInt64) // offsets strictly descend: an entry listed twice is answered once
	more := true
	for i := len(ki.files) - 1; i >= 0 && more; i-- {
		f := ki.files[i]
		h := f.header()
		if h.empty() || h.beginTS > end {
			continue
		}
		if h.endTS < begin {
			break // older files are older still
		}
		f.walk(hash, func(_ int32, e idxEntry) bool {
			at := h.beginTS + int64(e.diff)*1000 // the record was stored within [at, at+999]
			switch {
			case at+999 < begin:
				return false // the rest of the chain is older
			case at > end || e.hash != hash || e.phy >= last:
				return true
			}
			last = e.phy
			more = fn(e.phy)
			return more
		})
	}
}

// verifyHit reads the record at phy and reports whether it answers q. A record that is gone
// (cut with a torn tail, or not yet published by a concurrent append) is not a hit.
func (s *Store) verifyHit(phy int64, q storage.KeyQuery) (storage.KeyHit, bool, error) {
	var hit storage.KeyHit
	var ok bool
	err := s.withRecord(phy, 0, func(b []byte) error {
		v, vok := viewRecord(b)
		if !vok || v.topic != q.Topic || !records.Indexed(v.sysFlag) || v.storeTS < q.BeginMs || v.storeTS > q.EndMs {
			return nil
		}
		uniq, _ := wire.PropertyValue(v.props, message.PropertyUniqKey)
		keys, _ := wire.PropertyValue(v.props, message.PropertyKeys)
		if message.HasIndexKey(uniq, keys, q.Key) {
			hit, ok = storage.KeyHit{PhyOffset: phy, Size: int32(len(b)), StoreTimestamp: v.storeTS}, true
		}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrCorrupt) {
		return hit, false, nil
	}
	return hit, ok, err
}

// recordView is what the index needs of a record. Its strings alias the record's bytes and are
// valid only while those are.
type recordView struct {
	topic, props string
	storeTS      int64
	sysFlag      int32
}

// viewRecord reads a record's sys flag, store timestamp, topic and properties without copying.
// b is exactly one record; every length is checked against it.
func viewRecord(b []byte) (recordView, bool) {
	var v recordView
	be := binary.BigEndian
	if len(b) < wire.RecordOffsetBornHost {
		return v, false
	}
	magic := be.Uint32(b[wire.RecordOffsetMagic:])
	if magic != wire.MagicV1 && magic != wire.MagicV2 {
		return v, false
	}
	v.sysFlag = int32(be.Uint32(b[wire.RecordOffsetSysFlag:]))
	off := wire.RecordOffsetBornHost + hostSize(v.sysFlag&wire.SysFlagBornHostV6 != 0)
	if len(b) < off+8 {
		return v, false
	}
	v.storeTS = int64(be.Uint64(b[off:]))
	// store host, reconsume times, prepared transaction offset, then the body length
	off += 8 + hostSize(v.sysFlag&wire.SysFlagStoreHostV6 != 0) + 4 + 8
	if len(b) < off+4 {
		return v, false
	}
	off += 4 + int(be.Uint32(b[off:]))
	var tl int
	switch {
	case off < 0 || len(b) < off+2:
		return v, false
	case magic == wire.MagicV2:
		tl, off = int(be.Uint16(b[off:])), off+2
	default:
		tl, off = int(b[off]), off+1
	}
	if len(b) < off+tl+2 {
		return v, false
	}
	v.topic = unsafe.String(unsafe.SliceData(b[off:]), tl)
	off += tl
	pl := int(be.Uint16(b[off:]))
	off += 2
	if len(b) < off+pl {
		return v, false
	}
	v.props = unsafe.String(unsafe.SliceData(b[off:]), pl)
	return v, true
}

func hostSize(v6 bool) int {
	if v6 {
		return 20
	}
	return 8
}
