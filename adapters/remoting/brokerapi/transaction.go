package brokerapi

import (
	"context"
	"strconv"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// endTransaction applies a producer's decision. The Go client sends it without waiting, so the
// answer only matters to Java clients and tools.
func (h *Handlers) endTransaction(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	er := &inbound.EndTransactionRequest{
		ProducerGroup:   hd.required("producerGroup"),
		HalfOffset:      hd.int64("tranStateTableOffset", -1),
		CommitLogOffset: hd.int64("commitLogOffset", -1),
		Decision:        hd.int32("commitOrRollback", 0),
		FromCheck:       hd.bool("fromTransactionCheck"),
		MsgID:           hd.str("msgId"),
		TransactionID:   hd.str("transactionId"),
	}
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if err := h.b.EndTransaction(ctx, er); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

// CheckTransactionState sends code 39 oneway with the half message rebuilt under its real topic
// and queue, as RocketMQ does; the client answers with a new END_TRANSACTION.
func (ch channel) CheckTransactionState(ctx context.Context, c outbound.TransactionCheck) error {
	m := &c.Message
	rec := toRecord(m)
	rec.Topic = m.Properties[message.PropertyRealTopic]
	if q, err := strconv.Atoi(m.Properties[message.PropertyRealQueueID]); err == nil {
		rec.QueueID = int32(q)
	}
	uniq := m.Properties[message.PropertyUniqKey]
	ext := map[string]string{
		"tranStateTableOffset": strconv.FormatInt(c.HalfOffset, 10),
		"commitLogOffset":      strconv.FormatInt(c.CommitLogOffset, 10),
		"msgId":                uniq,
		"transactionId":        uniq,
		"offsetMsgId":          wire.OffsetMsgID(m.StoreHost, c.CommitLogOffset),
	}
	return ch.c.InvokeOneway(ctx, wire.NewRequest(wire.CheckTransactionState, ext, wire.AppendRecord(nil, rec)))
}

// toRecord is the stored form of a message.
func toRecord(m *message.Ext) *wire.Record {
	return &wire.Record{
		QueueID: m.QueueID, Flag: m.Flag, QueueOffset: m.QueueOffset, PhysicalOffset: m.PhysicalOffset,
		SysFlag: m.SysFlag, BornTimestamp: m.BornTimestamp, BornHost: m.BornHost, StoreTimestamp: m.StoreTimestamp,
		StoreHost: m.StoreHost, ReconsumeTimes: m.ReconsumeTimes, PreparedTransactionOffset: m.PreparedTransactionOffset,
		Body: m.Body, Topic: m.Topic, Properties: wire.EncodeProperties(m.Properties),
	}
}
