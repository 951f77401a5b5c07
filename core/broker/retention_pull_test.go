package broker_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/inbound"
)

// trimmedStore reports queue minimums raised as retention raises them in the mmap store.
type trimmedStore struct {
	*memory.Store
	min int64
}

func (s trimmedStore) QueueBounds(q topic.QueueRef) (int64, int64) {
	lo, hi := s.Store.QueueBounds(q)
	return max(lo, s.min), hi
}

// A pull below a queue's minimum (its head was deleted by retention) answers
// PULL_OFFSET_MOVED with the minimum as the next offset; at the minimum it finds messages.
func TestPullBelowRetainedMinimumMovesToIt(t *testing.T) {
	cfg := broker.Defaults()
	st := trimmedStore{Store: memory.New(), min: 3}
	b := broker.New(cfg, st, memory.NewMetaStore(), newFakeNamesrv(), testFilters(cfg), clock.System{}, zap.NewNop())
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Serve(context.Background(), netip.MustParseAddrPort("127.0.0.1:10911"), "127.0.0.1:10912")
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	ctx := context.Background()
	for range 5 {
		if _, err := b.Send(ctx, sendReq("R", "TagA", "body")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "R", "*")); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 2} {
		res, err := b.Pull(ctx, pullReq("g", "R", off, 0))
		if err != nil || res.Status != inbound.PullOffsetMoved || res.NextBeginOffset != 3 || res.MinOffset != 3 {
			t.Fatalf("pull at %d below the minimum 3: %+v, %v", off, res, err)
		}
	}
	res, err := b.Pull(ctx, pullReq("g", "R", 3, time.Duration(0)))
	if err != nil || res.Status != inbound.PullFound || res.NextBeginOffset != 5 {
		t.Fatalf("pull at the minimum: %+v, %v", res, err)
	}
}
