package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Requests to brokers that consumers and admin share. Each finds the master of the queue's
// broker through the route cache (looking the topic up when it is not cached).

// MasterAddr returns the master address of the broker holding q.
func (c *Client) MasterAddr(ctx context.Context, q message.Queue) (string, error) {
	if r := c.routes.get(q.Topic); r != nil {
		if a := r.MasterAddr(q.BrokerName); a != "" {
			return a, nil
		}
	}
	if a, err := c.BrokerAddr(q.BrokerName); err == nil {
		return a, nil
	}
	r, err := c.Route(ctx, q.Topic)
	if err != nil {
		return "", err
	}
	if a := r.MasterAddr(q.BrokerName); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("%w: %s (topic %s)", ErrBrokerNotFound, q.BrokerName, q.Topic)
}

func (c *Client) queueCall(ctx context.Context, q message.Queue, code int16, ext map[string]string) (*wire.Command, error) {
	addr, err := c.MasterAddr(ctx, q)
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, addr, wire.NewRequest(code, ext, nil))
}

func queueExt(q message.Queue, kv ...string) map[string]string {
	ext := make(map[string]string, 2+len(kv)/2)
	ext["topic"] = q.Topic
	ext["queueId"] = strconv.Itoa(int(q.QueueID))
	for i := 0; i+1 < len(kv); i += 2 {
		ext[kv[i]] = kv[i+1]
	}
	return ext
}

func offsetOf(resp *wire.Command) (int64, error) {
	off, err := strconv.ParseInt(resp.Ext("offset"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: offset %q in the answer", ErrServer, resp.Ext("offset"))
	}
	return off, nil
}

// QueryConsumerOffset returns group's committed offset of q; no stored offset is an error
// matching ErrNotFound.
func (c *Client) QueryConsumerOffset(ctx context.Context, group string, q message.Queue) (int64, error) {
	resp, err := c.queueCall(ctx, q, wire.QueryConsumerOffset, queueExt(q, "consumerGroup", group))
	if err != nil {
		return 0, err
	}
	return offsetOf(resp)
}

// UpdateConsumerOffset commits group's offset of q (the next offset to consume) and waits for
// the broker's answer.
func (c *Client) UpdateConsumerOffset(ctx context.Context, group string, q message.Queue, offset int64) error {
	_, err := c.queueCall(ctx, q, wire.UpdateConsumerOffset, queueExt(q, "consumerGroup", group, "commitOffset", strconv.FormatInt(offset, 10)))
	return err
}

// MaxOffset is the offset the next message of q will get.
func (c *Client) MaxOffset(ctx context.Context, q message.Queue) (int64, error) {
	resp, err := c.queueCall(ctx, q, wire.GetMaxOffset, queueExt(q))
	if err != nil {
		return 0, err
	}
	return offsetOf(resp)
}

// MinOffset is the offset of the oldest message of q still stored.
func (c *Client) MinOffset(ctx context.Context, q message.Queue) (int64, error) {
	resp, err := c.queueCall(ctx, q, wire.GetMinOffset, queueExt(q))
	if err != nil {
		return 0, err
	}
	return offsetOf(resp)
}

// SearchOffset returns the offset of q's message stored nearest t (RocketMQ's rule).
func (c *Client) SearchOffset(ctx context.Context, q message.Queue, t time.Time) (int64, error) {
	resp, err := c.queueCall(ctx, q, wire.SearchOffsetByTimestamp, queueExt(q, "timestamp", strconv.FormatInt(t.UnixMilli(), 10)))
	if err != nil {
		return 0, err
	}
	return offsetOf(resp)
}

// ConsumerIDs lists the live members of group as the broker at addr knows them.
func (c *Client) ConsumerIDs(ctx context.Context, addr, group string) ([]string, error) {
	resp, err := c.Call(ctx, addr, wire.NewRequest(wire.GetConsumerListByGroup, map[string]string{"consumerGroup": group}, nil))
	if err != nil {
		return nil, err
	}
	var body wire.ConsumerListBody
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, fmt.Errorf("%w: consumer list from %s: %v", ErrServer, addr, err)
		}
	}
	return body.ConsumerIDList, nil
}

func wireQueues(qs []message.Queue) []wire.MessageQueue {
	out := make([]wire.MessageQueue, len(qs))
	for i, q := range qs {
		out[i] = wire.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}
	}
	return out
}

// LockQueues asks the broker at addr to lock qs for group and this client; it returns the queues
// this client now holds.
func (c *Client) LockQueues(ctx context.Context, addr, group string, qs []message.Queue) ([]message.Queue, error) {
	body, err := json.Marshal(wire.LockBatchBody{ConsumerGroup: group, ClientID: c.id, MQSet: wireQueues(qs)})
	if err != nil {
		return nil, err
	}
	resp, err := c.Call(ctx, addr, wire.NewRequest(wire.LockBatchMQ, map[string]string{}, body))
	if err != nil {
		return nil, err
	}
	var out wire.LockBatchResponseBody
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return nil, fmt.Errorf("%w: lock answer from %s: %v", ErrServer, addr, err)
		}
	}
	locked := make([]message.Queue, len(out.LockOKMQSet))
	for i, q := range out.LockOKMQSet {
		locked[i] = message.Queue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}
	}
	return locked, nil
}

// UnlockQueues releases this client's locks of qs.
func (c *Client) UnlockQueues(ctx context.Context, addr, group string, qs []message.Queue) error {
	body, err := json.Marshal(wire.LockBatchBody{ConsumerGroup: group, ClientID: c.id, MQSet: wireQueues(qs)})
	if err != nil {
		return err
	}
	_, err = c.Call(ctx, addr, wire.NewRequest(wire.UnlockBatchMQ, map[string]string{}, body))
	return err
}

// SendBack returns a message a consumer failed to consume (CONSUMER_SEND_MSG_BACK): the broker
// schedules a retry through the group's retry topic, or with delayLevel -1 (or once
// maxReconsumeTimes is reached) moves it to the dead-letter queue.
func (c *Client) SendBack(ctx context.Context, addr, group string, m *message.Ext, delayLevel, maxReconsumeTimes int) error {
	ext := map[string]string{
		"group":             group,
		"offset":            strconv.FormatInt(m.CommitLogOffset, 10),
		"delayLevel":        strconv.Itoa(delayLevel),
		"originMsgId":       m.MsgID,
		"originTopic":       m.Topic,
		"unitMode":          "false",
		"maxReconsumeTimes": strconv.Itoa(maxReconsumeTimes),
	}
	_, err := c.Call(ctx, addr, wire.NewRequest(wire.ConsumerSendMsgBack, ext, nil))
	return err
}

// UnregisterClient tells the broker at addr that this client left a producer or consumer group.
func (c *Client) UnregisterClient(ctx context.Context, addr, producerGroup, consumerGroup string) error {
	ext := map[string]string{"clientID": c.id}
	if producerGroup != "" {
		ext["producerGroup"] = producerGroup
	}
	if consumerGroup != "" {
		ext["consumerGroup"] = consumerGroup
	}
	_, err := c.Call(ctx, addr, wire.NewRequest(wire.UnregisterClient, ext, nil))
	return err
}

// BrokerAddrs lists the addresses of the brokers in the cached routes: every address when all is
// true, masters only otherwise.
func (c *Client) BrokerAddrs(all bool) []string { return c.brokerAddrs(all) }
