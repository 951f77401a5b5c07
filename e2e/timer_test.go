package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue points 2 and 3: timer messages. A send carrying TIMER_DELIVER_MS (absolute ms),
// TIMER_DELAY_SEC, TIMER_DELAY_MS (relative) or __STARTDELIVERTIME (absolute ms, the older name) is
// stored under rmq_sys_wheel_timer and delivered to its real topic once its due second has fully
// passed: never early, at most ~1 s late. The delivered message carries TIMER_OUT_MS = the due time
// and its store timestamp is the delivery time. Due times beyond broker.timerMaxDelay are refused
// with MESSAGE_ILLEGAL (13). Pending timers survive a restart. The admin side lists pending timers
// by due time (code 30001) and cancels one by its offset message id (code 30002).

const (
	// ttTimerMaxLate bounds store timestamp − due: a second is delivered once it has fully passed,
	// so up to 1 s by design, plus scheduling on a loaded 2-core machine.
	ttTimerMaxLate = 1500 * time.Millisecond
	// ttTimerMaxRecvLate bounds consumer receive time − due: the store lateness plus the push
	// consumer's long-poll wake-up and hand-off to the callback.
	ttTimerMaxRecvLate = 2000 * time.Millisecond
)

// ttTimerTriggers are the properties that make a message a timer message; the broker removes them
// on delivery (a redelivered or re-sent copy must not be delayed again).
var ttTimerTriggers = []string{"TIMER_DELIVER_MS", "TIMER_DELAY_SEC", "TIMER_DELAY_MS", "__STARTDELIVERTIME"}

// ttSentTimer is one timer message as sent, with the window its due time must fall in (relative
// delays are resolved by the broker at receipt, between sentFrom and sentTo).
type ttSentTimer struct {
	id             string
	prop, value    string
	dueMin, dueMax int64 // ms
	res            *primitive.SendResult
}

// ttSendTimer sends one message with a timer property through the official producer.
func ttSendTimer(t *testing.T, p rocketmq.Producer, topic, id, prop, value string) ttSentTimer {
	t.Helper()
	m := primitive.NewMessage(topic, []byte("timer body of "+id))
	m.WithProperty("tid", id)
	m.WithProperty(prop, value)
	from := time.Now()
	r, err := p.SendSync(context.Background(), m)
	to := time.Now()
	if err != nil {
		t.Fatalf("send %s (%s=%s): %v", id, prop, value, err)
	}
	checkSendResult(t, "send "+id, r)
	st := ttSentTimer{id: id, prop: prop, value: value, res: r}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", prop, value, err)
	}
	switch prop {
	case "TIMER_DELAY_SEC":
		st.dueMin, st.dueMax = from.UnixMilli()+v*1000, to.UnixMilli()+v*1000
	case "TIMER_DELAY_MS":
		st.dueMin, st.dueMax = from.UnixMilli()+v, to.UnixMilli()+v
	default:
		st.dueMin, st.dueMax = v, v
	}
	return st
}

// ttMsAt renders an absolute time in ms from now for a property.
func ttMsAt(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).UnixMilli(), 10) }

