package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 1: the client manager. These probes use raw connections so the broker's own
// behaviour is observed frame by frame: who is listed in GET_CONSUMER_LIST_BY_GROUP, and which
// connections receive NOTIFY_CONSUMER_IDS_CHANGED (code 40) and when. The official client's
// reaction to those notifications (a rebalance within seconds) is measured in
// TestClusteringThreeConsumersEightQueues.

// expectNotify waits for a NOTIFY_CONSUMER_IDS_CHANGED for group on rc and checks its shape
// (oneway, extFields consumerGroup), returning when it arrived.
func expectNotify(t *testing.T, rc *rawConn, who, group string, within time.Duration) time.Time {
	t.Helper()
	n, at := rc.waitIncoming(wire.NotifyConsumerIdsChanged, within)
	if n == nil {
		t.Fatalf("%s: no NOTIFY_CONSUMER_IDS_CHANGED within %s (other requests received: %d)", who, within, len(rc.takeIncoming(-1)))
	}
	if n.Ext("consumerGroup") != group {
		t.Errorf("%s: notify names group %q, want %q: %s", who, n.Ext("consumerGroup"), group, describeCmd(n))
	}
	if !n.IsOneway() {
		// Java sends it oneway and the Go client never answers it.
		t.Errorf("%s: notify is not flagged oneway: %s", who, describeCmd(n))
	}
	return at
}

func expectConsumerIDs(t *testing.T, b *Broker, group string, want ...string) {
	t.Helper()
	ids, code, err := consumerIDs(b.BrokerAddr, group)
	if err != nil {
		t.Fatalf("GET_CONSUMER_LIST_BY_GROUP %s: %v", group, err)
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("consumer list of %s: %v (code %d), want %v", group, ids, code, want)
	}
}

// TestConsumerJoinAndCloseNotifyGroup: a consumer's heartbeat registers it and notifies every
// member of its group, the new one included; a repeated heartbeat with unchanged subscriptions
// notifies nobody; closing a member's connection removes it at once and notifies the rest.
func TestConsumerJoinAndCloseNotifyGroup(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("cm"), uniqueName("cmG")
	createTopicRaw(t, b, topic, 4)
	idA, idB := "127.0.0.9@"+uniqueName("rawA"), "127.0.0.9@"+uniqueName("rawB")

	a := dialRaw(t, b.BrokerAddr)
	if resp := a.mustCall(heartbeatReq(idA, group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat A: %s", describeCmd(resp))
	}
	expectNotify(t, a, "A after its own join", group, 2*time.Second)
	expectConsumerIDs(t, b, group, idA)

	bc := dialRaw(t, b.BrokerAddr)
	joinedAt := time.Now()
	if resp := bc.mustCall(heartbeatReq(idB, group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat B: %s", describeCmd(resp))
	}
	tookA := expectNotify(t, a, "A after B joined", group, 2*time.Second).Sub(joinedAt)
	expectNotify(t, bc, "B after its own join", group, 2*time.Second)
	t.Logf("B's heartbeat (join) notified A %s after it was sent", tookA.Round(time.Microsecond))
	want := []string{idA, idB}
	if idB < idA {
		want = []string{idB, idA}
	}
	expectConsumerIDs(t, b, group, want...)

	// The same heartbeat again (the client repeats it every 30 s) changes nothing, so it must not
	// make the whole group rebalance. Absence can only be shown over a window: the broker sends
	// notifications right after answering the heartbeat (the joins above arrived in
	// milliseconds), so one second is ample.
	if resp := a.mustCall(heartbeatReq(idA, group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("repeated heartbeat A: %s", describeCmd(resp))
	}
	if n, _ := bc.waitIncoming(wire.NotifyConsumerIdsChanged, time.Second); n != nil {
		t.Errorf("an unchanged heartbeat of A notified B: %s", describeCmd(n))
	}

	// Closing B's connection: B leaves at once and A hears of it within seconds, not at the
	// 120 s expiry.
	closedAt := time.Now()
	bc.Close()
	took := expectNotify(t, a, "A after B's connection closed", group, 5*time.Second).Sub(closedAt)
	t.Logf("close of B's connection notified A after %s", took.Round(time.Microsecond))
	if took > 2*time.Second {
		t.Errorf("A was notified %s after B's connection closed; want within 2 s", took)
	}
	waitFor(t, 5*time.Second, "B removed from the consumer list", func() (bool, string) {
		ids, code, err := consumerIDs(b.BrokerAddr, group)
		return err == nil && len(ids) == 1 && ids[0] == idA, fmt.Sprintf("ids %v code %d err %v (%s after close)", ids, code, err, time.Since(closedAt))
	})

	// Closing the last member empties the group: Java answers an empty list with SYSTEM_ERROR,
	// which the client ignores (REMOTING §5.3).
	a.Close()
	waitFor(t, 5*time.Second, "the group emptied", func() (bool, string) {
		ids, code, err := consumerIDs(b.BrokerAddr, group)
		return err == nil && len(ids) == 0, fmt.Sprintf("ids %v code %d err %v", ids, code, err)
	})
}

// TestConsumerExpiresAfterHeartbeatSilence: with broker.clientExpiry=2s, a consumer whose
// connection stays open but sends no heartbeat is dropped at the next expiry scan (every 10 s),
// its connection is closed, and the remaining member, which keeps heartbeating, is notified and
// stays listed. (The 120 s default is the same code path with a longer setting.)
func TestConsumerExpiresAfterHeartbeatSilence(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	const expiry = 2 * time.Second

	b := startBroker(t, t.TempDir(), "--set", "broker.clientExpiry=2s")
	topic, group := uniqueName("exp"), uniqueName("expG")
	idSilent, idLive := "127.0.0.9@"+uniqueName("silent"), "127.0.0.9@"+uniqueName("live")

	live := dialRaw(t, b.BrokerAddr)
	if resp := live.mustCall(heartbeatReq(idLive, group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat live: %s", describeCmd(resp))
	}
	silent := dialRaw(t, b.BrokerAddr)
	if resp := silent.mustCall(heartbeatReq(idSilent, group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat silent: %s", describeCmd(resp))
	}
	lastSilentBeat := time.Now()
	// Drain the join notifications so the one counted below is the expiry's.
	expectNotify(t, live, "live after silent joined", group, 2*time.Second)
	live.takeIncoming(wire.NotifyConsumerIdsChanged)

	// The live member heartbeats every 500 ms, well inside the 2 s expiry.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_, _ = live.call(heartbeatReq(idLive, group, "CLUSTERING", rawSub{topic, "*"}), 2*time.Second)
			}
		}
	}()

	// Expiry after 2 s of silence, found by a scan that runs every 10 s: allow 2 + 10 + slack.
	waitFor(t, 16*time.Second, "the silent consumer dropped from the list", func() (bool, string) {
		ids, code, err := consumerIDs(b.BrokerAddr, group)
		return err == nil && len(ids) == 1 && ids[0] == idLive, fmt.Sprintf("ids %v code %d err %v", ids, code, err)
	})
	silence := time.Since(lastSilentBeat)
	t.Logf("silent consumer dropped %s after its last heartbeat", silence.Round(time.Millisecond))
	if silence < expiry {
		t.Errorf("silent consumer dropped after %s, before the %s expiry", silence, expiry)
	}
	expectNotify(t, live, "live after the silent member expired", group, 2*time.Second)
	waitFor(t, 5*time.Second, "the broker closes the silent connection", func() (bool, string) {
		return silent.isClosed(), "still open"
	})
	// The live member has now been registered for well over the expiry: heartbeats keep it.
	expectConsumerIDs(t, b, group, idLive)
}
