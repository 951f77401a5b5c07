package mmap

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// BenchmarkIndexInsert is the key index's share of an append: one record with a UNIQ_KEY and one
// KEYS entry, in batches of 1, 32 and 128 records (one pwrite of entries per batch), default
// layout.
func BenchmarkIndexInsert(b *testing.B) {
	for _, batch := range []int{1, 32, 128} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			cfg := Defaults()
			cfg.Dir = b.TempDir()
			if err := os.MkdirAll(filepath.Join(cfg.Dir, "index"), 0o755); err != nil {
				b.Fatal(err)
			}
			ki := newKeyIndex(cfg, zap.NewNop())
			b.Cleanup(ki.close)
			if _, err := ki.create(idxHeader{}); err != nil {
				b.Fatal(err)
			}
			uniqs := make([]string, 4096) // built beforehand: the append path finds them in properties
			for i := range uniqs {
				uniqs[i] = fmt.Sprintf("C0A8000A1F40000000000000%08d", i)
			}
			const ts = 1_700_000_000_000
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				err := ki.add("BenchTopic", 0, uniqs[i%len(uniqs)], "order-7", int64(i)*1100, ts+int64(i), false)
				if err != nil {
					b.Fatal(err)
				}
				if i++; i%batch == 0 {
					if err := ki.commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkQueryByKey: a lookup in a store of 20,000 records, by a unique key (one hit) and by a
// key 32 records share (32 hits, each record read to verify it).
func BenchmarkQueryByKey(b *testing.B) {
	cfg := Defaults()
	cfg.Dir = b.TempDir()
	cfg.SegmentSize = 64 << 20
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	const n = 20_000
	batch := make([]message.Message, 0, 100)
	for i := range n {
		batch = append(batch, storagetest.KeyMsg("BenchTopic", "body of about fifty bytes, like a small event....",
			fmt.Sprintf("C0A8000A1F40000000000000%08d", i), fmt.Sprintf("order-%d customer-%d", i, i%(n/32))))
		if len(batch) == cap(batch) {
			if _, err := s.Append(context.Background(), batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, tc := range []struct {
		name, key string
		hits      int
	}{
		{"unique", "C0A8000A1F4000000000000000012345", 1},
		{"shared32", "customer-17", 32},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := storage.KeyQuery{Topic: "BenchTopic", Key: tc.key, MaxNum: 64, EndMs: math.MaxInt64}
			b.ReportAllocs()
			for b.Loop() {
				res, err := s.QueryByKey(context.Background(), q)
				if err != nil || len(res.Hits) != tc.hits {
					b.Fatalf("%d hits, %v; want %d", len(res.Hits), err, tc.hits)
				}
			}
		})
	}
}
