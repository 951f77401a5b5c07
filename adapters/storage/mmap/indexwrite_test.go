package mmap

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// Batches whose consume-queue units and key-index entries reach indexCopyMax bytes are written
// with pwrite, the others through the mappings, into the same pages: every unit and key comes
// back in order, before and after a restart.
func TestLargeBatchesWriteUnitsAndKeysWithPwrite(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentSize = 1 << 20
	cfg.ConsumeQueueUnits = 1000 // a batch's units stay in one file: one write per batch
	s, stop := start(t, cfg)
	var all storagetest.Appended
	keyOf := map[string]int64{}
	n := 0
	for _, size := range []int{5, 300, 5, 120, 1, 64} {
		if size*unitSize >= indexCopyMax != (size >= 52) {
			t.Fatalf("batch of %d: the sizes no longer straddle indexCopyMax", size)
		}
		batch := make([]message.Message, size)
		for i := range batch {
			batch[i] = storagetest.Msg("TopicPw", 0, fmt.Sprint("body-", n), "")
			batch[i].SetProperty(message.PropertyKeys, fmt.Sprint("k", n))
			n++
		}
		res, err := s.Append(context.Background(), batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			keyOf[batch[i].Properties[message.PropertyKeys]] = res[i].PhysicalOffset
		}
		all.Msgs = append(all.Msgs, batch...)
		all.Results = append(all.Results, res...)
	}
	check := func(s *Store) {
		t.Helper()
		storagetest.Verify(t, s, all)
		for _, k := range []string{"k0", "k5", "k304", "k305", "k429", "k430", "k494"} {
			hits := storagetest.QueryKey(t, s, "TopicPw", k, 10).Hits
			if !slices.ContainsFunc(hits, func(h storage.KeyHit) bool { return h.PhyOffset == keyOf[k] }) {
				t.Fatalf("key %s: hits %+v, want offset %d", k, hits, keyOf[k])
			}
		}
	}
	check(s)
	stop()
	s2, _ := start(t, cfg)
	check(s2)
}
