package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Issue point 1: transactions, driven by the official client's TransactionProducer. Half messages
// wait in RMQ_SYS_TRANS_HALF_TOPIC; END_TRANSACTION commit makes a message visible on its real
// topic exactly once, rollback never; an undecided half message is checked back
// (CHECK_TRANSACTION_STATE to a live producer of its group) every transactionCheckInterval once it
// is older than transactionTimeout, at most transactionCheckMax times, then discarded and logged;
// decisions and check progress survive a restart.
//
// The knobs are short (timeout 1 s, interval 1 s) so each test takes seconds. Absence (a rollback
// never shown, no duplicate, no check after a decision) can only be observed over time: each test
// ends with ttTxQuiet, longer than the timeout plus two check intervals, so a lost decision would
// have been checked back, and a duplicate commit delivered, within it.

const ttTxQuiet = 4 * time.Second

// ttTxKnobs are the short transaction settings of these tests.
func ttTxKnobs(extra ...string) []string {
	return ttSet(append([]string{"broker.transactionTimeout=1s", "broker.transactionCheckInterval=1s"}, extra...)...)
}

// ttCheckCommitted compares a delivered committed message with what ttTxMessage sent.
func ttCheckCommitted(t *testing.T, got *primitive.MessageExt, topic, tid, group string) {
	t.Helper()
	var problems []string
	if got.Topic != topic {
		problems = append(problems, fmt.Sprintf("topic %q", got.Topic))
	}
	if !bytes.Equal(got.Body, []byte("tx body of "+tid)) {
		problems = append(problems, fmt.Sprintf("body %q", got.Body))
	}
	if got.GetTags() != "tx" || got.GetKeys() != "key-"+tid {
		problems = append(problems, fmt.Sprintf("tags %q keys %q", got.GetTags(), got.GetKeys()))
	}
	// Java's commit drops TRAN_MSG, REAL_TOPIC and REAL_QID and keeps PGROUP (REMOTING §4.6).
	for _, k := range []string{"TRAN_MSG", "REAL_TOPIC", "REAL_QID", "TRANSACTION_CHECK_TIMES"} {
		if v := got.GetProperty(k); v != "" {
			problems = append(problems, fmt.Sprintf("property %s=%q left on the committed message", k, v))
		}
	}
	if pg := got.GetProperty("PGROUP"); pg != group {
		problems = append(problems, fmt.Sprintf("PGROUP %q, want %q", pg, group))
	}
	if tx := got.SysFlag & 0xC; tx != int32(primitive.TransactionCommitType) {
		problems = append(problems, fmt.Sprintf("sysFlag %#x: transaction type %#x, want commit (0x8)", got.SysFlag, tx))
	}
	if len(problems) > 0 {
		t.Errorf("%s: %s", tid, strings.Join(problems, "; "))
	}
}

// ttExpectOnce asserts tid was delivered exactly once and checks the message.
func ttExpectOnce(t *testing.T, rec *ttRecorder, topic, tid, group string) {
	t.Helper()
	ds := rec.of(tid)
	if len(ds) != 1 {
		t.Errorf("%s delivered %d times, want exactly once", tid, len(ds))
	}
	if len(ds) > 0 {
		ttCheckCommitted(t, ds[0].msg, topic, tid, group)
	}
}

// ttExpectNever asserts tid was never delivered.
func ttExpectNever(t *testing.T, rec *ttRecorder, tid string) {
	t.Helper()
	if ds := rec.of(tid); len(ds) > 0 {
		t.Errorf("%s was rolled back or never committed, yet delivered %d times (first on %s offset %d)",
			tid, len(ds), ds[0].msg.Topic, ds[0].msg.QueueOffset)
	}
}

// ttQuietChecks waits ttTxQuiet and fails if any check-back happened meanwhile (every transaction is
// decided or discarded by then, so the broker has nothing left to ask).
func ttQuietChecks(t *testing.T, plan *ttPlan) {
	t.Helper()
	before := plan.totalChecks()
	time.Sleep(ttTxQuiet)
	if after := plan.totalChecks(); after != before {
		t.Errorf("%d more check-backs during the final %s although every transaction was already decided or discarded", after-before, ttTxQuiet)
	}
}

