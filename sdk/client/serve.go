package client

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/sdk/internal/remote"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// serve answers the requests brokers send to clients (REMOTING.md §7). It runs on a connection's
// read loop: everything here is quick, and real work is handed to the consumer's own goroutines.
func (c *Client) serve(_ *remote.Conn, req *wire.Command) *wire.Command {
	switch req.Code {
	case wire.NotifyConsumerIdsChanged:
		if cons := c.consumer(req.Ext("consumerGroup")); cons != nil {
			cons.IDsChanged()
		}
		return nil
	case wire.CheckTransactionState:
		return nil // transactions are not supported by this SDK yet
	case wire.GetConsumerRunningInfo:
		return c.runningInfo(req)
	case wire.ResetConsumerClientOffset:
		c.resetOffsets(req)
		return nil
	}
	c.log.Debug("unsupported request from broker", "code", req.Code)
	return wire.NewResponse(req, wire.RequestCodeNotSupported, "request type "+strconv.Itoa(int(req.Code))+" not supported by rocketgo sdk")
}

// runningInfo answers GET_CONSUMER_RUNNING_INFO with properties and subscriptions; the per-queue
// and statistics tables are left empty.
func (c *Client) runningInfo(req *wire.Command) *wire.Command {
	group := req.Ext("consumerGroup")
	if id := req.Ext("clientId"); id != "" && id != c.id {
		return wire.NewResponse(req, wire.SystemError, "Can't find specified client instance of: "+id)
	}
	cons := c.consumer(group)
	if cons == nil {
		return wire.NewResponse(req, wire.SystemError, "The Consumer Group <"+group+"> not exist in this consumer")
	}
	data := cons.ConsumerData()
	props := cons.RunningInfo()
	if props == nil {
		props = map[string]string{}
	}
	props["PROP_NAMESERVER_ADDR"] = strings.Join(c.opts.NameServers, ";")
	body, err := json.Marshal(struct {
		Properties      map[string]string       `json:"properties"`
		SubscriptionSet []wire.SubscriptionData `json:"subscriptionSet"`
		MQTable         map[string]any          `json:"mqTable"`
		StatusTable     map[string]any          `json:"statusTable"`
		Jstack          string                  `json:"jstack"`
	}{props, data.SubscriptionDataSet, map[string]any{}, map[string]any{}, ""})
	if err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body = body
	return resp
}

// resetOffsets hands RESET_CONSUMER_CLIENT_OFFSET to the group's consumer.
func (c *Client) resetOffsets(req *wire.Command) {
	cons := c.consumer(req.Ext("group"))
	r, ok := cons.(OffsetResetter)
	if !ok {
		return
	}
	table, err := wire.DecodeOffsetTable(req.Body)
	if err != nil {
		c.log.Warn("bad offset table in RESET_CONSUMER_CLIENT_OFFSET", "err", err)
		return
	}
	topic := req.Ext("topic")
	offsets := make(map[message.Queue]int64, len(table))
	for _, e := range table {
		if e.Queue.Topic == "" {
			e.Queue.Topic = topic
		}
		offsets[message.Queue{Topic: e.Queue.Topic, BrokerName: e.Queue.BrokerName, QueueID: e.Queue.QueueID}] = e.Offset
	}
	r.ResetOffsets(topic, offsets)
}
