package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

func delivered(e *env, topicName string) []string { return bodiesIn(e.store, topicName) }

// bodiesIn lists the bodies in queues 0-3 of topicName.
func bodiesIn(st storage.MessageStore, topicName string) []string {
	var bodies []string
	ctx := context.Background()
	for q := int32(0); q < 4; q++ {
		qr := topic.QueueRef{Topic: topicName, QueueID: q}
		_, max := st.QueueBounds(qr)
		units, _ := st.Lookup(ctx, qr, 0, int(max), nil)
		for _, u := range units {
			m, _ := st.Message(ctx, u.PhyOffset)
			bodies = append(bodies, string(m.Body))
		}
	}
	return bodies
}

func TestTimerMessagesAreDeliveredWhenDueNeverEarly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	due := now.Add(1500 * time.Millisecond).UnixMilli()
	kinds := map[string]func(map[string]string){
		"deliver-ms": func(p map[string]string) { p["TIMER_DELIVER_MS"] = strconv.FormatInt(due, 10) },
		"start-time": func(p map[string]string) { p["__STARTDELIVERTIME"] = strconv.FormatInt(due, 10) },
		"delay-ms":   func(p map[string]string) { p["TIMER_DELAY_MS"] = "1500" },
		"delay-sec":  func(p map[string]string) { p["TIMER_DELAY_SEC"] = "2" },
		"already-due": func(p map[string]string) {
			p["TIMER_DELIVER_MS"] = strconv.FormatInt(now.Add(-time.Second).UnixMilli(), 10)
		},
	}
	for name, set := range kinds {
		r := sendReq("Timed", "", name)
		set(r.Properties)
		if _, err := e.b.Send(ctx, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if got := delivered(e, "Timed"); len(got) != 1 || got[0] != "already-due" {
		t.Fatalf("visible at once: %v (only the past-due one may be)", got)
	}
	waitFor(t, "every timer", 6*time.Second, func() bool { return len(delivered(e, "Timed")) == 5 })
	for q := int32(0); q < 4; q++ {
		qr := topic.QueueRef{Topic: "Timed", QueueID: q}
		units, _ := e.store.Lookup(ctx, qr, 0, 10, nil)
		for _, u := range units {
			m, _ := e.store.Message(ctx, u.PhyOffset)
			outMs, err := strconv.ParseInt(m.Properties["TIMER_OUT_MS"], 10, 64)
			if err != nil {
				continue // the past-due one was never a timer
			}
			if m.StoreTimestamp < outMs {
				t.Fatalf("%s delivered at %d, before its due time %d", m.Body, m.StoreTimestamp, outMs)
			}
			if late := m.StoreTimestamp - outMs; late > 1500 {
				t.Errorf("%s delivered %d ms late", m.Body, late)
			}
			if m.Properties["REAL_TOPIC"] != "Timed" || m.Properties["KEYS"] != "k1 k2" {
				t.Errorf("%s properties %v", m.Body, m.Properties)
			}
		}
	}
}

func TestTimerBeyondMaxDelayIsRefused(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.TimerMaxDelay = time.Hour })
	r := sendReq("Timed", "", "far")
	r.Properties["TIMER_DELAY_SEC"] = "7200"
	if _, err := e.b.Send(context.Background(), r); !errors.Is(err, errs.ErrMessageIllegal) {
		t.Fatalf("err = %v", err)
	}
	r = sendReq("Timed", "", "bad")
	r.Properties["TIMER_DELIVER_MS"] = "soon"
	if _, err := e.b.Send(context.Background(), r); !errors.Is(err, errs.ErrMessageIllegal) {
		t.Fatalf("err = %v", err)
	}
}

