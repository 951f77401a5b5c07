package broker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func fastLevels(c *broker.Config) {
	c.MessageDelayLevel = "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseDelayLevels(t *testing.T) {
	levels, err := broker.ParseDelayLevels(broker.DefaultDelayLevels)
	if err != nil || len(levels) != 18 || levels[0] != time.Second || levels[17] != 2*time.Hour || levels[4] != time.Minute {
		t.Fatalf("levels %v, %v", levels, err)
	}
	if l, err := broker.ParseDelayLevels("2d 500s"); err != nil || l[0] != 48*time.Hour {
		t.Fatalf("%v %v", l, err)
	}
	for _, bad := range []string{"", "5", "5x", "-1s", "0s", "s"} {
		if _, err := broker.ParseDelayLevels(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestDelayedMessageIsDeliveredWhenDueNotBefore(t *testing.T) {
	e := newEnv(t, fastLevels)
	ctx := context.Background()
	req := sendReq("D", "", "later")
	req.Properties["DELAY"] = "1"
	sent := time.Now()
	res, err := e.b.Send(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, max := e.store.QueueBounds(topic.QueueRef{Topic: "D", QueueID: 0}); max != 0 {
		t.Fatal("a delayed message is visible at once")
	}
	held, _ := e.store.Message(ctx, res.Appended[0].PhysicalOffset)
	if held.Topic != topic.ScheduleTopic || held.QueueID != 0 || held.Properties["REAL_TOPIC"] != "D" {
		t.Fatalf("held as %s/%d %v", held.Topic, held.QueueID, held.Properties)
	}
	waitFor(t, "delivery", 5*time.Second, func() bool {
		_, max := e.store.QueueBounds(topic.QueueRef{Topic: "D", QueueID: 0})
		return max == 1
	})
	// Due is the store timestamp plus the delay, and store timestamps are whole milliseconds
	// (the protocol's), up to 1 ms before the instant the test took as the send.
	if el := time.Since(sent.Truncate(time.Millisecond)); el < time.Second {
		t.Fatalf("delivered %v after the send's millisecond, before the 1 s delay", el)
	}
	units, _ := e.store.Lookup(ctx, topic.QueueRef{Topic: "D", QueueID: 0}, 0, 1, nil)
	got, _ := e.store.Message(ctx, units[0].PhyOffset)
	if string(got.Body) != "later" || got.Properties["DELAY"] != "" || got.Properties["KEYS"] != "k1 k2" {
		t.Fatalf("delivered %q %v", got.Body, got.Properties)
	}
}

func TestPendingDelayedMessagesSurviveRestart(t *testing.T) {
	st, meta := memory.New(), memory.NewMetaStore()
	e := newEnvOn(t, st, meta, func(c *broker.Config) { c.MessageDelayLevel = "1h 2s" })
	ctx := context.Background()
	req := sendReq("R", "", "x")
	req.Properties["DELAY"] = "2"
	if _, err := e.b.Send(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	levels := func(c *broker.Config) { c.MessageDelayLevel = "1h 2s" }
	e2 := newEnvOn(t, st, meta, levels)
	q := topic.QueueRef{Topic: "R", QueueID: 0}
	waitFor(t, "delivery after restart", 6*time.Second, func() bool {
		_, max := st.QueueBounds(q)
		return max == 1
	})
	if err := e2.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Load(ctx, "delayOffset.json"); err != nil {
		t.Fatalf("delay progress was not persisted at shutdown: %v", err)
	}
	// Progress persisted: after a third start the level delivers only what came after. A level
	// delivers in order, so once a later message arrives a re-delivery would already be there.
	e3 := newEnvOn(t, st, meta, levels)
	later := sendReq("R", "", "later")
	later.Properties["DELAY"] = "2"
	if _, err := e3.b.Send(ctx, later); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the later delivery", 6*time.Second, func() bool {
		_, max := st.QueueBounds(q)
		return max >= 2
	})
	if _, max := st.QueueBounds(q); max != 2 {
		t.Fatalf("queue holds %d records: the first delayed message was delivered twice", max)
	}
}

func TestSendBackRetriesThenDeadLetters(t *testing.T) {
	e := newEnv(t, fastLevels)
	ctx := context.Background()
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "S", "*")); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Send(ctx, sendReq("S", "TagA", "payload"))
	if err != nil {
		t.Fatal(err)
	}
	phy := res.Appended[0].PhysicalOffset
	retry := topic.QueueRef{Topic: "%RETRY%g", QueueID: 0}
	for round := 1; round <= 2; round++ {
		if err := e.b.SendBack(ctx, &inbound.SendBackRequest{Group: "g", PhyOffset: phy, OriginMsgID: "ID1", MaxReconsumeTimes: 2}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "retry delivery", 5*time.Second, func() bool { _, max := e.store.QueueBounds(retry); return max == int64(round) })
		units, _ := e.store.Lookup(ctx, retry, int64(round-1), 1, nil)
		m, _ := e.store.Message(ctx, units[0].PhyOffset)
		if m.ReconsumeTimes != int32(round) || m.Properties["RETRY_TOPIC"] != "S" || m.Properties["ORIGIN_MESSAGE_ID"] != "ID1" || string(m.Body) != "payload" {
			t.Fatalf("retry %d: reconsume %d props %v", round, m.ReconsumeTimes, m.Properties)
		}
		phy = units[0].PhyOffset
	}
	// Reconsumed twice with a limit of 2: the next failure dead-letters it, at once.
	if err := e.b.SendBack(ctx, &inbound.SendBackRequest{Group: "g", PhyOffset: phy, MaxReconsumeTimes: 2}); err != nil {
		t.Fatal(err)
	}
	dlq := topic.QueueRef{Topic: "%DLQ%g", QueueID: 0}
	if _, max := e.store.QueueBounds(dlq); max != 1 {
		t.Fatal("not dead-lettered")
	}
	units, _ := e.store.Lookup(ctx, dlq, 0, 1, nil)
	m, _ := e.store.Message(ctx, units[0].PhyOffset)
	if m.Properties["KEYS"] != "k1 k2" || m.Properties["TAGS"] != "TagA" || m.Properties["DLQ_ORIGIN_TOPIC"] != "S" || m.ReconsumeTimes != 3 {
		t.Fatalf("dead letter %v reconsume %d", m.Properties, m.ReconsumeTimes)
	}
	found := false
	for _, c := range e.b.Topics() {
		found = found || (c.Name == "%DLQ%g" && c.Readable())
	}
	if !found {
		t.Fatal("DLQ topic missing or unreadable")
	}
	// An orderly consumer's give-up (negative level) dead-letters at once.
	if err := e.b.SendBack(ctx, &inbound.SendBackRequest{Group: "g", PhyOffset: res.Appended[0].PhysicalOffset, DelayLevel: -1, MaxReconsumeTimes: -1}); err != nil {
		t.Fatal(err)
	}
	if _, max := e.store.QueueBounds(dlq); max != 2 {
		t.Fatal("negative delay level did not dead-letter")
	}
}

func TestDirectSendToRetryTopicFollowsRocketMQsLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "S", "*")); err != nil {
		t.Fatal(err)
	}
	req := sendReq("%RETRY%g", "", "x")
	req.MaxReconsumeTimes = 0 // what the Go client always sends
	if _, err := e.b.Send(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, max := e.store.QueueBounds(topic.QueueRef{Topic: "%DLQ%g", QueueID: 0}); max != 1 {
		t.Fatal("reconsume 0 >= limit 0 must dead-letter, as RocketMQ does")
	}
	req = sendReq("%RETRY%unknown", "", "x")
	if _, err := e.b.Send(ctx, req); !errors.Is(err, errs.ErrSubscriptionGroupNotExist) {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestQueueLocksAreExclusiveUntilTheLeaseLapses(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.LockLease = 200 * time.Millisecond })
	ctx := context.Background()
	qs := []inbound.MessageQueue{{Topic: "T", BrokerName: "broker-a", QueueID: 0}, {Topic: "T", BrokerName: "broker-a", QueueID: 1}}
	got, err := e.b.LockQueues(ctx, "g", "c1", qs)
	if err != nil || len(got) != 2 {
		t.Fatalf("c1 lock: %v %v", got, err)
	}
	if got, _ := e.b.LockQueues(ctx, "g", "c2", qs); len(got) != 0 {
		t.Fatalf("c2 got %v while c1 holds them", got)
	}
	if got, _ := e.b.LockQueues(ctx, "other", "c2", qs); len(got) != 2 {
		t.Fatal("locks leak across groups")
	}
	if err := e.b.UnlockQueues(ctx, "g", "c2", qs[:1]); err != nil { // not c2's: no effect
		t.Fatal(err)
	}
	if err := e.b.UnlockQueues(ctx, "g", "c1", qs[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.b.LockQueues(ctx, "g", "c2", qs); len(got) != 1 || got[0].QueueID != 0 {
		t.Fatalf("after unlock c2 got %v", got)
	}
	waitFor(t, "lease lapse", 3*time.Second, func() bool {
		got, _ := e.b.LockQueues(ctx, "g", "c2", qs)
		return len(got) == 2
	})
}

func TestHeldPullsAreCapped(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.MaxHeldPullsPerConn = 1; c.MaxHeldPulls = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := e.b.Send(ctx, sendReq("H", "", "x")); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "H", "*")); err != nil {
		t.Fatal(err)
	}
	hold := func(conn uint64, q int32) chan error {
		done := make(chan error, 1)
		go func() {
			r := pullReq("g", "H", 0, time.Minute)
			r.QueueID, r.ConnID = q, conn
			_, err := e.b.Pull(ctx, r)
			done <- err
		}()
		return done
	}
	a := hold(1, 1)
	waitFor(t, "first hold", 2*time.Second, func() bool { return e.b.HeldPulls() == 1 })
	if err := <-hold(1, 2); !errors.Is(err, errs.ErrSystemBusy) {
		t.Fatalf("second pull on the same connection: %v", err)
	}
	b := hold(2, 2)
	waitFor(t, "second hold", 2*time.Second, func() bool { return e.b.HeldPulls() == 2 })
	if err := <-hold(3, 3); !errors.Is(err, errs.ErrSystemBusy) {
		t.Fatalf("pull over the total cap: %v", err)
	}
	cancel()
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if n := e.b.HeldPulls(); n != 0 {
		t.Fatalf("%d pulls still counted as held", n)
	}
}

