package e2e

// Helpers of the tests that drive rocketgo with the SDK (sdk_*_test.go). Every name starts with
// "sdk" so it cannot clash with the helpers of the other e2e files.

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/admin"
	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/producer"
)

// sdkProducer starts an SDK producer against the broker's name server, shut down at cleanup.
func sdkProducer(t *testing.T, b *Broker) *producer.Producer {
	t.Helper()
	p, err := producer.New(producer.Options{NameServers: []string{b.NamesrvAddr}, Group: uniqueName("sdkpg"), InstanceName: uniqueName("sdkp")})
	if err != nil {
		t.Fatalf("sdk producer: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("sdk producer shutdown: %v", err)
		}
	})
	return p
}

// sdkAdmin makes an SDK admin, closed at cleanup.
func sdkAdmin(t *testing.T, b *Broker) *admin.Admin {
	t.Helper()
	a, err := admin.New(admin.Options{NameServers: []string{b.NamesrvAddr}, InstanceName: uniqueName("sdka")})
	if err != nil {
		t.Fatalf("sdk admin: %v", err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// sdkCreateTopic creates topic with queues read/write queues through the SDK admin and waits
// until the name server routes it.
func sdkCreateTopic(t *testing.T, a *admin.Admin, topic string, queues int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.CreateTopic(ctx, admin.TopicConfig{Name: topic, ReadQueueNums: queues, WriteQueueNums: queues}); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	waitFor(t, 10*time.Second, "route of "+topic, func() (bool, string) {
		r, err := a.TopicRoute(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		return len(r.Subscribe) == queues, fmt.Sprintf("%d queues", len(r.Subscribe))
	})
}

// sdkPushOptions are options for a push consumer of the broker that react fast (short
// rebalance and commit periods), so tests do not wait for RocketMQ's 20s timers.
func sdkPushOptions(b *Broker, group string) consumer.Options {
	return consumer.Options{NameServers: []string{b.NamesrvAddr}, Group: group, InstanceName: uniqueName("sdkc"),
		RebalanceInterval: time.Second, CommitInterval: 500 * time.Millisecond, LockInterval: time.Second}
}

// sdkPush starts an SDK push consumer of topic, shut down at cleanup (idempotently).
func sdkPush(t *testing.T, o consumer.Options, topic string, h consumer.Handler) *consumer.PushConsumer {
	t.Helper()
	c, err := consumer.NewPush(o)
	if err != nil {
		t.Fatalf("sdk consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.Tag("*"), h); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("sdk consumer %s start: %v", o.Group, err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("sdk consumer shutdown: %v", err)
		}
	})
	return c
}

// sdkKeyForQueue finds a sharding key the SDK producer maps to queue q of a topic with n write
// queues on one broker (Java's String.hashCode, absolute value, modulo n).
func sdkKeyForQueue(n, q int) string {
	for i := 0; ; i++ {
		key := fmt.Sprintf("key-%d-%d", q, i)
		h := message.TagHash(key)
		if h < 0 {
			h = -h
		}
		if int(h%int64(n)) == q {
			return key
		}
	}
}

// sdkDelivery is one message a consumer received.
type sdkDelivery struct {
	consumer  string
	queue     int32
	offset    int64
	id        string // the test's id property
	msgID     string
	reconsume int32
}

// sdkRecorder collects deliveries from any number of consumers.
type sdkRecorder struct {
	mu   sync.Mutex
	all  []sdkDelivery
	byID map[string][]sdkDelivery
}

func newSDKRecorder() *sdkRecorder { return &sdkRecorder{byID: map[string][]sdkDelivery{}} }

func (r *sdkRecorder) add(d sdkDelivery) {
	r.mu.Lock()
	r.all = append(r.all, d)
	r.byID[d.id] = append(r.byID[d.id], d)
	r.mu.Unlock()
}

// handler is an SDK handler recording under name.
func (r *sdkRecorder) handler(name string) consumer.Handler {
	return func(_ context.Context, msgs []*message.Ext) error {
		for _, m := range msgs {
			r.add(sdkDelivery{consumer: name, queue: m.Queue.QueueID, offset: m.QueueOffset, id: m.Property("id"), msgID: m.MsgID, reconsume: m.ReconsumeTimes})
		}
		return nil
	}
}

func (r *sdkRecorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// has reports whether every id arrived, with a progress string.
func (r *sdkRecorder) has(ids []string) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	missing := 0
	first := ""
	for _, id := range ids {
		if len(r.byID[id]) == 0 {
			if missing == 0 {
				first = id
			}
			missing++
		}
	}
	return missing == 0, fmt.Sprintf("%d/%d received (first missing %q)", len(ids)-missing, len(ids), first)
}

func (r *sdkRecorder) snapshot() []sdkDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdkDelivery(nil), r.all...)
}

// sdkGoroutines returns the goroutines running SDK code, keyed by goroutine id.
func sdkGoroutines() map[string]string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/rocketgo/rocketgo/sdk/") && !strings.Contains(g, "e2e.sdkGoroutines") {
			id, _, _ := strings.Cut(g, "[")
			out[id] = g
		}
	}
	return out
}

// sdkCheckNoGoroutines records the SDK goroutines and the goroutine count now; the returned
// function fails t unless, within 10 seconds, no new goroutine runs SDK code and the count is
// back to where it was.
func sdkCheckNoGoroutines(t *testing.T) func() {
	before := sdkGoroutines()
	n0 := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var leaked []string
			for id, g := range sdkGoroutines() {
				if _, ok := before[id]; !ok {
					leaked = append(leaked, g)
				}
			}
			n := runtime.NumGoroutine()
			if len(leaked) == 0 && n <= n0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left behind after shutdown: %d before, %d after; SDK goroutines:\n%s", n0, n, strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
