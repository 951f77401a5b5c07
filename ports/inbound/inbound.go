// Package inbound states what the transport may ask of the broker's domain, in domain terms: no
// wire types cross this line. The remoting adapter decodes requests into these and encodes the
// results back.
package inbound

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// BatchEntry is one message of a batch send.
type BatchEntry struct {
	Flag       int32
	Body       []byte
	Properties map[string]string
}

// SendRequest is one send: a single message, or a batch when Batch holds entries.
type SendRequest struct {
	ProducerGroup         string
	Topic                 string
	QueueID               int32
	SysFlag               int32
	BornTimestamp         int64
	BornHost              netip.AddrPort
	Flag                  int32
	Properties            map[string]string
	Body                  []byte
	ReconsumeTimes        int32
	MaxReconsumeTimes     int32 // -1 when the request does not say
	DefaultTopic          string
	DefaultTopicQueueNums int32
	Batch                 []BatchEntry
}

// SendStatus is the outcome of a stored send.
type SendStatus int

// Send outcomes that still count as stored.
const (
	SendOK SendStatus = iota
	SendFlushDiskTimeout
)

// SendResult describes what was stored.
type SendResult struct {
	Status    SendStatus
	Topic     string
	QueueID   int32
	StoreHost netip.AddrPort
	Appended  []storage.AppendResult // one per stored record, in order
	Region    string
	// TransactionID is set for a half message: the id END_TRANSACTION will name it by.
	TransactionID string
}

// Sender stores messages.
type Sender interface {
	Send(ctx context.Context, req *SendRequest) (*SendResult, error)
	// SendMany stores the messages of several sends with one append to the store (the requests
	// pipelined on one connection): each outcome is what Send would have answered for its
	// request. A request refused before the append, or holding a message the store refuses as
	// too large, fails alone; a failure of the store itself fails them all.
	SendMany(ctx context.Context, reqs []*SendRequest) []SendOutcome
}

// SendOutcome is one request's answer in SendMany: a result or an error.
type SendOutcome struct {
	Result *SendResult
	Err    error
}

// Pull sysFlag bits.
const (
	PullFlagCommitOffset int32 = 1 << 0
	PullFlagSuspend      int32 = 1 << 1
	PullFlagSubscription int32 = 1 << 2
	PullFlagClassFilter  int32 = 1 << 3
)

// PullRequest is one PULL_MESSAGE.
type PullRequest struct {
	Group          string
	Topic          string
	QueueID        int32
	QueueOffset    int64
	MaxMsgNums     int32
	SysFlag        int32
	CommitOffset   int64
	SuspendTimeout time.Duration
	Subscription   string
	SubVersion     int64
	ExpressionType string
	// ConnID identifies the requester's connection, against which held pulls are counted.
	ConnID uint64
}

// PullStatus says what a pull found.
type PullStatus int

// Pull outcomes.
const (
	PullFound       PullStatus = iota
	PullNoNewMsg               // nothing at the offset yet
	PullNoMatched              // records scanned, none passed the filter
	PullOffsetMoved            // the offset is outside the queue
)

// PullResult is a pull's answer. Body holds the stored records, concatenated, unchanged.
type PullResult struct {
	Status          PullStatus
	NextBeginOffset int64
	MinOffset       int64
	MaxOffset       int64
	SuggestBrokerID int64
	Body            []byte
	Count           int
}

// Puller serves pulls, holding them (long polling) when nothing is there yet.
type Puller interface {
	Pull(ctx context.Context, req *PullRequest) (*PullResult, error)
}

// Offsets serves consumer offsets and queue bounds.
type Offsets interface {
	// QueryConsumerOffset returns the committed offset; found is false when there is none and
	// the consumer should decide where to start.
	QueryConsumerOffset(ctx context.Context, group, topic string, queueID int32) (offset int64, found bool, err error)
	UpdateConsumerOffset(ctx context.Context, group, topic string, queueID int32, offset int64) error
	MaxOffset(ctx context.Context, topic string, queueID int32) (int64, error)
	MinOffset(ctx context.Context, topic string, queueID int32) (int64, error)
	SearchOffset(ctx context.Context, topic string, queueID int32, timestampMs int64) (int64, error)
}

