package broker_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"go.uber.org/zap"
)

// benchQueueLen is the number of records of the benchmark queue; every tenth matches the
// filtered subscriptions.
const benchQueueLen = 10_000

// benchSQL has five clauses; it matches the messages with color red, one in ten.
const benchSQL = "a >= 0 AND color = 'red' AND region IN ('eu', 'us', 'ap') AND price > 1.5 AND name IS NOT NULL"

// BenchmarkPullThroughput reads a 10,000-record queue from start to end with 32-message pulls
// over the memory store: with no filter ("*"), with a SQL92 subscription matching 10% of the
// records, and, for comparison, with a TAG subscription matching the same 10%. scanned/s counts
// queue records the pulls got past per second, delivered/s the records in the answers' bodies.
func BenchmarkPullThroughput(b *testing.B) {
	cases := []struct {
		name, typ, expr string
		delivered       int
	}{
		{"none", "TAG", "*", benchQueueLen},
		{"sql92-10pct", "SQL92", benchSQL, benchQueueLen / 10},
		{"tag-10pct", "TAG", "TagRed", benchQueueLen / 10},
	}
	br := newBenchBroker(b)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			hb := heartbeat("g-"+c.name, "B", c.expr)
			hb.Consumers[0].Subscriptions[0].ExpressionType = c.typ
			if err := br.Heartbeat(ctx, &fakeChannel{id: 1}, hb); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if n := sweep(b, br, "g-"+c.name); n != c.delivered {
					b.Fatalf("delivered %d, want %d", n, c.delivered)
				}
			}
			sec := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N*benchQueueLen)/sec, "scanned/s")
			b.ReportMetric(float64(b.N*c.delivered)/sec, "delivered/s")
		})
	}
}

// sweep pulls queue B/0 from 0 to its end as a push consumer does and counts the records
// delivered.
func sweep(b *testing.B, br *broker.Broker, group string) int {
	n := 0
	for off := int64(0); off < benchQueueLen; {
		res, err := br.Pull(context.Background(), &inbound.PullRequest{Group: group, Topic: "B", QueueOffset: off, MaxMsgNums: 32})
		if err != nil {
			b.Fatal(err)
		}
		if res.NextBeginOffset <= off {
			b.Fatalf("stuck at %d: %+v", off, res)
		}
		n += res.Count
		off = res.NextBeginOffset
	}
	return n
}

// newBenchBroker starts a broker over the memory store with one topic B of one queue holding
// benchQueueLen records of 256-byte bodies and the properties a client sends (TAGS, KEYS, WAIT,
// UNIQ_KEY) beside five user properties.
func newBenchBroker(b *testing.B) *broker.Broker {
	b.Helper()
	cfg := broker.Defaults()
	br := broker.New(cfg, memory.New(), memory.NewMetaStore(), newFakeNamesrv(), testFilters(cfg), clock.System{}, zap.NewNop())
	ctx := context.Background()
	if err := br.Start(ctx); err != nil {
		b.Fatal(err)
	}
	br.Serve(ctx, netip.MustParseAddrPort("127.0.0.1:10911"), "127.0.0.1:10912")
	b.Cleanup(func() { _ = br.Stop(context.Background()) })
	if err := br.CreateOrUpdateTopic(ctx, topic.Config{Name: "B", ReadQueueNums: 1, WriteQueueNums: 1,
		Perm: topic.PermRead | topic.PermWrite}); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 256)
	for i := 0; i < benchQueueLen; i++ {
		req := sendReq("B", "TagOther", string(body))
		req.Properties["UNIQ_KEY"] = "7F000001000118B4AAC2" + strconv.Itoa(100000+i)
		req.Properties["a"] = strconv.Itoa(i)
		req.Properties["color"] = "blue"
		req.Properties["region"] = "eu"
		req.Properties["price"] = "2.5"
		req.Properties["name"] = "n" + strconv.Itoa(i)
		if i%10 == 0 {
			req.Properties["color"] = "red"
			req.Properties["TAGS"] = "TagRed"
		}
		if _, err := br.Send(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	return br
}
