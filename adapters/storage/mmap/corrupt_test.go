package mmap

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// bodyOffset is where the body of a record with IPv4 hosts starts.
const bodyOffset = 88

// patchLog overwrites the log of the stopped store in dir at physical offset phy.
func patchLog(t *testing.T, dir string, phy int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "commitlog", fileName(phy-phy%testSegment)), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, phy%testSegment); err != nil {
		t.Fatal(err)
	}
}

// flipBit flips one bit of the byte at physical offset phy of the stopped store in dir.
func flipBit(t *testing.T, dir string, phy int64) {
	t.Helper()
	path := filepath.Join(dir, "commitlog", fileName(phy-phy%testSegment))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[phy%testSegment] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCheckpoint replaces the checkpoint of the stopped store in dir.
func writeCheckpoint(t *testing.T, dir string, cp checkpointData) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), cp.encode(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// without returns a with the messages at the given indexes left out.
func without(a storagetest.Appended, skip ...int) storagetest.Appended {
	var out storagetest.Appended
	for i := range a.Msgs {
		if !contains(skip, i) {
			out.Msgs = append(out.Msgs, a.Msgs[i])
			out.Results = append(out.Results, a.Results[i])
		}
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var corruptQueues = []topic.QueueRef{{Topic: "TopicC", QueueID: 0}, {Topic: "TopicC", QueueID: 1}, {Topic: "TopicC", QueueID: 2}}

// filledStore appends 300 records over three queues and stops cleanly.
func filledStore(t *testing.T) (string, storagetest.Appended, int64) {
	dir := t.TempDir()
	s, stop := start(t, testConfig(dir))
	a := storagetest.Fill(t, s, "TopicC", 3, 300, 400)
	_, end := s.LogBounds()
	stop()
	return dir, a, end
}

// checkSkipped asserts that the record of message i is never served: reading it fails, and its
// unit is a hole, or the queue ends before it (the record was its queue's last).
func checkSkipped(t *testing.T, s *Store, a storagetest.Appended, i int) {
	t.Helper()
	ctx := context.Background()
	r, m := a.Results[i], a.Msgs[i]
	if _, err := s.ReadRecord(ctx, r.PhysicalOffset, r.Size, nil); !errors.Is(err, storage.ErrCorrupt) && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadRecord of the corrupt record: %v, want ErrCorrupt or ErrNotFound", err)
	}
	if _, err := s.Message(ctx, r.PhysicalOffset); err == nil {
		t.Fatalf("Message of the corrupt record succeeded")
	}
	q := topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}
	u, err := s.Lookup(ctx, q, r.QueueOffset, 1, nil)
	if _, hi := s.QueueBounds(q); err != nil || hi > r.QueueOffset && (len(u) != 1 || u[0] != holeUnit) {
		t.Fatalf("unit of the corrupt record: %v, %v, want a hole", u, err)
	}
}

func TestCleanStartReadsNothing(t *testing.T) {
	dir, a, end := filledStore(t)
	s, _ := start(t, testConfig(dir))
	st := s.Stats()
	if !st.LastStartClean || st.RecoveryScannedBytes != 0 || st.UnitsRebuilt != 0 || st.LogEnd != end || st.DurableOffset != end {
		t.Fatalf("start after a clean stop: %+v, want clean, nothing scanned, log end and durable at %d", st, end)
	}
	storagetest.Verify(t, s, a)
}

// A store's first start, in an empty directory, is a clean start: there is nothing to verify and
// no reason to warn that it was not stopped cleanly.
func TestFirstStartIsClean(t *testing.T) {
	s, _ := start(t, testConfig(t.TempDir()))
	if st := s.Stats(); !st.LastStartClean || st.LogEnd != 0 {
		t.Fatalf("first start: %+v, want clean at offset 0", st)
	}
}

// After a clean stop the scan is skipped, so a flipped bit is found only by the read: it is
// refused and counted, and every other record is served.
func TestBitFlipAfterCleanStopIsRefusedOnRead(t *testing.T) {
	dir, a, _ := filledStore(t)
	const bad = 150
	flipBit(t, dir, a.Results[bad].PhysicalOffset+bodyOffset+3)
	s, _ := start(t, testConfig(dir))
	if !s.Stats().LastStartClean {
		t.Fatalf("a bit flip in the middle made the start scan: %+v", s.Stats())
	}
	ctx := context.Background()
	r := a.Results[bad]
	if _, err := s.ReadRecord(ctx, r.PhysicalOffset, r.Size, nil); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("ReadRecord of a record with a flipped bit: %v, want ErrCorrupt", err)
	}
	if _, err := s.Message(ctx, r.PhysicalOffset); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Message of a record with a flipped bit: %v, want ErrCorrupt", err)
	}
	if n := s.Stats().CorruptReads; n != 2 {
		t.Fatalf("CorruptReads = %d, want 2", n)
	}
	storagetest.Verify(t, s, without(a, bad))
}

func TestCorruptRecordInTheMiddleIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage spoils the log of the stopped store around message i; it returns the number
		// of messages from i on it spoiled.
		damage func(t *testing.T, dir string, a storagetest.Appended, i int) int
		// checkpoint replaces the checkpoint (a crash): dispatched, flushed; -1: log end.
		dispatched, flushed int64
		noCheckpoint        bool
	}{
		{name: "BodyBitRebuilt", dispatched: 0, flushed: -1, damage: flipBody},
		{name: "BodyBitKeptUnits", dispatched: -1, flushed: -1, damage: flipBody},
		{name: "SizeFieldRebuilt", dispatched: 0, flushed: -1, damage: garbleSize},
		{name: "MagicKeptUnits", dispatched: -1, flushed: -1, damage: garbleMagic},
		{name: "ZeroedBlock", dispatched: 0, flushed: -1, damage: zeroBlock},
		{name: "NoCheckpoint", noCheckpoint: true, damage: garbleSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, a, end := filledStore(t)
			// Damage a record in the last segment, so that a scan from the start of the
			// segment holding the log end sees it too.
			bad := len(a.Results) - 20
			for a.Results[bad].PhysicalOffset-a.Results[bad].PhysicalOffset%testSegment != end-end%testSegment {
				bad++
			}
			spoiled := tc.damage(t, dir, a, bad)
			cp := checkpointData{dispatched: tc.dispatched, flushed: tc.flushed}
			if cp.dispatched < 0 {
				cp.dispatched = end
			}
			if cp.flushed < 0 {
				cp.flushed = end
			}
			writeCheckpoint(t, dir, cp)
			if tc.noCheckpoint {
				if err := os.Remove(filepath.Join(dir, "checkpoint")); err != nil {
					t.Fatal(err)
				}
			}
			s, _ := start(t, testConfig(dir))
			st := s.Stats()
			if st.LastStartClean || st.CorruptRecordsSkipped != 1 || st.TornTailBytesCut != 0 || st.LogEnd != end {
				t.Fatalf("stats %+v: want one corrupt stretch skipped, no tail cut, log end %d", st, end)
			}
			var skipped []int
			for i := bad; i < bad+spoiled; i++ {
				skipped = append(skipped, i)
				checkSkipped(t, s, a, i)
			}
			if want := a.Results[bad+spoiled].PhysicalOffset - a.Results[bad].PhysicalOffset; st.CorruptBytesSkipped != want {
				t.Fatalf("CorruptBytesSkipped %d, want %d", st.CorruptBytesSkipped, want)
			}
			storagetest.Verify(t, s, without(a, skipped...))
			storagetest.VerifyQueues(t, s, corruptQueues)
			// The store goes on from the old end.
			res, err := s.Append(context.Background(), []message.Message{storagetest.Msg("TopicC", 0, "after", "")}, nil)
			if err != nil || res[0].PhysicalOffset != end {
				t.Fatalf("append after recovery: %+v, %v, want offset %d", res, err, end)
			}
		})
	}
}

func flipBody(t *testing.T, dir string, a storagetest.Appended, i int) int {
	flipBit(t, dir, a.Results[i].PhysicalOffset+bodyOffset+10)
	return 1
}

func garbleSize(t *testing.T, dir string, a storagetest.Appended, i int) int {
	patchLog(t, dir, a.Results[i].PhysicalOffset, []byte{0x7f, 0x12, 0x34, 0x56})
	return 1
}

func garbleMagic(t *testing.T, dir string, a storagetest.Appended, i int) int {
	patchLog(t, dir, a.Results[i].PhysicalOffset+4, []byte{0xDE, 0xAD, 0xBE, 0xEF})
	return 1
}

// zeroBlock zeroes from the middle of record i to the middle of record i+2.
func zeroBlock(t *testing.T, dir string, a storagetest.Appended, i int) int {
	from := a.Results[i].PhysicalOffset + 40
	to := a.Results[i+2].PhysicalOffset + 40
	patchLog(t, dir, from, make([]byte, to-from))
	return 3
}

// A torn tail and a flipped bit in the middle of the same crashed log: the corrupt record is
// skipped, the records between it and the tail are kept, the torn record is cut.
func TestTornTailAndBitFlip(t *testing.T) {
	dir, a, end := filledStore(t)
	n := len(a.Results)
	bad, torn := n-10, n-1
	flipBody(t, dir, a, bad)
	last := a.Results[torn]
	patchLog(t, dir, last.PhysicalOffset+int64(last.Size)/2, make([]byte, int64(last.Size)-int64(last.Size)/2))
	patchLog(t, dir, end, []byte("garbage after the end"))
	// The crash happened before the last record was flushed.
	writeCheckpoint(t, dir, checkpointData{dispatched: end, flushed: last.PhysicalOffset})
	s, _ := start(t, testConfig(dir))
	st := s.Stats()
	if st.CorruptRecordsSkipped != 1 || st.TornTailBytesCut == 0 || st.LogEnd != last.PhysicalOffset {
		t.Fatalf("stats %+v: want one record skipped, a tail cut at %d", st, last.PhysicalOffset)
	}
	checkSkipped(t, s, a, bad)
	if _, err := s.Message(context.Background(), last.PhysicalOffset); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the torn record: %v, want ErrNotFound", err)
	}
	storagetest.Verify(t, s, without(a, bad, torn))
	storagetest.VerifyQueues(t, s, corruptQueues)
	m := a.Msgs[torn]
	if _, hi := s.QueueBounds(topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}); hi != last.QueueOffset {
		t.Fatalf("queue max %d, want %d: the torn record's unit must go", hi, last.QueueOffset)
	}
}

