package mmap

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// BenchmarkAppend is the append matrix: 1 KiB messages in batches of 1, 16 and 128, async and
// sync flush, 1, 16 and 64 concurrent writers. One op is one message: ns/op, B/s and allocs/op
// are per message. Writers take batches from a shared budget of b.N messages, each with its own
// batch slice (4 queues, so concurrent writers spread over queues as producers do).
func BenchmarkAppend(b *testing.B) {
	for _, flush := range []string{FlushAsync, FlushSync} {
		for _, batch := range []int{1, 16, 128} {
			for _, writers := range []int{1, 16, 64} {
				name := fmt.Sprintf("flush=%s/batch=%d/writers=%d", flush, batch, writers)
				b.Run(name, func(b *testing.B) { benchAppendMatrix(b, flush, batch, writers) })
			}
		}
	}
}

func benchBatch(n int, queue int32) []message.Message {
	one := benchMsg()[0]
	one.QueueID = queue
	msgs := make([]message.Message, n)
	for i := range msgs {
		msgs[i] = one
	}
	return msgs
}

func benchAppendMatrix(b *testing.B, flush string, batch, writers int) {
	s := benchStore(b, flush)
	ctx := context.Background()
	batches := make([][]message.Message, writers)
	for w := range batches {
		batches[w] = benchBatch(batch, int32(w%4))
	}
	// Warm up: the first segment and the queue and index files exist before the clock runs.
	for w := range batches {
		if _, err := s.Append(ctx, batches[w], nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := range writers {
		wg.Add(1)
		go func(msgs []message.Message) {
			defer wg.Done()
			res := make([]storage.AppendResult, 0, len(msgs))
			var err error // one variable: &err below would move a per-iteration one to the heap
			for {
				n := left.Add(-int64(len(msgs)))
				if n <= -int64(len(msgs)) {
					return
				}
				m := msgs
				if n < 0 {
					m = msgs[:len(msgs)+int(n)]
				}
				if res, err = s.Append(ctx, m, res[:0]); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}(batches[w])
	}
	wg.Wait()
	b.StopTimer()
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
}

// BenchmarkLookupReadMatrix: consume-queue lookup of 32 units plus the copy of their records,
// over a queue of 100 000 records (100 MiB), reading from a random-ish spread of offsets.
func BenchmarkLookupReadMatrix(b *testing.B) {
	s := benchStore(b, FlushAsync)
	ctx := context.Background()
	const n = 100_000
	msgs := benchBatch(128, 0)
	for i := 0; i < n; i += len(msgs) {
		if _, err := s.Append(ctx, msgs, nil); err != nil {
			b.Fatal(err)
		}
	}
	q := topic.QueueRef{Topic: "BenchTopic", QueueID: 0}
	units := make([]storage.Unit, 0, 32)
	body := make([]byte, 0, 64<<10)
	var from int64
	b.SetBytes(32 * int64(len(msgs[0].Body)))
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
		from = (from + 7919*32) % (n - 32)
	}
	b.ReportMetric(float64(b.N*32)/time.Since(start).Seconds(), "records/s")
}