// TestTransactionCommitAndRollback (a, b): commit is visible exactly once, rollback never; the
// broker never checks back a decided transaction; the store holds one half record and one op
// record per transaction and a real-topic record only for commits.
func TestTransactionCommitAndRollback(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir(), ttTxKnobs()...)
	topic, group := uniqueName("txcommit"), uniqueName("txpg")
	ttCreateTopic(t, b, topic, 4)
	rec := newTTRecorder("tid")
	ttStartConsumer(t, b.NamesrvAddr, topic, rec)

	plan := newTTPlan()
	p, _ := ttStartTxProducer(t, b.NamesrvAddr, group, "p", plan)
	const n = 4
	var commits, rollbacks []string
	for i := range n {
		c, r := fmt.Sprintf("commit-%d", i), fmt.Sprintf("rollback-%d", i)
		plan.set(c, primitive.CommitMessageState, nil) // a check would answer unknown; none may come
		plan.set(r, primitive.RollbackMessageState, nil)
		commits, rollbacks = append(commits, c), append(rollbacks, r)
		ttSendTx(t, p, topic, c, primitive.CommitMessageState)
		ttSendTx(t, p, topic, r, primitive.RollbackMessageState)
	}

	waitFor(t, 30*time.Second, "committed transactions delivered", func() (bool, string) { return rec.has(commits...) })
	ttQuietChecks(t, plan)
	for _, id := range commits {
		ttExpectOnce(t, rec, topic, id, group)
	}
	for _, id := range rollbacks {
		ttExpectNever(t, rec, id)
	}
	for _, id := range append(append([]string{}, commits...), rollbacks...) {
		if cs := plan.checksOf(id); len(cs) > 0 {
			t.Errorf("%s was decided at once, yet checked back: %s", id, ttChecksString(cs, time.Now()))
		}
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != n {
		t.Errorf("real topic holds %d records, want the %d commits only", got, n)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0); got != 2*n {
		t.Errorf("%s holds %d records, want one per transaction (%d)", ttHalfTopic, got, 2*n)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttOpTopic, 0); got != 2*n {
		t.Errorf("%s holds %d records, want one decision per transaction (%d)", ttOpTopic, got, 2*n)
	}
}

