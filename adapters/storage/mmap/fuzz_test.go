package mmap

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

const fuzzSegment = minSegmentSize

func fuzzConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.SegmentSize = fuzzSegment
	cfg.ConsumeQueueUnits = 16
	return cfg
}

// fuzzSeeds is a commit log written by the store itself: two segments of records over two
// queues, with fillers, and the checkpoint a clean stop left.
func fuzzSeeds(f testing.TB) (log []byte, cp []byte) {
	dir := f.TempDir()
	s, err := New(fuzzConfig(dir), zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	storagetest.Fill(f, s, "FuzzT", 2, 20, 150)
	if err := s.Stop(context.Background()); err != nil {
		f.Fatal(err)
	}
	for i := range 2 {
		b, err := os.ReadFile(filepath.Join(dir, "commitlog", fileName(int64(i)*fuzzSegment)))
		if err != nil {
			f.Fatal(err)
		}
		log = append(log, b...)
	}
	cp, err = os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		f.Fatal(err)
	}
	return log, cp
}

// FuzzRecoverSegment writes arbitrary bytes as the commit log (one or two segments) with a
// checkpoint chosen by the first byte (none, clean, crashed from the start, crashed with
// offsets taken from the input) and starts the store on it. Start must not panic; when it
// succeeds, no read may hand out a record that fails verification, every consume-queue unit
// must lead to a verified record or to ErrNotFound, and the store must take an append and
// survive a restart.
func FuzzRecoverSegment(f *testing.F) {
	log, cleanCP := fuzzSeeds(f)
	cleanEnd := int64(binary.BigEndian.Uint64(cleanCP[8:]))
	f.Add(byte(0), log)
	f.Add(byte(1), log)
	f.Add(byte(2), log)
	f.Add(byte(3), log)
	f.Add(byte(2), log[:fuzzSegment])
	f.Add(byte(2), log[:1000])
	flipped := append([]byte(nil), log...)
	flipped[300] ^= 4
	flipped[fuzzSegment+500] ^= 0x80
	f.Add(byte(2), flipped)
	f.Add(byte(3), flipped)
	zeroed := append([]byte(nil), log...)
	clear(zeroed[512:1024])
	f.Add(byte(2), zeroed)
	f.Add(byte(0), []byte{})
	f.Add(byte(2), make([]byte, fuzzSegment))
	f.Fuzz(func(t *testing.T, mode byte, data []byte) { fuzzRecover(t, mode, data, cleanEnd) })
}

func fuzzRecover(t *testing.T, mode byte, data []byte, cleanEnd int64) {
	if len(data) > 2*fuzzSegment {
		data = data[:2*fuzzSegment]
	}
	dir := t.TempDir()
	clDir := filepath.Join(dir, "commitlog")
	if err := os.MkdirAll(clDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i*fuzzSegment < len(data); i++ {
		seg := data[i*fuzzSegment : min(len(data), (i+1)*fuzzSegment)]
		if err := os.WriteFile(filepath.Join(clDir, fileName(int64(i)*fuzzSegment)), seg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var cp []byte
	switch mode % 4 {
	case 1:
		cp = checkpointData{clean: true, dispatched: cleanEnd, flushed: cleanEnd}.encode()
	case 2:
		cp = checkpointData{flushed: int64(len(data))}.encode()
	case 3:
		var d, fl int64
		if len(data) >= 4 {
			d, fl = int64(binary.BigEndian.Uint16(data)), int64(binary.BigEndian.Uint16(data[2:]))
		}
		cp = checkpointData{clean: mode&4 != 0, dispatched: d, flushed: fl}.encode()
	}
	if cp != nil {
		if err := os.WriteFile(filepath.Join(dir, "checkpoint"), cp, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(fuzzConfig(dir), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.syncFn = func(*os.File) error { return nil } // nothing here needs the disk
	if err := s.Start(context.Background()); err != nil {
		return // refusing a log is allowed; panicking or serving garbage is not
	}
	checkServed(t, s)
	res, err := s.Append(context.Background(), []message.Message{storagetest.Msg("FuzzT", 0, "after", "")}, nil)
	if err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	_, end := s.LogBounds()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s2, err := New(fuzzConfig(dir), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s2.syncFn = s.syncFn
	if err := s2.Start(context.Background()); err != nil {
		t.Fatalf("restart after a clean stop: %v", err)
	}
	defer s2.Stop(context.Background())
	if _, end2 := s2.LogBounds(); end2 != end || !s2.Stats().LastStartClean {
		t.Fatalf("restart: log end %d (was %d), stats %+v", end2, end, s2.Stats())
	}
	if _, err := s2.Message(context.Background(), res[0].PhysicalOffset); err != nil {
		t.Fatalf("the message appended after recovery: %v", err)
	}
	checkServed(t, s2)
}

// checkServed reads every position of the log and every unit of every queue, and fails if a
// read hands out a record that does not verify on its own.
func checkServed(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	lo, hi := s.LogBounds()
	for p := lo; p < hi; p++ {
		m, err := s.Message(ctx, p)
		if err != nil {
			continue
		}
		b, err := s.ReadRecord(ctx, p, m.StoreSize, nil)
		if err != nil {
			t.Fatalf("Message(%d) succeeded but ReadRecord failed: %v", p, err)
		}
		verifyOwn(t, b, p)
	}
	var queues []topic.QueueRef
	s.qmu.RLock()
	for ref := range s.queues {
		queues = append(queues, ref)
	}
	s.qmu.RUnlock()
	for _, q := range queues {
		qlo, qhi := s.QueueBounds(q)
		units, err := s.Lookup(ctx, q, qlo, int(qhi-qlo), nil)
		if err != nil {
			t.Fatalf("Lookup(%v): %v", q, err)
		}
		for i, u := range units {
			b, err := s.ReadRecord(ctx, u.PhyOffset, u.Size, nil)
			if err != nil {
				continue // a hole or a record that does not verify: refused, not served
			}
			r := verifyOwn(t, b, u.PhyOffset)
			if r.Topic != q.Topic || r.QueueID != q.QueueID || r.QueueOffset != qlo+int64(i) {
				t.Fatalf("%v unit %d leads to %s/%d offset %d", q, qlo+int64(i), r.Topic, r.QueueID, r.QueueOffset)
			}
		}
	}
}

// verifyOwn checks a served record with the codec alone.
func verifyOwn(t *testing.T, b []byte, phy int64) wire.Record {
	t.Helper()
	r, n, err := wire.DecodeRecord(b)
	switch {
	case err != nil || n != len(b):
		t.Fatalf("served a record at %d that does not decode: %v", phy, err)
	case r.PhysicalOffset != phy:
		t.Fatalf("served a record at %d that says it is at %d", phy, r.PhysicalOffset)
	case wire.BodyCRC(r.Body) != r.BodyCRC:
		t.Fatalf("served a record at %d that fails its CRC", phy)
	}
	return r
}
