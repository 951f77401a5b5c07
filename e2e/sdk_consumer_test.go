package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/producer"
)

// sdkSendIDs sends n messages with id property prefix+i asynchronously and waits for them all.
func sdkSendIDs(t *testing.T, p *producer.Producer, topic, prefix string, n int, key func(i int) string) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		ids[i] = prefix + strconv.Itoa(i)
		m := &message.Message{Topic: topic, Body: []byte(ids[i]), Properties: map[string]string{"id": ids[i]}}
		if key != nil {
			m.ShardingKey = key(i)
		}
		wg.Add(1)
		if err := p.SendAsync(context.Background(), m, func(_ producer.SendResult, err error) {
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("send: %v", firstErr)
	}
	return ids
}

func queuesOf(qs []message.Queue, topic string) []int32 {
	var out []int32
	for _, q := range qs {
		if q.Topic == topic {
			out = append(out, q.QueueID)
		}
	}
	return out
}

// TestSDKPushClustering: two SDK push consumers of one group split 8 queues 4/4; every message is
// consumed once, each queue by its owner only, and the offsets reach the broker.
func TestSDKPushClustering(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkclu"), uniqueName("sdkcg")
	sdkCreateTopic(t, a, topic, 8)
	rec := newSDKRecorder()
	c1 := sdkPush(t, sdkPushOptions(b, group), topic, rec.handler("c1"))
	c2 := sdkPush(t, sdkPushOptions(b, group), topic, rec.handler("c2"))
	waitFor(t, 20*time.Second, "a 4/4 split", func() (bool, string) {
		q1, q2 := queuesOf(c1.Assigned(), topic), queuesOf(c2.Assigned(), topic)
		ok := len(q1) == 4 && len(q2) == 4
		for _, q := range q1 {
			ok = ok && !slices.Contains(q2, q)
		}
		return ok, fmt.Sprintf("c1 %v c2 %v", q1, q2)
	})
	owners := map[int32]string{}
	for _, q := range queuesOf(c1.Assigned(), topic) {
		owners[q] = "c1"
	}
	for _, q := range queuesOf(c2.Assigned(), topic) {
		owners[q] = "c2"
	}
	p := sdkProducer(t, b)
	ids := sdkSendIDs(t, p, topic, "m", 800, nil)
	waitFor(t, 30*time.Second, "every message", func() (bool, string) { return rec.has(ids) })
	dups := 0
	for _, d := range rec.snapshot() {
		if owners[d.queue] != d.consumer {
			t.Errorf("%s of queue %d went to %s, the owner is %s", d.id, d.queue, d.consumer, owners[d.queue])
		}
	}
	for _, id := range ids {
		dups += len(rec.byID[id]) - 1
	}
	if dups > 0 {
		t.Errorf("%d redeliveries without a failure", dups)
	}
	// Offsets are committed: the group's lag reaches 0 on every queue.
	waitFor(t, 15*time.Second, "committed offsets", func() (bool, string) {
		offs, err := a.ConsumerOffsets(context.Background(), group, topic)
		if err != nil {
			return false, err.Error()
		}
		lag := int64(0)
		for _, o := range offs {
			lag += o.Max - o.Committed
		}
		return lag == 0, fmt.Sprintf("lag %d", lag)
	})
	members, err := a.GroupMembers(context.Background(), group, topic)
	if err != nil || len(members) != 2 || !slices.Contains(members, c1.Client().ID()) {
		t.Errorf("group members %v (%v)", members, err)
	}
}

