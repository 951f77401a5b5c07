package consumer

import (
	"context"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// TestConcurrentRemovesCommitTheLastPosition: handlers that finish together leave the queue's
// in-memory offset at the position after the last message, whatever order they ran in.
func TestConcurrentRemovesCommitTheLastPosition(t *testing.T) {
	q := message.Queue{Topic: "t", BrokerName: "b", QueueID: 0}
	c := &PushConsumer{runCtx: context.Background(), subs: map[string]*subscription{}, offsets: &localOffsets{}}
	const width = 4
	for round := range 5000 {
		pq := newProcessQueue(c, q, 0)
		base := int64(round * width)
		msgs := make([]*message.Ext, width)
		for i := range msgs {
			msgs[i] = &message.Ext{QueueOffset: base + int64(i)}
		}
		pq.add(msgs, base+width)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				pq.remove([]*message.Ext{m})
			}()
		}
		close(start)
		wg.Wait()
		if off, _ := c.offsets.get(q); off != base+width {
			t.Fatalf("round %d: offset %d after every message was consumed, want %d", round, off, base+width)
		}
	}
}
