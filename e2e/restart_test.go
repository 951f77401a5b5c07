package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
)

// quietWindow is how long the final negative check watches for redeliveries. Absence can only be
// observed over time: the window starts once group A has received every post-restart message,
// which proves its rebalance is done and all its queues are being pulled from their start offsets,
// so any old message it wrongly restarted from would have been pulled by then or shortly after.
const quietWindow = 5 * time.Second

// TestRestartKeepsOffsets: offsets committed by a cleanly shut-down consumer survive a graceful
// broker restart (SIGTERM, exit 0, same data dir), and so do the messages.
func TestRestartKeepsOffsets(t *testing.T) {
	t.Parallel()
	testDeadline(t, 3*time.Minute)
	const n, m, size = 200, 40, 256

	dataDir := t.TempDir()
	b := startBroker(t, dataDir)
	topic := uniqueName("restart")
	groupA, groupB := uniqueName("cgA"), uniqueName("cgB")

	// Before the restart: N messages, group A consumes all of them.
	p, stopP := startProducer(t, b.NamesrvAddr)
	oldIDs := make([]string, n)
	want := map[int]int64{} // queue id -> next offset after the last message sent there
	for i := range oldIDs {
		oldIDs[i] = "old" + strconv.Itoa(i)
		r, err := p.SendSync(context.Background(), testMessage(topic, oldIDs[i], i, size))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		checkSendResult(t, "send "+oldIDs[i], r)
		if q := r.MessageQueue.QueueId; r.QueueOffset+1 > want[q] {
			want[q] = r.QueueOffset + 1
		}
	}
	stopP()

	a1 := newCollector("mid")
	stopA1 := startPushConsumer(t, b.NamesrvAddr, groupA, topic, consumer.ConsumeFromFirstOffset, a1)
	waitFor(t, 60*time.Second, "group A consumes the first batch", func() (bool, string) { return a1.has(oldIDs) })
	// Shutdown persists the offsets with UPDATE_CONSUMER_OFFSET (one-way), then closes the socket.
	stopA1()
	// Wait until the broker holds exactly those offsets, so the restart below tests persistence
	// and not a race with the client's one-way offset commits.
	waitForOffsets(t, b.BrokerAddr, groupA, topic, want, "before restart")

	b.Stop(t)
	b = startBroker(t, dataDir)
	waitForOffsets(t, b.BrokerAddr, groupA, topic, want, "after restart")

	// After the restart: group A resumes; a new group B reads everything from the start.
	a2 := newCollector("mid")
	startPushConsumer(t, b.NamesrvAddr, groupA, topic, consumer.ConsumeFromFirstOffset, a2)
	bc := newCollector("mid")
	startPushConsumer(t, b.NamesrvAddr, groupB, topic, consumer.ConsumeFromFirstOffset, bc)

	p2, _ := startProducer(t, b.NamesrvAddr)
	newIDs := make([]string, m)
	for i := range newIDs {
		newIDs[i] = "new" + strconv.Itoa(i)
		r, err := p2.SendSync(context.Background(), testMessage(topic, newIDs[i], n+i, size))
		if err != nil {
			t.Fatalf("send after restart %d: %v", i, err)
		}
		checkSendResult(t, "send "+newIDs[i], r)
	}

	waitFor(t, 60*time.Second, "group B consumes old and new messages", func() (bool, string) {
		return bc.has(append(append([]string{}, oldIDs...), newIDs...))
	})
	waitFor(t, 60*time.Second, "group A consumes the new messages", func() (bool, string) { return a2.has(newIDs) })
	for i, id := range oldIDs {
		checkIntact(t, bc.get(id), topic, id, i, size)
	}
	for i, id := range newIDs {
		checkIntact(t, a2.get(id), topic, id, n+i, size)
	}

	time.Sleep(quietWindow) // the final negative check; see quietWindow
	got := a2.ids()
	var redelivered []string
	for _, id := range oldIDs {
		if got[id] {
			redelivered = append(redelivered, id)
		}
	}
	if len(redelivered) > 0 {
		t.Errorf("group A got %d messages again after the restart (e.g. %v): committed offsets were not kept", len(redelivered), redelivered[:min(5, len(redelivered))])
	}
	if len(got) != m {
		t.Errorf("group A got %d distinct messages after the restart, want exactly the %d new ones", len(got), m)
	}
	_, dupsA, _ := a2.counts()
	_, dupsB, _ := bc.counts()
	t.Logf("after restart: group A %d distinct (%d dups), group B %d distinct (%d dups)", len(got), dupsA, bc.distinct(), dupsB)
}

// waitForOffsets polls QUERY_CONSUMER_OFFSET until the broker reports want[q] for every queue.
func waitForOffsets(t *testing.T, brokerAddr, group, topic string, want map[int]int64, when string) {
	t.Helper()
	waitFor(t, 15*time.Second, "committed offsets of "+group+" "+when, func() (bool, string) {
		status := ""
		ok := true
		for q := 0; q < 4; q++ {
			code, off, err := queryConsumerOffset(brokerAddr, group, topic, q)
			status += fmt.Sprintf("q%d: code %d offset %d want %d err %v; ", q, code, off, want[q], err)
			if err != nil || code != 0 || off != want[q] {
				ok = false
			}
		}
		return ok, status
	})
}