// TestSDKPushBroadcasting: two broadcasting SDK consumers each get every message.
func TestSDKPushBroadcasting(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkbc"), uniqueName("sdkbg")
	sdkCreateTopic(t, a, topic, 4)
	r1, r2 := newSDKRecorder(), newSDKRecorder()
	o := sdkPushOptions(b, group)
	o.Model = consumer.Broadcasting
	o.StartFrom = consumer.FromFirstOffset
	o1, o2 := o, o
	o1.OffsetFile = t.TempDir() + "/c1.json"
	o2.InstanceName = uniqueName("sdkc")
	c1 := sdkPush(t, o1, topic, r1.handler("c1"))
	c2 := sdkPush(t, o2, topic, r2.handler("c2"))
	p := sdkProducer(t, b)
	ids := sdkSendIDs(t, p, topic, "b", 300, nil)
	waitFor(t, 30*time.Second, "c1 got everything", func() (bool, string) { return r1.has(ids) })
	waitFor(t, 30*time.Second, "c2 got everything", func() (bool, string) { return r2.has(ids) })
	if len(c1.Assigned()) != 4 || len(c2.Assigned()) != 4 {
		t.Errorf("assigned %v and %v, want all 4 queues each", c1.Assigned(), c2.Assigned())
	}
	// Broadcasting offsets stay with the consumer, not the broker.
	if err := c1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	offs, err := a.ConsumerOffsets(context.Background(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offs {
		if o.Committed > 0 {
			t.Errorf("broadcasting group committed %d on %v at the broker", o.Committed, o.Queue)
		}
	}
	// A restart with the same offset file resumes after what it consumed.
	more := sdkSendIDs(t, p, topic, "n", 40, nil)
	r3 := newSDKRecorder()
	o1.InstanceName = uniqueName("sdkc")
	sdkPush(t, o1, topic, r3.handler("c3"))
	waitFor(t, 30*time.Second, "the restarted consumer", func() (bool, string) { return r3.has(more) })
	time.Sleep(500 * time.Millisecond)
	if n := r3.distinct(); n != len(more) {
		t.Errorf("restarted consumer got %d messages, want the %d new ones only", n, len(more))
	}
}

// TestSDKOrderly: an orderly SDK consumer gets each key's messages in send order, even when its
// handler fails on one of them (retried in place), and holds the broker's queue locks.
func TestSDKOrderly(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkord"), uniqueName("sdkog")
	sdkCreateTopic(t, a, topic, 4)
	var mu sync.Mutex
	seq := map[string][]int{} // key -> sequence numbers in consumption order
	failed := false
	o := sdkPushOptions(b, group)
	o.Orderly = true
	o.SuspendInterval = 100 * time.Millisecond
	o.Concurrency = 4
	total := 0
	c := sdkPush(t, o, topic, func(_ context.Context, msgs []*message.Ext) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			key, n := m.Property("key"), mustAtoi(m.Property("seq"))
			if key == "key-3" && n == 17 && !failed {
				failed = true
				return errors.New("induced failure")
			}
			seq[key] = append(seq[key], n)
			total++
		}
		return nil
	})
	p := sdkProducer(t, b)
	const keys, perKey = 8, 50
	for n := range perKey {
		for k := range keys {
			key := "key-" + strconv.Itoa(k)
			m := &message.Message{Topic: topic, Body: []byte(key), ShardingKey: key,
				Properties: map[string]string{"key": key, "seq": strconv.Itoa(n)}}
			if _, err := p.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 60*time.Second, "every message", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return total >= keys*perKey, fmt.Sprintf("%d/%d", total, keys*perKey)
	})
	mu.Lock()
	for key, s := range seq {
		for i := 1; i < len(s); i++ {
			if s[i] <= s[i-1] {
				t.Errorf("%s consumed out of order: %v", key, s)
				break
			}
		}
	}
	if !failed {
		t.Error("the induced failure never happened")
	}
	mu.Unlock()
	if got := queuesOf(c.Assigned(), topic); len(got) != 4 {
		t.Errorf("orderly consumer holds %v", got)
	}
}

