package brokerapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// maxTimerList caps one listing.
const maxTimerList = 1000

func (h *Handlers) listTimers(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	from, limit := hd.int64("fromMs", 0), hd.int32("limit", 100)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	list, err := h.b.ListTimers(ctx, from, int(min(max(limit, 1), maxTimerList)))
	if err != nil {
		return failErr(req, err)
	}
	body := wire.TimerListBody{Timers: make([]wire.TimerInfo, len(list))}
	for i, t := range list {
		body.Timers[i] = wire.TimerInfo{DueMs: t.DueMs, OffsetMsgID: wire.OffsetMsgID(t.StoreHost, t.PhyOffset),
			Topic: t.Topic, UniqKey: t.UniqKey}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fail(req, wire.SystemError, "encode timers: %v", err)
	}
	resp := ok(req)
	resp.Body = data
	return resp
}

func (h *Handlers) cancelTimer(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	id := hd.required("msgId")
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	_, phy, err := wire.ParseOffsetMsgID(id)
	if err != nil {
		return fail(req, wire.SystemError, "msgId %q is not an offset message id: %v", id, err)
	}
	if err := h.b.CancelTimer(ctx, phy); err != nil {
		if errors.Is(err, inbound.ErrTimerNotPending) {
			return fail(req, wire.NoMessage, "%v", err)
		}
		return failErr(req, err)
	}
	return ok(req)
}
