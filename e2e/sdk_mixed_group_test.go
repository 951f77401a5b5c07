package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	rmqconsumer "github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// TestSDKSharedGroupWithOfficialClient: an SDK push consumer and an official Go client
// (rocketmq-client-go v2.1.2) push consumer share one clustering group over a topic with 8
// queues. Both allocate with RocketMQ's averaged strategy over the same sorted member ids and
// queues, so once both have rebalanced every queue has exactly one owner: each consumer receives
// messages of its own 4 queues only, and together they receive every message.
// Both join orders are run: the SDK consumer joining a group the official one holds, and the other
// way round.
func TestSDKSharedGroupWithOfficialClient(t *testing.T) {
	t.Parallel()
	for _, sdkFirst := range []bool{false, true} {
		name := "official-first"
		if sdkFirst {
			name = "sdk-first"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSharedGroup(t, sdkFirst)
		})
	}
}

func testSharedGroup(t *testing.T, sdkFirst bool) {
	testDeadline(t, 3*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkmix"), uniqueName("sdkmixg")
	const queues = 8
	sdkCreateTopic(t, a, topic, queues)
	rec := newSDKRecorder()

	var sdkc *consumer.PushConsumer
	if sdkFirst {
		sdkc = sdkPush(t, sdkPushOptions(b, group), topic, rec.handler("sdk"))
		waitFor(t, 30*time.Second, "the SDK consumer alone holding every queue", func() (bool, string) {
			q := queuesOf(sdkc.Assigned(), topic)
			return len(q) == queues, fmt.Sprintf("SDK holds %v", q)
		})
	}

	// The official consumer. Its id is ip@instance, the SDK's ip@pid@instance: an instance name
	// starting with "0" sorts the official client first, so the SDK consumer gets the upper half
	// of the queues in one order of joining and the lower half in the other.
	offInstance := uniqueName("offinst")
	if sdkFirst {
		offInstance = "0" + offInstance
	}
	off, err := rocketmq.NewPushConsumer(
		rmqconsumer.WithNsResolver(primitive.NewPassthroughResolver([]string{b.NamesrvAddr})),
		rmqconsumer.WithGroupName(group),
		rmqconsumer.WithInstance(offInstance),
		rmqconsumer.WithConsumerModel(rmqconsumer.Clustering),
		rmqconsumer.WithConsumeFromWhere(rmqconsumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = off.Subscribe(topic, rmqconsumer.MessageSelector{Type: rmqconsumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (rmqconsumer.ConsumeResult, error) {
			for _, m := range msgs {
				rec.add(sdkDelivery{consumer: "official", queue: int32(m.Queue.QueueId), offset: m.QueueOffset, id: m.GetProperty("id"), msgID: m.MsgId})
			}
			return rmqconsumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := off.Start(); err != nil {
		t.Fatalf("official consumer start: %v", err)
	}
	var offOnce sync.Once
	stopOfficial := func() { offOnce.Do(func() { _ = off.Shutdown() }) }
	t.Cleanup(stopOfficial)

	if !sdkFirst {
		// The SDK consumer joins the same group.
		sdkc = sdkPush(t, sdkPushOptions(b, group), topic, rec.handler("sdk"))
	}
	members := []string{sdkc.Client().ID()}
	waitFor(t, 30*time.Second, "both members registered", func() (bool, string) {
		ids, err := a.GroupMembers(context.Background(), group, topic)
		if err != nil {
			return false, err.Error()
		}
		members = ids
		return len(ids) == 2, fmt.Sprintf("members %v", ids)
	})
	waitFor(t, 30*time.Second, "the SDK consumer's share", func() (bool, string) {
		q := queuesOf(sdkc.Assigned(), topic)
		return len(q) == queues/2, fmt.Sprintf("SDK holds %v", q)
	})
	sdkQueues := queuesOf(sdkc.Assigned(), topic)
	owner := func(q int32) string {
		if slices.Contains(sdkQueues, q) {
			return "sdk"
		}
		return "official"
	}
	t.Logf("members %v; the SDK consumer %s holds queues %v", members, sdkc.Client().ID(), sdkQueues)

	p := sdkProducer(t, b)
	keys := make([]string, queues)
	for q := range keys {
		keys[q] = sdkKeyForQueue(queues, q)
	}
	send := func(id string, q int) {
		t.Helper()
		res, err := p.Send(context.Background(), &message.Message{Topic: topic, Body: []byte(id), ShardingKey: keys[q], Properties: map[string]string{"id": id}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue.QueueID != int32(q) {
			t.Fatalf("%s went to queue %d, want %d", id, res.Queue.QueueID, q)
		}
	}

	// Warm-up: rounds of one probe per queue until two consecutive rounds are delivered exactly
	// by the owners (the official client has rebalanced too, and no pull it held from before is
	// still answered).
	// The official client rebalances on the broker's notification, else within its 20 s period.
	stable := 0
	settleBy := time.Now().Add(90 * time.Second)
	for round := 0; stable < 2; round++ {
		if time.Now().After(settleBy) {
			t.Fatalf("ownership never settled; last deliveries: %v", rec.snapshot()[max(0, len(rec.snapshot())-16):])
		}
		ids := make([]string, queues)
		for q := range queues {
			ids[q] = fmt.Sprintf("probe-%d-%d", round, q)
			send(ids[q], q)
		}
		waitFor(t, 30*time.Second, "probe round "+strconv.Itoa(round), func() (bool, string) { return rec.has(ids) })
		time.Sleep(200 * time.Millisecond) // let a duplicate show up, if one is coming
		ok := true
		rec.mu.Lock()
		for q, id := range ids {
			ds := rec.byID[id]
			if len(ds) != 1 || ds[0].consumer != owner(int32(q)) {
				ok = false
			}
		}
		rec.mu.Unlock()
		if ok {
			stable++
		} else {
			stable = 0
		}
		if stable == 2 {
			t.Logf("ownership settled after %d probe rounds", round+1)
		}
	}

	// Measurement: 50 messages per queue.
	var ids []string
	for i := range 50 {
		for q := range queues {
			id := fmt.Sprintf("m-%d-%d", q, i)
			ids = append(ids, id)
			send(id, q)
		}
	}
	waitFor(t, 60*time.Second, "every message", func() (bool, string) { return rec.has(ids) })
	time.Sleep(500 * time.Millisecond)
	receivers := map[int32]map[string]int{}
	rec.mu.Lock()
	for _, id := range ids {
		for _, d := range rec.byID[id] {
			if receivers[d.queue] == nil {
				receivers[d.queue] = map[string]int{}
			}
			receivers[d.queue][d.consumer]++
		}
		if n := len(rec.byID[id]); n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	rec.mu.Unlock()
	var summary []string
	for q := int32(0); q < queues; q++ {
		r := receivers[q]
		if len(r) != 1 || r[owner(q)] != 50 {
			t.Errorf("queue %d: receivers %v, want only %s (50 messages)", q, r, owner(q))
		}
		summary = append(summary, fmt.Sprintf("q%d:%s", q, owner(q)))
	}
	t.Logf("ownership %s", strings.Join(summary, " "))
	sdkCount, offCount := 0, 0
	for _, r := range receivers {
		sdkCount += r["sdk"]
		offCount += r["official"]
	}
	if sdkCount != 200 || offCount != 200 {
		t.Errorf("the SDK consumer got %d, the official one %d; want 200 each", sdkCount, offCount)
	}
	stopOfficial()
}
