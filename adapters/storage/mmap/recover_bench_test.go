package mmap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// BenchmarkStart256MiB measures Start on a 256 MiB log (1 KiB bodies over 8 queues, one 1 GiB
// segment as by default), with the files in the page cache:
//
//   - Clean: after a clean stop; nothing is read.
//   - Crash: the checkpoint is not clean (a kill right after it was written): the segment holding
//     it is verified, here the whole log, and no unit is missing.
//   - CrashNoIndex: checkpoint and consume queues lost: the whole log is verified and indexed.
func BenchmarkStart256MiB(b *testing.B) {
	dir := b.TempDir()
	cfg := Defaults()
	cfg.Dir = dir
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	body := string(bytes.Repeat([]byte("x"), 1024))
	batch := make([]message.Message, 32)
	for i := range batch {
		batch[i] = storagetest.Msg("BenchStart", int32(i%8), body, "TagA")
		delete(batch[i].Properties, message.PropertyKeys)
	}
	for {
		if _, err := s.Append(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		if _, end := s.LogBounds(); end >= 256<<20 {
			break
		}
	}
	_, end := s.LogBounds()
	if err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	ckPath := filepath.Join(dir, "checkpoint")
	for _, bc := range []struct {
		name    string
		prepare func(b *testing.B)
		clean   bool
	}{
		{"Clean", func(*testing.B) {}, true},
		{"Crash", func(b *testing.B) {
			if err := os.WriteFile(ckPath, checkpointData{dispatched: end, flushed: end}.encode(), 0o644); err != nil {
				b.Fatal(err)
			}
		}, false},
		{"CrashNoIndex", func(b *testing.B) {
			for _, p := range []string{ckPath, filepath.Join(dir, "consumequeue"), filepath.Join(dir, "index")} {
				if err := os.RemoveAll(p); err != nil {
					b.Fatal(err)
				}
			}
		}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var scanned int64
			for b.Loop() {
				b.StopTimer()
				bc.prepare(b)
				s, err := New(cfg, zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := s.Start(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				st := s.Stats()
				if st.LastStartClean != bc.clean || st.LogEnd != end {
					b.Fatalf("start: %+v, want clean %v and log end %d", st, bc.clean, end)
				}
				scanned = st.RecoveryScannedBytes
				if err := s.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(scanned)/(1<<20), "MiB-verified")
		})
	}
}
