package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rmqconsumer "github.com/apache/rocketmq-client-go/v2/consumer"

	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/producer"
)

// sdkPullAll reads every message of topic with an SDK pull consumer, from offset 0 to the end of
// each queue.
func sdkPullAll(t *testing.T, b *Broker, topic string) []*message.Ext {
	t.Helper()
	pc, err := consumer.NewPull(consumer.PullOptions{NameServers: []string{b.NamesrvAddr}, Group: uniqueName("sdkpull"), InstanceName: uniqueName("sdkpl")})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qs, err := pc.Queues(ctx, topic)
	if err != nil {
		t.Fatalf("queues of %s: %v", topic, err)
	}
	var out []*message.Ext
	for _, q := range qs {
		for off := int64(0); ; {
			res, err := pc.Pull(ctx, consumer.PullRequest{Queue: q, Offset: off, MaxMessages: 32})
			if err != nil {
				t.Fatalf("pull %v at %d: %v", q, off, err)
			}
			if res.Status != consumer.Found {
				break
			}
			out = append(out, res.Messages...)
			off = res.NextBeginOffset
		}
	}
	return out
}

// TestSDKProducerSendModes: the SDK producer's sync, async, oneway, batch and sharding-key sends
// against rocketgo, to a topic its first send auto-creates; every message is read back intact
// with the SDK pull consumer, and the official client consumes what the SDK sent.
func TestSDKProducerSendModes(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	topic := uniqueName("sdksend")
	p := sdkProducer(t, b)
	ctx := context.Background()

	type sent struct {
		body  []byte
		tag   string
		msgID string
	}
	var mu sync.Mutex
	want := map[string]sent{} // id property -> what was sent
	mk := func(id string, size int) *message.Message {
		body := testBody(id, size)
		m := &message.Message{Topic: topic, Body: body, Tag: "Tag" + id[:1], Keys: []string{"k-" + id},
			Properties: map[string]string{"id": id, "color": colors[len(id)%3]}}
		mu.Lock()
		want[id] = sent{body: body, tag: m.Tag}
		mu.Unlock()
		return m
	}
	record := func(id, msgID string) {
		mu.Lock()
		s := want[id]
		s.msgID = msgID
		want[id] = s
		mu.Unlock()
	}

	// Sync: the first send creates the topic through TBW102.
	for i := range 100 {
		id := "s" + strconv.Itoa(i)
		res, err := p.Send(ctx, mk(id, 200))
		if err != nil {
			t.Fatalf("sync send %d: %v", i, err)
		}
		if res.Status != producer.SendOK || !offsetMsgIDRe.MatchString(res.OffsetMsgID) || len(res.MsgID) != 32 || res.Queue.Topic != topic {
			t.Fatalf("sync result %+v", res)
		}
		record(id, res.MsgID)
	}
	// A body over 4 KiB travels compressed and comes back inflated.
	bigRes, err := p.Send(ctx, mk("big", 20000))
	if err != nil {
		t.Fatal(err)
	}
	record("big", bigRes.MsgID)

	// Async, pipelined.
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		id := "a" + strconv.Itoa(i)
		wg.Add(1)
		if err := p.SendAsync(ctx, mk(id, 100), func(r producer.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				errs <- err
				return
			}
			record(id, r.MsgID)
		}); err != nil {
			t.Fatalf("async send %d: %v", i, err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("async send failed: %v", err)
	}

	// Oneway.
	for i := range 20 {
		if err := p.SendOneway(ctx, mk("o"+strconv.Itoa(i), 50)); err != nil {
			t.Fatal(err)
		}
	}

	// Batches of 10.
	for bi := range 5 {
		var msgs []*message.Message
		for j := range 10 {
			msgs = append(msgs, mk(fmt.Sprintf("b%d-%d", bi, j), 64))
		}
		res, err := p.SendBatch(ctx, msgs)
		if err != nil {
			t.Fatalf("batch %d: %v", bi, err)
		}
		ids := strings.Split(res.MsgID, ",")
		if len(ids) != 10 || len(strings.Split(res.OffsetMsgID, ",")) != 10 {
			t.Fatalf("batch result %+v", res)
		}
		for j, id := range ids {
			record(fmt.Sprintf("b%d-%d", bi, j), id)
		}
	}

	// Sharding key: every message with one key lands in one queue.
	keyQueue := map[string]int32{}
	for i := range 60 {
		key := "order-" + strconv.Itoa(i%3)
		m := mk("k"+strconv.Itoa(i), 30)
		m.ShardingKey = key
		res, err := p.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		record("k"+strconv.Itoa(i), res.MsgID)
		if q, ok := keyQueue[key]; ok && q != res.Queue.QueueID {
			t.Fatalf("key %s went to queues %d and %d", key, q, res.Queue.QueueID)
		}
		keyQueue[key] = res.Queue.QueueID
	}

	var got []*message.Ext
	waitFor(t, 10*time.Second, "every message readable", func() (bool, string) {
		got = sdkPullAll(t, b, topic)
		return len(got) >= len(want), fmt.Sprintf("%d/%d", len(got), len(want))
	})
	seen := map[string]bool{}
	for _, m := range got {
		id := m.Property("id")
		w, ok := want[id]
		if !ok || seen[id] {
			t.Errorf("unexpected or duplicate message id %q", id)
			continue
		}
		seen[id] = true
		if !bytes.Equal(m.Body, w.body) || m.Tag != w.tag || strings.Join(m.Keys, " ") != "k-"+id || m.Topic != topic {
			t.Errorf("%s: body %d bytes (want %d), tag %q, keys %v", id, len(m.Body), len(w.body), m.Tag, m.Keys)
		}
		if w.msgID != "" && m.MsgID != w.msgID {
			t.Errorf("%s: consumed MsgID %s, send result said %s", id, m.MsgID, w.msgID)
		}
		if strings.HasPrefix(id, "k") {
			if q := keyQueue["order-"+strconv.Itoa(mustAtoi(id[1:])%3)]; m.Queue.QueueID != q {
				t.Errorf("%s stored in queue %d, send result said %d", id, m.Queue.QueueID, q)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d of %d messages read back", len(seen), len(want))
	}

	t.Logf("read back %d messages of %d sent", len(seen), len(want))
	// The official client consumes what the SDK sent, with the SDK's ids.
	c := newCollector("id")
	startPushConsumer(t, b.NamesrvAddr, uniqueName("offcg"), topic, rmqconsumer.ConsumeFromFirstOffset, c)
	waitFor(t, 30*time.Second, "the official consumer", func() (bool, string) {
		n := c.distinct()
		return n == len(want), fmt.Sprintf("%d/%d", n, len(want))
	})
	for id, w := range want {
		m := c.get(id)
		if m == nil {
			continue
		}
		if !bytes.Equal(m.Body, w.body) || m.GetTags() != w.tag || (w.msgID != "" && m.MsgId != w.msgID) {
			t.Errorf("official client got %s: %d bytes, tag %q, MsgId %s (SDK said %s)", id, len(m.Body), m.GetTags(), m.MsgId, w.msgID)
		}
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
