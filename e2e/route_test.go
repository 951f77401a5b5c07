package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// adminMu serialises admin clients: admin.NewAdmin offers no instance name, so every admin in this
// process gets the client id ip@pid and would share (or be refused) one client instance.
var adminMu sync.Mutex

// TestTopicRouteAfterAutoCreate: the first send to a new topic makes the broker create it and
// register it with the name server, which then serves a route with 4 writable queues; an unknown
// topic has none; and a consumer (whose Start needs the route) starts on the new topic.
func TestTopicRouteAfterAutoCreate(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	b := startBroker(t, t.TempDir())
	topic := uniqueName("route")

	adminMu.Lock()
	defer adminMu.Unlock()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{b.NamesrvAddr})))
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	t.Cleanup(func() { _ = adm.Close() })

	// Before any send the name server must not know the topic (the client falls back to TBW102
	// only because of this answer).
	if mqs, err := adm.FetchPublishMessageQueues(context.Background(), topic); err == nil {
		t.Fatalf("route for %s exists before the first send: %v", topic, mqs)
	}

	p, _ := startProducer(t, b.NamesrvAddr)
	r, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte("hello")))
	if err != nil {
		t.Fatalf("first send: %v", err)
	}
	checkSendResult(t, "first send", r)

	// The broker registers the new topic right after creating it; allow that a moment to land.
	var mqs []*primitive.MessageQueue
	waitFor(t, 10*time.Second, "route of the auto-created topic", func() (bool, string) {
		mqs, err = adm.FetchPublishMessageQueues(context.Background(), topic)
		return err == nil && len(mqs) > 0, fmt.Sprintf("err %v, %d queues", err, len(mqs))
	})
	var qids []int
	for _, mq := range mqs {
		if mq.Topic != topic || mq.BrokerName == "" {
			t.Errorf("queue %v: wrong topic or no broker name", mq)
		}
		qids = append(qids, mq.QueueId)
	}
	sort.Ints(qids)
	if fmt.Sprint(qids) != "[0 1 2 3]" {
		t.Errorf("publish queues %v, want ids [0 1 2 3] (auto-created topics have 4 queues)", qids)
	}
	if r.MessageQueue != nil && r.MessageQueue.BrokerName != mqs[0].BrokerName {
		t.Errorf("send went to broker %q, route names %q", r.MessageQueue.BrokerName, mqs[0].BrokerName)
	}

	// A push consumer's Start fails without a route for its topic, so a successful start is the
	// client-level proof; the message sent above then arrives.
	c := newCollector(primitive.PropertyUniqueClientMessageIdKeyIndex)
	startPushConsumer(t, b.NamesrvAddr, uniqueName("cg"), topic, consumer.ConsumeFromFirstOffset, c)
	waitFor(t, 30*time.Second, "the first message consumed", func() (bool, string) { return c.has([]string{r.MsgID}) })
}
