// Package topic holds topics, queues, subscription groups, permissions and the naming rules that
// every name from the network passes before it is used, let alone turned into a path.
package topic

import (
	"errors"
	"fmt"
	"strings"
)

// QueueRef names one queue of one topic on this broker.
type QueueRef struct {
	Topic   string
	QueueID int32
}

func (q QueueRef) String() string { return fmt.Sprintf("%s/%d", q.Topic, q.QueueID) }

// Permission bits of a topic.
const (
	PermPriority int32 = 1 << 3
	PermRead     int32 = 1 << 2
	PermWrite    int32 = 1 << 1
	PermInherit  int32 = 1 << 0
)

// Filter types of a topic.
const (
	FilterSingleTag = "SINGLE_TAG"
	FilterMultiTag  = "MULTI_TAG"
)

// Config is a topic's configuration on a broker.
type Config struct {
	Name           string `json:"topicName"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	WriteQueueNums int32  `json:"writeQueueNums"`
	Perm           int32  `json:"perm"`
	FilterType     string `json:"topicFilterType"`
	SysFlag        int32  `json:"topicSysFlag"`
	Order          bool   `json:"order"`
}

// Readable reports whether consumers may pull.
func (c Config) Readable() bool { return c.Perm&PermRead != 0 }

// Writable reports whether producers may send.
func (c Config) Writable() bool { return c.Perm&PermWrite != 0 }

// Inheritable reports whether the topic may serve as a template for auto-creation.
func (c Config) Inheritable() bool { return c.Perm&PermInherit != 0 }

// QueueNums is the larger of the read and write queue counts: the number of queues that exist.
func (c Config) QueueNums() int32 { return max(c.ReadQueueNums, c.WriteQueueNums) }

// System topics and prefixes.
const (
	DefaultTopic          = "TBW102"
	SelfTestTopic         = "SELF_TEST_TOPIC"
	OffsetMovedEvent      = "OFFSET_MOVED_EVENT"
	ScheduleTopic         = "SCHEDULE_TOPIC_XXXX"
	TransHalfTopic        = "RMQ_SYS_TRANS_HALF_TOPIC"
	TransOpHalfTopic      = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
	TransCheckMaxTimeTopc = "TRANS_CHECK_MAX_TIME_TOPIC"
	RetryGroupPrefix      = "%RETRY%"
	DLQGroupPrefix        = "%DLQ%"
	SysTopicPrefix        = "rmq_sys_"
)

// RetryTopic is the retry topic of a consumer group.
func RetryTopic(group string) string { return RetryGroupPrefix + group }

// DLQTopic is the dead-letter topic of a consumer group.
func DLQTopic(group string) string { return DLQGroupPrefix + group }

// IsRetryTopic reports whether t is some group's retry topic.
func IsRetryTopic(t string) bool { return strings.HasPrefix(t, RetryGroupPrefix) }

// NotWritableByClients are the system topics producers may not send to directly: the broker's
// own bookkeeping (schedule, transactions, timers and every other rmq_sys_ topic).
func NotWritableByClients(t string) bool {
	switch t {
	case ScheduleTopic, TransHalfTopic, TransOpHalfTopic, TransCheckMaxTimeTopc, SelfTestTopic, OffsetMovedEvent:
		return true
	}
	return strings.HasPrefix(t, SysTopicPrefix)
}

// Name limits (RocketMQ's: topics up to 127 characters, groups up to 255).
const (
	MaxTopicLen = 127
	MaxGroupLen = 255
)

// ErrInvalidName is wrapped by every naming-rule failure.
var ErrInvalidName = errors.New("invalid name")

// ValidateTopic checks a topic name against RocketMQ's rules: 1 to 127 characters from
// [%|a-zA-Z0-9_-]. The character set alone keeps out "..", slashes and NUL, so a valid name is
// safe to use as a path element.
func ValidateTopic(name string) error { return validate("topic", name, MaxTopicLen) }

// ValidateGroup checks a producer or consumer group name: 1 to 255 characters from [%|a-zA-Z0-9_-].
func ValidateGroup(name string) error { return validate("group", name, MaxGroupLen) }

func validate(kind, name string, maxLen int) error {
	if name == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalidName, kind)
	}
	if len(name) > maxLen {
		return fmt.Errorf("%w: %s name is %d characters, over %d", ErrInvalidName, kind, len(name), maxLen)
	}
	for i := 0; i < len(name); i++ {
		if !validChar(name[i]) {
			return fmt.Errorf("%w: %s name %q has the character %q at %d; allowed are letters, digits and %%|_-",
				ErrInvalidName, kind, name, name[i], i)
		}
	}
	return nil
}

func validChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '%' || c == '|' || c == '_' || c == '-'
}

// SubscriptionGroup is a consumer group's configuration on a broker.
type SubscriptionGroup struct {
	GroupName                      string `json:"groupName"`
	ConsumeEnable                  bool   `json:"consumeEnable"`
	ConsumeFromMinEnable           bool   `json:"consumeFromMinEnable"`
	ConsumeBroadcastEnable         bool   `json:"consumeBroadcastEnable"`
	RetryQueueNums                 int32  `json:"retryQueueNums"`
	RetryMaxTimes                  int32  `json:"retryMaxTimes"`
	BrokerID                       int64  `json:"brokerId"`
	WhichBrokerWhenConsumeSlowly   int64  `json:"whichBrokerWhenConsumeSlowly"`
	NotifyConsumerIdsChangedEnable bool   `json:"notifyConsumerIdsChangedEnable"`
}

// DefaultSubscriptionGroup is the configuration a group gets when it is created on demand.
func DefaultSubscriptionGroup(name string) SubscriptionGroup {
	return SubscriptionGroup{
		GroupName: name, ConsumeEnable: true, ConsumeFromMinEnable: true, ConsumeBroadcastEnable: true,
		RetryQueueNums: 1, RetryMaxTimes: 16, WhichBrokerWhenConsumeSlowly: 1,
		NotifyConsumerIdsChangedEnable: true,
	}
}

// DataVersion stamps a broker's topic table so name servers can tell a changed table apart.
type DataVersion struct {
	Counter   int64 `json:"counter"`
	Timestamp int64 `json:"timestamp"`
}
