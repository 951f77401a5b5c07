package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// Properties the broker adds to dead-lettered messages (RocketMQ 5's names), so a DLQ reader sees
// where a message came from even after the retry topic replaced its topic.
const (
	PropertyDLQOriginTopic     = "DLQ_ORIGIN_TOPIC"
	PropertyDLQOriginMessageID = "DLQ_ORIGIN_MESSAGE_ID"
)

// SendBack takes a message a consumer failed to process and schedules its retry on the group's
// retry topic, or dead-letters it once it has been retried often enough.
func (b *Broker) SendBack(ctx context.Context, req *inbound.SendBackRequest) error {
	if err := topic.ValidateGroup(req.Group); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	g, ok := b.groups.Get(req.Group)
	if !ok {
		var err error
		if g, err = b.groups.Ensure(ctx, req.Group); err != nil {
			return err
		}
	}
	if g.RetryQueueNums <= 0 {
		return nil // the group does not retry
	}
	storeHost, ok := b.storeHost()
	if !ok {
		return fmt.Errorf("%w: broker is starting", errs.ErrServiceUnavailable)
	}
	orig, err := b.store.Message(ctx, req.PhyOffset)
	if err != nil {
		return fmt.Errorf("message at %d to send back: %w", req.PhyOffset, storeError(err))
	}

	m := orig.Message
	m.Properties = make(map[string]string, len(orig.Properties)+4)
	for k, v := range orig.Properties {
		m.Properties[k] = v
	}
	if _, ok := m.Properties[message.PropertyRetryTopic]; !ok {
		m.Properties[message.PropertyRetryTopic] = orig.Topic
	}
	if _, ok := m.Properties[message.PropertyOriginMessageID]; !ok {
		id := req.OriginMsgID
		if id == "" {
			id = orig.Properties[message.PropertyUniqKey]
		}
		if id != "" {
			m.Properties[message.PropertyOriginMessageID] = id
		}
	}
	delete(m.Properties, message.PropertyDelayLevel)

	limit := g.RetryMaxTimes
	if req.MaxReconsumeTimes >= 0 {
		limit = req.MaxReconsumeTimes
	}
	if orig.ReconsumeTimes >= limit || req.DelayLevel < 0 {
		dlq, err := b.topics.Ensure(ctx, topic.DLQTopic(req.Group), dlqQueueNums, topic.PermRead|topic.PermWrite)
		if err != nil {
			return err
		}
		m.Topic, m.QueueID = dlq.Name, 0
		m.Properties[PropertyDLQOriginTopic] = m.Properties[message.PropertyRetryTopic]
		if id := m.Properties[message.PropertyOriginMessageID]; id != "" {
			m.Properties[PropertyDLQOriginMessageID] = id
		}
	} else {
		retry, err := b.topics.Ensure(ctx, topic.RetryTopic(req.Group), g.RetryQueueNums, topic.PermRead|topic.PermWrite)
		if err != nil {
			return err
		}
		level := req.DelayLevel
		if level == 0 {
			level = 3 + orig.ReconsumeTimes
		}
		m.Topic, m.QueueID = retry.Name, rand.Int32N(retry.WriteQueueNums)
		m.Properties[message.PropertyDelayLevel] = strconv.Itoa(int(level))
	}
	m.ReconsumeTimes = orig.ReconsumeTimes + 1
	m.StoreHost = storeHost
	b.divertDelayed(&m)
	if _, err := b.store.Append(ctx, []message.Message{m}, nil); err != nil && !isFlushTimeout(err) {
		return storeError(err)
	}
	return nil
}

func isFlushTimeout(err error) bool { return errors.Is(err, storage.ErrFlushTimeout) }
