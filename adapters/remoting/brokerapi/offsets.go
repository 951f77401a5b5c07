package brokerapi

import (
	"context"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func offsetResponse(req *wire.Command, off int64) *wire.Command {
	resp := ok(req)
	resp.SetExt("offset", itoa(off))
	return resp
}

func (h *Handlers) queryConsumerOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	group, topicName, qid := hd.required("consumerGroup"), hd.required("topic"), hd.int32("queueId", -1)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	off, found, err := h.b.QueryConsumerOffset(ctx, group, topicName, qid)
	if err != nil {
		return failErr(req, err)
	}
	if !found {
		return fail(req, wire.QueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
	}
	return offsetResponse(req, off)
}

func (h *Handlers) updateConsumerOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	group, topicName := hd.required("consumerGroup"), hd.required("topic")
	qid, off := hd.int32("queueId", -1), hd.int64("commitOffset", -1)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if err := h.b.UpdateConsumerOffset(ctx, group, topicName, qid, off); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

func (h *Handlers) maxOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	topicName, qid := hd.required("topic"), hd.int32("queueId", -1)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	off, err := h.b.MaxOffset(ctx, topicName, qid)
	if err != nil {
		return failErr(req, err)
	}
	return offsetResponse(req, off)
}

func (h *Handlers) minOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	topicName, qid := hd.required("topic"), hd.int32("queueId", -1)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	off, err := h.b.MinOffset(ctx, topicName, qid)
	if err != nil {
		return failErr(req, err)
	}
	return offsetResponse(req, off)
}

func (h *Handlers) searchOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	topicName, qid, ts := hd.required("topic"), hd.int32("queueId", -1), hd.int64("timestamp", 0)
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	off, err := h.b.SearchOffset(ctx, topicName, qid, ts)
	if err != nil {
		return failErr(req, err)
	}
	return offsetResponse(req, off)
}