func TestHeldPullAnsweredSoonAfterArrival(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "W", "*")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Send(ctx, sendReq("W", "", "seed")); err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	for i := int64(1); i <= 50; i++ {
		done := make(chan time.Time, 1)
		go func() {
			if _, err := e.b.Pull(ctx, pullReq("g", "W", i, 10*time.Second)); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		waitFor(t, "hold", 2*time.Second, func() bool { return e.b.HeldPulls() == 1 })
		sent := time.Now()
		if _, err := e.b.Send(ctx, sendReq("W", "", "x")); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, (<-done).Sub(sent))
	}
	t.Logf("worst wake-up after arrival over 50 pulls: %v", worst)
	if worst > 50*time.Millisecond {
		t.Fatalf("a held pull was answered %v after its message landed, over 50 ms", worst)
	}
}

func TestTagCollisionIsSettledByTheTagString(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// "Aa" and "BB" share Java's String.hashCode.
	for _, tag := range []string{"Aa", "BB", "Aa"} {
		if _, err := e.b.Send(ctx, sendReq("C", tag, tag)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "C", "Aa")); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Pull(ctx, pullReq("g", "C", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := wire.DecodeRecords(res.Body)
	if len(recs) != 2 || res.NextBeginOffset != 3 {
		t.Fatalf("got %d records, next %d", len(recs), res.NextBeginOffset)
	}
	for _, r := range recs {
		if string(r.Body) != "Aa" {
			t.Fatalf("a colliding tag went over the wire: %q", r.Body)
		}
	}
}

func TestNewGroupStartRuleFollowsHotData(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.HotLogBytes = 1 })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := e.b.Send(ctx, sendReq("Hot", "", "some bytes")); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, _ := e.b.QueryConsumerOffset(ctx, "g", "Hot", 0); found {
		t.Fatal("a queue whose head is cold must leave the start to the client")
	}
	if off, found, _ := e.b.QueryConsumerOffset(ctx, "g", "Hot", 3); !found || off != 0 {
		t.Fatal("an empty queue starts at 0")
	}
	e2 := newEnv(t, func(c *broker.Config) { c.HotLogBytes = 1 << 30 })
	if _, err := e2.b.Send(ctx, sendReq("Hot", "", "x")); err != nil {
		t.Fatal(err)
	}
	if off, found, _ := e2.b.QueryConsumerOffset(ctx, "g", "Hot", 0); !found || off != 0 {
		t.Fatal("a hot head starts a new group at 0")
	}
}