// Subscription is one topic subscription of a consumer group, as a heartbeat states it.
type Subscription struct {
	Topic          string
	Expression     string
	ExpressionType string // TAG or SQL92
	Tags           []string
	Codes          []int64
	Version        int64
}

// ConsumerData is one consumer group's part of a heartbeat.
type ConsumerData struct {
	Group            string
	ConsumeType      string // CONSUME_PASSIVELY (push) or CONSUME_ACTIVELY (pull)
	MessageModel     string // CLUSTERING or BROADCASTING
	ConsumeFromWhere string
	Subscriptions    []Subscription
}

// Heartbeat is a client's HEART_BEAT.
type Heartbeat struct {
	ClientID       string
	Language       string
	Version        int32
	ProducerGroups []string
	Consumers      []ConsumerData
}

// Clients tracks producers and consumers.
type Clients interface {
	Heartbeat(ctx context.Context, ch outbound.Channel, hb *Heartbeat) error
	ChannelClosed(ch outbound.Channel)
	// Unregister drops the channel from the named groups only (UNREGISTER_CLIENT).
	Unregister(ch outbound.Channel, producerGroup, consumerGroup string)
	ConsumerIDs(group string) []string
}

// TopicAdmin creates and deletes topics and lists topics and groups.
type TopicAdmin interface {
	CreateOrUpdateTopic(ctx context.Context, cfg topic.Config) error
	DeleteTopic(ctx context.Context, name string) error
	Topics() []topic.Config
	SubscriptionGroups() ([]topic.SubscriptionGroup, topic.DataVersion)
}

// SendBackRequest is a consumer returning a message it failed to process (CONSUMER_SEND_MSG_BACK).
type SendBackRequest struct {
	Group             string
	PhyOffset         int64  // commit-log offset of the message
	DelayLevel        int32  // 0: the broker picks 3 + reconsume times; negative: dead-letter now
	OriginMsgID       string // the id the consumer knows the message by
	OriginTopic       string
	MaxReconsumeTimes int32 // -1 when the request does not say
}

// Retrier takes failed messages back for retry or dead-lettering.
type Retrier interface {
	SendBack(ctx context.Context, req *SendBackRequest) error
}

// MessageQueue is one queue of one broker, as orderly consumers name it.
type MessageQueue struct {
	Topic      string
	BrokerName string
	QueueID    int32
}

// QueueLocker grants orderly consumers exclusive queues.
type QueueLocker interface {
	LockQueues(ctx context.Context, group, clientID string, qs []MessageQueue) ([]MessageQueue, error)
	UnlockQueues(ctx context.Context, group, clientID string, qs []MessageQueue) error
}

// OffsetResetter moves a consumer group's offsets by time (the admin's reset).
type OffsetResetter interface {
	ResetOffsetByTime(ctx context.Context, group, topic string, timestampMs int64, force bool) (map[int32]int64, error)
}

// EndTransactionRequest is a producer's decision on a half message (END_TRANSACTION).
type EndTransactionRequest struct {
	ProducerGroup   string
	HalfOffset      int64 // tranStateTableOffset: the half message's queue offset
	CommitLogOffset int64
	Decision        int32 // 0 unknown, 8 commit, 12 rollback
	FromCheck       bool
	MsgID           string
	TransactionID   string
}

// Transactions resolves half messages.
type Transactions interface {
	EndTransaction(ctx context.Context, req *EndTransactionRequest) error
}

// ErrTimerNotPending: the timer was delivered, cancelled, or never existed.
var ErrTimerNotPending = errors.New("timer is not pending")

// TimerInfo describes one pending timer message.
type TimerInfo struct {
	DueMs     int64
	PhyOffset int64
	StoreHost netip.AddrPort // with PhyOffset, the timer message's offset message id
	Topic     string
	UniqKey   string
}

// Timers lists and cancels pending timer messages (the admin side of the timer wheel).
type Timers interface {
	ListTimers(ctx context.Context, fromMs int64, limit int) ([]TimerInfo, error)
	CancelTimer(ctx context.Context, phyOffset int64) error
}

// SubscriptionChecker validates a subscription before a client uses it (CHECK_CLIENT_CONFIG,
// sent by Java clients): nil when the broker can filter by it, errs.ErrSubscriptionParse when its
// expression does not compile.
type SubscriptionChecker interface {
	CheckSubscription(ctx context.Context, group string, sub Subscription) error
}