// TestSDKRetryThroughBroker: a message whose handler fails goes back to the broker
// (CONSUMER_SEND_MSG_BACK) and returns through the group's retry topic with its topic, id and
// reconsume count.
func TestSDKRetryThroughBroker(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir(), "--set", "broker.messageDelayLevel=1s 1s 1s 1s 1s 1s")
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkretry"), uniqueName("sdkrg")
	sdkCreateTopic(t, a, topic, 2)
	rec := newSDKRecorder()
	var mu sync.Mutex
	var topics []string
	sdkPush(t, sdkPushOptions(b, group), topic, func(ctx context.Context, msgs []*message.Ext) error {
		for _, m := range msgs {
			if m.Property("id") == "poison" && m.ReconsumeTimes == 0 {
				return errors.New("induced failure")
			}
			mu.Lock()
			topics = append(topics, m.Topic)
			mu.Unlock()
		}
		return rec.handler("c")(ctx, msgs)
	})
	p := sdkProducer(t, b)
	res, err := p.Send(context.Background(), &message.Message{Topic: topic, Body: []byte("x"), Properties: map[string]string{"id": "poison"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := append(sdkSendIDs(t, p, topic, "ok", 20, nil), "poison")
	waitFor(t, 60*time.Second, "the retried message", func() (bool, string) { return rec.has(ids) })
	d := rec.byID["poison"][0]
	if d.reconsume != 1 || d.msgID != res.MsgID {
		t.Errorf("retried delivery %+v, want reconsume 1 and MsgID %s", d, res.MsgID)
	}
	mu.Lock()
	for _, tp := range topics {
		if tp != topic {
			t.Errorf("handler saw topic %q, want %q (the retry topic restored)", tp, topic)
		}
	}
	mu.Unlock()
}

// TestSDKPullConsumerExplicitOffsets: the SDK pull consumer reads a queue from the offsets it
// chooses, long-polls, and commits offsets the broker then reports.
func TestSDKPullConsumerExplicitOffsets(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkpullt"), uniqueName("sdkpg")
	sdkCreateTopic(t, a, topic, 4)
	p := sdkProducer(t, b)
	key := sdkKeyForQueue(4, 2)
	for i := range 20 {
		tag := []string{"even", "odd"}[i%2]
		if _, err := p.Send(context.Background(), &message.Message{Topic: topic, Body: []byte(strconv.Itoa(i)), Tag: tag, ShardingKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := consumer.NewPull(consumer.PullOptions{NameServers: []string{b.NamesrvAddr}, Group: group, InstanceName: uniqueName("sdkpl")})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	qs, err := pc.Queues(ctx, topic)
	if err != nil || len(qs) != 4 {
		t.Fatalf("queues %v %v", qs, err)
	}
	q := qs[2]
	res, err := pc.Pull(ctx, consumer.PullRequest{Queue: q, Offset: 5, MaxMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != consumer.Found || len(res.Messages) != 10 || res.NextBeginOffset != 15 || res.MaxOffset != 20 {
		t.Fatalf("pull from 5: %s, %d messages, next %d, max %d", res.Status, len(res.Messages), res.NextBeginOffset, res.MaxOffset)
	}
	for i, m := range res.Messages {
		if m.QueueOffset != int64(5+i) || string(m.Body) != strconv.Itoa(5+i) {
			t.Errorf("message %d: offset %d body %q", i, m.QueueOffset, m.Body)
		}
	}
	res, err = pc.Pull(ctx, consumer.PullRequest{Queue: q, Offset: 0, MaxMessages: 32, Selector: consumer.Tag("odd")})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if m.Tag != "odd" {
			t.Errorf("tag selector let %q through", m.Tag)
		}
	}
	if len(res.Messages) == 0 {
		t.Error("tag selector returned nothing")
	}
	// Beyond the end: OFFSET_ILLEGAL with a corrected offset inside the queue (RocketMQ answers
	// the min offset when it is 0, else the max).
	if res, err = pc.Pull(ctx, consumer.PullRequest{Queue: q, Offset: 500}); err != nil || res.Status != consumer.OffsetIllegal ||
		res.NextBeginOffset < res.MinOffset || res.NextBeginOffset > res.MaxOffset {
		t.Errorf("pull beyond the end: %v %+v", err, res)
	}
	// Long polling: the broker answers as soon as a message arrives.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = p.Send(context.Background(), &message.Message{Topic: topic, Body: []byte("late"), ShardingKey: key})
	}()
	start := time.Now()
	res, err = pc.Pull(ctx, consumer.PullRequest{Queue: q, Offset: 20, Wait: 15 * time.Second})
	if err != nil || res.Status != consumer.Found || string(res.Messages[0].Body) != "late" {
		t.Fatalf("long poll: %v %+v", err, res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("long poll answered after %s", d)
	}
	if _, err := pc.CommittedOffset(ctx, q); err != nil && !errors.Is(err, consumer.ErrNotFound) {
		t.Errorf("committed offset before a commit: %v", err)
	}
	if err := pc.CommitOffset(ctx, q, 15); err != nil {
		t.Fatal(err)
	}
	if off, err := pc.CommittedOffset(ctx, q); err != nil || off != 15 {
		t.Errorf("committed %d %v", off, err)
	}
	if off, err := a.ConsumerOffset(ctx, group, q); err != nil || off != 15 {
		t.Errorf("admin sees %d %v", off, err)
	}
	if off, err := pc.MaxOffset(ctx, q); err != nil || off != 21 {
		t.Errorf("max offset %d %v", off, err)
	}
}

// TestSDKResetOffsetByTime: the SDK admin resets a group's offsets to a time before every message;
// rocketgo tells the online SDK consumer (RESET_CONSUMER_CLIENT_OFFSET), which reads everything
// again.
func TestSDKResetOffsetByTime(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	topic, group := uniqueName("sdkreset"), uniqueName("sdkresetg")
	sdkCreateTopic(t, a, topic, 2)
	before := time.Now().Add(-time.Second)
	rec := newSDKRecorder()
	sdkPush(t, sdkPushOptions(b, group), topic, rec.handler("c"))
	p := sdkProducer(t, b)
	ids := sdkSendIDs(t, p, topic, "r", 30, nil)
	waitFor(t, 30*time.Second, "first delivery", func() (bool, string) { return rec.has(ids) })
	waitFor(t, 15*time.Second, "offsets committed", func() (bool, string) {
		offs, err := a.ConsumerOffsets(context.Background(), group, topic)
		if err != nil {
			return false, err.Error()
		}
		for _, o := range offs {
			if o.Committed != o.Max {
				return false, fmt.Sprintf("%+v", o)
			}
		}
		return true, ""
	})
	reset, err := a.ResetOffsetByTime(context.Background(), group, topic, before, true)
	if err != nil {
		t.Fatal(err)
	}
	for q, off := range reset {
		if off != 0 {
			t.Errorf("reset %v to %d, want 0", q, off)
		}
	}
	waitFor(t, 30*time.Second, "every message a second time", func() (bool, string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, id := range ids {
			if len(rec.byID[id]) >= 2 {
				n++
			}
		}
		return n == len(ids), fmt.Sprintf("%d/%d again", n, len(ids))
	})
}
