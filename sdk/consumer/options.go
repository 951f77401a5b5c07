package consumer

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// Errors, the same values as in package client.
var (
	ErrClosed        = client.ErrClosed
	ErrTopicNotExist = client.ErrTopicNotExist
	ErrNotFound      = client.ErrNotFound
)

// Model is how a group shares messages.
type Model int

const (
	// Clustering: each message goes to one member of the group; queues are divided among the
	// members and offsets are kept by the brokers.
	Clustering Model = iota
	// Broadcasting: every member gets every message; offsets are kept by each member.
	Broadcasting
)

func (m Model) String() string {
	if m == Broadcasting {
		return "BROADCASTING"
	}
	return "CLUSTERING"
}

// StartFrom is where a queue without a committed offset starts.
type StartFrom int

const (
	// FromLastOffset starts at the end of the queue (but RocketMQ brokers hand a new group offset 0
	// on a queue whose messages are all still in memory, so a young topic is read from its start).
	FromLastOffset StartFrom = iota
	// FromFirstOffset starts at the oldest stored message.
	FromFirstOffset
	// FromTimestamp starts at the message stored nearest Options.StartTimestamp.
	FromTimestamp
)

func (s StartFrom) String() string {
	switch s {
	case FromFirstOffset:
		return "CONSUME_FROM_FIRST_OFFSET"
	case FromTimestamp:
		return "CONSUME_FROM_TIMESTAMP"
	}
	return "CONSUME_FROM_LAST_OFFSET"
}

// Selector chooses the messages of a subscription.
type Selector struct {
	Type       string // "TAG" (default) or "SQL92"
	Expression string // "*", "TagA || TagB", or an SQL92 condition
}

// Tag selects by tag expression: "*" (everything), "TagA", "TagA || TagB".
func Tag(expr string) Selector { return Selector{Type: "TAG", Expression: expr} }

// SQL92 selects by an SQL92 condition on the message properties (brokers must enable it).
func SQL92(expr string) Selector { return Selector{Type: "SQL92", Expression: expr} }

func (s Selector) normalized() Selector {
	if s.Type == "" {
		s.Type = "TAG"
	}
	s.Type = strings.ToUpper(s.Type)
	if s.Type == "TAG" && strings.TrimSpace(s.Expression) == "" {
		s.Expression = "*"
	}
	return s
}

// Handler consumes a batch of messages (at most Options.BatchSize). Returning nil acknowledges
// the batch. An error makes it consume again later: concurrently consumed messages are sent back
// to the broker for a delayed retry (after MaxReconsumeTimes failures they go to the group's
// dead-letter queue); orderly consumed messages are retried in place after
// Options.SuspendInterval. ctx ends only when a Shutdown gives up waiting.
type Handler func(ctx context.Context, msgs []*message.Ext) error

// Options configure a PushConsumer. Zero values take the defaults noted.
type Options struct {
	// NameServers are name-server addresses (host:port); required unless Client is set.
	NameServers []string
	// Client shares connections with other producers and consumers (one consumer per group per
	// client). When nil the consumer makes its own client, closed by Shutdown.
	Client *client.Client
	// Logger is used for an own client. Default: discarded.
	Logger *slog.Logger
	// InstanceName is used for an own client (see client.Options).
	InstanceName string

	// Group is the consumer group. Required.
	Group string
	// Model is Clustering (default) or Broadcasting.
	Model Model
	// StartFrom applies to queues without a committed offset. Default FromLastOffset.
	StartFrom StartFrom
	// StartTimestamp is used with FromTimestamp. Default: 30 minutes before Start.
	StartTimestamp time.Time
	// Orderly consumes each queue in order, one batch at a time; in clustering mode a queue is
	// consumed only while this client holds the broker's lock on it.
	Orderly bool
	// Concurrency bounds the handler calls running at once. Default 20.
	Concurrency int
	// BatchSize is the most messages per handler call. Default 1.
	BatchSize int
	// PullBatchSize is the most messages per pull. Default 32.
	PullBatchSize int
	// MaxCachedPerQueue pauses pulling a queue while this many of its messages wait for the
	// handler. Default 1000.
	MaxCachedPerQueue int
	// MaxReconsumeTimes is how often a message is retried before it goes to the dead-letter queue.
	// Default 16 for concurrent consumers and unlimited (math.MaxInt32) for orderly ones, as in
	// RocketMQ's clients.
	MaxReconsumeTimes int
	// SuspendInterval is the pause before an orderly batch that failed is consumed again.
	// Default 1s.
	SuspendInterval time.Duration
	// OffsetFile keeps a broadcasting consumer's offsets across restarts (JSON). Default: in
	// memory only.
	OffsetFile string
	// RebalanceInterval is the period of rebalances besides those brokers trigger. Default 20s.
	RebalanceInterval time.Duration
	// CommitInterval is the period of offset commits. Default 5s.
	CommitInterval time.Duration
	// LockInterval is the period of orderly lock renewals. Default 20s.
	LockInterval time.Duration
	// PullTimeout bounds a pull; the broker holds it up to 20s when there is nothing new.
	// Default 30s.
	PullTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 20
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1
	}
	if o.PullBatchSize <= 0 {
		o.PullBatchSize = 32
	}
	if o.MaxCachedPerQueue <= 0 {
		o.MaxCachedPerQueue = 1000
	}
	if o.MaxReconsumeTimes <= 0 {
		if o.Orderly {
			o.MaxReconsumeTimes = 1<<31 - 1
		} else {
			o.MaxReconsumeTimes = 16
		}
	}
	if o.SuspendInterval <= 0 {
		o.SuspendInterval = time.Second
	}
	if o.RebalanceInterval <= 0 {
		o.RebalanceInterval = 20 * time.Second
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = 5 * time.Second
	}
	if o.LockInterval <= 0 {
		o.LockInterval = 20 * time.Second
	}
	if o.PullTimeout <= 0 {
		o.PullTimeout = 30 * time.Second
	}
}
