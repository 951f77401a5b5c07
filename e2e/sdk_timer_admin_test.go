package e2e

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// TestSDKAdminListsAndCancelsTimers drives the timer admin from the SDK: a timer sent with
// TIMER_DELIVER_MS is listed by due time and cancelled by the offset message id its send returned.
func TestSDKAdminListsAndCancelsTimers(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	b := startBroker(t, t.TempDir())
	p, a := sdkProducer(t, b), sdkAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := uniqueName("sdkTimer")
	due := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	var ids []string
	for i := 0; i < 3; i++ {
		m := &message.Message{Topic: topic, Body: []byte("later"), Properties: map[string]string{
			"TIMER_DELIVER_MS": strconv.FormatInt(due.Add(time.Duration(2-i)*time.Minute).UnixMilli(), 10)}}
		res, err := p.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.OffsetMsgID)
	}
	var timers []sdkTimerView
	waitFor(t, 10*time.Second, "three pending timers", func() (bool, string) {
		list, err := a.Timers(ctx, b.BrokerAddr, time.Time{}, 10)
		if err != nil {
			return false, err.Error()
		}
		timers = timers[:0]
		for _, tm := range list {
			timers = append(timers, sdkTimerView{tm.Due, tm.OffsetMsgID, tm.Topic})
		}
		return len(list) == 3, strconv.Itoa(len(list)) + " listed"
	})
	for i, tm := range timers {
		if want := ids[2-i]; tm.OffsetMsgID != want || tm.Topic != topic {
			t.Fatalf("timer %d: %+v, want id %s on %s (sorted by due time)", i, tm, want, topic)
		}
	}
	if err := a.CancelTimer(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := a.CancelTimer(ctx, ids[0]); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("second cancel: %v, want ErrNotFound", err)
	}
	if list, err := a.Timers(ctx, b.BrokerAddr, time.Time{}, 10); err != nil || len(list) != 2 {
		t.Fatalf("after cancel: %d listed, %v", len(list), err)
	}
}

// sdkTimerView is the part of admin.Timer the test compares.
type sdkTimerView struct {
	Due         time.Time
	OffsetMsgID string
	Topic       string
}
