package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 4: long polling, observed with raw remoting so the broker is measured and not the
// client. A pull is "held" when the broker neither answers it nor fails it: the only way to see
// that from outside is the absence of an answer, so each probe below watches a short window (the
// broker answers a pull it does not hold in well under a millisecond on this machine).

// heldWindow is how long a pull must stay unanswered to count as held.
const heldWindow = 100 * time.Millisecond

// expectHeld fails the test if the pull behind ch is answered within heldWindow.
func expectHeld(t *testing.T, rc *rawConn, ch <-chan *wire.Command, what string) {
	t.Helper()
	if resp, err := rc.await(ch, heldWindow); err == nil {
		t.Fatalf("%s: answered at once instead of being held: %s", what, describeCmd(resp))
	}
}

// expectBothHeld is expectHeld for two pulls over one common window.
func expectBothHeld(t *testing.T, ch1, ch2 <-chan *wire.Command, what string) {
	t.Helper()
	timer := time.NewTimer(heldWindow)
	defer timer.Stop()
	select {
	case resp := <-ch1:
		t.Fatalf("%s: first pull answered at once instead of being held: %s", what, describeCmd(resp))
	case resp := <-ch2:
		t.Fatalf("%s: second pull answered at once instead of being held: %s", what, describeCmd(resp))
	case <-timer.C:
	}
}

