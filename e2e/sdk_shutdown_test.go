package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	rmqconsumer "github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/admin"
	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/producer"
)

// TestSDKShutdownLeavesNoGoroutine runs every SDK component against rocketgo (a producer sending
// every way, concurrent and orderly push consumers, a pull consumer, an admin, and a client shared
// by two of them), shuts them all down, and checks that no goroutine is left: none runs SDK code
// and the goroutine count is back where it was. Not parallel, so other tests' goroutines do not
// come and go meanwhile (parallel tests only start after the sequential ones).
func TestSDKShutdownLeavesNoGoroutine(t *testing.T) {
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	check := sdkCheckNoGoroutines(t)
	ctx := context.Background()

	shared, err := client.New(client.Options{NameServers: []string{b.NamesrvAddr}, InstanceName: uniqueName("sdkshared")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(admin.Options{Client: shared})
	if err != nil {
		t.Fatal(err)
	}
	topic := uniqueName("sdkleak")
	if err := a.CreateTopic(ctx, admin.TopicConfig{Name: topic, ReadQueueNums: 4, WriteQueueNums: 4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "route", func() (bool, string) {
		_, err := a.TopicRoute(ctx, topic)
		return err == nil, fmt.Sprint(err)
	})
	p, err := producer.New(producer.Options{NameServers: []string{b.NamesrvAddr}, InstanceName: uniqueName("sdkp")})
	if err != nil {
		t.Fatal(err)
	}
	var got sync.Map
	h := func(_ context.Context, msgs []*message.Ext) error {
		for _, m := range msgs {
			got.Store(string(m.Body), true)
		}
		return nil
	}
	var consumers []*consumer.PushConsumer
	for i, orderly := range []bool{false, true} {
		o := sdkPushOptions(b, uniqueName("sdkleakg"))
		o.Orderly = orderly
		if i == 1 {
			o.Client = shared
		}
		c, err := consumer.NewPush(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(topic, consumer.Tag("*"), h); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		if err := p.SendAsync(ctx, &message.Message{Topic: topic, Body: []byte(fmt.Sprint("a", i))}, func(producer.SendResult, error) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := p.Send(ctx, &message.Message{Topic: topic, Body: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	if err := p.SendOneway(ctx, &message.Message{Topic: topic, Body: []byte("o")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendBatch(ctx, []*message.Message{{Topic: topic, Body: []byte("b1")}, {Topic: topic, Body: []byte("b2")}}); err != nil {
		t.Fatal(err)
	}
	pc, err := consumer.NewPull(consumer.PullOptions{NameServers: []string{b.NamesrvAddr}, Group: uniqueName("sdkleakpull")})
	if err != nil {
		t.Fatal(err)
	}
	qs, err := pc.Queues(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Pull(ctx, consumer.PullRequest{Queue: qs[0], Offset: 0}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "consumption", func() (bool, string) {
		n := 0
		got.Range(func(any, any) bool { n++; return true })
		return n == 204, fmt.Sprintf("%d/204", n)
	})

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, c := range consumers {
		if err := c.Shutdown(sctx); err != nil {
			t.Errorf("consumer shutdown: %v", err)
		}
	}
	if err := pc.Shutdown(sctx); err != nil {
		t.Errorf("pull consumer shutdown: %v", err)
	}
	if err := p.Shutdown(sctx); err != nil {
		t.Errorf("producer shutdown: %v", err)
	}
	if err := a.Close(sctx); err != nil {
		t.Errorf("admin close: %v", err)
	}
	if err := shared.Close(sctx); err != nil {
		t.Errorf("client close: %v", err)
	}
	check()
}

// TestSDKAllocationMatchesOfficialClient: for random groups and queue sets, the SDK's
// AllocateAveragely gives every member the same queues as the official client's
// AllocateByAveragely (after the sorting both clients do before allocating), which is what lets
// them share a group.
func TestSDKAllocationMatchesOfficialClient(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	for range 2000 {
		var sdkQs []message.Queue
		var offQs []*primitive.MessageQueue
		for bi := range 1 + r.IntN(3) {
			name := fmt.Sprintf("broker-%c", 'a'+bi)
			for q := range r.IntN(17) {
				sdkQs = append(sdkQs, message.Queue{Topic: "T", BrokerName: name, QueueID: int32(q)})
				offQs = append(offQs, &primitive.MessageQueue{Topic: "T", BrokerName: name, QueueId: q})
			}
		}
		r.Shuffle(len(sdkQs), func(i, j int) { sdkQs[i], sdkQs[j] = sdkQs[j], sdkQs[i] })
		// The official client sorts before allocating (consumer.go doBalance).
		sort.SliceStable(offQs, func(i, j int) bool {
			if c := strings.Compare(offQs[i].BrokerName, offQs[j].BrokerName); c != 0 {
				return c < 0
			}
			return offQs[i].QueueId < offQs[j].QueueId
		})
		ids := make([]string, 1+r.IntN(9))
		for i := range ids {
			if r.IntN(2) == 0 {
				ids[i] = fmt.Sprintf("10.0.0.%d@%d", r.IntN(256), r.IntN(100000))
			} else {
				ids[i] = fmt.Sprintf("10.0.0.%d@%d@inst%d", r.IntN(256), r.IntN(100000), i)
			}
		}
		sortedIDs := append([]string(nil), ids...)
		sort.Strings(sortedIDs)
		for _, id := range ids {
			var want []string
			for _, q := range rmqconsumer.AllocateByAveragely("g", id, offQs, sortedIDs) {
				want = append(want, fmt.Sprintf("%s/%d", q.BrokerName, q.QueueId))
			}
			var got []string
			for _, q := range consumer.AllocateAveragely(id, ids, sdkQs) {
				got = append(got, fmt.Sprintf("%s/%d", q.BrokerName, q.QueueID))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("member %s of %v over %d queues: SDK %v, official %v", id, ids, len(sdkQs), got, want)
			}
		}
	}
}