// TestTransactionCheckBack (c): ExecuteLocalTransaction answers unknown; the check-back then
// resolves: commit → delivered once, rollback → never, and one that answers unknown twice before
// committing is checked three times and then delivered once. Every check comes no earlier than
// transactionTimeout after the send, carries the check count (TRANSACTION_CHECK_TIMES 1, 2, 3…) and
// the real topic, and none comes after the decision.
func TestTransactionCheckBack(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const timeout = time.Second
	b := startBroker(t, t.TempDir(), ttTxKnobs()...)
	topic, group := uniqueName("txcheck"), uniqueName("txpg")
	ttCreateTopic(t, b, topic, 4)
	rec := newTTRecorder("tid")
	ttStartConsumer(t, b.NamesrvAddr, topic, rec)

	plan := newTTPlan()
	p, _ := ttStartRegisteredTxProducer(t, b.NamesrvAddr, group, "p", topic, "probe", plan)
	plan.set("check-commit", primitive.UnknowState, ttAlways(primitive.CommitMessageState))
	plan.set("check-rollback", primitive.UnknowState, ttAlways(primitive.RollbackMessageState))
	plan.set("check-third", primitive.UnknowState, func(n int) primitive.LocalTransactionState {
		if n < 3 {
			return primitive.UnknowState
		}
		return primitive.CommitMessageState
	})
	ids := []string{"check-commit", "check-rollback", "check-third"}
	sentAt := map[string]time.Time{}
	for _, id := range ids {
		sentAt[id] = time.Now()
		ttSendTx(t, p, topic, id, primitive.UnknowState)
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 1 {
		t.Errorf("right after the undecided sends the real topic holds %d records, want only the probe", got)
	}

	waitFor(t, 40*time.Second, "check-back commits delivered", func() (bool, string) {
		return rec.has("probe", "check-commit", "check-third")
	})
	waitFor(t, 20*time.Second, "check-back rollback answered", func() (bool, string) {
		cs := plan.checksOf("check-rollback")
		return len(cs) > 0 && cs[len(cs)-1].answer == primitive.RollbackMessageState, ttChecksString(cs, sentAt["check-rollback"])
	})
	ttQuietChecks(t, plan)

	ttExpectOnce(t, rec, topic, "probe", group)
	ttExpectOnce(t, rec, topic, "check-commit", group)
	ttExpectOnce(t, rec, topic, "check-third", group)
	ttExpectNever(t, rec, "check-rollback")
	if cs := plan.checksOf("probe"); len(cs) > 0 {
		t.Errorf("the probe was committed at once, yet checked back: %s", ttChecksString(cs, time.Now()))
	}
	for _, id := range ids {
		cs := plan.checksOf(id)
		t.Logf("%s: %s", id, ttChecksString(cs, sentAt[id]))
		if len(cs) == 0 {
			t.Errorf("%s: never checked back", id)
			continue
		}
		if early := cs[0].at.Sub(sentAt[id]); early < timeout-50*time.Millisecond {
			t.Errorf("%s: first check %s after the send, before transactionTimeout (%s)", id, early, timeout)
		}
		for i, c := range cs {
			if c.checkTimes != fmt.Sprint(i+1) {
				t.Errorf("%s: check #%d carries TRANSACTION_CHECK_TIMES=%q, want %d", id, i+1, c.checkTimes, i+1)
			}
			if c.topic != topic {
				t.Errorf("%s: check #%d body has topic %q, want the real topic %q (REMOTING §4.6)", id, i+1, c.topic, topic)
			}
		}
		if last := cs[len(cs)-1]; last.answer == primitive.UnknowState {
			t.Errorf("%s: last check answered unknown; the decision never came", id)
		}
		// The decision is applied once: the answer that decided it is the last check.
		for i, c := range cs[:len(cs)-1] {
			if c.answer != primitive.UnknowState {
				t.Errorf("%s: checked again (#%d) after it was decided: %s", id, i+2, ttChecksString(cs, sentAt[id]))
				break
			}
		}
		if id != "check-rollback" {
			if ds := rec.of(id); len(ds) > 0 && ds[0].at.Before(cs[len(cs)-1].at) {
				t.Errorf("%s delivered at %s, before the check that committed it (%s)", id, ds[0].at, cs[len(cs)-1].at)
			}
		}
	}
	if n := len(plan.checksOf("check-third")); n < 3 {
		t.Errorf("check-third checked %d times, want 3 (unknown, unknown, commit)", n)
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 3 {
		t.Errorf("real topic holds %d records, want 3 (probe, check-commit, check-third)", got)
	}
}

// TestTransactionRestartBeforeDecision (d): half messages are sent, ExecuteLocalTransaction
// answers unknown, and the broker is stopped (SIGTERM) before any check and started again on the
// same data directory and the same ports. Two ways back to the producer are covered, one group
// each: group A's original producer stays up through the restart and must find the broker again
// by itself (the v2.1.2 client sends heartbeats every 30 s, so its check comes up to ~30 s after
// the restart); group B's producer is shut down before the restart and a new one of the same
// group starts after it. Checks before the restart (none expected) answer unknown; after it each group
// commits one transaction and rolls back the other. Each commit is delivered exactly once, no
// rollback ever, and no check comes after the decisions.
func TestTransactionRestartBeforeDecision(t *testing.T) {
	t.Parallel()
	testDeadline(t, 3*time.Minute)
	dir := t.TempDir()
	// transactionTimeout 3 s leaves room to restart before the first check; transactionCheckMax 60
	// outlasts group A's 30 s heartbeat gap (checks while no producer is connected count too).
	args := append(ttFixedPorts(t), ttSet("broker.transactionTimeout=3s", "broker.transactionCheckInterval=1s",
		"broker.transactionCheckMax=60")...)
	b := startBroker(t, dir, args...)
	topic, groupA, groupB := uniqueName("txrestart"), uniqueName("txpgA"), uniqueName("txpgB")
	ttCreateTopic(t, b, topic, 4)

	plan := newTTPlan()
	var restarted atomic.Bool
	afterRestart := func(st primitive.LocalTransactionState) func(int) primitive.LocalTransactionState {
		return func(int) primitive.LocalTransactionState {
			if !restarted.Load() {
				return primitive.UnknowState
			}
			return st
		}
	}
	for _, g := range []string{"A", "B"} {
		plan.set(g+"-commit", primitive.UnknowState, afterRestart(primitive.CommitMessageState))
		plan.set(g+"-rollback", primitive.UnknowState, afterRestart(primitive.RollbackMessageState))
	}
	// Both producers are registered (first heartbeat sent) before the restart, so group A's
	// producer must come back through its own periodic heartbeat.
	pA, _ := ttStartRegisteredTxProducer(t, b.NamesrvAddr, groupA, "A-original", topic, "A-probe", plan)
	pB, stopB := ttStartRegisteredTxProducer(t, b.NamesrvAddr, groupB, "B-before-restart", topic, "B-probe-before", plan)
	ttSendTx(t, pA, topic, "A-commit", primitive.UnknowState)
	ttSendTx(t, pA, topic, "A-rollback", primitive.UnknowState)
	ttSendTx(t, pB, topic, "B-commit", primitive.UnknowState)
	ttSendTx(t, pB, topic, "B-rollback", primitive.UnknowState)
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0); got != 6 {
		t.Errorf("%s holds %d records before the restart, want the 6 half messages (2 probes)", ttHalfTopic, got)
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 2 {
		t.Errorf("real topic holds %d records before any decision, want only the 2 probes", got)
	}

	stopB()
	oldNS, oldBroker := b.NamesrvAddr, b.BrokerAddr
	b.Stop(t)
	restarted.Store(true)
	b = startBroker(t, dir, args...)
	restartedAt := time.Now()
	if b.NamesrvAddr != oldNS || b.BrokerAddr != oldBroker {
		t.Fatalf("restart came back on %s/%s, not %s/%s", b.NamesrvAddr, b.BrokerAddr, oldNS, oldBroker)
	}
	rec := newTTRecorder("tid")
	ttStartConsumer(t, b.NamesrvAddr, topic, rec)
	ttStartRegisteredTxProducer(t, b.NamesrvAddr, groupB, "B-after-restart", topic, "B-probe", plan)

	waitFor(t, 80*time.Second, "commits after the restart delivered", func() (bool, string) {
		return rec.has("A-probe", "B-probe-before", "A-commit", "B-commit", "B-probe")
	})
	waitFor(t, 20*time.Second, "rollbacks after the restart answered", func() (bool, string) {
		ca, cb := plan.checksOf("A-rollback"), plan.checksOf("B-rollback")
		ok := len(ca) > 0 && ca[len(ca)-1].answer == primitive.RollbackMessageState &&
			len(cb) > 0 && cb[len(cb)-1].answer == primitive.RollbackMessageState
		return ok, fmt.Sprintf("A %s B %s", ttChecksString(ca, restartedAt), ttChecksString(cb, restartedAt))
	})
	ttQuietChecks(t, plan)

	for _, id := range []string{"A-commit", "B-commit"} {
		ttExpectOnce(t, rec, topic, id, map[byte]string{'A': groupA, 'B': groupB}[id[0]])
	}
	ttExpectOnce(t, rec, topic, "B-probe", groupB)
	ttExpectOnce(t, rec, topic, "B-probe-before", groupB)
	ttExpectOnce(t, rec, topic, "A-probe", groupA)
	ttExpectNever(t, rec, "A-rollback")
	ttExpectNever(t, rec, "B-rollback")
	for _, id := range []string{"A-commit", "A-rollback", "B-commit", "B-rollback"} {
		cs := plan.checksOf(id)
		t.Logf("%s (times from the restart): %s", id, ttChecksString(cs, restartedAt))
		want := map[byte]string{'A': "A-original", 'B': "B-after-restart"}[id[0]]
		decided := 0
		for _, c := range cs {
			if c.answer != primitive.UnknowState {
				decided++
				if c.producer != want {
					t.Errorf("%s decided by %s, want %s", id, c.producer, want)
				}
				if c.at.Before(restartedAt) {
					t.Errorf("%s decided before the restart", id)
				}
			}
		}
		if decided != 1 {
			t.Errorf("%s: %d deciding checks, want exactly 1: %s", id, decided, ttChecksString(cs, restartedAt))
		}
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 5 {
		t.Errorf("real topic holds %d records, want 5 (3 probes, A-commit, B-commit)", got)
	}
}

// TestTransactionDiscardAfterCheckMax: with transactionCheckMax=2 and a producer that always
// answers unknown, each half message is checked exactly twice (TRANSACTION_CHECK_TIMES 1, 2), then
// discarded: a "transaction discarded" line naming it is logged, a copy lands in
// TRANS_CHECK_MAX_TIME_TOPIC, it is never visible, and no check follows.
func TestTransactionDiscardAfterCheckMax(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const checkMax = 2
	b := startBroker(t, t.TempDir(), ttTxKnobs(fmt.Sprintf("broker.transactionCheckMax=%d", checkMax))...)
	topic, group := uniqueName("txdiscard"), uniqueName("txpg")
	ttCreateTopic(t, b, topic, 4)
	rec := newTTRecorder("tid")
	ttStartConsumer(t, b.NamesrvAddr, topic, rec)

	plan := newTTPlan()
	p, _ := ttStartRegisteredTxProducer(t, b.NamesrvAddr, group, "p", topic, "probe", plan)
	ids := []string{"undecided-1", "undecided-2"}
	uniq := map[string]string{}
	start := time.Now()
	for _, id := range ids {
		plan.set(id, primitive.UnknowState, ttAlways(primitive.UnknowState))
		uniq[id] = ttSendTx(t, p, topic, id, primitive.UnknowState).MsgID
	}

	waitFor(t, 30*time.Second, "both transactions discarded", func() (bool, string) {
		lines := b.ttLogLines("transaction discarded")
		return len(lines) >= len(ids), fmt.Sprintf("%d discard lines", len(lines))
	})
	ttQuietChecks(t, plan)

	lines := b.ttLogLines("transaction discarded")
	t.Logf("discard log lines:\n%s", strings.Join(lines, "\n"))
	if len(lines) != len(ids) {
		t.Errorf("%d discard lines, want %d", len(lines), len(ids))
	}
	for _, id := range ids {
		ttExpectNever(t, rec, id)
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, uniq[id])
		}
		if !found {
			t.Errorf("%s: no discard line names its UNIQ_KEY %s", id, uniq[id])
		}
		cs := plan.checksOf(id)
		t.Logf("%s: %s", id, ttChecksString(cs, start))
		if len(cs) != checkMax {
			t.Errorf("%s checked %d times, want transactionCheckMax=%d", id, len(cs), checkMax)
		}
		for i, c := range cs {
			if c.checkTimes != fmt.Sprint(i+1) {
				t.Errorf("%s: check #%d carries TRANSACTION_CHECK_TIMES=%q, want %d", id, i+1, c.checkTimes, i+1)
			}
		}
	}
	ttExpectOnce(t, rec, topic, "probe", group)
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 1 {
		t.Errorf("real topic holds %d records, want only the probe", got)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttCheckMaxTopic, 0); got != int64(len(ids)) {
		t.Errorf("%s holds %d records, want %d discarded", ttCheckMaxTopic, got, len(ids))
	}
	// Half queue: the probe, each original and one copy per check; op queue: one mark for each.
	want := int64(1 + len(ids)*(1+checkMax))
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0); got != want {
		t.Errorf("%s holds %d records, want %d", ttHalfTopic, got, want)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttOpTopic, 0); got != want {
		t.Errorf("%s holds %d records, want %d", ttOpTopic, got, want)
	}
}

