package mmap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// idxConfig is testConfig with a key index of slots slots and entries entries per file, and no
// background flush, so a test decides when the index is synced.
func idxConfig(dir string, slots, entries int) Config {
	cfg := testConfig(dir)
	cfg.IndexSlots, cfg.IndexEntries = slots, entries
	cfg.FlushInterval = time.Hour
	return cfg
}

// openObserved starts a store whose log lines the test can read; it is stopped at cleanup.
func openObserved(t *testing.T, cfg Config) (*Store, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	tee := zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core())
	s, err := New(cfg, zap.New(tee))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s, logs
}

// recovered returns the fields of the store's "key index recovered" log line.
func recovered(t *testing.T, logs *observer.ObservedLogs) map[string]any {
	t.Helper()
	lines := logs.FilterMessage("key index recovered").All()
	if len(lines) != 1 {
		t.Fatalf("%d key index recovery lines", len(lines))
	}
	return lines[0].ContextMap()
}

// javaKeyHash is the index hash computed the slow way, from the tag hash (tested against Java).
func javaKeyHash(topicName, key string) int32 {
	h := int32(message.TagsCode(topicName + "#" + key))
	if h == math.MinInt32 {
		return 0
	}
	return max(h, -h)
}

// entriesOf is the number of entries in all of the store's index files.
func entriesOf(s *Store) int {
	ki := s.keys.Load()
	ki.mu.RLock()
	defer ki.mu.RUnlock()
	n := 0
	for _, f := range ki.files {
		n += int(f.header().count) - 1
	}
	return n
}

// keyCount is the number of index entries msgs make.
func keyCount(msgs ...message.Message) int {
	n := 0
	for _, m := range msgs {
		if records.Indexed(m.SysFlag) {
			for range message.IndexKeys(m.Properties[message.PropertyUniqKey], m.Properties[message.PropertyKeys]) {
				n++
			}
		}
	}
	return n
}

func indexFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "index", "*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

func TestKeyHash(t *testing.T) {
	for _, tc := range []struct{ topic, key string }{
		{"TopicTest", "k1"}, {"T", ""}, {"", ""}, {"Topic", "C000020250390000000067eb60d80001"},
		{"主题", "键🙂"}, {"%RETRY%group", "order 1"},
	} {
		if got, want := keyHash(tc.topic, tc.key), javaKeyHash(tc.topic, tc.key); got != want || got < 0 {
			t.Errorf("keyHash(%q, %q) = %d, want %d", tc.topic, tc.key, got, want)
		}
	}
	// Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE, whose abs is still negative.
	if h := message.HashCode(0, "polygenelubricants"); h != math.MinInt32 {
		t.Fatalf("HashCode = %d, want MinInt32", h)
	}
	if h := keyHash("polygene", "lubricants"); h == math.MinInt32 || h < 0 {
		t.Fatalf("keyHash returned %d", h)
	}
}

