package brokerapi

import (
	"context"
	"errors"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// uniqueKeyQueryMaxNum replaces maxNum when a query is flagged as a lookup by UNIQ_KEY, as Java
// does with its defaultQueryMaxNum: a unique key is stored once, or a few times with retries.
const uniqueKeyQueryMaxNum = 32

// uniqueKeyQueryFlag is the extField Java tools set on a query by UNIQ_KEY (MixAll's
// UNIQUE_MSG_QUERY_FLAG).
const uniqueKeyQueryFlag = "_UNIQUE_KEY_QUERY"

// queryMessage answers QUERY_MESSAGE (12): the stored records of a topic carrying a key, found by
// the key index.
func (h *Handlers) queryMessage(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	topicName := hd.required("topic")
	key := hd.required("key")
	maxNum := hd.requiredInt32("maxNum")
	begin := hd.requiredInt64("beginTimestamp")
	end := hd.requiredInt64("endTimestamp")
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if hd.bool(uniqueKeyQueryFlag) {
		maxNum = uniqueKeyQueryMaxNum
	}
	res, err := h.b.QueryMessage(ctx, topicName, key, maxNum, begin, end)
	if err != nil {
		return failErr(req, err)
	}
	var resp *wire.Command
	if res.Count == 0 {
		resp = wire.NewResponse(req, wire.QueryNotFound, "can not find message, maybe time range not correct")
	} else {
		resp = ok(req)
		resp.Body = res.Body
	}
	// Java's response header carries them whatever the code.
	resp.SetExt("indexLastUpdateTimestamp", itoa(res.IndexLastUpdateTimestamp))
	resp.SetExt("indexLastUpdatePhyoffset", itoa(res.IndexLastUpdatePhyOffset))
	return resp
}

// viewMessageByID answers VIEW_MESSAGE_BY_ID (33): the one stored record at a commit-log offset
// (the offset a client decodes from an offset message id).
func (h *Handlers) viewMessageByID(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	off := hd.requiredInt64("offset")
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	rec, err := h.b.ViewMessage(ctx, off)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		// Java answers SYSTEM_ERROR, not a not-found code, and tools expect that.
		return fail(req, wire.SystemError, "can not find message by the offset, %d", off)
	case err != nil:
		return failErr(req, err)
	}
	resp := ok(req)
	resp.Body = rec
	return resp
}

// requiredInt64 reads an integer field that must be present (Java's @CFNotNull).
func (h *header) requiredInt64(key string) int64 {
	if h.required(key) == "" {
		return 0
	}
	return h.int64(key, 0)
}

// requiredInt32 is requiredInt64 for a 32-bit field.
func (h *header) requiredInt32(key string) int32 {
	if h.required(key) == "" {
		return 0
	}
	return h.int32(key, 0)
}
