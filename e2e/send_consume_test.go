package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// offsetMsgIDRe is the offset message id of an IPv4 store host: 4 bytes IP, 4 bytes port, 8 bytes
// commit-log offset, upper-case hex (the transaction producer parses it, so its shape matters).
var offsetMsgIDRe = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)

var colors = []string{"red", "green", "blue"}

// testMessage builds message number i of a run: a deterministic body of size bytes derived from
// id (so corruption or a mix-up between messages is visible), a tag, two keys and properties.
func testMessage(topic, id string, i, size int) *primitive.Message {
	m := primitive.NewMessage(topic, testBody(id, size))
	m.WithTag(testTag(i))
	m.WithKeys([]string{"k-" + id, fmt.Sprintf("group-%d", i%7)})
	m.WithProperty("mid", id)
	m.WithProperty("idx", strconv.Itoa(i))
	m.WithProperty("color", colors[i%len(colors)])
	return m
}

func testTag(i int) string {
	if i%2 == 0 {
		return "TagA"
	}
	return "TagB"
}

func testBody(id string, size int) []byte {
	seed := []byte(id + "|")
	return bytes.Repeat(seed, size/len(seed)+1)[:size]
}

// checkIntact compares a consumed message with what testMessage(topic, id, i, size) sent.
func checkIntact(t *testing.T, got *primitive.MessageExt, topic, id string, i, size int) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: not received", id)
		return
	}
	var problems []string
	if got.Topic != topic {
		problems = append(problems, fmt.Sprintf("topic %q", got.Topic))
	}
	if want := testBody(id, size); !bytes.Equal(got.Body, want) {
		problems = append(problems, fmt.Sprintf("body of %d bytes differs from the %d sent", len(got.Body), len(want)))
	}
	if got.GetTags() != testTag(i) {
		problems = append(problems, fmt.Sprintf("tags %q, want %q", got.GetTags(), testTag(i)))
	}
	if want := fmt.Sprintf("k-%s group-%d", id, i%7); got.GetKeys() != want {
		problems = append(problems, fmt.Sprintf("keys %q, want %q", got.GetKeys(), want))
	}
	if got.GetProperty("idx") != strconv.Itoa(i) {
		problems = append(problems, fmt.Sprintf("idx %q", got.GetProperty("idx")))
	}
	if c := got.GetProperty("color"); c != colors[i%len(colors)] {
		problems = append(problems, fmt.Sprintf("color %q", c))
	}
	if !offsetMsgIDRe.MatchString(got.OffsetMsgId) {
		problems = append(problems, fmt.Sprintf("offset msg id %q", got.OffsetMsgId))
	}
	if len(problems) > 0 {
		t.Errorf("%s (queue %v offset %d): %s", id, got.Queue, got.QueueOffset, strings.Join(problems, "; "))
	}
}

func checkSendResult(t *testing.T, what string, r *primitive.SendResult) {
	t.Helper()
	if r.Status != primitive.SendOK {
		t.Errorf("%s: status %v, want SendOK", what, r.Status)
	}
	if r.MsgID == "" {
		t.Errorf("%s: empty MsgID", what)
	}
	if !offsetMsgIDRe.MatchString(r.OffsetMsgID) {
		t.Errorf("%s: OffsetMsgID %q is not 32 hex characters", what, r.OffsetMsgID)
	}
}

// TestSyncSendAndPushConsume: 1,000 synchronous sends of 1 KiB with tags, keys and properties to a
// topic that the first send auto-creates; a clustering push consumer from the first offset gets
// every one of them intact.
func TestSyncSendAndPushConsume(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const n, size = 1000, 1024

	b := startBroker(t, t.TempDir())
	topic := uniqueName("sync")
	p, _ := startProducer(t, b.NamesrvAddr)

	sentMsgID := make(map[string]string, n) // id -> SendResult.MsgID (the UNIQ_KEY)
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		id := "s" + strconv.Itoa(i)
		ids[i] = id
		r, err := p.SendSync(context.Background(), testMessage(topic, id, i, size))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		checkSendResult(t, "send "+id, r)
		if r.MessageQueue == nil || r.MessageQueue.Topic != topic {
			t.Fatalf("send %d: result queue %v", i, r.MessageQueue)
		}
		sentMsgID[id] = r.MsgID
		if t.Failed() {
			t.FailNow() // one bad result is enough evidence; do not print 1,000 of them
		}
	}

	c := newCollector("mid")
	startPushConsumer(t, b.NamesrvAddr, uniqueName("cg"), topic, consumer.ConsumeFromFirstOffset, c)
	waitFor(t, 60*time.Second, "all messages consumed", func() (bool, string) { return c.has(ids) })

	for i, id := range ids {
		got := c.get(id)
		checkIntact(t, got, topic, id, i, size)
		if got != nil && got.MsgId != sentMsgID[id] {
			t.Errorf("%s: consumed MsgId %q, sent MsgID %q", id, got.MsgId, sentMsgID[id])
		}
	}
	distinct, dups, noID := c.counts()
	t.Logf("consumed %d distinct messages, %d duplicates, %d without id", distinct, dups, noID)
	if noID != 0 {
		t.Errorf("%d consumed messages lack the mid property", noID)
	}
}