// TestIndexFileLayout reads the file a clean stop leaves and checks every field against
// RocketMQ's IndexFile layout.
func TestIndexFileLayout(t *testing.T) {
	const slots, entries = 8, 16
	dir := t.TempDir()
	s, stop := start(t, idxConfig(dir, slots, entries))
	msgs := []message.Message{
		storagetest.KeyMsg("TopicL", "zero", "U0", "a b"),
		storagetest.KeyMsg("TopicL", "one", "", ""),
		storagetest.KeyMsg("TopicL", "two", "", "a"),
	}
	res, err := s.Append(context.Background(), msgs[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	more, err := s.Append(context.Background(), msgs[1:], nil)
	if err != nil {
		t.Fatal(err)
	}
	res = append(res, more...)
	stop()

	paths := indexFiles(t, dir)
	if len(paths) != 1 || len(filepath.Base(paths[0])) != 17 {
		t.Fatalf("index files %v, want one named yyyyMMddHHmmssSSS", paths)
	}
	if _, err := time.Parse("20060102150405", filepath.Base(paths[0])[:14]); err != nil {
		t.Fatalf("file name %s is not a time: %v", paths[0], err)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 40+slots*4+entries*20 {
		t.Fatalf("file of %d bytes, want %d", len(b), 40+slots*4+entries*20)
	}
	be := binary.BigEndian
	i64 := func(off int) int64 { return int64(be.Uint64(b[off:])) }
	i32 := func(off int) int32 { return int32(be.Uint32(b[off:])) }

	// The model: keys in order, each entry linking to the slot's previous newest.
	type want struct {
		key  string
		phy  int64
		prev int32
	}
	var ws []want
	table := make([]int32, slots)
	used := int32(0)
	for i, k := range []string{"U0", "a", "b", "a"} {
		phy := res[0].PhysicalOffset
		if i == 3 {
			phy = res[2].PhysicalOffset
		}
		slot := javaKeyHash("TopicL", k) % slots
		if table[slot] == 0 {
			used++
		}
		ws = append(ws, want{k, phy, table[slot]})
		table[slot] = int32(i + 1)
	}
	for _, f := range []struct {
		name      string
		got, want int64
	}{
		{"beginTimestamp", i64(0), res[0].StoreTimestamp},
		{"endTimestamp", i64(8), res[2].StoreTimestamp},
		{"beginPhyOffset", i64(16), res[0].PhysicalOffset},
		{"endPhyOffset", i64(24), res[2].PhysicalOffset},
		{"hashSlotCount", int64(i32(32)), int64(used)},
		{"indexCount", int64(i32(36)), 5},
	} {
		if f.got != f.want {
			t.Errorf("header %s = %d, want %d", f.name, f.got, f.want)
		}
	}
	for slot := range slots {
		if got := i32(40 + slot*4); got != table[slot] {
			t.Errorf("slot %d = %d, want %d", slot, got, table[slot])
		}
	}
	if e0 := b[40+slots*4 : 40+slots*4+20]; !slices.Equal(e0, make([]byte, 20)) {
		t.Errorf("entry 0 is used: %x", e0)
	}
	for n, w := range ws {
		off := 40 + slots*4 + (n+1)*20
		diff := (res[2].StoreTimestamp - res[0].StoreTimestamp) / 1000
		if n < 3 {
			diff = 0
		}
		if h, phy, td, prev := i32(off), i64(off+4), int64(i32(off+12)), i32(off+16); h != javaKeyHash("TopicL", w.key) ||
			phy != w.phy || td != diff || prev != w.prev {
			t.Errorf("entry %d (%s) = hash %d phy %d timeDiff %d prev %d, want %d %d %d %d",
				n+1, w.key, h, phy, td, prev, javaKeyHash("TopicL", w.key), w.phy, diff, w.prev)
		}
	}
}

// TestIndexChainsAndCollisions puts every key in one slot: the chain holds them all, newest
// first, and queries still answer exactly, since every candidate's record is checked.
func TestIndexChainsAndCollisions(t *testing.T) {
	s, _ := start(t, idxConfig(t.TempDir(), 1, 1000))
	var msgs []message.Message
	for i := range 30 {
		msgs = append(msgs, storagetest.KeyMsg("TopicC", fmt.Sprint(i), fmt.Sprintf("U%d", i), fmt.Sprintf("k%d all", i%5)))
	}
	msgs = append(msgs, storagetest.KeyMsg("Other", "x", "", "k1 all"))
	res, err := s.Append(context.Background(), msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ki := s.keys.Load()
	f := ki.files[0]
	var chain []int32
	f.walk(0, func(n int32, _ idxEntry) bool { chain = append(chain, n); return true })
	if want := keyCount(msgs...); len(chain) != want || chain[0] != int32(want) || chain[len(chain)-1] != 1 {
		t.Fatalf("the one chain has %d entries from %d to %d, want %d from %d down to 1", len(chain), chain[0], chain[len(chain)-1], want, want)
	}
	for i := 1; i < len(chain); i++ {
		if chain[i] != chain[i-1]-1 {
			t.Fatalf("chain not in descending order at %d: %v", i, chain)
		}
	}
	storagetest.ExpectHits(t, s, "TopicC", "k1", 10, res[26], res[21], res[16], res[11], res[6], res[1])
	storagetest.ExpectHits(t, s, "TopicC", "U17", 10, res[17])
	storagetest.ExpectHits(t, s, "Other", "k1", 10, res[30])
	if got := storagetest.QueryKey(t, s, "TopicC", "all", 100).Hits; len(got) != 30 {
		t.Fatalf("%d hits for the key of every record, want 30", len(got))
	}
	storagetest.ExpectHits(t, s, "TopicC", "k5", 10)
}

// TestIndexRollover fills several files, one record's keys split across two of them, and checks
// the files' headers and that queries span files, before and after a restart.
func TestIndexRollover(t *testing.T) {
	dir := t.TempDir()
	cfg := idxConfig(dir, 4, 4) // three entries per file
	s, stop := start(t, cfg)
	var msgs []message.Message
	for i := range 7 {
		msgs = append(msgs, storagetest.KeyMsg("TopicR", fmt.Sprint(i), fmt.Sprintf("U%d", i), "every"))
	}
	msgs = append(msgs, storagetest.KeyMsg("TopicR", "split", "", "s1 s2 s3 s4 s5"))
	var res []storage.AppendResult
	for _, m := range msgs {
		r, err := s.Append(context.Background(), []message.Message{m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r...)
	}
	check := func(s *Store) {
		t.Helper()
		ki := s.keys.Load()
		total := 0
		for i, f := range ki.files {
			h := f.header()
			total += int(h.count) - 1
			if i < len(ki.files)-1 && h.count != 4 {
				t.Fatalf("file %d of %d has count %d, want 4 (full)", i, len(ki.files), h.count)
			}
			if i > 0 {
				if p := ki.files[i-1].header(); h.beginPhy < p.endPhy || h.beginTS < p.endTS || f.name <= ki.files[i-1].name {
					t.Fatalf("file %d (%s, from %d) does not follow file %d (%s, to %d)", i, f.name, h.beginPhy, i-1, ki.files[i-1].name, p.endPhy)
				}
			}
		}
		if want := keyCount(msgs...); total != want || len(ki.files) != (want+2)/3 {
			t.Fatalf("%d entries in %d files, want %d in %d", total, len(ki.files), want, (want+2)/3)
		}
		storagetest.ExpectHits(t, s, "TopicR", "every", 3, res[6], res[5], res[4])
		if got := storagetest.QueryKey(t, s, "TopicR", "every", 100).Hits; len(got) != 7 {
			t.Fatalf("%d hits for every, want 7", len(got))
		}
		for i := range 7 {
			storagetest.ExpectHits(t, s, "TopicR", fmt.Sprintf("U%d", i), 10, res[i])
		}
		for _, k := range []string{"s1", "s2", "s3", "s4", "s5"} {
			storagetest.ExpectHits(t, s, "TopicR", k, 10, res[7])
		}
	}
	check(s)
	// The record with five keys starts in one file and ends in another.
	var split int
	for _, f := range s.keys.Load().files {
		if h := f.header(); h.beginPhy == res[7].PhysicalOffset || h.endPhy == res[7].PhysicalOffset {
			split++
		}
	}
	if split < 2 {
		t.Fatalf("the five-key record is in %d files, want it split across 2 or more", split)
	}
	stop()
	if n := len(indexFiles(t, dir)); n != 7 {
		t.Fatalf("%d index files on disk, want 7", n)
	}
	s2, logs := openObserved(t, cfg)
	check(s2)
	if r := recovered(t, logs); r["recordsRead"] != int64(0) || r["slotsRebuilt"] != false || r["filesDropped"] != int64(0) || r["reindexFrom"] != res[7].PhysicalOffset {
		t.Fatalf("a clean restart re-read or repaired the index: %v", r)
	}
}

// TestIndexCandidatesByTime drives the index directly with synthetic store times seconds apart,
// to check the second-precision prefilter that spares reading records out of range.
func TestIndexCandidatesByTime(t *testing.T) {
	cfg := idxConfig(t.TempDir(), 4, 4)
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "index"), 0o755); err != nil {
		t.Fatal(err)
	}
	ki := newKeyIndex(cfg, zaptest.NewLogger(t))
	t.Cleanup(ki.close)
	if _, err := ki.create(idxHeader{}); err != nil {
		t.Fatal(err)
	}
	const base = 1_700_000_000_000
	times := []int64{base, base + 500, base + 1500, base + 2500, base + 9000, base + 60_000}
	for i, ts := range times {
		if err := ki.add("T", 0, "", "k", int64(i*100), ts, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := ki.commit(); err != nil {
		t.Fatal(err)
	}
	if len(ki.files) != 2 {
		t.Fatalf("%d files, want 2", len(ki.files))
	}
	var diffs []int32
	for _, f := range ki.files {
		for n := int32(1); n < f.header().count; n++ {
			diffs = append(diffs, f.entry(n).diff)
		}
	}
	// Each file counts seconds from its first entry.
	if want := []int32{0, 0, 1, 0, 6, 57}; !slices.Equal(diffs, want) {
		t.Fatalf("timeDiffs %v, want %v", diffs, want)
	}
	hash := keyHash("T", "k")
	for _, tc := range []struct {
		begin, end int64
		want       []int64
	}{
		{0, math.MaxInt64, []int64{500, 400, 300, 200, 100, 0}},
		// 200 was stored at 1500 but its entry only says "second 1": a candidate the record
		// check turns down; 100 says "second 0", which ends the walk.
		{base + 1200, base + 1400, []int64{200}},
		{base + 9000, base + 9000, []int64{400}},
		{base + 2000, base + 2400, nil},     // between the files: the file ranges are exact
		{base + 10_000, base + 59_000, nil}, // between entries of the newest file
		{base + 61_000, math.MaxInt64, nil}, // after every file
		{0, base - 1, nil},                  // before every file
	} {
		var got []int64
		ki.candidates(hash, tc.begin, tc.end, func(phy int64) bool { got = append(got, phy); return true })
		if !slices.Equal(got, tc.want) {
			t.Errorf("candidates in %d..%d = %v, want %v", tc.begin-base, tc.end-base, got, tc.want)
		}
	}
	var got []int64
	ki.candidates(hash, 0, math.MaxInt64, func(phy int64) bool { got = append(got, phy); return len(got) < 2 })
	if !slices.Equal(got, []int64{500, 400}) {
		t.Fatalf("candidates after fn said stop: %v", got)
	}
}

// TestIndexCrash copies a running store's files, as a crash leaves them (the page cache
// survives a process crash), damaged in several ways, and checks that recovery answers every
// query and never indexes a record twice.
func TestIndexCrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int // per file: 1000 holds everything, 50 rolls over
		// before runs on the running store between the two batches and returns what it
		// appended; damage runs on the copy.
		before func(t *testing.T, s *Store) []message.Message
		damage func(t *testing.T, dir string)
		// rebuilt: recovery must rebuild the slots; fromStart: re-read the whole log;
		// dropped: whether files are dropped.
		rebuilt, fromStart, dropped bool
	}{
		{name: "NeverSynced", entries: 1000, fromStart: true},
		{name: "SyncedThenMore", entries: 1000, before: syncIndex},
		{name: "IndexLost", entries: 1000, before: syncIndex, fromStart: true, damage: func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "SlotsAheadOfHeader", entries: 1000, rebuilt: true, before: func(t *testing.T, s *Store) []message.Message {
			syncIndex(t, s)
			msgs := appendKeys(t, s, "TopicCr", 5, "mid")
			// The slots of the new entries reach the file, their header does not.
			if _, err := s.keys.Load().cur.writeSlots(nil); err != nil {
				t.Fatal(err)
			}
			return msgs
		}},
		{name: "CorruptHeader", entries: 1000, before: syncIndex, fromStart: true, dropped: true, damage: func(t *testing.T, dir string) {
			paths := indexFiles(t, dir)
			f, err := os.OpenFile(paths[0], os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0x7f, 0xff, 0xff, 0xff}, 36); err != nil { // indexCount
				t.Fatal(err)
			}
		}},
		{name: "ForeignFiles", entries: 1000, before: syncIndex, damage: func(t *testing.T, dir string) {
			for _, name := range []string{"notes.txt", "2024", "20240101000000000.bak"} {
				if err := os.WriteFile(filepath.Join(dir, "index", name), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
		// Rollover writes the full file's slots at once but its header only at the next sync,
		// and the next files' headers never: those go, the full one is repaired.
		{name: "RolledOverNeverSynced", entries: 50, fromStart: true, rebuilt: true, dropped: true},
		{name: "RolledOverSyncedThenMore", entries: 50, before: syncIndex, rebuilt: true, dropped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := idxConfig(dir, 16, tc.entries)
			s, _ := start(t, cfg)
			a := appendKeys(t, s, "TopicCr", 30, "first")
			if tc.before != nil {
				a = append(a, tc.before(t, s)...)
			}
			a = append(a, appendKeys(t, s, "TopicCr", 30, "second")...)
			want := map[string][]storage.KeyHit{}
			for _, k := range []string{"first", "second", "mid", "k3", "U7"} {
				want[k] = storagetest.QueryKey(t, s, "TopicCr", k, 100).Hits
			}
			entries := entriesOf(s)
			if total := keyCount(a...); entries != total {
				t.Fatalf("%d entries for %d keys before the crash", entries, total)
			}
			crashed := t.TempDir()
			copyDir(t, dir, crashed)
			if tc.damage != nil {
				tc.damage(t, crashed)
			}
			s2, logs := openObserved(t, idxConfig(crashed, 16, tc.entries))
			for k, w := range want {
				if got := storagetest.QueryKey(t, s2, "TopicCr", k, 100).Hits; !slices.Equal(got, w) {
					t.Fatalf("after recovery %s: %d hits %v, want %d %v", k, len(got), got, len(w), w)
				}
			}
			if n := entriesOf(s2); n != entries {
				t.Fatalf("%d entries after recovery, want %d: a record was indexed twice or not at all", n, entries)
			}
			r := recovered(t, logs)
			if r["slotsRebuilt"] != tc.rebuilt {
				t.Errorf("slotsRebuilt %v, want %v (%v)", r["slotsRebuilt"], tc.rebuilt, r)
			}
			if fromStart := r["reindexFrom"] == int64(0); fromStart != tc.fromStart {
				t.Errorf("re-indexed from %v; want from the start: %v (%v)", r["reindexFrom"], tc.fromStart, r)
			}
			if dropped := r["filesDropped"] != int64(0); dropped != tc.dropped {
				t.Errorf("files dropped: %v, want %v (%v)", r["filesDropped"], tc.dropped, r)
			}
			// The recovered index goes on from where it is.
			_, res := appendKeysRes(t, s2, "TopicCr", 1, "second")
			storagetest.ExpectHits(t, s2, "TopicCr", "second", 1, res[0])
		})
	}
}

func syncIndex(t *testing.T, s *Store) []message.Message {
	t.Helper()
	if err := s.checkpoint(false); err != nil {
		t.Fatal(err)
	}
	return nil
}

// appendKeys appends n messages of topicName, one per call, each with a UNIQ_KEY, the shared key
// and one of five others, and returns them.
func appendKeys(t *testing.T, s *Store, topicName string, n int, shared string) []message.Message {
	t.Helper()
	msgs, _ := appendKeysRes(t, s, topicName, n, shared)
	return msgs
}

func appendKeysRes(t *testing.T, s *Store, topicName string, n int, shared string) ([]message.Message, []storage.AppendResult) {
	t.Helper()
	var msgs []message.Message
	var res []storage.AppendResult
	for i := range n {
		m := storagetest.KeyMsg(topicName, shared+fmt.Sprint(i), fmt.Sprintf("U%s%d", shared, i), fmt.Sprintf("%s k%d", shared, i%5))
		if i%4 == 3 {
			m.SetProperty(message.PropertyUniqKey, fmt.Sprintf("U%d", i)) // some unique keys repeat across batches
		}
		r, err := s.Append(context.Background(), []message.Message{m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, res = append(msgs, m), append(res, r...)
	}
	return msgs, res
}

// TestIndexBehindLogCut: the index got ahead of the log (a power loss kept index pages but lost
// the log tail); recovery drops the entries past the log end, and records appended at those
// offsets again are found once, with their own keys.
func TestIndexBehindLogCut(t *testing.T) {
	dir := t.TempDir()
	cfg := idxConfig(dir, 16, 12)
	s, stop := start(t, cfg)
	var res []storage.AppendResult
	for i := range 20 {
		r, err := s.Append(context.Background(), []message.Message{storagetest.KeyMsg("TopicCut", fmt.Sprint(i), "", fmt.Sprintf("old k%d", i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r...)
	}
	stop()
	cut := res[12]
	seg := segmentFiles(t, dir)[0]
	if err := os.Truncate(seg, cut.PhysicalOffset%testSegment); err != nil {
		t.Fatal(err)
	}
	s2, logs := openObserved(t, cfg)
	if r := recovered(t, logs); r["truncatedToLogEnd"] != true {
		t.Fatalf("recovery did not truncate the index: %v", r)
	}
	if got := storagetest.QueryKey(t, s2, "TopicCut", "old", 100).Hits; len(got) != 12 || got[0].PhyOffset != res[11].PhysicalOffset {
		t.Fatalf("after the cut: %d hits, newest %v; want 12, newest at %d", len(got), got, res[11].PhysicalOffset)
	}
	storagetest.ExpectHits(t, s2, "TopicCut", "k12", 10)
	r, err := s2.Append(context.Background(), []message.Message{storagetest.KeyMsg("TopicCut", "new", "", "new k12")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r[0].PhysicalOffset != cut.PhysicalOffset {
		t.Fatalf("append after the cut at %d, want %d", r[0].PhysicalOffset, cut.PhysicalOffset)
	}
	storagetest.ExpectHits(t, s2, "TopicCut", "k12", 10, r[0])
	storagetest.ExpectHits(t, s2, "TopicCut", "new", 10, r[0])
	if n := entriesOf(s2); n != 12*2+2 {
		t.Fatalf("%d entries, want %d", n, 12*2+2)
	}
}

// TestIndexSplitRecordReindexedOnce: the last file is full and the file after it was lost, so
// the record at the index's end may have lost some keys; recovery adds only the missing ones.
func TestIndexSplitRecordReindexedOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := idxConfig(dir, 4, 4)
	s, stop := start(t, cfg)
	res, err := s.Append(context.Background(), []message.Message{
		storagetest.KeyMsg("TopicS", "a", "", "a1 a2"),
		storagetest.KeyMsg("TopicS", "b", "", "b1 b2 b3"),
	}, nil)

	if err != nil {
		t.Fatal(err)
	}
	stop()
	paths := indexFiles(t, dir)
	if len(paths) != 2 {
		t.Fatalf("%d index files, want 2", len(paths))
	}
	if err := os.Remove(paths[1]); err != nil {
		t.Fatal(err)
	}
	s2, logs := openObserved(t, cfg)
	for _, k := range []string{"b1", "b2", "b3"} {
		storagetest.ExpectHits(t, s2, "TopicS", k, 10, res[1])
	}
	storagetest.ExpectHits(t, s2, "TopicS", "a2", 10, res[0])
	if n := entriesOf(s2); n != 5 {
		t.Fatalf("%d entries, want 5: the split record's keys in the full file were added again", n)
	}
	if r := recovered(t, logs); r["reindexFrom"] != res[1].PhysicalOffset {
		t.Fatalf("re-indexed from %v, want the split record at %d", r["reindexFrom"], res[1].PhysicalOffset)
	}
}

// TestIndexLayoutChange: other slot or entry counts make the old files unreadable; they are
// dropped and the index rebuilt from the log.
func TestIndexLayoutChange(t *testing.T) {
	dir := t.TempDir()
	s, stop := start(t, idxConfig(dir, 8, 16))
	a := appendKeys(t, s, "TopicLC", 10, "all")
	stop()
	s2, logs := openObserved(t, idxConfig(dir, 32, 64))
	if got := storagetest.QueryKey(t, s2, "TopicLC", "all", 100).Hits; len(got) != 10 {
		t.Fatalf("%d hits after a layout change, want 10", len(got))
	}
	if r := recovered(t, logs); r["filesDropped"] == int64(0) || r["reindexFrom"] != int64(0) {
		t.Fatalf("recovery %v: want the old files dropped and everything re-indexed", r)
	}
	if n := entriesOf(s2); n != keyCount(a...) {
		t.Fatalf("%d entries, want %d", n, keyCount(a...))
	}
}

// TestIndexWriteFailure: a failed index write stops the index, not the store; queries say so,
// and a restart rebuilds the index from its last durable header.
func TestIndexWriteFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := idxConfig(dir, 8, 100)
	s, stop := start(t, cfg)
	appendKeys(t, s, "TopicF", 3, "before")
	syncIndex(t, s)
	ki := s.keys.Load()
	if err := ki.cur.f.Close(); err != nil { // every later write to it fails
		t.Fatal(err)
	}
	appendKeys(t, s, "TopicF", 3, "after")
	if _, err := s.QueryByKey(context.Background(), storage.KeyQuery{Topic: "TopicF", Key: "after", MaxNum: 10, EndMs: math.MaxInt64}); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("query after a failed index write: %v, want ErrUnavailable", err)
	}
	stop()
	s2, _ := start(t, cfg)
	for _, k := range []string{"before", "after"} {
		if got := storagetest.QueryKey(t, s2, "TopicF", k, 100).Hits; len(got) != 3 {
			t.Fatalf("%s: %d hits after the restart, want 3", k, len(got))
		}
	}
}

// TestIndexConcurrentQueries: queries run while appends add to the same chains and roll files
// over; a query never misses a record whose append has returned.
func TestIndexConcurrentQueries(t *testing.T) {
	s, _ := start(t, idxConfig(t.TempDir(), 4, 40))
	var appended atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := appended.Load()
				res, err := s.QueryByKey(context.Background(), storage.KeyQuery{Topic: "TopicQ", Key: "shared", MaxNum: 10_000, EndMs: math.MaxInt64})
				if err != nil || int64(len(res.Hits)) < min {
					errs <- fmt.Errorf("query found %d hits after %d appends returned: %v", len(res.Hits), min, err)
					return
				}
			}
		})
	}
	for i := range 300 {
		m := storagetest.KeyMsg("TopicQ", fmt.Sprint(i), fmt.Sprint("U", i), "shared")
		if _, err := s.Append(context.Background(), []message.Message{m, storagetest.KeyMsg("TopicQ", "x", "", "other")}, nil); err != nil {
			t.Fatal(err)
		}
		appended.Add(1)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := storagetest.QueryKey(t, s, "TopicQ", "shared", 10_000).Hits; len(got) != 300 {
		t.Fatalf("%d hits, want 300", len(got))
	}
}

func TestIndexConfigValidation(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.IndexSlots = 0 },
		func(c *Config) { c.IndexEntries = 1 },
		func(c *Config) { c.IndexSlots = maxIndexCount + 1 },
		func(c *Config) { c.IndexEntries = maxIndexCount + 1 },
	} {
		cfg := testConfig(t.TempDir())
		mutate(&cfg)
		if _, err := New(cfg, nil); err == nil {
			t.Fatalf("New accepted indexSlots %d, indexEntries %d", cfg.IndexSlots, cfg.IndexEntries)
		}
	}
}