func TestResetOffsetByTime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.b.Send(ctx, sendReq("Z", "", "old")); err != nil {
		t.Fatal(err)
	}
	// Store timestamps are milliseconds: keep the two sends apart from the reset point.
	time.Sleep(5 * time.Millisecond)
	mid := time.Now().UnixMilli()
	time.Sleep(5 * time.Millisecond)
	if _, err := e.b.Send(ctx, sendReq("Z", "", "new")); err != nil {
		t.Fatal(err)
	}
	if err := e.b.UpdateConsumerOffset(ctx, "g", "Z", 0, 2); err != nil {
		t.Fatal(err)
	}
	offs, err := e.b.ResetOffsetByTime(ctx, "g", "Z", mid, true)
	if err != nil || offs[0] != 1 || len(offs) != 4 {
		t.Fatalf("reset: %v %v", offs, err)
	}
	if off, _, _ := e.b.QueryConsumerOffset(ctx, "g", "Z", 0); off != 1 {
		t.Fatalf("committed %d after reset", off)
	}
	if _, err := e.b.ResetOffsetByTime(ctx, "g", "Nope", mid, true); !errors.Is(err, errs.ErrTopicNotExist) {
		t.Fatalf("unknown topic: %v", err)
	}
}

// faultyStore is the memory store with the faults a damaged or recovered log can show: the
// record at one offset fails verification, one unit of the first delay-level queue is a hole
// unit (what recovery fills a gap with: offset 0, the size no record has), and one unit of
// badQueue (by default that delay-level queue) cannot be looked up.
type faultyStore struct {
	*memory.Store
	corrupt, holeAt, badLookup atomic.Int64
	badQueue                   topic.QueueRef // set before the broker starts
}

