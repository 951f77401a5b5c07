package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 7: orderly consumption. LOCK_BATCH_MQ / UNLOCK_BATCH_MQ are probed raw; the
// ordering guarantee is checked end to end with the official client's orderly consumers.

// lockReq builds LOCK_BATCH_MQ or UNLOCK_BATCH_MQ for queues of topic on broker-a.
func lockReq(code int16, group, clientID, topic string, queues ...int) *wire.Command {
	body := wire.LockBatchBody{ConsumerGroup: group, ClientID: clientID}
	for _, q := range queues {
		body.MQSet = append(body.MQSet, wire.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: int32(q)})
	}
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return wire.NewRequest(code, map[string]string{}, data)
}

// TestQueueLocksRaw: a queue lock belongs to one client of a group; the holder may renew it,
// others are refused; an unlock by a non-holder changes nothing; the holder's unlock frees it;
// a lock not renewed for the lease (broker.lockLease=2s here) lapses and another client gets it,
// while a renewed one does not lapse. The default lease is 60 s.
func TestQueueLocksRaw(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	const lease = 2 * time.Second

	out, err := exec.Command(binPath, "standalone", "--check-config").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lockLease: 1m\n") {
		t.Errorf("default lock lease: --check-config says %q (err %v), want lockLease: 1m", grepLine(string(out), "lockLease"), err)
	}

	b := startBroker(t, t.TempDir(), "--set", "broker.lockLease=2s")
	topic, group := uniqueName("lk"), uniqueName("lkG")
	createTopicRaw(t, b, topic, 4)
	rc := dialRaw(t, b.BrokerAddr)
	idA, idB := "127.0.0.9@lockA", "127.0.0.9@lockB"

	lock := func(client string, queues ...int) []int {
		t.Helper()
		resp := rc.mustCall(lockReq(wire.LockBatchMQ, group, client, topic, queues...), 5*time.Second)
		if resp.Code != wire.Success {
			t.Fatalf("lock %v for %s: %s", queues, client, describeCmd(resp))
		}
		var body wire.LockBatchResponseBody
		if len(resp.Body) > 0 {
			if err := json.Unmarshal(resp.Body, &body); err != nil {
				t.Fatalf("lock response body %q: %v", resp.Body, err)
			}
		}
		got := []int{}
		for _, q := range body.LockOKMQSet {
			if q.Topic != topic || q.BrokerName != "broker-a" {
				t.Errorf("locked queue %+v is not one asked for", q)
			}
			got = append(got, int(q.QueueID))
		}
		sort.Ints(got)
		return got
	}
	unlock := func(client string, queues ...int) {
		t.Helper()
		resp := rc.mustCall(lockReq(wire.UnlockBatchMQ, group, client, topic, queues...), 5*time.Second)
		if resp.Code != wire.Success {
			t.Fatalf("unlock %v for %s: %s", queues, client, describeCmd(resp))
		}
	}
	expect := func(what string, got []int, want ...int) {
		t.Helper()
		if want == nil {
			want = []int{}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: locked %v, want %v", what, got, want)
		}
	}

	expect("A locks 0,1", lock(idA, 0, 1), 0, 1)
	expect("B asks for 1,2", lock(idB, 1, 2), 2)
	expect("A renews 0", lock(idA, 0), 0)
	unlock(idB, 0) // not B's: ignored
	expect("B asks for 0 after its own unlock of A's queue", lock(idB, 0))
	unlock(idA, 0)
	expect("B asks for 0 after A's unlock", lock(idB, 0), 0)
	expect("another group may lock the same queue", func() []int {
		resp := rc.mustCall(lockReq(wire.LockBatchMQ, group+"x", idA, topic, 0), 5*time.Second)
		var body wire.LockBatchResponseBody
		_ = json.Unmarshal(resp.Body, &body)
		var got []int
		for _, q := range body.LockOKMQSet {
			got = append(got, int(q.QueueID))
		}
		return got
	}(), 0)

	// A keeps renewing queue 1 every 500 ms for 1.5 leases: it never lapses.
	for end := time.Now().Add(lease * 3 / 2); time.Now().Before(end); {
		expect("A renews 1", lock(idA, 1), 1)
		expect("B asks for 1 while A renews it", lock(idB, 1))
		time.Sleep(500 * time.Millisecond) // the renewal cadence under test, not synchronisation
	}
	// A stops renewing: the lock lapses after the lease, not before.
	lastRenewal := time.Now()
	expect("A's last renewal of 1", lock(idA, 1), 1)
	waitFor(t, 3*lease, "B gets queue 1 after A's lease lapsed", func() (bool, string) {
		got := lock(idB, 1)
		return len(got) == 1, fmt.Sprintf("B got %v", got)
	})
	took := time.Since(lastRenewal)
	t.Logf("A's lock lapsed %s after its last renewal (lease %s)", took.Round(time.Millisecond), lease)
	if took < lease {
		t.Errorf("B got A's queue %s after A's last renewal, before the %s lease", took, lease)
	}
	expect("A asks for 1 now that B holds it", lock(idA, 1))
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// orderChecker checks, at every delivery, that a message of a sharding key is only delivered
// once every earlier message of that key has been delivered (to any consumer). Redeliveries of
// earlier messages (after a queue changed hands) are allowed and counted.
type orderChecker struct {
	mu         sync.Mutex
	next       map[string]int // key -> lowest sequence number not delivered yet
	deliveries int
	redeliver  int
	violations []string
	byConsumer map[string]int
}

