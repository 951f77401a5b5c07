package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Timer is one pending timer message (rocketgo's timer wheel; not offered by Apache RocketMQ).
type Timer struct {
	Due         time.Time
	OffsetMsgID string // the id the send returned; CancelTimer takes it
	Topic       string
	UniqKey     string
}

// Timers lists up to limit pending timer messages of one broker due at or after from, by due time.
func (a *Admin) Timers(ctx context.Context, brokerAddr string, from time.Time, limit int) ([]Timer, error) {
	ext := map[string]string{"fromMs": strconv.FormatInt(from.UnixMilli(), 10), "limit": strconv.Itoa(limit)}
	resp, err := a.c.Call(ctx, brokerAddr, wire.NewRequest(wire.ListTimers, ext, nil))
	if err != nil {
		return nil, err
	}
	var body wire.TimerListBody
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("%w: timer list from %s: %v", client.ErrServer, brokerAddr, err)
	}
	out := make([]Timer, len(body.Timers))
	for i, t := range body.Timers {
		out[i] = Timer{Due: time.UnixMilli(t.DueMs), OffsetMsgID: t.OffsetMsgID, Topic: t.Topic, UniqKey: t.UniqKey}
	}
	return out, nil
}

// CancelTimer cancels a pending timer message by the offset message id its send returned. A timer
// already delivered or cancelled gives an error matching client.ErrNotFound.
func (a *Admin) CancelTimer(ctx context.Context, offsetMsgID string) error {
	host, _, err := wire.ParseOffsetMsgID(offsetMsgID)
	if err != nil {
		return fmt.Errorf("%w: %v", client.ErrMessageIllegal, err)
	}
	_, err = a.c.Call(ctx, host.String(), wire.NewRequest(wire.CancelTimer, map[string]string{"msgId": offsetMsgID}, nil))
	return err
}