// TestTransactionCheckCountSurvivesRestart: check progress is durable. A producer sends a half
// message, answers unknown and goes away; the broker keeps checking (a check with no live producer
// still counts, as in RocketMQ). After two checks the broker is stopped and restarted; it must
// continue the count, not restart it: with transactionCheckMax=5 the half queue ends with exactly
// the original plus 5 check copies, one copy lands in TRANS_CHECK_MAX_TIME_TOPIC, and the message
// never becomes visible.
func TestTransactionCheckCountSurvivesRestart(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const checkMax = 5
	dir := t.TempDir()
	args := ttTxKnobs(fmt.Sprintf("broker.transactionCheckMax=%d", checkMax))
	b := startBroker(t, dir, args...)
	topic, group := uniqueName("txcount"), uniqueName("txpg")
	ttCreateTopic(t, b, topic, 4)
	plan := newTTPlan()
	p, stop := ttStartTxProducer(t, b.NamesrvAddr, group, "p", plan)
	uniqKey := ttSendTx(t, p, topic, "orphan", primitive.UnknowState).MsgID
	stop() // the producer is gone; nobody will ever decide

	waitFor(t, 20*time.Second, "two checks before the restart", func() (bool, string) {
		n := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0)
		return n >= 3, fmt.Sprintf("%d half records", n)
	})
	b.Stop(t)
	if lines := b.ttLogLines("transaction discarded"); len(lines) > 0 {
		t.Fatalf("discarded before the restart: %v", lines)
	}
	b = startBroker(t, dir, args...)
	halfAtRestart := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0)
	waitFor(t, 30*time.Second, "discard after the restart", func() (bool, string) {
		lines := b.ttLogLines("transaction discarded")
		return len(lines) > 0, fmt.Sprintf("%d discard lines", len(lines))
	})
	time.Sleep(ttTxQuiet)

	lines := b.ttLogLines("transaction discarded")
	t.Logf("half records at restart %d; discard lines:\n%s", halfAtRestart, strings.Join(lines, "\n"))
	if len(lines) != 1 || !strings.Contains(lines[0], uniqKey) {
		t.Errorf("want one discard line naming %s, got %v", uniqKey, lines)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttHalfTopic, 0); got != 1+checkMax {
		t.Errorf("%s holds %d records, want 1 + %d check copies: the check count did not carry over the restart (%d records at restart)",
			ttHalfTopic, got, checkMax, halfAtRestart)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttOpTopic, 0); got != 1+checkMax {
		t.Errorf("%s holds %d records, want %d", ttOpTopic, got, 1+checkMax)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttCheckMaxTopic, 0); got != 1 {
		t.Errorf("%s holds %d records, want 1", ttCheckMaxTopic, got)
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 0 {
		t.Errorf("real topic holds %d records, want 0", got)
	}
}
