package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
)

func txReq(topicName, body string) *inbound.SendRequest {
	r := sendReq(topicName, "", body)
	r.SysFlag = 4
	r.Properties["TRAN_MSG"] = "true"
	r.Properties["PGROUP"] = "tpg"
	r.Properties["UNIQ_KEY"] = "UNIQ-" + body
	return r
}

func visible(e *env, topicName string) int64 {
	var n int64
	for q := int32(0); q < 4; q++ {
		_, max := e.store.QueueBounds(topic.QueueRef{Topic: topicName, QueueID: q})
		n += max
	}
	return n
}

func end(t *testing.T, e *env, res *inbound.SendResult, decision int32) {
	t.Helper()
	err := e.b.EndTransaction(context.Background(), &inbound.EndTransactionRequest{ProducerGroup: "tpg",
		HalfOffset: res.Appended[0].QueueOffset, CommitLogOffset: res.Appended[0].PhysicalOffset, Decision: decision})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCommitShowsOnceAndRollbackNever(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.b.Send(ctx, txReq("Tx", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if a.TransactionID != "UNIQ-a" {
		t.Fatalf("transaction id %q", a.TransactionID)
	}
	b, _ := e.b.Send(ctx, txReq("Tx", "b"))
	if n := visible(e, "Tx"); n != 0 {
		t.Fatalf("%d half messages visible before a decision", n)
	}
	end(t, e, a, broker.TxDecisionCommit)
	end(t, e, a, broker.TxDecisionCommit)   // repeated: ignored
	end(t, e, a, broker.TxDecisionRollback) // too late: ignored
	end(t, e, b, broker.TxDecisionRollback)
	end(t, e, b, broker.TxDecisionCommit) // too late: ignored
	if n := visible(e, "Tx"); n != 1 {
		t.Fatalf("%d messages visible, want exactly the committed one", n)
	}
	for q := int32(0); q < 4; q++ {
		units, _ := e.store.Lookup(ctx, topic.QueueRef{Topic: "Tx", QueueID: q}, 0, 1, nil)
		if len(units) == 0 {
			continue
		}
		m, _ := e.store.Message(ctx, units[0].PhyOffset)
		if string(m.Body) != "a" || m.Properties["TRAN_MSG"] != "" || m.Properties["REAL_TOPIC"] != "" ||
			m.SysFlag&0xC != 8 || m.PreparedTransactionOffset != a.Appended[0].PhysicalOffset || m.Properties["PGROUP"] != "tpg" {
			t.Fatalf("committed message %+v", m)
		}
	}
	// A decision naming the wrong group or a record that is not a half message is refused.
	if err := e.b.EndTransaction(ctx, &inbound.EndTransactionRequest{ProducerGroup: "other",
		HalfOffset: 5, CommitLogOffset: a.Appended[0].PhysicalOffset, Decision: broker.TxDecisionCommit}); err == nil {
		t.Fatal("wrong group accepted")
	}
}

func TestUndecidedTransactionIsCheckedBackThenResolved(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) {
		c.TransactionTimeout = 50 * time.Millisecond
		c.TransactionCheckInterval = 20 * time.Millisecond
	})
	ctx := context.Background()
	producer := &fakeChannel{id: 7}
	if err := e.b.Heartbeat(ctx, producer, &inbound.Heartbeat{ClientID: "p", ProducerGroups: []string{"tpg"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Send(ctx, txReq("Tx", "u")); err != nil {
		t.Fatal(err)
	}
	var chk outbound.TransactionCheck
	waitFor(t, "a check-back", 5*time.Second, func() bool {
		producer.mu.Lock()
		defer producer.mu.Unlock()
		if len(producer.checks) > 0 {
			chk = producer.checks[0]
			return true
		}
		return false
	})
	if chk.Message.Properties["REAL_TOPIC"] != "Tx" || string(chk.Message.Body) != "u" || chk.Message.Properties["TRANSACTION_CHECK_TIMES"] != "1" {
		t.Fatalf("check carries %+v", chk.Message)
	}
	err := e.b.EndTransaction(ctx, &inbound.EndTransactionRequest{ProducerGroup: "tpg", HalfOffset: chk.HalfOffset,
		CommitLogOffset: chk.CommitLogOffset, Decision: broker.TxDecisionCommit, FromCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := visible(e, "Tx"); n != 1 {
		t.Fatalf("%d visible after the check-back commit", n)
	}
	// Decided: no further checks of it.
	producer.mu.Lock()
	before := len(producer.checks)
	producer.mu.Unlock()
	time.Sleep(200 * time.Millisecond) // absence can only be observed over time: ten check intervals
	producer.mu.Lock()
	after := len(producer.checks)
	producer.mu.Unlock()
	if after > before+1 { // one check may have been in flight when the decision landed
		t.Fatalf("checked %d more times after the decision", after-before)
	}
}

func TestTransactionDiscardedAfterMaxChecks(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) {
		c.TransactionTimeout = 10 * time.Millisecond
		c.TransactionCheckInterval = 10 * time.Millisecond
		c.TransactionCheckMax = 2
	})
	ctx := context.Background()
	if _, err := e.b.Send(ctx, txReq("Tx", "lost")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the discard", 5*time.Second, func() bool {
		_, max := e.store.QueueBounds(topic.QueueRef{Topic: topic.TransCheckMaxTimeTopc, QueueID: 0})
		return max == 1
	})
	if n := visible(e, "Tx"); n != 0 {
		t.Fatal("a discarded transaction became visible")
	}
}

func TestDecisionAfterRestartApplies(t *testing.T) {
	st, meta := memory.New(), memory.NewMetaStore()
	e := newEnvOn(t, st, meta)
	ctx := context.Background()
	a, err := e.b.Send(ctx, txReq("Tx", "r"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.b.Send(ctx, txReq("Tx", "s"))
	end(t, e, b, broker.TxDecisionCommit)
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOn(t, st, meta)
	end(t, e2, b, broker.TxDecisionCommit) // decided before the restart: still ignored
	end(t, e2, a, broker.TxDecisionCommit)
	if n := visible(e2, "Tx"); n != 2 {
		t.Fatalf("%d visible, want 2", n)
	}
}

func TestLateDecisionForACheckedCopyStillApplies(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) {
		c.TransactionTimeout = 10 * time.Millisecond
		c.TransactionCheckInterval = 10 * time.Millisecond
	})
	ctx := context.Background()
	producer := &fakeChannel{id: 9}
	if err := e.b.Heartbeat(ctx, producer, &inbound.Heartbeat{ClientID: "p", ProducerGroups: []string{"tpg"}}); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Send(ctx, txReq("Tx", "late"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two check copies", 5*time.Second, func() bool {
		producer.mu.Lock()
		defer producer.mu.Unlock()
		return len(producer.checks) >= 2
	})
	// The producer finally answers for the original send, long superseded by copies.
	end(t, e, res, broker.TxDecisionCommit)
	if n := visible(e, "Tx"); n != 1 {
		t.Fatalf("%d visible after a late commit, want 1", n)
	}
	// And answering a check copy afterwards changes nothing.
	producer.mu.Lock()
	chk := producer.checks[len(producer.checks)-1]
	producer.mu.Unlock()
	if err := e.b.EndTransaction(ctx, &inbound.EndTransactionRequest{ProducerGroup: "tpg", HalfOffset: chk.HalfOffset,
		CommitLogOffset: chk.CommitLogOffset, Decision: broker.TxDecisionCommit, FromCheck: true}); err != nil {
		t.Fatal(err)
	}
	if n := visible(e, "Tx"); n != 1 {
		t.Fatalf("%d visible after the copy was answered too, want 1", n)
	}
}

func TestDecisionMustNameARealHalfMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	half, _ := e.b.Send(ctx, txReq("Tx", "h"))
	plain, _ := e.b.Send(ctx, sendReq("Other", "", "not a half message"))
	for _, req := range []*inbound.EndTransactionRequest{
		{ProducerGroup: "tpg", HalfOffset: half.Appended[0].QueueOffset, CommitLogOffset: plain.Appended[0].PhysicalOffset, Decision: broker.TxDecisionCommit},
		{ProducerGroup: "tpg", HalfOffset: 99, CommitLogOffset: half.Appended[0].PhysicalOffset, Decision: broker.TxDecisionCommit},
		{ProducerGroup: "tpg", HalfOffset: half.Appended[0].QueueOffset, CommitLogOffset: half.Appended[0].PhysicalOffset + 88, Decision: broker.TxDecisionCommit},
	} {
		if err := e.b.EndTransaction(ctx, req); err == nil {
			t.Errorf("decision %+v accepted", req)
		}
	}
	if n := visible(e, "Tx"); n != 0 {
		t.Fatal("a forged decision committed something")
	}
}

func TestTransactionWithATimerIsRefused(t *testing.T) {
	e := newEnv(t)
	r := txReq("Tx", "t")
	r.Properties["TIMER_DELAY_SEC"] = "10"
	if _, err := e.b.Send(context.Background(), r); err == nil {
		t.Fatal("a transactional timer message was accepted")
	}
}

func TestImmuneHalfMessageDoesNotBlockLaterChecks(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) {
		c.TransactionTimeout = 10 * time.Millisecond
		c.TransactionCheckInterval = 10 * time.Millisecond
	})
	ctx := context.Background()
	producer := &fakeChannel{id: 11}
	if err := e.b.Heartbeat(ctx, producer, &inbound.Heartbeat{ClientID: "p", ProducerGroups: []string{"tpg"}}); err != nil {
		t.Fatal(err)
	}
	immune := txReq("Tx", "immune")
	immune.Properties["CHECK_IMMUNITY_TIME_IN_SECONDS"] = "3600"
	if _, err := e.b.Send(ctx, immune); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Send(ctx, txReq("Tx", "normal")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the normal message's check", 5*time.Second, func() bool {
		producer.mu.Lock()
		defer producer.mu.Unlock()
		for _, c := range producer.checks {
			if string(c.Message.Body) == "normal" {
				return true
			}
		}
		return false
	})
}
