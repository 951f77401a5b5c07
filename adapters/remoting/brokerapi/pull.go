package brokerapi

import (
	"context"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (h *Handlers) pull(ctx context.Context, c *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	pr := &inbound.PullRequest{
		Group:          hd.required("consumerGroup"),
		Topic:          hd.required("topic"),
		QueueID:        hd.int32("queueId", -1),
		QueueOffset:    hd.int64("queueOffset", 0),
		MaxMsgNums:     hd.int32("maxMsgNums", 32),
		SysFlag:        hd.int32("sysFlag", 0),
		CommitOffset:   hd.int64("commitOffset", -1),
		SuspendTimeout: time.Duration(hd.int64("suspendTimeoutMillis", 0)) * time.Millisecond,
		Subscription:   hd.str("subscription"),
		SubVersion:     hd.int64("subVersion", 0),
		ExpressionType: hd.str("expressionType"),
		ConnID:         c.ID(),
	}
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	res, err := h.b.Pull(ctx, pr)
	if err != nil {
		return failErr(req, err)
	}
	var resp *wire.Command
	switch res.Status {
	case inbound.PullFound:
		resp = wire.NewResponse(req, wire.Success, "FOUND")
		resp.Body = res.Body
	case inbound.PullNoNewMsg:
		resp = wire.NewResponse(req, wire.PullNotFound, "NO_NEW_MESSAGE")
	case inbound.PullNoMatched:
		resp = wire.NewResponse(req, wire.PullRetryImmediately, "NO_MATCHED_MESSAGE")
	default:
		resp = wire.NewResponse(req, wire.PullOffsetMoved, "OFFSET_MOVED")
	}
	resp.SetExt("nextBeginOffset", itoa(res.NextBeginOffset))
	resp.SetExt("minOffset", itoa(res.MinOffset))
	resp.SetExt("maxOffset", itoa(res.MaxOffset))
	resp.SetExt("suggestWhichBrokerId", itoa(res.SuggestBrokerID))
	return resp
}
