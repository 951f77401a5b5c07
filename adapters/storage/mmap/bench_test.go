package mmap

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func benchStore(b *testing.B, flush string, opts ...func(*Config)) *Store {
	cfg := Defaults()
	cfg.Dir = b.TempDir()
	cfg.SegmentSize = 256 << 20
	cfg.Flush = flush
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func benchMsg() []message.Message {
	m := storagetest.Msg("BenchTopic", 0, string(bytes.Repeat([]byte("x"), 1024)), "TagA")
	// A key as producers set them (storagetest.Msg derives it from the body: 1 KiB here).
	m.SetProperty(message.PropertyKeys, "order-20261121-000042")
	m.SetProperty(message.PropertyUniqKey, "C0A8000A1F4000000000000000000001")
	return []message.Message{m}
}

// BenchmarkAppend1KiBAsync: one 1 KiB message per Append, page-cache durability, the default
// flushDirtyThreshold.
func BenchmarkAppend1KiBAsync(b *testing.B) { benchAppendAsync(b) }

// BenchmarkAppend1KiBAsyncThreshold4MiB is BenchmarkAppend1KiBAsync with flushDirtyThreshold
// 4 MiB (the earlier default): more, smaller flushes beside the appender.
func BenchmarkAppend1KiBAsyncThreshold4MiB(b *testing.B) {
	benchAppendAsync(b, func(c *Config) { c.FlushDirtyThreshold = 4 << 20 })
}

func benchAppendAsync(b *testing.B, opts ...func(*Config)) {
	s := benchStore(b, FlushAsync, opts...)
	msgs := benchMsg()
	ctx := context.Background()
	res := make([]storage.AppendResult, 0, 1)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if res, err = s.Append(ctx, msgs, res[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend1KiBSyncParallel: sync flush with concurrent senders sharing fsyncs.
func BenchmarkAppend1KiBSyncParallel(b *testing.B) {
	s := benchStore(b, FlushSync)
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		msgs := benchMsg()
		res := make([]storage.AppendResult, 0, 1)
		for pb.Next() {
			var err error
			if res, err = s.Append(ctx, msgs, res[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncode: what an appender does before it takes the append lock, for a batch of 128
// messages of 1 KiB (properties, body copy and CRC, tags code, key hashes), without the disk:
// its ns/op (per message) is steadier than an append's on a machine whose page cache is not.
func BenchmarkEncode(b *testing.B) {
	s := benchStore(b, FlushAsync)
	msgs := benchBatch(128, 0)
	bt := s.getBatch()
	b.SetBytes(1024)
	b.ReportAllocs()
	for range b.N / len(msgs) {
		if err := s.encode(bt, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupRead: one pull's worth of work, 32 units looked up and their records copied.
func BenchmarkLookupRead(b *testing.B) {
	s := benchStore(b, FlushAsync)
	ctx := context.Background()
	const n = 10_000
	for range n {
		if _, err := s.Append(ctx, benchMsg(), nil); err != nil {
			b.Fatal(err)
		}
	}
	q := topic.QueueRef{Topic: "BenchTopic", QueueID: 0}
	units := make([]storage.Unit, 0, 32)
	body := make([]byte, 0, 64<<10)
	var from int64
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		var err error
		units, err = s.Lookup(ctx, q, from, 32, units[:0])
		if err != nil || len(units) != 32 {
			b.Fatalf("Lookup: %d units, %v", len(units), err)
		}
		body = body[:0]
		for _, u := range units {
			if body, err = s.ReadRecord(ctx, u.PhyOffset, u.Size, body); err != nil {
				b.Fatal(err)
			}
		}
		from = (from + 32) % (n - 32)
	}
	b.ReportMetric(float64(b.N*32)/time.Since(start).Seconds(), "records/s")
}

// An append in steady state allocates nothing, whether one message or a batch, async or sync:
// results go to the caller's slice, waiters for the sync flush are pooled. (Files rolling over
// allocate, hence the large files here.)
func TestAppendAllocatesNothingPerMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("appends a few MiB")
	}
	if raceEnabled {
		t.Skip("the race detector allocates, and sync.Pool drops entries on purpose under it")
	}
	for _, flush := range []string{FlushAsync, FlushSync} {
		for _, batch := range []int{1, 16} {
			cfg := testConfig(t.TempDir())
			cfg.Flush = flush
			cfg.SegmentSize = 64 << 20
			cfg.ConsumeQueueUnits = 300_000
			cfg.IndexSlots, cfg.IndexEntries = 1<<16, 1<<20
			s, _ := start(t, cfg)
			ctx := context.Background()
			msgs := benchBatch(batch, 0)
			res := make([]storage.AppendResult, 0, batch)
			var err error
			appendOnce := func() {
				if res, err = s.Append(ctx, msgs, res[:0]); err != nil {
					t.Fatal(err)
				}
			}
			for range 50 { // files and buffers reach their size
				appendOnce()
			}
			if n := testing.AllocsPerRun(200, appendOnce); n != 0 {
				t.Errorf("flush=%s batch=%d: %v allocations per append", flush, batch, n)
			}
		}
	}
}
