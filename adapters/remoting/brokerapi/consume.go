package brokerapi

import (
	"context"
	"encoding/json"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func (h *Handlers) sendBack(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	sb := &inbound.SendBackRequest{
		Group:             hd.required("group"),
		PhyOffset:         hd.int64("offset", -1),
		DelayLevel:        hd.int32("delayLevel", 0),
		OriginMsgID:       hd.str("originMsgId"),
		OriginTopic:       hd.str("originTopic"),
		MaxReconsumeTimes: hd.int32("maxReconsumeTimes", -1),
	}
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if err := h.b.SendBack(ctx, sb); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

func decodeLockBody(req *wire.Command) (wire.LockBatchBody, []inbound.MessageQueue, error) {
	var body wire.LockBatchBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return body, nil, err
	}
	qs := make([]inbound.MessageQueue, len(body.MQSet))
	for i, q := range body.MQSet {
		qs[i] = inbound.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}
	}
	return body, qs, nil
}

func (h *Handlers) lockBatch(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	body, qs, err := decodeLockBody(req)
	if err != nil {
		return fail(req, wire.SystemError, "lock body: %v", err)
	}
	locked, err := h.b.LockQueues(ctx, body.ConsumerGroup, body.ClientID, qs)
	if err != nil {
		return failErr(req, err)
	}
	out := wire.LockBatchResponseBody{LockOKMQSet: make([]wire.MessageQueue, len(locked))}
	for i, q := range locked {
		out.LockOKMQSet[i] = wire.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return fail(req, wire.SystemError, "encode locked queues: %v", err)
	}
	resp := ok(req)
	resp.Body = data
	return resp
}

func (h *Handlers) unlockBatch(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	body, qs, err := decodeLockBody(req)
	if err != nil {
		return fail(req, wire.SystemError, "unlock body: %v", err)
	}
	if err := h.b.UnlockQueues(ctx, body.ConsumerGroup, body.ClientID, qs); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

// resetOffset is INVOKE_BROKER_TO_RESET_OFFSET, the admin's reset of a group's offsets by time.
func (h *Handlers) resetOffset(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	group, topicName := hd.required("group"), hd.required("topic")
	ts, force := hd.int64("timestamp", -1), hd.str("isForce") != "false"
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	offsets, err := h.b.ResetOffsetByTime(ctx, group, topicName, ts, force)
	if err != nil {
		return failErr(req, err)
	}
	resp := ok(req)
	resp.Body = appendOffsetTable(nil, topicName, h.brokerName, offsets)
	return resp
}
