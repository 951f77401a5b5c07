package brokerapi

import (
	"context"
	"encoding/json"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func (h *Handlers) createTopic(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	cfg := topic.Config{
		Name:           hd.required("topic"),
		ReadQueueNums:  hd.int32("readQueueNums", 16),
		WriteQueueNums: hd.int32("writeQueueNums", 16),
		Perm:           hd.int32("perm", topic.PermRead|topic.PermWrite),
		FilterType:     hd.str("topicFilterType"),
		SysFlag:        hd.int32("topicSysFlag", 0),
		Order:          hd.bool("order"),
	}
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if err := h.b.CreateOrUpdateTopic(ctx, cfg); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

func (h *Handlers) deleteTopic(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	hd := headerOf(req)
	name := hd.required("topic")
	if hd.err != nil {
		return failErr(req, hd.err)
	}
	if err := h.b.DeleteTopic(ctx, name); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}

func (h *Handlers) allTopicConfig(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	w := wire.TopicConfigWrapper{TopicConfigTable: map[string]wire.TopicConfig{}}
	for _, c := range h.b.Topics() {
		w.TopicConfigTable[c.Name] = toWireTopic(c)
	}
	body, err := json.Marshal(w)
	if err != nil {
		return fail(req, wire.SystemError, "encode topics: %v", err)
	}
	resp := ok(req)
	resp.Body = body
	return resp
}

func toWireTopic(c topic.Config) wire.TopicConfig {
	return wire.TopicConfig{TopicName: c.Name, ReadQueueNums: c.ReadQueueNums, WriteQueueNums: c.WriteQueueNums,
		Perm: c.Perm, TopicFilterType: c.FilterType, TopicSysFlag: c.SysFlag, Order: c.Order}
}

// subscriptionGroupWrapper is GET_ALL_SUBSCRIPTIONGROUP_CONFIG's body.
type subscriptionGroupWrapper struct {
	SubscriptionGroupTable map[string]topic.SubscriptionGroup `json:"subscriptionGroupTable"`
	DataVersion            wire.DataVersion                   `json:"dataVersion"`
}

func (h *Handlers) allSubscriptionGroups(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	groups, v := h.b.SubscriptionGroups()
	w := subscriptionGroupWrapper{SubscriptionGroupTable: make(map[string]topic.SubscriptionGroup, len(groups)),
		DataVersion: wire.DataVersion{Counter: v.Counter, Timestamp: v.Timestamp}}
	for _, g := range groups {
		w.SubscriptionGroupTable[g.GroupName] = g
	}
	body, err := json.Marshal(w)
	if err != nil {
		return fail(req, wire.SystemError, "encode groups: %v", err)
	}
	resp := ok(req)
	resp.Body = body
	return resp
}
