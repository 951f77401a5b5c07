package consumer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/internal/fakemq"
	"github.com/rocketgo/rocketgo/sdk/internal/leaktest"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// recorder collects deliveries.
type recorder struct {
	mu    sync.Mutex
	byID  map[string]int             // body -> deliveries
	owner map[message.Queue]string   // queue -> consumer that received from it
	order map[message.Queue][]int64  // queue -> offsets in delivery order
	msgs  map[string]*message.Ext    // body -> last delivery
	multi map[message.Queue]bool     // queues delivered to more than one consumer
	seen  map[string]map[string]bool // consumer -> bodies
}

func newRecorder() *recorder {
	return &recorder{byID: map[string]int{}, owner: map[message.Queue]string{}, order: map[message.Queue][]int64{},
		msgs: map[string]*message.Ext{}, multi: map[message.Queue]bool{}, seen: map[string]map[string]bool{}}
}

func (r *recorder) handler(name string, fail func(*message.Ext) bool) Handler {
	return func(_ context.Context, msgs []*message.Ext) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range msgs {
			if fail != nil && fail(m) {
				return errors.New("induced failure")
			}
		}
		for _, m := range msgs {
			body := string(m.Body)
			r.byID[body]++
			r.msgs[body] = m
			if o, ok := r.owner[m.Queue]; ok && o != name {
				r.multi[m.Queue] = true
			}
			r.owner[m.Queue] = name
			r.order[m.Queue] = append(r.order[m.Queue], m.QueueOffset)
			if r.seen[name] == nil {
				r.seen[name] = map[string]bool{}
			}
			r.seen[name][body] = true
		}
		return nil
	}
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen[name])
}

func fastOptions(ns, group string) Options {
	return Options{NameServers: []string{ns}, Group: group, StartFrom: FromFirstOffset,
		RebalanceInterval: 200 * time.Millisecond, CommitInterval: 100 * time.Millisecond, LockInterval: 200 * time.Millisecond,
		SuspendInterval: 50 * time.Millisecond}
}

