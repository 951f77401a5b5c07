package consumer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/message"
)

func queues(spec ...any) []message.Queue {
	// spec: broker name, count, broker name, count...
	var out []message.Queue
	for i := 0; i+1 < len(spec); i += 2 {
		for q := 0; q < spec[i+1].(int); q++ {
			out = append(out, message.Queue{Topic: "T", BrokerName: spec[i].(string), QueueID: int32(q)})
		}
	}
	return out
}

func names(qs []message.Queue) string {
	var s []string
	for _, q := range qs {
		s = append(s, fmt.Sprintf("%s%d", q.BrokerName, q.QueueID))
	}
	return strings.Join(s, ",")
}

// The expectations are worked out by hand from RocketMQ's AllocateMessageQueueAveragely:
// index = position of the id in the sorted ids, mod = queues % ids, the first mod ids take one
// queue more, ranges are contiguous over the sorted queues.
func TestAllocateAveragelyMatchesRocketMQ(t *testing.T) {
	cases := []struct {
		queues []message.Queue
		ids    []string
		want   map[string]string
	}{
		{queues("a", 8), []string{"c1", "c2"}, map[string]string{"c1": "a0,a1,a2,a3", "c2": "a4,a5,a6,a7"}},
		{queues("a", 8), []string{"c3", "c1", "c2"}, map[string]string{"c1": "a0,a1,a2", "c2": "a3,a4,a5", "c3": "a6,a7"}},
		{queues("a", 3), []string{"c1", "c2", "c3", "c4", "c5"}, map[string]string{"c1": "a0", "c2": "a1", "c3": "a2", "c4": "", "c5": ""}},
		{queues("b", 5, "a", 5), []string{"d", "c", "b", "a"},
			map[string]string{"a": "a0,a1,a2", "b": "a3,a4,b0", "c": "b1,b2", "d": "b3,b4"}},
		{queues("a", 1), []string{"x"}, map[string]string{"x": "a0", "y": ""}}, // y is not a member
		// Client ids as the official Go client and this SDK write them sort as plain strings.
		{queues("a", 8), []string{"192.0.2.2@cinst-1", "192.0.2.2@123@ab12"},
			map[string]string{"192.0.2.2@123@ab12": "a0,a1,a2,a3", "192.0.2.2@cinst-1": "a4,a5,a6,a7"}},
	}
	for i, c := range cases {
		// Shuffled input must not matter.
		qs := append([]message.Queue(nil), c.queues...)
		rand.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
		for id, want := range c.want {
			if got := names(AllocateAveragely(id, c.ids, qs)); got != want {
				t.Errorf("case %d, %s: got %q want %q", i, id, got, want)
			}
		}
	}
	if AllocateAveragely("", []string{"a"}, queues("a", 1)) != nil || AllocateAveragely("a", nil, queues("a", 1)) != nil ||
		AllocateAveragely("a", []string{"a"}, nil) != nil {
		t.Error("degenerate inputs must allocate nothing")
	}
}

// Whatever the sizes, the members' shares partition the queues: each queue exactly one owner.
func TestAllocateAveragelyPartitions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		nq, nc := 1+r.IntN(40), 1+r.IntN(12)
		qs := queues("a", r.IntN(nq+1), "b", nq)
		ids := make([]string, nc)
		for i := range ids {
			ids[i] = fmt.Sprintf("10.0.0.%d@%d", r.IntN(255), i)
		}
		owner := map[message.Queue]string{}
		for _, id := range ids {
			share := AllocateAveragely(id, ids, qs)
			if len(share) > (len(qs)+nc-1)/nc {
				t.Fatalf("%s got %d of %d queues over %d members", id, len(share), len(qs), nc)
			}
			for _, q := range share {
				if o, ok := owner[q]; ok {
					t.Fatalf("queue %v owned by %s and %s", q, o, id)
				}
				owner[q] = id
			}
		}
		if len(owner) != len(qs) {
			t.Fatalf("%d of %d queues allocated", len(owner), len(qs))
		}
	}
}