// A bad record past the checkpoint's flushed offset is a torn tail even with good records
// after it: they were never known to be on disk, and a recovered log is a prefix of what was
// written.
func TestBadRecordPastFlushedEndsTheLog(t *testing.T) {
	dir, a, end := filledStore(t)
	bad := len(a.Results) - 5
	flipBody(t, dir, a, bad)
	writeCheckpoint(t, dir, checkpointData{dispatched: end, flushed: a.Results[bad-1].PhysicalOffset})
	s, _ := start(t, testConfig(dir))
	st := s.Stats()
	if st.LogEnd != a.Results[bad].PhysicalOffset || st.CorruptRecordsSkipped != 0 || st.TornTailBytesCut == 0 {
		t.Fatalf("stats %+v: want the log cut at %d", st, a.Results[bad].PhysicalOffset)
	}
	storagetest.Verify(t, s, storagetest.Appended{Msgs: a.Msgs[:bad], Results: a.Results[:bad]})
	storagetest.VerifyQueues(t, s, corruptQueues)
}

// A version 1 checkpoint (no flushed offset) still opens: recovery scans from its dispatched
// offset and treats every bad record with good ones after it as damage in the middle.
func TestVersion1Checkpoint(t *testing.T) {
	dir, a, end := filledStore(t)
	b := make([]byte, 0, checkpointSizeV1)
	b = append(b, 0x52, 0x47, 0x43, 0x50, 0, 1, 0, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(end))
	b = binary.BigEndian.AppendUint64(b, 1)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := start(t, testConfig(dir))
	if st := s.Stats(); st.LastStartClean || st.LogEnd != end {
		t.Fatalf("start from a v1 checkpoint: %+v", st)
	}
	storagetest.Verify(t, s, a)
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, cp := range []checkpointData{{}, {clean: true, dispatched: 1 << 40, flushed: 1 << 39, savedAt: 17}} {
		got, ok := decodeCheckpoint(cp.encode())
		if !ok || got != cp {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", cp, got, ok)
		}
		b := cp.encode()
		for i := range b {
			b[i] ^= 1
			if _, ok := decodeCheckpoint(b); ok {
				t.Fatalf("a flipped bit in byte %d of %+v still decodes", i, cp)
			}
			b[i] ^= 1
		}
	}
}

func TestCheckRecord(t *testing.T) {
	m := storagetest.Msg("TopicV", 1, "body bytes", "TagV")
	r := wire.Record{Topic: m.Topic, QueueID: 1, Body: m.Body, BornHost: m.BornHost, StoreHost: m.StoreHost,
		PhysicalOffset: 4096, Properties: string(wire.AppendProperties(nil, m.Properties))}
	rec := wire.AppendRecord(nil, &r)
	seg := append(append([]byte(nil), rec...), make([]byte, 64)...)
	if size, st := checkRecord(seg, 4096); st != recOK || int(size) != len(rec) {
		t.Fatalf("a good record: %d, %v", size, st)
	}
	if _, st := checkRecord(seg, 4097); st != recBad {
		t.Fatalf("a record at the wrong position: %v", st)
	}
	if _, st := checkRecord(seg[:len(rec)+7], 4096); st != recBad {
		t.Fatalf("a record without room for the filler after it: %v", st)
	}
	bad := append([]byte(nil), seg...)
	bad[bodyOffset] ^= 1
	if _, st := checkRecord(bad, 4096); st != recBadCRC {
		t.Fatalf("a flipped body bit: %v", st)
	}
	bad = append([]byte(nil), seg...)
	bad[bodyOffset-1]++ // body length one more: the fields no longer add up
	if _, st := checkRecord(bad, 4096); st != recBad {
		t.Fatalf("a wrong body length: %v", st)
	}
	blank := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 64), wire.MagicBlank)
	blank = append(blank, make([]byte, 56)...)
	if size, st := checkRecord(blank, 0); st != recBlank || size != 64 {
		t.Fatalf("a filler: %d, %v", size, st)
	}
	if _, st := checkRecord(blank[:63], 0); st != recBad {
		t.Fatalf("a filler that does not reach the segment end: %v", st)
	}
	for _, short := range [][]byte{nil, {1, 2, 3}, make([]byte, 8)} {
		if _, st := checkRecord(short, 0); st != recBad {
			t.Fatalf("%v: %v", short, st)
		}
	}
}

// A hole unit never reads as a record, however long the log.
func TestHoleUnitReadsAsNotFound(t *testing.T) {
	s, _ := start(t, testConfig(t.TempDir()))
	storagetest.Fill(t, s, "TopicH", 1, 10, 100)
	if _, err := s.ReadRecord(context.Background(), 0, math.MaxInt32, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadRecord of a hole unit: %v", err)
	}
}