// startPull sends a suspendable pull and fails the test on a write error.
func startPull(t *testing.T, rc *rawConn, group, topic string, q int, offset int64, suspend time.Duration) <-chan *wire.Command {
	t.Helper()
	ch, err := rc.start(pullReq(group, topic, q, offset, pullFlagSuspend, suspend, ""))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestHeldPullCaps: with broker.maxHeldPullsPerConn=2 and broker.maxHeldPulls=3, a third pull on
// one connection and a fourth in the broker are answered at once with SYSTEM_BUSY (2) while the
// others stay held; a held pull answered by an arrival, or a closed connection, frees its slot.
func TestHeldPullCaps(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	const suspend = 15 * time.Second

	b := startBroker(t, t.TempDir(), "--set", "broker.maxHeldPullsPerConn=2", "--set", "broker.maxHeldPulls=3")
	topic, group := uniqueName("cap"), uniqueName("capG")
	createTopicRaw(t, b, topic, 8)

	// The group's subscription is registered by a heartbeat on its own connection, which stays
	// open: closing a consumer's connection unregisters it, and pulls of an unregistered group
	// fail with SUBSCRIPTION_NOT_EXIST.
	reg := dialRaw(t, b.BrokerAddr)
	if resp := reg.mustCall(heartbeatReq("127.0.0.9@"+uniqueName("capA"), group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat: %s", describeCmd(resp))
	}
	a := dialRaw(t, b.BrokerAddr)
	busy := func(rc *rawConn, q int, what string) {
		t.Helper()
		start := time.Now()
		resp := rc.mustCall(pullReq(group, topic, q, 0, pullFlagSuspend, suspend, ""), 5*time.Second)
		took := time.Since(start)
		if resp.Code != wire.SystemBusy {
			t.Fatalf("%s: pull over the cap answered %s, want SYSTEM_BUSY (2)", what, describeCmd(resp))
		}
		t.Logf("%s: SYSTEM_BUSY after %s (%q)", what, took.Round(time.Microsecond), resp.Remark)
		if took > time.Second {
			t.Errorf("%s: the pull over the cap took %s to be answered; want at once", what, took)
		}
	}

	// Two held pulls on connection A (queues 0 and 1), the third on A is refused.
	a0 := startPull(t, a, group, topic, 0, 0, suspend)
	a1 := startPull(t, a, group, topic, 1, 0, suspend)
	expectBothHeld(t, a0, a1, "A q0 and q1")
	busy(a, 2, "3rd pull on connection A (per-connection cap 2)")

	// A third held pull on another connection fills the broker-wide cap of 3; a fourth anywhere
	// is refused.
	bc := dialRaw(t, b.BrokerAddr)
	b3 := startPull(t, bc, group, topic, 3, 0, suspend)
	expectHeld(t, bc, b3, "B q3")
	c := dialRaw(t, b.BrokerAddr)
	busy(c, 4, "4th pull in the broker on connection C (total cap 3)")

	// A message on queue 0 answers A's first pull with the message; that frees one slot on A.
	sender := dialRaw(t, b.BrokerAddr)
	rawSend(t, sender, topic, 0, "", nil, []byte("wake q0"))
	resp, err := a.await(a0, 2*time.Second)
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("held pull on q0 after a message landed: err %v, %s", err, describeCmd(resp))
	}
	if recs, err := wire.DecodeRecords(resp.Body); err != nil || len(recs) != 1 {
		t.Fatalf("held pull on q0: body decodes to %d records, err %v", len(recs), err)
	}
	a5 := startPull(t, a, group, topic, 5, 0, suspend)
	expectHeld(t, a, a5, "A q5 after q0 was answered")
	busy(c, 6, "pull on C while A holds 2 and B holds 1")

	// Closing A releases its two held pulls: C can then hold one. The broker learns of the close
	// asynchronously, so retry with a short suspension until the pull is held rather than
	// refused; a held one is answered NO_NEW_MESSAGE (19) when its 500 ms run out.
	a.Close()
	waitFor(t, 10*time.Second, "a pull on C held after A closed", func() (bool, string) {
		start := time.Now()
		resp, err := c.call(pullReq(group, topic, 6, 0, pullFlagSuspend, 500*time.Millisecond, ""), 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		took := time.Since(start)
		return resp.Code == wire.PullNotFound && took >= 400*time.Millisecond, fmt.Sprintf("%s after %s", describeCmd(resp), took)
	})
}

// TestLongPollLatency: each held pull is answered within 50 ms of a message landing on its queue,
// measured from just before the send (p99 of 100 samples, max within 100 ms); two pulls held on one queue from two connections are both
// woken; and a held pull on an idle queue is answered NO_NEW_MESSAGE at its timeout, unaffected by
// arrivals on other queues.
func TestLongPollLatency(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const trials = 50
	const limit = 50 * time.Millisecond

	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("lp"), uniqueName("lpG")
	createTopicRaw(t, b, topic, 2)

	p1, p2, sender := dialRaw(t, b.BrokerAddr), dialRaw(t, b.BrokerAddr), dialRaw(t, b.BrokerAddr)
	if resp := p1.mustCall(heartbeatReq("127.0.0.9@"+uniqueName("lp"), group, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat: %s", describeCmd(resp))
	}

	// The idle queue 1: one pull held for 2 s across the first trials.
	idleStart := time.Now()
	idle := startPull(t, p2, group, topic, 1, 0, 2*time.Second)
	type answer struct {
		resp *wire.Command
		err  error
		at   time.Time
	}
	idleAnswer := make(chan answer, 1)
	go func() {
		resp, err := p2.await(idle, 10*time.Second)
		idleAnswer <- answer{resp, err, time.Now()}
	}()

	var fromSend, fromSendResp []time.Duration
	for i := 0; i < trials; i++ {
		off := int64(i)
		h1 := startPull(t, p1, group, topic, 0, off, 5*time.Second)
		h2 := startPull(t, p2, group, topic, 0, off, 5*time.Second)
		expectBothHeld(t, h1, h2, fmt.Sprintf("trial %d", i))

		t0 := time.Now()
		got := rawSend(t, sender, topic, 0, "", map[string]string{"trial": strconv.Itoa(i)}, []byte("latency probe"))
		tSent := time.Now()
		if got != off {
			t.Fatalf("trial %d: message stored at offset %d, want %d", i, got, off)
		}
		for k, h := range []struct {
			rc *rawConn
			ch <-chan *wire.Command
		}{{p1, h1}, {p2, h2}} {
			resp, err := h.rc.await(h.ch, 3*time.Second)
			tResp := time.Now()
			if err != nil || resp.Code != wire.Success {
				t.Fatalf("trial %d pull %d: err %v, %s", i, k+1, err, describeCmd(resp))
			}
			recs, err := wire.DecodeRecords(resp.Body)
			if err != nil || len(recs) != 1 || recs[0].QueueOffset != off {
				t.Fatalf("trial %d pull %d: %d records (err %v), want the one at offset %d", i, k+1, len(recs), err, off)
			}
			fromSend = append(fromSend, tResp.Sub(t0))
			fromSendResp = append(fromSendResp, tResp.Sub(tSent))
		}
	}
	med, p99, worst := percentile(fromSend, 50), percentile(fromSend, 99), percentile(fromSend, 100)
	t.Logf("held pull answered after a send (%d samples, measured from just before the send): median %s, p99 %s, max %s",
		len(fromSend), med.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond))
	t.Logf("measured from the send's response instead: median %s, max %s",
		percentile(fromSendResp, 50).Round(time.Microsecond), percentile(fromSendResp, 100).Round(time.Microsecond))
	// p99 of 100 samples forgives one outlier (a scheduling hiccup of this 2-core machine under
	// the parallel tests); the max still has a ceiling so a systematic delay cannot hide.
	if p99 > limit {
		t.Errorf("held pulls: p99 %s after the send; want at most %s", p99, limit)
	}
	if worst > 2*limit {
		t.Errorf("a held pull took %s after the send to be answered; want at most %s", worst, 2*limit)
	}

	// The idle pull: 50 arrivals on queue 0 did not wake it; it is answered at its 2 s timeout.
	ia := <-idleAnswer
	took := ia.at.Sub(idleStart)
	if ia.err != nil || ia.resp.Code != wire.PullNotFound {
		t.Fatalf("idle held pull: err %v, %s; want NO_NEW_MESSAGE (19)", ia.err, describeCmd(ia.resp))
	}
	t.Logf("idle held pull with a 2 s timeout answered after %s", took.Round(time.Millisecond))
	if took < 2*time.Second-50*time.Millisecond || took > 3*time.Second {
		t.Errorf("idle held pull answered after %s; want at its 2 s timeout", took)
	}
}
