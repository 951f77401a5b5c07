package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
)

// A timer-queue unit the store cannot give (a damaged or missing queue file) is skipped: it was
// retried every second for ever, and no later timer message was ever filed.
func TestTimerEnqueueSkipsAUnitItCannotLookUp(t *testing.T) {
	st := newFaultyStore(topic.QueueRef{Topic: broker.TimerTopic})
	st.badLookup.Store(1)
	b, _ := startBroker(t, st, memory.NewMetaStore(), memory.NewTimerLog())
	ctx := context.Background()
	for _, body := range []string{"t0", "t1", "t2"} {
		r := sendReq("Timed", "", body)
		r.Properties["TIMER_DELAY_MS"] = "100"
		if _, err := b.Send(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	waitFor(t, "t2 delivered", 6*time.Second, func() bool {
		got = bodiesIn(st, "Timed")
		return slices.Contains(got, "t2")
	})
	if slices.Sort(got); !slices.Equal(got, []string{"t0", "t2"}) {
		t.Fatalf("delivered %v, want t0 and t2 (t1's unit cannot be read)", got)
	}
}

// A half-queue unit the store cannot give is skipped by the transaction check: the check stopped
// at it on every pass, and no later half message was ever checked back.
func TestTransactionCheckSkipsAHalfUnitItCannotLookUp(t *testing.T) {
	st := newFaultyStore(topic.QueueRef{Topic: topic.TransHalfTopic})
	st.badLookup.Store(0)
	b, _ := startBroker(t, st, memory.NewMetaStore(), memory.NewTimerLog(), func(c *broker.Config) {
		c.TransactionTimeout = 50 * time.Millisecond
		c.TransactionCheckInterval = 20 * time.Millisecond
	})
	ctx := context.Background()
	producer := &fakeChannel{id: 7}
	if err := b.Heartbeat(ctx, producer, &inbound.Heartbeat{ClientID: "p", ProducerGroups: []string{"tpg"}}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"h0", "h1"} {
		if _, err := b.Send(ctx, txReq("Tx", body)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a check-back of h1", 5*time.Second, func() bool {
		producer.mu.Lock()
		defer producer.mu.Unlock()
		return slices.ContainsFunc(producer.checks, func(c outbound.TransactionCheck) bool { return string(c.Message.Body) == "h1" })
	})
}

// A broker starts past op-queue entries it cannot read (a unit it cannot look up, a record that
// fails verification): one unreadable op stopped it from starting at all. The decisions those
// entries held are lost, so their transactions are open again; the others stay decided.
func TestTransactionOpsLoadPastUnreadableEntries(t *testing.T) {
	st := newFaultyStore(topic.QueueRef{Topic: topic.TransOpHalfTopic})
	meta, tl := memory.NewMetaStore(), memory.NewTimerLog()
	e := &env{store: st.Store, meta: meta}
	e.b, e.ns = startBroker(t, st, meta, tl)
	ctx := context.Background()
	var sent []*inbound.SendResult
	for _, body := range []string{"a", "b", "c"} {
		res, err := e.b.Send(ctx, txReq("Tx", body))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, res)
	}
	for _, res := range sent {
		end(t, e, res, broker.TxDecisionRollback)
	}
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	ops := topic.QueueRef{Topic: topic.TransOpHalfTopic}
	units, err := st.Store.Lookup(ctx, ops, 0, 10, nil)
	if err != nil || len(units) != 3 {
		t.Fatalf("op queue: %d units, %v; want one per decision", len(units), err)
	}
	st.badLookup.Store(0)
	st.corrupt.Store(units[1].PhyOffset)
	e.b, e.ns = startBroker(t, st, meta, tl)
	end(t, e, sent[0], broker.TxDecisionCommit) // its rollback was lost: open again
	end(t, e, sent[2], broker.TxDecisionCommit) // rolled back before the restart: ignored
	if got := bodiesIn(st, "Tx"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("visible %v, want only a", got)
	}
}