// TestAsyncOnewayBatch: 200 async sends (the first of which auto-creates the topic while the rest
// are in flight), 200 oneway sends and one batch of 32 messages; a consumer gets all 432 intact.
func TestAsyncOnewayBatch(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const nAsync, nOneway, nBatch, size = 200, 200, 32, 512

	b := startBroker(t, t.TempDir())
	topic := uniqueName("aob")
	p, _ := startProducer(t, b.NamesrvAddr)

	type sent struct {
		id string
		i  int
	}
	var all []sent
	next := 0
	add := func(prefix string) *primitive.Message {
		id := prefix + strconv.Itoa(next)
		all = append(all, sent{id, next})
		m := testMessage(topic, id, next, size)
		next++
		return m
	}

	// Async: callbacks run on client goroutines. v2.1.2 may call a callback twice on a transport
	// error (once with the error, once from the nil response), so count callbacks per message.
	var (
		cbMu      sync.Mutex
		callbacks = make(map[string]int)
		cbErrs    []string
		cbDone    atomic.Int32
	)
	for k := 0; k < nAsync; k++ {
		m := add("a")
		id := m.GetProperty("mid")
		err := p.SendAsync(context.Background(), func(_ context.Context, r *primitive.SendResult, err error) {
			cbMu.Lock()
			defer cbMu.Unlock()
			callbacks[id]++
			if callbacks[id] == 1 {
				cbDone.Add(1)
			}
			switch {
			case err != nil:
				cbErrs = append(cbErrs, fmt.Sprintf("%s: %v", id, err))
			case r.Status != primitive.SendOK || r.MsgID == "" || !offsetMsgIDRe.MatchString(r.OffsetMsgID):
				cbErrs = append(cbErrs, fmt.Sprintf("%s: result %s", id, r))
			}
		}, m)
		if err != nil {
			t.Fatalf("SendAsync %s: %v", id, err)
		}
	}
	waitFor(t, 30*time.Second, "async send callbacks", func() (bool, string) {
		return cbDone.Load() == nAsync, fmt.Sprintf("%d/%d callbacks", cbDone.Load(), nAsync)
	})
	cbMu.Lock()
	for _, e := range cbErrs {
		t.Errorf("async send: %s", e)
	}
	cbMu.Unlock()

	for k := 0; k < nOneway; k++ {
		if err := p.SendOneWay(context.Background(), add("o")); err != nil {
			t.Fatalf("SendOneWay: %v", err)
		}
	}

	batch := make([]*primitive.Message, nBatch)
	for k := range batch {
		batch[k] = add("b")
	}
	r, err := p.SendSync(context.Background(), batch...)
	if err != nil {
		t.Fatalf("batch send: %v", err)
	}
	if r.Status != primitive.SendOK {
		t.Errorf("batch: status %v", r.Status)
	}
	// Java answers a batch with the offset msg ids of all records, comma-separated; the Go
	// client's MsgID is empty for batches (no UNIQ_KEY per message).
	if parts := strings.Split(r.OffsetMsgID, ","); len(parts) != nBatch {
		t.Errorf("batch: OffsetMsgID has %d ids, want %d: %q", len(parts), nBatch, r.OffsetMsgID)
	} else {
		for _, id := range parts {
			if !offsetMsgIDRe.MatchString(id) {
				t.Errorf("batch: offset msg id %q is not 32 hex characters", id)
				break
			}
		}
	}

	ids := make([]string, len(all))
	for k, s := range all {
		ids[k] = s.id
	}
	c := newCollector("mid")
	startPushConsumer(t, b.NamesrvAddr, uniqueName("cg"), topic, consumer.ConsumeFromFirstOffset, c)
	waitFor(t, 60*time.Second, "all messages consumed", func() (bool, string) { return c.has(ids) })

	for _, s := range all {
		checkIntact(t, c.get(s.id), topic, s.id, s.i, size)
	}
	distinct, dups, noID := c.counts()
	t.Logf("consumed %d distinct messages, %d duplicates, %d without id", distinct, dups, noID)
	if distinct != nAsync+nOneway+nBatch {
		t.Errorf("consumed %d distinct messages, want %d", distinct, nAsync+nOneway+nBatch)
	}
}
