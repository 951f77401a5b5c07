package mmap

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Layout of the fuzzed index files: small, so the fuzzer reaches every part of one.
const fuzzSlots, fuzzEntries = 4, 8

var fuzzLayout = idxLayout{slots: fuzzSlots, entries: fuzzEntries}

// fuzzKeys are the keys the template store's records carry and the fuzz queries ask for.
var fuzzKeys = []string{"U0", "U1", "U2", "a", "b", "Aa", "BB"}

// fuzzTemplate builds a stopped store with a few records and returns its directory.
func fuzzTemplate(f *testing.F) string {
	dir := f.TempDir()
	s, err := New(idxConfig(dir, fuzzSlots, fuzzEntries), zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	_, err = s.Append(context.Background(), []message.Message{
		storagetest.KeyMsg("TopicF", "0", "U0", "a b"), storagetest.KeyMsg("TopicF", "1", "U1", "Aa"),
		storagetest.KeyMsg("TopicF", "2", "U2", "BB a"), storagetest.KeyMsg("Other", "3", "", "a"),
	}, nil)

	if err != nil {
		f.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		f.Fatal(err)
	}
	return dir
}

// FuzzIndexFile feeds arbitrary bytes to the index file reader: first the file-level walk and
// repair on a file of the right size, then a whole store that finds the bytes as its only index
// file (at their own length, or fitted to the layout). Nothing may panic or loop, the store must
// start (a bad index file is dropped and rebuilt, never fatal), and every hit must be a record
// that carries the key.
func FuzzIndexFile(f *testing.F) {
	tmpl := fuzzTemplate(f)
	paths, _ := filepath.Glob(filepath.Join(tmpl, "index", "*"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b) // a real file over the template's log
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, fuzzLayout.size()))
	f.Fuzz(fuzzIndexBody(tmpl))
}

// fuzzIndexBody is FuzzIndexFile's check of one input, over a copy of the template store tmpl.
func fuzzIndexBody(tmpl string) func(t *testing.T, data []byte) {
	return func(t *testing.T, data []byte) {
		fitted := make([]byte, fuzzLayout.size())
		copy(fitted, data)
		fuzzFileLevel(t, fitted)

		dir := t.TempDir()
		copyDir(t, tmpl, dir)
		old, _ := filepath.Glob(filepath.Join(dir, "index", "*"))
		for _, p := range old {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		file := data
		if len(data) > 0 && data[0]&1 == 0 {
			file = fitted
		}
		if err := os.WriteFile(filepath.Join(dir, "index", "20250101000000000"), file, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := New(idxConfig(dir, fuzzSlots, fuzzEntries), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatalf("a store with a damaged index file did not start: %v", err)
		}
		defer func() { _ = s.Stop(context.Background()) }()
		for _, k := range fuzzKeys {
			res, err := s.QueryByKey(context.Background(), storage.KeyQuery{Topic: "TopicF", Key: k, MaxNum: 16, EndMs: math.MaxInt64})
			if err != nil {
				t.Fatalf("query %s: %v", k, err)
			}
			for _, h := range res.Hits {
				b, err := s.ReadRecord(context.Background(), h.PhyOffset, h.Size, nil)
				if err != nil {
					t.Fatalf("hit %+v: %v", h, err)
				}
				r, _, err := wire.DecodeRecord(b)
				uniq, _ := wire.PropertyValue(r.Properties, message.PropertyUniqKey)
				keys, _ := wire.PropertyValue(r.Properties, message.PropertyKeys)
				if err != nil || r.Topic != "TopicF" || !message.HasIndexKey(uniq, keys, k) {
					t.Fatalf("hit %+v for %s is %s with keys %q %q (%v)", h, k, r.Topic, uniq, keys, err)
				}
			}
		}
	}
}

// fuzzFileLevel opens data (of the layout's size) as an index file and runs the reader and the
// repair over it directly, with no log to filter what they find.
func fuzzFileLevel(t *testing.T, data []byte) {
	dir := t.TempDir()
	path := filepath.Join(dir, "20250101000000000")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := openIdxFile(path, fuzzLayout, false)
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	h := x.header()
	ki := &keyIndex{lay: fuzzLayout, files: []*idxFile{x}}
	hashes := []int32{0, 1, 2, 3, -1, math.MaxInt32, math.MinInt32, int32(binary.BigEndian.Uint32(data[40:]))}
	for _, hash := range hashes {
		steps := 0
		x.walk(hash, func(int32, idxEntry) bool { steps++; return true })
		if steps >= fuzzEntries {
			t.Fatalf("a chain of %d steps in a file of %d entries", steps, fuzzEntries)
		}
		ki.candidates(hash, math.MinInt64, math.MaxInt64, func(int64) bool { return true })
	}
	if h.check(fuzzLayout) != nil {
		return
	}
	_, covered := x.loadSlots(h.count)
	x.rebuildSlots(&h)
	for i := range int64(fuzzSlots) {
		if v := x.slot(i); v < 0 || v >= h.count {
			t.Fatalf("rebuilt slot %d = %d, past count %d (covered before: %v)", i, v, h.count, covered)
		}
	}
	if h.slotsUsed < 0 || int64(h.slotsUsed) > fuzzSlots || (h.count > 1) != (h.slotsUsed > 0) {
		t.Fatal(fmt.Sprintf("rebuild counted %d slots in use for %d entries", h.slotsUsed, h.count-1))
	}
}