func startPush(t *testing.T, o Options, topic string, h Handler) *PushConsumer {
	t.Helper()
	c, err := NewPush(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(topic, Tag("*"), h); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fill(b *fakemq.Broker, topic string, queues int32, perQueue int, prefix string) int {
	n := 0
	for q := int32(0); q < queues; q++ {
		for i := 0; i < perQueue; i++ {
			b.Put(topic, q, fmt.Sprintf("%s-%d-%d", prefix, q, i), "TAGS\x01t\x02")
			n++
		}
	}
	return n
}

func TestPushClusteringSharesQueuesAndCommits(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 4)
	rec := newRecorder()
	c1 := startPush(t, fastOptions(cl.NS.Addr, "cg"), "T", rec.handler("c1", nil))
	c2 := startPush(t, fastOptions(cl.NS.Addr, "cg"), "T", rec.handler("c2", nil))
	// Both rebalanced: the 8 queues of T split 4/4, disjoint, and the retry queue has one owner.
	waitUntil(t, 10*time.Second, "a 4/4 split", func() bool {
		a, b := topicQueues(c1.Assigned(), "T"), topicQueues(c2.Assigned(), "T")
		return len(a) == 4 && len(b) == 4 && !overlap(a, b)
	})
	total := 0
	for _, b := range cl.Brokers {
		total += fill(b, "T", 4, 25, b.Name)
	}
	waitUntil(t, 10*time.Second, "every message", func() bool { return rec.distinct() == total })
	rec.mu.Lock()
	for q := range rec.multi {
		t.Errorf("queue %v delivered to both consumers", q)
	}
	for id, n := range rec.byID {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	rec.mu.Unlock()
	if rec.count("c1") != total/2 || rec.count("c2") != total/2 {
		t.Errorf("c1 got %d, c2 %d of %d", rec.count("c1"), rec.count("c2"), total)
	}
	// Offsets reach the brokers (periodic commit and the pull commit flag).
	waitUntil(t, 5*time.Second, "committed offsets", func() bool {
		for _, b := range cl.Brokers {
			for q := int32(0); q < 4; q++ {
				if b.Offset("cg", "T", q) != 25 {
					return false
				}
			}
		}
		return true
	})
	if err := c2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// c1 takes over all queues once c2 left.
	waitUntil(t, 10*time.Second, "c1 owning all 8 queues", func() bool { return len(topicQueues(c1.Assigned(), "T")) == 8 })
	if err := c1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func topicQueues(qs []message.Queue, topic string) []message.Queue {
	var out []message.Queue
	for _, q := range qs {
		if q.Topic == topic {
			out = append(out, q)
		}
	}
	return out
}

func overlap(a, b []message.Queue) bool {
	for _, q := range a {
		if slices.Contains(b, q) {
			return true
		}
	}
	return false
}

func TestFailedMessagesComeBackThroughTheRetryTopic(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 2)
	rec := newRecorder()
	var mu sync.Mutex
	failures := 0
	c := startPush(t, fastOptions(cl.NS.Addr, "cg"), "T", rec.handler("c", func(m *message.Ext) bool {
		mu.Lock()
		defer mu.Unlock()
		if string(m.Body) == "poison" && m.ReconsumeTimes == 0 {
			failures++
			return true
		}
		return false
	}))
	b := cl.Brokers[0]
	b.Put("T", 0, "ok-1", "UNIQ_KEY\x01ID1\x02")
	b.Put("T", 1, "poison", "UNIQ_KEY\x01ID2\x02")
	b.Put("T", 1, "ok-2", "UNIQ_KEY\x01ID3\x02")
	waitUntil(t, 10*time.Second, "the retried message", func() bool { return rec.distinct() == 3 })
	rec.mu.Lock()
	m := rec.msgs["poison"]
	rec.mu.Unlock()
	if m.Topic != "T" || m.ReconsumeTimes != 1 || m.MsgID != "ID2" || m.Queue.Topic != "%RETRY%cg" {
		t.Errorf("retried message: topic %s reconsume %d id %s queue %v", m.Topic, m.ReconsumeTimes, m.MsgID, m.Queue)
	}
	sb := b.SendBacks()
	if len(sb) != 1 || sb[0].DelayLevel != 0 || sb[0].Group != "cg" || sb[0].MsgID != "ID2" {
		t.Errorf("send-backs %+v", sb)
	}
	// The failure did not hold up the queue: offsets of T/1 move past both messages.
	waitUntil(t, 5*time.Second, "offset of T/1", func() bool { return b.Offset("cg", "T", 1) == 2 })
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOrderlyConsumesInOrderUnderLock(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 2)
	b := cl.Brokers[0]
	var mu sync.Mutex
	attempts := map[string]int{}
	rec := newRecorder()
	o := fastOptions(cl.NS.Addr, "og")
	o.Orderly = true
	o.MaxReconsumeTimes = 2
	o.BatchSize = 1
	c := startPush(t, o, "T", rec.handler("c", func(m *message.Ext) bool {
		mu.Lock()
		defer mu.Unlock()
		body := string(m.Body)
		attempts[body]++
		switch body {
		case "q0-3":
			return attempts[body] <= 2 // fails twice, then succeeds in place
		case "q1-5":
			return true // never succeeds: dead-letter after MaxReconsumeTimes
		}
		return false
	}))
	waitUntil(t, 10*time.Second, "locks", func() bool {
		return b.LockHolder("og", "T", 0) == c.Client().ID() && b.LockHolder("og", "T", 1) == c.Client().ID()
	})
	for q := int32(0); q < 2; q++ {
		for i := 0; i < 10; i++ {
			b.Put("T", q, fmt.Sprintf("q%d-%d", q, i), "")
		}
	}
	waitUntil(t, 10*time.Second, "19 messages", func() bool { return rec.distinct() == 19 })
	rec.mu.Lock()
	for q, offs := range rec.order {
		if q.Topic == "T" && !slices.IsSorted(offs) {
			t.Errorf("queue %v consumed out of order: %v", q, offs)
		}
	}
	rec.mu.Unlock()
	mu.Lock()
	if attempts["q0-3"] != 3 || attempts["q1-5"] != 3 {
		t.Errorf("attempts %v: want 3 for q0-3 (two failures) and 3 for q1-5 (then dead-lettered)", attempts)
	}
	mu.Unlock()
	sb := b.SendBacks()
	if len(sb) != 1 || sb[0].DelayLevel != -1 {
		t.Errorf("send-backs %+v, want one with delay level -1", sb)
	}
	waitUntil(t, 5*time.Second, "offsets committed", func() bool { return b.Offset("og", "T", 0) == 10 && b.Offset("og", "T", 1) == 10 })
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := b.LockHolder("og", "T", 0); h != "" {
		t.Errorf("lock still held by %s after shutdown", h)
	}
}

func TestBroadcastingDeliversToEveryMemberAndKeepsOffsetsLocally(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 3)
	b := cl.Brokers[0]
	dir := t.TempDir()
	rec1, rec2 := newRecorder(), newRecorder()
	o1 := fastOptions(cl.NS.Addr, "bg")
	o1.Model = Broadcasting
	o1.OffsetFile = filepath.Join(dir, "c1.json")
	o2 := o1
	o2.OffsetFile = filepath.Join(dir, "c2.json")
	c1 := startPush(t, o1, "T", rec1.handler("c1", nil))
	c2 := startPush(t, o2, "T", rec2.handler("c2", nil))
	total := fill(b, "T", 3, 10, "m")
	waitUntil(t, 10*time.Second, "both got everything", func() bool { return rec1.distinct() == total && rec2.distinct() == total })
	if len(c1.Assigned()) != 3 || len(c2.Assigned()) != 3 {
		t.Errorf("assigned %v / %v, want all 3 queues each", c1.Assigned(), c2.Assigned())
	}
	if err := c1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Offset("bg", "T", 0) != -1 {
		t.Error("a broadcasting consumer committed to the broker")
	}
	// A restart with the same file resumes where it stopped.
	more := fill(b, "T", 3, 2, "n")
	rec3 := newRecorder()
	c3 := startPush(t, o1, "T", rec3.handler("c3", nil))
	waitUntil(t, 10*time.Second, "the new messages", func() bool { return rec3.distinct() == more })
	time.Sleep(300 * time.Millisecond)
	if rec3.distinct() != more {
		t.Errorf("restarted consumer got %d messages, want only the %d new ones", rec3.distinct(), more)
	}
	_ = c2.Shutdown(context.Background())
	_ = c3.Shutdown(context.Background())
}

func TestPullConsumerExplicitOffsets(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 2)
	b := cl.Brokers[0]
	for i := 0; i < 10; i++ {
		b.Put("T", 1, "m"+strconv.Itoa(i), "TAGS\x01"+[]string{"a", "b"}[i%2]+"\x02")
	}
	c, err := NewPull(PullOptions{NameServers: []string{cl.NS.Addr}, Group: "pullg"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	qs, err := c.Queues(ctx, "T")
	if err != nil || len(qs) != 2 {
		t.Fatalf("queues %v %v", qs, err)
	}
	q := qs[1]
	res, err := c.Pull(ctx, PullRequest{Queue: q, Offset: 3, MaxMessages: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Found || len(res.Messages) != 4 || res.NextBeginOffset != 7 || res.MaxOffset != 10 || string(res.Messages[0].Body) != "m3" {
		t.Fatalf("pull %+v", res)
	}
	res, err = c.Pull(ctx, PullRequest{Queue: q, Offset: 0, Selector: Tag("b")})
	if err != nil || len(res.Messages) != 5 || res.Messages[0].Tag != "b" {
		t.Fatalf("tag pull: %v %+v", err, res)
	}
	res, err = c.Pull(ctx, PullRequest{Queue: q, Offset: 10})
	if err != nil || res.Status != NoNewMessage {
		t.Fatalf("pull at the end: %v %+v", err, res)
	}
	res, err = c.Pull(ctx, PullRequest{Queue: q, Offset: 99})
	if err != nil || res.Status != OffsetIllegal || res.NextBeginOffset != 10 {
		t.Fatalf("pull beyond the end: %v %+v", err, res)
	}
	// Long polling: a message arriving during the wait is returned.
	go func() {
		time.Sleep(50 * time.Millisecond)
		b.Put("T", 0, "late", "")
	}()
	res, err = c.Pull(ctx, PullRequest{Queue: qs[0], Offset: 0, Wait: 2 * time.Second})
	if err != nil || res.Status != Found || string(res.Messages[0].Body) != "late" {
		t.Fatalf("long poll: %v %+v", err, res)
	}
	if _, err := c.CommittedOffset(ctx, q); !errors.Is(err, ErrNotFound) {
		t.Errorf("committed offset before any commit: %v", err)
	}
	if err := c.CommitOffset(ctx, q, 7); err != nil {
		t.Fatal(err)
	}
	if off, err := c.CommittedOffset(ctx, q); err != nil || off != 7 {
		t.Errorf("committed %d %v", off, err)
	}
	if off, err := c.MaxOffset(ctx, q); err != nil || off != 10 {
		t.Errorf("max %d %v", off, err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(ctx, PullRequest{Queue: q}); !errors.Is(err, ErrClosed) {
		t.Errorf("pull after shutdown: %v", err)
	}
}

func TestStartFailsForUnknownTopic(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	c, err := NewPush(fastOptions(cl.NS.Addr, "cg"))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Subscribe("Missing", Tag("*"), func(context.Context, []*message.Ext) error { return nil })
	if err := c.Start(context.Background()); !errors.Is(err, ErrTopicNotExist) {
		t.Errorf("start: %v", err)
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPush(Options{NameServers: []string{cl.NS.Addr}, Group: "bad group"}); err == nil {
		t.Error("bad group accepted")
	}
}

// Shutdown gives up on a handler that does not return when its context ends, and says so.
func TestShutdownBoundedByContext(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 1)
	started := make(chan struct{}, 1)
	c := startPush(t, fastOptions(cl.NS.Addr, "cg"), "T", func(ctx context.Context, _ []*message.Ext) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	})
	cl.Brokers[0].Put("T", 0, "slow", "")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v", err)
	}
}

// A broker's RESET_CONSUMER_CLIENT_OFFSET makes the consumer read the named queues again from
// the given offsets.
func TestResetOffsetsFromBroker(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 2)
	b := cl.Brokers[0]
	rec := newRecorder()
	c := startPush(t, fastOptions(cl.NS.Addr, "rg"), "T", rec.handler("c", nil))
	total := fill(b, "T", 2, 10, "m")
	waitUntil(t, 10*time.Second, "first pass", func() bool { return rec.distinct() == total })
	waitUntil(t, 5*time.Second, "commit", func() bool { return b.Offset("rg", "T", 1) == 10 })
	body := `{"offsetTable":{{"brokerName":"broker-0","queueId":1,"topic":"T"}:4}}`
	req := wire.NewRequest(wire.ResetConsumerClientOffset, map[string]string{"topic": "T", "group": "rg", "timestamp": "0", "isForce": "true"}, []byte(body))
	req.Flag = wire.FlagOneway
	for _, conn := range b.Conns() {
		_ = conn.Write(req)
	}
	waitUntil(t, 10*time.Second, "re-delivery from offset 4", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.byID["m-1-4"] == 2 && rec.byID["m-1-9"] == 2
	})
	rec.mu.Lock()
	if rec.byID["m-1-3"] != 1 || rec.byID["m-0-5"] != 1 {
		t.Errorf("deliveries of m-1-3: %d, m-0-5: %d; want 1 (before the reset point, other queue)", rec.byID["m-1-3"], rec.byID["m-0-5"])
	}
	rec.mu.Unlock()
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// When the broker drops every connection (a restart at the same address), the consumer dials
// again, registers again at once and goes on consuming.
func TestPushConsumerRecoversAfterConnectionLoss(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 2)
	b := cl.Brokers[0]
	rec := newRecorder()
	o := fastOptions(cl.NS.Addr, "lossg")
	c := startPush(t, o, "T", rec.handler("c", nil))
	fill(b, "T", 2, 5, "before")
	waitUntil(t, 10*time.Second, "first messages", func() bool { return rec.distinct() == 10 })
	for _, conn := range b.Conns() {
		conn.Close()
	}
	waitUntil(t, 5*time.Second, "membership again", func() bool { return len(b.Members("lossg")) == 1 })
	fill(b, "T", 2, 5, "after")
	waitUntil(t, 10*time.Second, "messages after the break", func() bool { return rec.distinct() == 20 })
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