func newOrderChecker() *orderChecker {
	return &orderChecker{next: map[string]int{}, byConsumer: map[string]int{}}
}

func (oc *orderChecker) handler(name string) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		oc.mu.Lock()
		defer oc.mu.Unlock()
		for _, m := range msgs {
			key := m.GetShardingKey()
			seq, err := strconv.Atoi(m.GetProperty("seq"))
			if key == "" || err != nil {
				oc.violations = append(oc.violations, fmt.Sprintf("%s: message without key/seq: %v", name, m))
				continue
			}
			oc.deliveries++
			oc.byConsumer[name]++
			switch n := oc.next[key]; {
			case seq == n:
				oc.next[key] = n + 1
			case seq < n:
				oc.redeliver++
			default:
				oc.violations = append(oc.violations, fmt.Sprintf("%s got %s#%d before %s#%d (queue %d offset %d)",
					name, key, seq, key, n, m.Queue.QueueId, m.QueueOffset))
			}
		}
		return consumer.ConsumeSuccess, nil
	}
}

// progress reports how many keys have all perKey messages delivered.
func (oc *orderChecker) progress(keys []string, perKey int) (bool, string) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	done, total := 0, 0
	for _, k := range keys {
		total += oc.next[k]
		if oc.next[k] >= perKey {
			done++
		}
	}
	return done == len(keys), fmt.Sprintf("%d/%d keys complete, %d/%d in-order messages, %d deliveries, %d violations",
		done, len(keys), total, len(keys)*perKey, oc.deliveries, len(oc.violations))
}

