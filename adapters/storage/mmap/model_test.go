package mmap

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// testSeed returns the seed in the environment variable name, or a new one; tests log it, so a
// failure can be replayed with ROCKETGO_..._SEED=<seed>.
func testSeed(t *testing.T, name string) uint64 {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return seed
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("%s=%d", name, seed)
	return seed
}

// TestModel runs random operation sequences against the memory store and the mmap store (small
// segments, so records end segments often; stops and reopens included) and compares them.
func TestModel(t *testing.T) {
	const maxRecord = 60_000
	for _, flush := range []string{FlushAsync, FlushSync} {
		t.Run(flush, func(t *testing.T) {
			seed := testSeed(t, "ROCKETGO_MODEL_SEED")
			cfg := testConfig(t.TempDir())
			cfg.Flush = flush
			cfg.MaxMessageSize = maxRecord
			open := func() *Store {
				s, err := New(cfg, zap.NewNop())
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				return s
			}
			sut := open()
			t.Cleanup(func() { _ = sut.Stop(context.Background()) })
			ops := 3000
			if flush == FlushSync {
				ops = 1000 // an fsync per append
			}
			storagetest.RunModel(t, storagetest.ModelConfig{
				Ref: memory.NewWithMaxMessageSize(maxRecord), SUT: sut, MaxRecordSize: maxRecord,
				Reopen: func() storage.MessageStore {
					if err := sut.Stop(context.Background()); err != nil {
						t.Fatalf("Stop: %v", err)
					}
					sut = open()
					if st := sut.Stats(); !st.LastStartClean || st.RecoveryScannedBytes != 0 {
						t.Fatalf("reopen after a clean stop scanned the log: %+v", st)
					}
					return sut
				},
				FileSize: cfg.SegmentSize, Ops: ops, Seed: seed,
			})
		})
	}
}
