package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Issue points 2 (clustering) and 3 (broadcasting), with the official client; point 1's
// "rebalance within seconds" is measured here on the client side too.

// sentMsg is one message a test sent and where the broker put it.
type sentMsg struct {
	id     string
	queue  int
	offset int64
}

// sendIDs sends n messages with property mid = prefix+i synchronously, in order.
func sendIDs(t *testing.T, p rocketmq.Producer, topic, prefix string, n int) []sentMsg {
	t.Helper()
	out := make([]sentMsg, 0, n)
	for i := 0; i < n; i++ {
		s, err := sendOneID(p, topic, prefix+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func sendOneID(p rocketmq.Producer, topic, id string) (sentMsg, error) {
	m := primitive.NewMessage(topic, []byte("body of "+id))
	m.WithProperty("mid", id)
	r, err := p.SendSync(context.Background(), m)
	if err != nil {
		return sentMsg{}, fmt.Errorf("send %s: %v", id, err)
	}
	if r.Status != primitive.SendOK || r.MessageQueue == nil {
		return sentMsg{}, fmt.Errorf("send %s: result %v", id, r)
	}
	return sentMsg{id: id, queue: r.MessageQueue.QueueId, offset: r.QueueOffset}, nil
}

func idsOf(ms []sentMsg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.id
	}
	return out
}

// averagedOwners is the allocation every member computes with the client's default strategy
// (AllocateByAveragely over the sorted client ids and queue ids): queue -> consumer label.
func averagedOwners(ids []string, cons map[string]*kitConsumer, queues int) (map[int]string, error) {
	owners := make(map[int]string, queues)
	n := len(ids)
	for idx, cid := range ids {
		name := ""
		for label, c := range cons {
			if strings.HasSuffix(cid, "@"+c.Instance) {
				name = label
			}
		}
		if name == "" {
			return nil, fmt.Errorf("client id %s belongs to none of the test's consumers", cid)
		}
		mod := queues % n
		size := queues / n
		if mod > 0 && idx < mod {
			size++
		}
		start := idx*size + mod
		if mod > 0 && idx < mod {
			start = idx * size
		}
		for q := start; q < start+size && q < queues; q++ {
			owners[q] = name
		}
	}
	return owners, nil
}

// settleAllocation waits until the broker lists exactly the consumers in cons and the queues are
// consumed as a partition: probe messages on every queue are each delivered once, by the queue's
// owner under the averaged allocation, in two rounds in a row. It returns queue -> owner.
func settleAllocation(t *testing.T, b *Broker, p rocketmq.Producer, rec *recorder, topic, group string,
	cons map[string]*kitConsumer, queues int, timeout time.Duration) map[int]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var ids []string
	waitFor(t, timeout, fmt.Sprintf("%d consumers listed for %s", len(cons), group), func() (bool, string) {
		var code int16
		var err error
		ids, code, err = consumerIDs(b.BrokerAddr, group)
		if err != nil || len(ids) != len(cons) {
			return false, fmt.Sprintf("ids %v code %d err %v", ids, code, err)
		}
		for _, c := range cons {
			if _, ok := c.ClientIDIn(ids); !ok {
				return false, fmt.Sprintf("ids %v lack instance %s", ids, c.Instance)
			}
		}
		return true, ""
	})
	owners, err := averagedOwners(ids, cons, queues)
	if err != nil {
		t.Fatal(err)
	}
	status := "no round yet"
	good := 0
	for round := 1; good < 2; round++ {
		if time.Now().After(deadline) {
			t.Fatalf("queues of %s not consumed as the partition %v within %s: %s", group, owners, timeout, status)
		}
		// One probe per queue: the producer's round-robin selector covers the queues in order.
		var probes []sentMsg
		covered := map[int]bool{}
		for i := 0; len(covered) < queues && i < 4*queues; i++ {
			s, err := sendOneID(p, topic, fmt.Sprintf("probe%d-%d", round, i))
			if err != nil {
				t.Fatal(err)
			}
			probes = append(probes, s)
			covered[s.queue] = true
		}
		want := idsOf(probes)
		if !pollUntil(10*time.Second, func() bool { ok, _ := rec.hasAll(want); return ok }) {
			_, status = rec.hasAll(want)
			good = 0
			continue
		}
		got := byID(rec.snapshot())
		var bad []string
		for _, s := range probes {
			ds := got[s.id]
			if len(ds) != 1 || ds[0].consumer != owners[s.queue] {
				var by []string
				for _, d := range ds {
					by = append(by, d.consumer)
				}
				bad = append(bad, fmt.Sprintf("q%d by %v (owner %s)", s.queue, by, owners[s.queue]))
			}
		}
		if len(bad) == 0 {
			good++
		} else {
			good, status = 0, fmt.Sprintf("round %d: %s", round, strings.Join(bad, "; "))
		}
	}
	return owners
}

// pollUntil polls cond every 20 ms until it is true (true) or timeout passes (false): waitFor
// for callers that handle the timeout themselves.
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusteringThreeConsumersEightQueues: three consumers of one group over an 8-queue topic
// split the queues 3/3/2 with no queue consumed twice and together get every message. Then one of
// them stops while messages keep coming: the broker notifies the others, they take its queues
// within seconds (not at the client's 20 s rebalance timer), and no message is lost; duplicates
// (messages the stopped consumer handled but had not committed) are counted.
func TestClusteringThreeConsumersEightQueues(t *testing.T) {
	t.Parallel()
	testDeadline(t, 3*time.Minute)
	const queues, n1, n2 = 8, 240, 300

	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("clu"), uniqueName("cluG")
	createTopicRaw(t, b, topic, queues)
	p := kitProducer(t, b.NamesrvAddr)
	rec := newRecorder("mid")

	cons := map[string]*kitConsumer{}
	for _, name := range []string{"c0", "c1", "c2"} {
		cons[name] = startKitConsumer(t, b.NamesrvAddr, group, topic,
			kitConsumerOpts{from: consumer.ConsumeFromFirstOffset}, rec.handler(name, consumer.ConsumeSuccess))
	}
	lastStart := time.Now()
	owners := settleAllocation(t, b, p, rec, topic, group, cons, queues, 30*time.Second)
	t.Logf("3 consumers settled on queue owners %v %s after the last one started", owners, time.Since(lastStart).Round(time.Millisecond))
	share := map[string][]int{}
	for q := 0; q < queues; q++ {
		share[owners[q]] = append(share[owners[q]], q)
	}
	var sizes []int
	for _, qs := range share {
		sizes = append(sizes, len(qs))
	}
	sort.Ints(sizes)
	if fmt.Sprint(sizes) != "[2 3 3]" {
		t.Fatalf("queue shares %v, want sizes 3, 3, 2", share)
	}

	// Phase 1: steady state. Every message exactly once, from its queue's owner.
	phase1 := sendIDs(t, p, topic, "a", n1)
	waitFor(t, 30*time.Second, "phase 1 consumed", func() (bool, string) { return rec.hasAll(idsOf(phase1)) })
	got := byID(rec.snapshot())
	var wrong []string
	dups1 := 0
	for _, s := range phase1 {
		ds := got[s.id]
		dups1 += len(ds) - 1
		for _, d := range ds {
			if d.consumer != owners[s.queue] || d.queue != s.queue {
				wrong = append(wrong, fmt.Sprintf("%s (q%d, owner %s) delivered to %s from q%d", s.id, s.queue, owners[s.queue], d.consumer, d.queue))
			}
		}
	}
	if len(wrong) > 0 {
		t.Errorf("phase 1: %d deliveries outside the consumer's share, e.g. %v", len(wrong), wrong[:min(5, len(wrong))])
	}
	if dups1 > 0 {
		t.Errorf("phase 1: %d duplicate deliveries in steady state", dups1)
	}

	// Phase 2: a steady stream (one message every 10 ms) while the owner of queue 3 stops.
	victim := owners[3]
	var (
		mu      sync.Mutex
		phase2  []sentMsg
		sendErr error
		sent    atomic.Int32
	)
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < n2; i++ {
			<-tick.C
			s, err := sendOneID(p, topic, "b"+strconv.Itoa(i))
			mu.Lock()
			if err != nil {
				sendErr = err
				mu.Unlock()
				return
			}
			phase2 = append(phase2, s)
			mu.Unlock()
			sent.Add(1)
		}
	}()
	waitFor(t, 20*time.Second, "a third of phase 2 sent", func() (bool, string) {
		return sent.Load() >= n2/3, fmt.Sprintf("%d sent", sent.Load())
	})
	stopStart := time.Now()
	cons[victim].Stop()
	stopped := time.Now()
	t.Logf("stopped %s (queues %v) while sending; Shutdown took %s", victim, share[victim], stopped.Sub(stopStart).Round(time.Millisecond))
	<-senderDone
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	waitFor(t, 40*time.Second, "phase 2 consumed by the remaining consumers", func() (bool, string) { return rec.hasAll(idsOf(phase2)) })

	// Takeover: the first delivery by a remaining consumer from each of the victim's queues.
	all := rec.snapshot()
	for _, q := range share[victim] {
		var first time.Time
		for _, d := range all {
			if d.queue == q && d.consumer != victim && (first.IsZero() || d.at.Before(first)) {
				first = d.at
			}
		}
		if first.IsZero() {
			t.Errorf("queue %d of the stopped consumer was never consumed by another", q)
			continue
		}
		took := first.Sub(stopped)
		t.Logf("queue %d taken over %s after %s stopped", q, took.Round(time.Millisecond), victim)
		if took > 5*time.Second {
			t.Errorf("queue %d taken over %s after the stop; want within 5 s (the client's own timer is 20 s)", q, took)
		}
	}
	for _, d := range all {
		if d.consumer == victim && d.at.After(stopped) {
			t.Errorf("stopped consumer %s still delivered %s", victim, d.id)
			break
		}
	}

	// No loss over both phases; duplicates are allowed and reported.
	got = byID(all)
	dups := 0
	for _, s := range append(append([]sentMsg{}, phase1...), phase2...) {
		if len(got[s.id]) == 0 {
			t.Errorf("%s (q%d) lost", s.id, s.queue)
		}
		dups += max(0, len(got[s.id])-1)
	}
	t.Logf("%d messages sent over both phases, all delivered; %d duplicate deliveries", n1+n2, dups)

	// The two survivors now split the 8 queues 4/4.
	delete(cons, victim)
	owners2 := settleAllocation(t, b, p, rec, topic, group, cons, queues, 30*time.Second)
	t.Logf("after the stop: queue owners %v", owners2)
}

