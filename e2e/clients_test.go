package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// Every client gets its own InstanceName: the official client keys a process-wide map of client
// instances by ip@instance, so two producers or consumers with the default name would share one
// instance (and its name-server list) across tests.

// startProducer starts a producer against the name server ns; it is shut down at test cleanup
// (or earlier through the returned stop function, which is idempotent).
func startProducer(t *testing.T, ns string) (rocketmq.Producer, func()) {
	t.Helper()
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		producer.WithGroupName(uniqueName("pg")),
		producer.WithInstanceName(uniqueName("pinst")),
		producer.WithRetry(2),
	)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer start: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := p.Shutdown(); err != nil {
				t.Errorf("producer shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// startPushConsumer starts a clustering push consumer of group on topic (expression "*") that hands
// every message to c. The topic must already have a route: v2.1.2's Start fails otherwise.
func startPushConsumer(t *testing.T, ns, group, topic string, from consumer.ConsumeFromWhere, c *collector) func() {
	t.Helper()
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("cinst")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(from),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, c.handle); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer %s start: %v", group, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := pc.Shutdown(); err != nil {
				t.Errorf("consumer shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// collector records what a push consumer delivered, keyed by a test-assigned id property, and
// counts redeliveries (at-least-once delivery allows them; the tests report them).
type collector struct {
	idProp string // property holding the test's message id

	mu    sync.Mutex
	first map[string]*primitive.MessageExt
	dups  int
	noID  int
}

func newCollector(idProp string) *collector {
	return &collector{idProp: idProp, first: make(map[string]*primitive.MessageExt)}
}

func (c *collector) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		id := m.GetProperty(c.idProp)
		switch {
		case id == "":
			c.noID++
		case c.first[id] != nil:
			c.dups++
		default:
			c.first[id] = m
		}
	}
	return consumer.ConsumeSuccess, nil
}

// distinct is the number of different ids received.
func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.first)
}

func (c *collector) get(id string) *primitive.MessageExt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first[id]
}

func (c *collector) counts() (distinct, dups, noID int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.first), c.dups, c.noID
}

// has reports whether every id in want arrived, and a progress string for waitFor.
func (c *collector) has(want []string) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for _, id := range want {
		if c.first[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return true, ""
	}
	got := len(want) - len(missing)
	sort.Strings(missing)
	if len(missing) > 10 {
		missing = append(missing[:10], "...")
	}
	return false, fmt.Sprintf("%d/%d received, %d dups; missing %v", got, len(want), c.dups, missing)
}

// ids returns the received ids (a snapshot).
func (c *collector) ids() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.first))
	for id := range c.first {
		out[id] = true
	}
	return out
}
