package brokerapi

import (
	"context"
	"encoding/json"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func (h *Handlers) heartbeat(ctx context.Context, c *remoting.Conn, req *wire.Command) *wire.Command {
	var data wire.HeartbeatData
	if err := json.Unmarshal(req.Body, &data); err != nil {
		return fail(req, wire.SystemError, "heartbeat body: %v", err)
	}
	hb := &inbound.Heartbeat{ClientID: data.ClientID, Language: req.Language, Version: int32(req.Version)}
	for _, p := range data.ProducerDataSet {
		hb.ProducerGroups = append(hb.ProducerGroups, p.GroupName)
	}
	for _, cd := range data.ConsumerDataSet {
		d := inbound.ConsumerData{Group: cd.GroupName, ConsumeType: cd.ConsumeType, MessageModel: cd.MessageModel,
			ConsumeFromWhere: cd.ConsumeFromWhere}
		for _, s := range cd.SubscriptionDataSet {
			d.Subscriptions = append(d.Subscriptions, inbound.Subscription{Topic: s.Topic, Expression: s.SubString,
				ExpressionType: s.ExpressionType, Tags: s.TagsSet, Version: s.SubVersion})
		}
		hb.Consumers = append(hb.Consumers, d)
	}
	if err := h.b.Heartbeat(ctx, channel{c}, hb); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

// unregisterClient is what a client sends when one producer or consumer of it shuts down: only
// the named groups lose the connection, the client's others stay registered.
func (h *Handlers) unregisterClient(_ context.Context, c *remoting.Conn, req *wire.Command) *wire.Command {
	h.b.Unregister(channel{c}, req.Ext("producerGroup"), req.Ext("consumerGroup"))
	return ok(req)
}

func (h *Handlers) consumerList(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	group := req.Ext("consumerGroup")
	ids := h.b.ConsumerIDs(group)
	if len(ids) == 0 {
		return fail(req, wire.SystemError, "no consumer for this group, %s", group)
	}
	body, err := json.Marshal(wire.ConsumerListBody{ConsumerIDList: ids})
	if err != nil {
		return fail(req, wire.SystemError, "encode consumer list: %v", err)
	}
	resp := ok(req)
	resp.Body = body
	return resp
}