func newFaultyStore(badQueue topic.QueueRef) *faultyStore {
	st := &faultyStore{Store: memory.New(), badQueue: badQueue}
	st.corrupt.Store(-1)
	st.holeAt.Store(-1)
	st.badLookup.Store(-1)
	return st
}

func (s *faultyStore) Message(ctx context.Context, phy int64) (message.Ext, error) {
	if phy == s.corrupt.Load() {
		return message.Ext{}, fmt.Errorf("%w: body fails the CRC", storage.ErrCorrupt)
	}
	return s.Store.Message(ctx, phy)
}

func (s *faultyStore) Lookup(ctx context.Context, q topic.QueueRef, from int64, n int, dst []storage.Unit) ([]storage.Unit, error) {
	if bad := s.badLookup.Load(); q == s.badQueue && bad >= from && bad < from+int64(n) {
		if from == bad { // as the mmap store answers for a unit whose queue file is gone
			return dst, fmt.Errorf("%w: no queue file for offset %d", storage.ErrCorrupt, from)
		}
		n = int(bad - from) // the units before it
	}
	start := len(dst)
	dst, err := s.Store.Lookup(ctx, q, from, n, dst)
	if h := s.holeAt.Load(); q == (topic.QueueRef{Topic: topic.ScheduleTopic}) && h >= from && h < from+int64(len(dst)-start) {
		dst[start+int(h-from)] = storage.Unit{PhyOffset: 0, Size: math.MaxInt32}
	}
	return dst, err
}

// A delay level's queue with an unreadable record, a hole unit or a unit it cannot look up goes
// on past it: the record that fails verification once stopped its level for good (every later
// delayed message and every retry mapped to it), and a hole unit delivered the record at log
// offset 0 again, to whatever topic that record named (found in review).
func TestDelayLevelSkipsUnreadableRecordsAndHoles(t *testing.T) {
	for _, fault := range []string{"corrupt", "hole", "lookup"} {
		t.Run(fault, func(t *testing.T) {
			st := newFaultyStore(topic.QueueRef{Topic: topic.ScheduleTopic})
			b, _ := startBroker(t, st, memory.NewMetaStore(), memory.NewTimerLog(), fastLevels)
			ctx := context.Background()
			var phys []int64
			for _, body := range []string{"m0", "m1", "m2"} {
				req := sendReq("D", "", body)
				req.Properties["DELAY"] = "1"
				res, err := b.Send(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				phys = append(phys, res.Appended[0].PhysicalOffset)
			}
			switch fault {
			case "corrupt":
				st.corrupt.Store(phys[1])
			case "hole":
				st.holeAt.Store(1)
			case "lookup":
				st.badLookup.Store(1)
			}
			q := topic.QueueRef{Topic: "D", QueueID: 0}
			var got []string
			// A level delivers in queue order, so whatever the faulty unit produced comes before m2.
			waitFor(t, "m2 delivered", 6*time.Second, func() bool {
				units, _ := st.Lookup(ctx, q, 0, 10, nil)
				got = got[:0]
				for _, u := range units {
					m, _ := st.Store.Message(ctx, u.PhyOffset)
					got = append(got, string(m.Body))
				}
				return len(got) > 0 && got[len(got)-1] == "m2"
			})
			if len(got) != 2 || got[0] != "m0" {
				t.Fatalf("delivered %v, want [m0 m2]", got)
			}
		})
	}
}