func TestListAndCancelPendingTimers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := time.Now().Add(time.Hour).UnixMilli()
	var phys []int64
	for i, offset := range []int64{3000, 1000, 2000} {
		r := sendReq("Timed", "", "t"+strconv.Itoa(i))
		r.Properties["TIMER_DELIVER_MS"] = strconv.FormatInt(base+offset, 10)
		res, err := e.b.Send(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		phys = append(phys, res.Appended[0].PhysicalOffset)
	}
	var list []broker.TimerInfo
	waitFor(t, "timers filed", 5*time.Second, func() bool {
		list, _ = e.b.ListTimers(ctx, 0, 10)
		return len(list) == 3
	})
	if list[0].DueMs != base+1000 || list[1].DueMs != base+2000 || list[2].DueMs != base+3000 || list[0].Topic != "Timed" {
		t.Fatalf("list %+v", list)
	}
	if err := e.b.CancelTimer(ctx, phys[1]); err != nil {
		t.Fatal(err)
	}
	if err := e.b.CancelTimer(ctx, phys[1]); !errors.Is(err, broker.ErrTimerNotPending) {
		t.Fatalf("second cancel: %v", err)
	}
	plain, err := e.b.Send(ctx, sendReq("Plain", "", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.CancelTimer(ctx, plain.Appended[0].PhysicalOffset); !errors.Is(err, broker.ErrTimerNotPending) {
		t.Fatalf("cancel of a plain message: %v", err)
	}
	list, _ = e.b.ListTimers(ctx, 0, 10)
	if len(list) != 2 || list[0].DueMs != base+2000 {
		t.Fatalf("after cancel %+v", list)
	}
	if list, _ := e.b.ListTimers(ctx, base+2500, 10); len(list) != 1 || list[0].DueMs != base+3000 {
		t.Fatalf("from a time: %+v", list)
	}
}

func TestCancelledTimerIsNeverDeliveredAndPendingOnesSurviveRestart(t *testing.T) {
	st, meta, tl := memory.New(), memory.NewMetaStore(), memory.NewTimerLog()
	e := newEnvWithTimers(t, st, meta, tl)
	ctx := context.Background()
	due := time.Now().Add(2 * time.Second).UnixMilli()
	var cancelPhy int64
	for _, body := range []string{"keep", "drop"} {
		r := sendReq("Timed", "", body)
		r.Properties["TIMER_DELIVER_MS"] = strconv.FormatInt(due, 10)
		res, err := e.b.Send(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		cancelPhy = res.Appended[0].PhysicalOffset
	}
	waitFor(t, "timers filed", 5*time.Second, func() bool { l, _ := e.b.ListTimers(ctx, 0, 10); return len(l) == 2 })
	if err := e.b.CancelTimer(ctx, cancelPhy); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvWithTimers(t, st, meta, tl)
	waitFor(t, "delivery after restart", 6*time.Second, func() bool { return len(delivered(e2, "Timed")) >= 1 })
	// The cancelled one shares the second of the kept one: once that second is delivered it is
	// decided.
	waitFor(t, "the second to pass", 3*time.Second, func() bool { l, _ := e2.b.ListTimers(ctx, 0, 10); return len(l) == 0 })
	if got := delivered(e2, "Timed"); len(got) != 1 || got[0] != "keep" {
		t.Fatalf("delivered %v", got)
	}
}

func TestTimerCannotOverflowTheMaxDelayOrBeSentToTheTimerTopic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := sendReq("Timed", "", "far")
	r.Properties["TIMER_DELIVER_MS"] = strconv.FormatInt(time.Now().UnixMilli()+9223372036855, 10)
	if _, err := e.b.Send(ctx, r); !errors.Is(err, errs.ErrMessageIllegal) {
		t.Fatalf("overflowing delay: %v", err)
	}
	if _, err := e.b.Send(ctx, sendReq(broker.TimerTopic, "", "direct")); !errors.Is(err, errs.ErrNoPermission) {
		t.Fatalf("direct send to the timer topic: %v", err)
	}
}

// A damaged timer log entry (entries carry no checksum) due absurdly far ahead must not size
// the wheel at load (it made a slice of that many seconds and ended the process): it is left
// out, and the timers around it are delivered.
func TestDamagedTimerEntryDoesNotSizeTheWheel(t *testing.T) {
	st, meta, tl := memory.New(), memory.NewMetaStore(), memory.NewTimerLog()
	e := newEnvWithTimers(t, st, meta, tl)
	ctx := context.Background()
	r := sendReq("Timed", "", "keep")
	r.Properties["TIMER_DELIVER_MS"] = strconv.FormatInt(time.Now().Add(2*time.Second).UnixMilli(), 10)
	if _, err := e.b.Send(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "timer filed", 5*time.Second, func() bool { l, _ := e.b.ListTimers(ctx, 0, 10); return len(l) == 1 })
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Append(ctx, []storage.TimerEntry{{PrevPos: -1, DueMs: math.MaxInt64 / 2, Size: 1}}); err != nil {
		t.Fatal(err)
	}
	var cp map[string]int64 // the checkpoint covers the damaged entry, as if it had been written so
	doc, err := meta.Load(ctx, "timerCheckpoint.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc, &cp); err != nil {
		t.Fatal(err)
	}
	_, cp["logEnd"] = tl.Bounds()
	if doc, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := meta.Save(ctx, "timerCheckpoint.json", doc); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvWithTimers(t, st, meta, tl)
	waitFor(t, "delivery after restart", 6*time.Second, func() bool { return len(delivered(e2, "Timed")) == 1 })
}