// ttCheckTimerDelivery checks the single delivery of s: due time, lateness against the store
// timestamp and the receive time, the message itself; it returns the due time.
func ttCheckTimerDelivery(t *testing.T, rec *ttRecorder, topic string, s ttSentTimer) int64 {
	t.Helper()
	ds := rec.of(s.id)
	if len(ds) != 1 {
		t.Errorf("%s delivered %d times, want exactly once", s.id, len(ds))
		if len(ds) == 0 {
			return 0
		}
	}
	m := ds[0].msg
	due, err := strconv.ParseInt(m.GetProperty("TIMER_OUT_MS"), 10, 64)
	if err != nil {
		t.Errorf("%s: TIMER_OUT_MS %q: %v", s.id, m.GetProperty("TIMER_OUT_MS"), err)
		return 0
	}
	if due < s.dueMin || due > s.dueMax {
		t.Errorf("%s (%s=%s): TIMER_OUT_MS %d outside [%d, %d]", s.id, s.prop, s.value, due, s.dueMin, s.dueMax)
	}
	storeLate := time.Duration(m.StoreTimestamp-due) * time.Millisecond
	recvLate := time.Duration(ds[0].at.UnixMilli()-due) * time.Millisecond
	t.Logf("%-14s %s=%s: due %d, stored +%s, received +%s", s.id, s.prop, s.value, due, storeLate, recvLate)
	switch {
	case storeLate < 0:
		t.Errorf("%s delivered early: stored %s before its due time", s.id, -storeLate)
	case storeLate > ttTimerMaxLate:
		t.Errorf("%s delivered %s after its due time, over %s", s.id, storeLate, ttTimerMaxLate)
	}
	switch {
	case recvLate < 0:
		t.Errorf("%s received %s before its due time", s.id, -recvLate)
	case recvLate > ttTimerMaxRecvLate:
		t.Errorf("%s received %s after its due time, over %s", s.id, recvLate, ttTimerMaxRecvLate)
	}
	var problems []string
	if m.Topic != topic {
		problems = append(problems, fmt.Sprintf("topic %q", m.Topic))
	}
	if !bytes.Equal(m.Body, []byte("timer body of "+s.id)) {
		problems = append(problems, fmt.Sprintf("body %q", m.Body))
	}
	for _, k := range ttTimerTriggers {
		if v := m.GetProperty(k); v != "" {
			problems = append(problems, fmt.Sprintf("trigger property %s=%q still set", k, v))
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s: %s", s.id, strings.Join(problems, "; "))
	}
	return due
}

// ttExpectTimerNever fails if id was delivered.
func ttExpectTimerNever(t *testing.T, rec *ttRecorder, id string) {
	t.Helper()
	if ds := rec.of(id); len(ds) > 0 {
		t.Errorf("%s delivered %d times (TIMER_OUT_MS %s) although it was cancelled", id, len(ds), ds[0].msg.GetProperty("TIMER_OUT_MS"))
	}
}

// ttStartTimerConsumer starts a push consumer on topic and waits until it receives a plain warm-up
// message, so receive times below measure delivery and not the consumer's start-up.
func ttStartTimerConsumer(t *testing.T, b *Broker, p rocketmq.Producer, topic string) *ttRecorder {
	t.Helper()
	rec := newTTRecorder("tid")
	ttStartConsumer(t, b.NamesrvAddr, topic, rec)
	m := primitive.NewMessage(topic, []byte("warm-up"))
	m.WithProperty("tid", "warm-up")
	if _, err := p.SendSync(context.Background(), m); err != nil {
		t.Fatalf("warm-up send: %v", err)
	}
	waitFor(t, 30*time.Second, "warm-up message consumed", func() (bool, string) { return rec.has("warm-up") })
	return rec
}

// TestTimerDeliveryProperties: each of TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS and
// __STARTDELIVERTIME delivers exactly once, no earlier than due and within ttTimerMaxLate (store
// timestamp) / ttTimerMaxRecvLate (consumer receive time) after it, with TIMER_OUT_MS = the due
// time; until then the message is only in rmq_sys_wheel_timer. A delivery time already passed is
// delivered at once.
func TestTimerDeliveryProperties(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	topic := uniqueName("timer")
	ttCreateTopic(t, b, topic, 4)
	p, _ := startProducer(t, b.NamesrvAddr)
	rec := ttStartTimerConsumer(t, b, p, topic)

	timers := []ttSentTimer{
		ttSendTimer(t, p, topic, "deliver-ms", "TIMER_DELIVER_MS", ttMsAt(3300*time.Millisecond)),
		ttSendTimer(t, p, topic, "delay-sec", "TIMER_DELAY_SEC", "3"),
		ttSendTimer(t, p, topic, "delay-ms", "TIMER_DELAY_MS", "3700"),
		ttSendTimer(t, p, topic, "start-deliver", "__STARTDELIVERTIME", ttMsAt(4200*time.Millisecond)),
	}
	pastAt := time.Now()
	ttSendTimer(t, p, topic, "past", "TIMER_DELIVER_MS", ttMsAt(-5*time.Second))
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != 2 {
		t.Errorf("right after the sends the real topic holds %d records, want 2 (warm-up and the past-due one)", got)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttTimerTopic, 0); got != int64(len(timers)) {
		t.Errorf("%s holds %d records, want the %d pending timers", ttTimerTopic, got, len(timers))
	}

	ids := []string{"past"}
	for _, s := range timers {
		ids = append(ids, s.id)
	}
	waitFor(t, 20*time.Second, "timer messages delivered", func() (bool, string) { return rec.has(ids...) })
	time.Sleep(2 * time.Second) // duplicates would show up by now

	for _, s := range timers {
		ttCheckTimerDelivery(t, rec, topic, s)
	}
	if ds := rec.of("past"); len(ds) != 1 {
		t.Errorf("past-due message delivered %d times, want once", len(ds))
	} else if d := ds[0].at.Sub(pastAt); d > time.Second {
		t.Errorf("past-due message received %s after the send, want at once", d)
	}
	if got := ttStored(t, b.BrokerAddr, topic, 4); got != int64(2+len(timers)) {
		t.Errorf("real topic holds %d records, want %d", got, 2+len(timers))
	}
}

// ttCode13 matches the official client's error for a send refused with MESSAGE_ILLEGAL.
var ttCode13 = regexp.MustCompile(`CODE: 13\b`)

// TestTimerMaxDelay: a due time beyond broker.timerMaxDelay (72 h by default) is refused with
// MESSAGE_ILLEGAL (13) whichever property carries it, and so is a malformed value; just inside
// the limit is accepted and listed. The limit follows the knob (10 m on a second broker).
func TestTimerMaxDelay(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	for _, tc := range []struct {
		name     string
		maxDelay time.Duration
		args     []string
	}{
		{"default-72h", 72 * time.Hour, nil},
		{"knob-10m", 10 * time.Minute, ttSet("broker.timerMaxDelay=10m")},
	} {
		b := startBroker(t, t.TempDir(), tc.args...)
		topic := uniqueName("timermax")
		ttCreateTopic(t, b, topic, 4)
		over, under := tc.maxDelay+time.Minute, tc.maxDelay-time.Minute
		refused := map[string]string{
			"TIMER_DELIVER_MS":   ttMsAt(over),
			"TIMER_DELAY_SEC":    strconv.FormatInt(int64(over/time.Second), 10),
			"TIMER_DELAY_MS":     strconv.FormatInt(over.Milliseconds(), 10),
			"__STARTDELIVERTIME": ttMsAt(over),
		}
		if tc.maxDelay == 72*time.Hour {
			refused["TIMER_DELAY_SEC"+" (malformed)"] = "soon"
			refused["TIMER_DELAY_MS"+" (negative)"] = "-5"
		}
		for label, v := range refused {
			prop, _, _ := strings.Cut(label, " ")
			resp, err := rawRequest(b.BrokerAddr, ttSendReq(topic, map[string]string{prop: v}, []byte("x")))
			if err != nil {
				t.Fatalf("%s: raw send %s=%s: %v", tc.name, prop, v, err)
			}
			if resp.Code != wire.MessageIllegal {
				t.Errorf("%s: %s=%s answered %s, want MESSAGE_ILLEGAL (13)", tc.name, label, v, describeCmd(resp))
			} else {
				t.Logf("%s: %s=%s refused: %s", tc.name, label, v, resp.Remark)
			}
		}
		// The official client surfaces the code in its error.
		p, _ := startProducer(t, b.NamesrvAddr)
		m := primitive.NewMessage(topic, []byte("too far"))
		m.WithProperty("TIMER_DELAY_SEC", strconv.FormatInt(int64(over/time.Second), 10))
		if _, err := p.SendSync(context.Background(), m); err == nil || !ttCode13.MatchString(err.Error()) {
			t.Errorf("%s: official client send beyond the limit: err %v, want CODE: 13", tc.name, err)
		}

		var ids []string
		for _, prop := range []string{"TIMER_DELIVER_MS", "TIMER_DELAY_SEC"} {
			v := ttMsAt(under)
			if prop == "TIMER_DELAY_SEC" {
				v = strconv.FormatInt(int64(under/time.Second), 10)
			}
			s := ttSendTimer(t, p, topic, "under-"+prop, prop, v)
			ids = append(ids, s.res.OffsetMsgID)
		}
		list := ttWaitListed(t, b.BrokerAddr, ids, 15*time.Second)
		for _, ti := range list {
			if d := time.Until(time.UnixMilli(ti.DueMs)); d < under-time.Minute || d > tc.maxDelay {
				t.Errorf("%s: listed timer due in %s, want about %s", tc.name, d, under)
			}
		}
		if got := ttMustMaxOffset(t, b.BrokerAddr, ttTimerTopic, 0); got != int64(len(ids)) {
			t.Errorf("%s: %s holds %d records, want only the %d accepted", tc.name, ttTimerTopic, got, len(ids))
		}
		if got := ttStored(t, b.BrokerAddr, topic, 4); got != 0 {
			t.Errorf("%s: real topic holds %d records, want 0", tc.name, got)
		}
	}
}

// TestTimerSurvivesRestart: timers filed in the wheel survive a graceful restart (SIGTERM, same
// data directory). One falls due while the broker is down and is delivered right after it comes
// back (late, but not lost); two more fall due after the restart and are delivered on time; one
// cancelled before the restart stays cancelled. Each is delivered exactly once.
func TestTimerSurvivesRestart(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	dir := t.TempDir()
	// Same ports across the restart, as a deployed broker has: the offset message ids the sends
	// returned (store host + commit-log offset) are then the ids the listing shows afterwards.
	args := ttFixedPorts(t)
	b := startBroker(t, dir, args...)
	topic := uniqueName("timerrestart")
	ttCreateTopic(t, b, topic, 4)
	p, stopP := startProducer(t, b.NamesrvAddr)
	during := ttSendTimer(t, p, topic, "due-while-down", "TIMER_DELIVER_MS", ttMsAt(3*time.Second))
	after := []ttSentTimer{
		ttSendTimer(t, p, topic, "due-after-ms", "TIMER_DELIVER_MS", ttMsAt(9*time.Second)),
		ttSendTimer(t, p, topic, "due-after-sec", "TIMER_DELAY_SEC", "10"),
	}
	cancelled := ttSendTimer(t, p, topic, "cancelled", "TIMER_DELIVER_MS", ttMsAt(9*time.Second))
	stopP()
	ids := []string{during.res.OffsetMsgID, after[0].res.OffsetMsgID, after[1].res.OffsetMsgID, cancelled.res.OffsetMsgID}
	ttWaitListed(t, b.BrokerAddr, ids, 10*time.Second) // filed in the wheel, not only in the timer topic
	if resp := ttCancel(t, b.BrokerAddr, cancelled.res.OffsetMsgID); resp.Code != wire.Success {
		t.Fatalf("cancel before the restart: %s", describeCmd(resp))
	}

	b.Stop(t)
	if wait := time.Until(time.UnixMilli(during.dueMax).Add(time.Second)); wait > 0 {
		time.Sleep(wait) // the first timer falls due while the broker is down
	}
	b = startBroker(t, dir, args...)
	back := time.Now()
	listed := ttListed(ttMustList(t, b.BrokerAddr, 0, 1000))
	for _, s := range after {
		if _, ok := listed[strings.ToUpper(s.res.OffsetMsgID)]; !ok {
			t.Errorf("%s not listed as pending after the restart", s.id)
		}
	}
	if _, ok := listed[strings.ToUpper(cancelled.res.OffsetMsgID)]; ok {
		t.Errorf("the cancelled timer is listed as pending again after the restart")
	}
	p2, _ := startProducer(t, b.NamesrvAddr)
	rec := ttStartTimerConsumer(t, b, p2, topic)

	waitFor(t, 30*time.Second, "timers delivered after the restart", func() (bool, string) {
		return rec.has(during.id, after[0].id, after[1].id)
	})
	if wait := time.Until(time.UnixMilli(cancelled.dueMax).Add(2 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	time.Sleep(time.Second)

	for _, s := range after {
		ttCheckTimerDelivery(t, rec, topic, s)
	}
	if ds := rec.of(during.id); len(ds) != 1 {
		t.Errorf("%s delivered %d times, want once", during.id, len(ds))
	} else {
		m := ds[0].msg
		due, _ := strconv.ParseInt(m.GetProperty("TIMER_OUT_MS"), 10, 64)
		t.Logf("%s: due %d, broker back %dms after it, stored %dms after it", during.id, due,
			back.UnixMilli()-due, m.StoreTimestamp-due)
		if m.StoreTimestamp < due {
			t.Errorf("%s delivered before its due time", during.id)
		}
		if d := time.Duration(m.StoreTimestamp-back.UnixMilli()) * time.Millisecond; d > ttTimerMaxLate {
			t.Errorf("%s delivered %s after the broker came back, want at once", during.id, d)
		}
	}
	ttExpectTimerNever(t, rec, cancelled.id)
}

// TestTimerListAndCancel (issue point 3): pending timers are listed by due time with their offset
// message id, real topic and UNIQ_KEY (code 30001, fromMs and limit honoured); code 30002 cancels
// one by the OffsetMsgID its send returned: it is no longer listed and never delivered while its
// neighbour due at the same time is; a second cancel, a cancel after delivery and a cancel of a
// plain message answer NO_MESSAGE (208).
func TestTimerListAndCancel(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	topic, other := uniqueName("timerlist"), uniqueName("timerother")
	ttCreateTopic(t, b, topic, 4)
	p, _ := startProducer(t, b.NamesrvAddr)
	rec := ttStartTimerConsumer(t, b, p, topic)

	// Sent out of due order; two fall due 200 ms apart.
	var sent []ttSentTimer
	for _, c := range []struct {
		id string
		in time.Duration
	}{{"in-40s", 40 * time.Second}, {"in-20s", 20 * time.Second}, {"keep-3s", 3 * time.Second},
		{"in-30s", 30 * time.Second}, {"cancel-3s", 3200 * time.Millisecond}, {"in-50s", 50 * time.Second}} {
		sent = append(sent, ttSendTimer(t, p, topic, c.id, "TIMER_DELIVER_MS", ttMsAt(c.in)))
	}
	sent = append(sent, ttSendTimer(t, p, other, "other-topic", "TIMER_DELAY_SEC", "45"))
	byID := map[string]ttSentTimer{}
	var ids []string
	for _, s := range sent {
		byID[s.id] = s
		ids = append(ids, s.res.OffsetMsgID)
	}

	list := ttWaitListed(t, b.BrokerAddr, ids, 10*time.Second)
	if len(list) != len(sent) {
		t.Errorf("%d timers listed, want %d", len(list), len(sent))
	}
	if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].DueMs < list[j].DueMs }) {
		t.Errorf("listing not sorted by due time: %+v", list)
	}
	want := append([]ttSentTimer(nil), sent...)
	sort.Slice(want, func(i, j int) bool { return want[i].dueMin < want[j].dueMin })
	for i, ti := range list {
		if i >= len(want) {
			break
		}
		w := want[i]
		topicWant := topic
		if w.id == "other-topic" {
			topicWant = other
		}
		if !strings.EqualFold(ti.OffsetMsgID, w.res.OffsetMsgID) || ti.DueMs < w.dueMin || ti.DueMs > w.dueMax ||
			ti.Topic != topicWant || ti.UniqKey != w.res.MsgID {
			t.Errorf("listing #%d: %+v, want %s: offsetMsgId %s due [%d,%d] topic %s uniqKey %s", i, ti, w.id,
				w.res.OffsetMsgID, w.dueMin, w.dueMax, topicWant, w.res.MsgID)
		}
	}
	// fromMs and limit.
	from := byID["in-20s"].dueMin
	if got := ttMustList(t, b.BrokerAddr, from, 100); len(got) != 5 || got[0].DueMs != from {
		t.Errorf("listing from %d: %d entries starting at %+v, want 5 starting at in-20s", from, len(got), got[:min(1, len(got))])
	}
	if got := ttMustList(t, b.BrokerAddr, 0, 2); len(got) != 2 || !strings.EqualFold(got[0].OffsetMsgID, byID["keep-3s"].res.OffsetMsgID) ||
		!strings.EqualFold(got[1].OffsetMsgID, byID["cancel-3s"].res.OffsetMsgID) {
		t.Errorf("listing with limit 2: %+v, want keep-3s then cancel-3s", got)
	}

	// Cancel: once OK, then NO_MESSAGE; gone from the listing; a far one too.
	for _, id := range []string{"cancel-3s", "in-40s"} {
		if resp := ttCancel(t, b.BrokerAddr, byID[id].res.OffsetMsgID); resp.Code != wire.Success {
			t.Errorf("cancel %s: %s, want 0", id, describeCmd(resp))
		}
		if resp := ttCancel(t, b.BrokerAddr, byID[id].res.OffsetMsgID); resp.Code != wire.NoMessage {
			t.Errorf("second cancel of %s: %s, want NO_MESSAGE (208)", id, describeCmd(resp))
		}
	}
	listed := ttListed(ttMustList(t, b.BrokerAddr, 0, 100))
	for _, s := range sent {
		_, ok := listed[strings.ToUpper(s.res.OffsetMsgID)]
		if gone := s.id == "cancel-3s" || s.id == "in-40s"; ok == gone {
			t.Errorf("after the cancels %s listed=%v, want %v", s.id, ok, !gone)
		}
	}
	// A plain message and a malformed id are not pending timers.
	plain := primitive.NewMessage(topic, []byte("plain"))
	plain.WithProperty("tid", "plain")
	pr, err := p.SendSync(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	if resp := ttCancel(t, b.BrokerAddr, pr.OffsetMsgID); resp.Code != wire.NoMessage {
		t.Errorf("cancel of a plain message: %s, want NO_MESSAGE (208)", describeCmd(resp))
	}
	if resp := ttCancel(t, b.BrokerAddr, "not-a-message-id"); resp.Code == wire.Success {
		t.Errorf("cancel of a malformed id succeeded")
	}

	// The neighbour due in the same second is delivered; the cancelled one never is.
	waitFor(t, 15*time.Second, "keep-3s delivered", func() (bool, string) { return rec.has("keep-3s") })
	if wait := time.Until(time.UnixMilli(byID["cancel-3s"].dueMax).Add(2 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	ttCheckTimerDelivery(t, rec, topic, byID["keep-3s"])
	ttExpectTimerNever(t, rec, "cancel-3s")
	if resp := ttCancel(t, b.BrokerAddr, byID["keep-3s"].res.OffsetMsgID); resp.Code != wire.NoMessage {
		t.Errorf("cancel after delivery: %s, want NO_MESSAGE (208)", describeCmd(resp))
	}
	if got := len(ttMustList(t, b.BrokerAddr, 0, 100)); got != 4 {
		t.Errorf("%d timers pending at the end, want 4 (in-20s, in-30s, in-50s, other-topic)", got)
	}
}

// TestTimerCancelSurvivesKill: a cancel the broker acknowledged (code 0) must hold after a crash.
// CancelTimer checkpoints the timer log before it answers, so the marker survives a SIGKILL.
func TestTimerCancelSurvivesKill(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	dir := t.TempDir()
	args := ttFixedPorts(t)
	b := startBroker(t, dir, args...)
	topic := uniqueName("timerkill")
	ttCreateTopic(t, b, topic, 4)
	p, stopP := startProducer(t, b.NamesrvAddr)
	cancelled := ttSendTimer(t, p, topic, "cancelled", "TIMER_DELIVER_MS", ttMsAt(6*time.Second))
	kept := ttSendTimer(t, p, topic, "kept", "TIMER_DELIVER_MS", ttMsAt(6*time.Second))
	stopP()
	ttWaitListed(t, b.BrokerAddr, []string{cancelled.res.OffsetMsgID, kept.res.OffsetMsgID}, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // a checkpoint covers both timers
	if resp := ttCancel(t, b.BrokerAddr, cancelled.res.OffsetMsgID); resp.Code != wire.Success {
		t.Fatalf("cancel: %s", describeCmd(resp))
	}
	b.Kill(t)
	b = startBroker(t, dir, args...)
	if _, ok := ttListed(ttMustList(t, b.BrokerAddr, 0, 100))[strings.ToUpper(cancelled.res.OffsetMsgID)]; ok {
		t.Errorf("the cancelled timer is pending again after SIGKILL and restart")
	}
	p2, _ := startProducer(t, b.NamesrvAddr)
	rec := ttStartTimerConsumer(t, b, p2, topic)
	waitFor(t, 20*time.Second, "kept delivered", func() (bool, string) { return rec.has(kept.id) })
	time.Sleep(2 * time.Second)
	ttExpectTimerNever(t, rec, cancelled.id)
}

// TestTimerListIDsAfterPortChange: the listing must show the offset message id the send returned
// (and consumers see): store host of the record + commit-log offset, even after a restart on
// another port.
func TestTimerListIDsAfterPortChange(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	dir := t.TempDir()
	b := startBroker(t, dir)
	topic := uniqueName("timerids")
	ttCreateTopic(t, b, topic, 4)
	p, stopP := startProducer(t, b.NamesrvAddr)
	s := ttSendTimer(t, p, topic, "pending", "TIMER_DELAY_SEC", "60")
	stopP()
	ttWaitListed(t, b.BrokerAddr, []string{s.res.OffsetMsgID}, 10*time.Second)
	b.Stop(t)
	b = startBroker(t, dir) // port 0: another port
	list := ttMustList(t, b.BrokerAddr, 0, 100)
	if len(list) != 1 || !strings.EqualFold(list[0].OffsetMsgID, s.res.OffsetMsgID) {
		t.Errorf("after a restart on another port the listing shows %+v, want offsetMsgId %s (what the send returned)", list, s.res.OffsetMsgID)
	}
}