// TestBroadcastingTwoInstances: two instances of one broadcasting group each receive every
// message, sent both before and after they started.
func TestBroadcastingTwoInstances(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const n = 60

	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("bc"), uniqueName("bcG")
	createTopicRaw(t, b, topic, 4)
	p := kitProducer(t, b.NamesrvAddr)
	before := sendIDs(t, p, topic, "pre", n)

	rec := map[string]*recorder{"i0": newRecorder("mid"), "i1": newRecorder("mid")}
	for name, r := range rec {
		startKitConsumer(t, b.NamesrvAddr, group, topic,
			kitConsumerOpts{broadcast: true, from: consumer.ConsumeFromFirstOffset}, r.handler(name, consumer.ConsumeSuccess))
	}
	after := sendIDs(t, p, topic, "post", n)
	want := append(idsOf(before), idsOf(after)...)
	for name, r := range rec {
		waitFor(t, 30*time.Second, "instance "+name+" receives every message", func() (bool, string) { return r.hasAll(want) })
	}
	for name, r := range rec {
		ds := r.snapshot()
		queues := map[int]bool{}
		for _, d := range ds {
			queues[d.queue] = true
		}
		t.Logf("instance %s: %d deliveries of %d messages from queues %v", name, len(ds), len(want), queues)
		if len(queues) != 4 {
			t.Errorf("instance %s consumed from queues %v, want all 4", name, queues)
		}
	}
}