// TestOrderlyConsumersJoinAndLeave: 16 sharding keys are sent through the hash queue selector, in
// rounds (one message per key per round, numbered per key), while orderly consumers join and
// leave: two at the start, a third joins, one leaves, another joins. Every key's messages are
// consumed in send order: no message is ever delivered before an earlier one of its key.
//
// broker.lockLease is 5 s here and the consumers renew their locks every second: v2.1.2 does not
// unlock a queue it gives up in a rebalance (only at shutdown), so with the default 60 s lease a
// joining consumer would wait a minute for its queues. Exclusivity, which ordering rests on,
// does not depend on the lease length as long as holders renew within it.
func TestOrderlyConsumersJoinAndLeave(t *testing.T) {
	t.Parallel()
	testDeadline(t, 3*time.Minute)
	const nKeys, rounds = 16, 60

	b := startBroker(t, t.TempDir(), "--set", "broker.lockLease=5s")
	topic, group := uniqueName("ord"), uniqueName("ordG")
	createTopicRaw(t, b, topic, 8)
	p := kitProducer(t, b.NamesrvAddr, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	oc := newOrderChecker()
	start := func(name string) *kitConsumer {
		return startKitConsumer(t, b.NamesrvAddr, group, topic, kitConsumerOpts{from: consumer.ConsumeFromFirstOffset, orderly: true,
			extra: []consumer.Option{consumer.WithRebalanceLockInterval(time.Second)}}, oc.handler(name))
	}
	keys := make([]string, nKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%02d", i)
	}

	c1, c2 := start("c1"), start("c2")
	_ = c2

	// The sender: one round every 100 ms, each round one message per key, synchronously and in
	// order (a synchronous send returns once stored, so per-key send order is queue order).
	var (
		round    atomic.Int32
		sendErr  atomic.Value
		keyQueue sync.Map // key -> queue id
	)
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for r := 0; r < rounds; r++ {
			<-tick.C
			for _, k := range keys {
				m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s#%d", k, r)))
				m.WithShardingKey(k)
				m.WithProperty("seq", strconv.Itoa(r))
				res, err := p.SendSync(context.Background(), m)
				if err != nil {
					sendErr.Store(fmt.Errorf("send %s#%d: %w", k, r, err))
					return
				}
				if prev, loaded := keyQueue.LoadOrStore(k, res.MessageQueue.QueueId); loaded && prev.(int) != res.MessageQueue.QueueId {
					sendErr.Store(fmt.Errorf("key %s went to queue %d and then %d", k, prev, res.MessageQueue.QueueId))
					return
				}
			}
			round.Store(int32(r + 1))
		}
	}()
	atRound := func(r int32, what string) {
		t.Helper()
		waitFor(t, 30*time.Second, what, func() (bool, string) {
			if err := sendErr.Load(); err != nil {
				t.Fatal(err)
			}
			return round.Load() >= r, fmt.Sprintf("round %d", round.Load())
		})
	}

	atRound(rounds/4, "a quarter of the rounds sent")
	start("c3")
	t.Logf("c3 joined at round %d", round.Load())
	atRound(rounds/2, "half of the rounds sent")
	c1.Stop()
	t.Logf("c1 left at round %d", round.Load())
	atRound(rounds*3/4, "three quarters of the rounds sent")
	start("c4")
	t.Logf("c4 joined at round %d", round.Load())
	<-senderDone
	if err := sendErr.Load(); err != nil {
		t.Fatal(err)
	}
	sendEnd := time.Now()

	// Joining consumers may wait for lapsed locks and the client's 20 s rebalance timer.
	waitFor(t, 90*time.Second, "every key's messages consumed in order", func() (bool, string) { return oc.progress(keys, rounds) })
	t.Logf("all consumed %s after the last send", time.Since(sendEnd).Round(time.Millisecond))

	queues := map[int][]string{}
	keyQueue.Range(func(k, v any) bool {
		queues[v.(int)] = append(queues[v.(int)], k.(string))
		return true
	})
	oc.mu.Lock()
	defer oc.mu.Unlock()
	t.Logf("keys per queue %v; %d deliveries of %d messages (%d redeliveries of earlier ones); per consumer %v",
		queues, oc.deliveries, nKeys*rounds, oc.redeliver, oc.byConsumer)
	if len(queues) < 2 {
		t.Errorf("the hash selector put all 16 keys on %d queue(s)", len(queues))
	}
	for _, v := range oc.violations[:min(10, len(oc.violations))] {
		t.Errorf("order violation: %s", v)
	}
	if len(oc.violations) > 10 {
		t.Errorf("... %d order violations in all", len(oc.violations))
	}
}
