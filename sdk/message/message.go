// Package message holds the message types the SDK's producer, consumers and admin share: what an
// application sends (Message), what it receives (Ext), the queue a message lives in (Queue), and
// the pieces of RocketMQ's message format a client computes itself: the client-side message id
// (UNIQ_KEY), tag hash codes, property encoding and body compression.
package message

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Well-known property names (REMOTING.md §8.8).
const (
	PropertyTags              = "TAGS"
	PropertyKeys              = "KEYS"
	PropertyUniqKey           = "UNIQ_KEY"
	PropertyDelayLevel        = "DELAY"
	PropertyRetryTopic        = "RETRY_TOPIC"
	PropertyOriginMessageID   = "ORIGIN_MESSAGE_ID"
	PropertyReconsumeTime     = "RECONSUME_TIME"
	PropertyMaxReconsumeTimes = "MAX_RECONSUME_TIMES"
	PropertyCluster           = "CLUSTER"
	PropertyMinOffset         = "MIN_OFFSET"
	PropertyMaxOffset         = "MAX_OFFSET"
	PropertyConsumeStartTime  = "CONSUME_START_TIME"
	PropertyShardingKey       = "SHARDING_KEY"
	PropertyRealTopic         = "REAL_TOPIC"
	PropertyRealQueueID       = "REAL_QID"
	PropertyTransactionPrep   = "TRAN_MSG"
	PropertyProducerGroup     = "PGROUP"
)

// RetryTopicPrefix and DLQTopicPrefix name a consumer group's retry and dead-letter topics.
const (
	RetryTopicPrefix = "%RETRY%"
	DLQTopicPrefix   = "%DLQ%"
)

// RetryTopic is the retry topic of a consumer group.
func RetryTopic(group string) string { return RetryTopicPrefix + group }

// Message is what a producer sends.
type Message struct {
	Topic string
	Body  []byte
	// Tag is the message's single tag (property TAGS); consumers filter on it.
	Tag string
	// Keys are business keys (property KEYS, space-joined); brokers index them.
	Keys []string
	// Flag is an application-defined int32 carried with the message.
	Flag int32
	// DelayLevel > 0 delays delivery by the broker's delay level (1 = 1s ... 18 = 2h by default).
	DelayLevel int
	// ShardingKey, when set, makes the producer pick the queue by the key's hash so that every
	// message with the same key goes to the same queue (ordered per key). Not sent on the wire.
	ShardingKey string
	// Properties are user properties. Names must not contain 0x01 or 0x02.
	Properties map[string]string
}

// Property returns a user property, or "".
func (m *Message) Property(name string) string { return m.Properties[name] }

// SetProperty sets a user property.
func (m *Message) SetProperty(name, value string) {
	if m.Properties == nil {
		m.Properties = make(map[string]string, 4)
	}
	m.Properties[name] = value
}

// Queue names one queue of a topic on one broker.
type Queue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
}

func (q Queue) String() string {
	return q.Topic + "@" + q.BrokerName + ":" + strconv.Itoa(int(q.QueueID))
}

// Compare orders queues as RocketMQ's rebalance does: by topic, broker name, then queue id.
func (q Queue) Compare(o Queue) int {
	if c := strings.Compare(q.Topic, o.Topic); c != 0 {
		return c
	}
	if c := strings.Compare(q.BrokerName, o.BrokerName); c != 0 {
		return c
	}
	switch {
	case q.QueueID < o.QueueID:
		return -1
	case q.QueueID > o.QueueID:
		return 1
	}
	return 0
}

// Ext is a stored message as a consumer receives it.
type Ext struct {
	Message
	// MsgID is the client-side id (UNIQ_KEY), or the offset id when the message has none (batch
	// messages of the official Go client).
	MsgID string
	// OffsetMsgID is the broker's id: store host and commit-log offset.
	OffsetMsgID string
	Queue       Queue
	QueueOffset int64
	// CommitLogOffset is the record's physical offset in the broker's commit log.
	CommitLogOffset           int64
	SysFlag                   int32
	BodyCRC                   int32
	BornTimestamp             time.Time
	BornHost                  netip.AddrPort
	StoreTimestamp            time.Time
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
}
