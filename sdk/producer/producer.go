// Package producer sends messages to RocketMQ-compatible brokers: synchronously, asynchronously
// with a callback (pipelined over one connection per broker), oneway, and in batches. Queues are
// chosen round-robin, or by the hash of a message's ShardingKey; failed attempts are retried on
// another broker when there is one.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Errors, the same values as in package client.
var (
	ErrClosed         = client.ErrClosed
	ErrTopicNotExist  = client.ErrTopicNotExist
	ErrMessageIllegal = client.ErrMessageIllegal
)

// Options configure a Producer. Zero values take the defaults noted.
type Options struct {
	// NameServers are name-server addresses (host:port); required unless Client is set.
	NameServers []string
	// Client shares connections with other producers and consumers. When nil the producer makes
	// its own client, closed by Shutdown.
	Client *client.Client
	// Logger is used for an own client. Default: discarded.
	Logger *slog.Logger
	// InstanceName is used for an own client (see client.Options).
	InstanceName string

	// Group is the producer group. Default "DEFAULT_PRODUCER".
	Group string
	// MaxAttempts is how many times a send is tried before it fails. Default 3; 1 disables
	// retries.
	MaxAttempts int
	// SendTimeout bounds each attempt whose context has no deadline. Default 3s. With a
	// deadline, the deadline bounds all attempts together.
	SendTimeout time.Duration
	// CompressOver compresses (zlib) single-message bodies of at least this many bytes. Default
	// 4096; negative disables compression.
	CompressOver int
	// CompressLevel is zlib's level. Default 5.
	CompressLevel int
	// MaxInflight bounds the asynchronous sends waiting for their answer; SendAsync blocks
	// (within its context) while it is reached. Default 10000.
	MaxInflight int
	// CreateTopicKey is the template topic a broker creates unknown topics from. Default TBW102.
	CreateTopicKey string
	// DefaultTopicQueueNums is the queue count of topics created from the template. Default 4.
	DefaultTopicQueueNums int
	// MaxReconsumeTimes is sent with every message (Java brokers use it for messages sent
	// straight to a retry topic). Default 16.
	MaxReconsumeTimes int
	// MaxMessageSize bounds a body (and a batch). Default 4 MiB, RocketMQ's limit.
	MaxMessageSize int
}

func (o *Options) defaults() {
	if o.Group == "" {
		o.Group = "DEFAULT_PRODUCER"
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 3 * time.Second
	}
	if o.CompressOver == 0 {
		o.CompressOver = 4096
	}
	if o.CompressLevel == 0 {
		o.CompressLevel = 5
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 10000
	}
	if o.CreateTopicKey == "" {
		o.CreateTopicKey = "TBW102"
	}
	if o.DefaultTopicQueueNums <= 0 {
		o.DefaultTopicQueueNums = 4
	}
	if o.MaxReconsumeTimes <= 0 {
		o.MaxReconsumeTimes = 16
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 4 << 20
	}
}

// Status is how a successful send was stored.
type Status int

// Send statuses; all of them mean the broker accepted the message.
const (
	SendOK Status = iota
	SendFlushDiskTimeout
	SendFlushSlaveTimeout
	SendSlaveNotAvailable
)

func (s Status) String() string {
	switch s {
	case SendOK:
		return "SEND_OK"
	case SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// SendResult describes a stored message (or batch).
type SendResult struct {
	Status Status
	// MsgID is the client-side id (UNIQ_KEY); for a batch the ids joined with commas.
	MsgID string
	// OffsetMsgID is the broker's id (store host and commit-log offset); for a batch the ids
	// joined with commas.
	OffsetMsgID string
	Queue       message.Queue
	// QueueOffset is the offset in the queue of the (first) message.
	QueueOffset int64
	RegionID    string
	TraceOn     bool
}

// Producer sends messages. Its methods are safe for concurrent use.
type Producer struct {
	opts       Options
	client     *client.Client
	ownClient  bool
	group      string
	compressor *message.Compressor
	unregister func()
	log        *slog.Logger

	rr       atomic.Uint32
	inflight chan struct{} // semaphore of asynchronous sends
	pool     sync.Pool     // *request

	mu     sync.RWMutex
	closed bool
	active sync.WaitGroup // sends in progress, awaited by Shutdown
}

// New makes a producer, ready to send. No connection is made before the first send.
func New(opts Options) (*Producer, error) {
	opts.defaults()
	if err := validateName("group", opts.Group); err != nil {
		return nil, err
	}
	p := &Producer{opts: opts, group: opts.Group, inflight: make(chan struct{}, opts.MaxInflight)}
	if opts.CompressOver > 0 {
		c, err := message.NewCompressor(opts.CompressLevel)
		if err != nil {
			return nil, fmt.Errorf("rocketgo: compress level %d: %w", opts.CompressLevel, err)
		}
		p.compressor = c
	}
	p.client = opts.Client
	if p.client == nil {
		c, err := client.New(client.Options{NameServers: opts.NameServers, Logger: opts.Logger, InstanceName: opts.InstanceName})
		if err != nil {
			return nil, err
		}
		p.client, p.ownClient = c, true
	}
	p.log = p.client.Logger().With("producer", opts.Group)
	p.unregister = p.client.RegisterProducer(opts.Group)
	return p, nil
}

// Client is the producer's client.
func (p *Producer) Client() *client.Client { return p.client }

// Shutdown stops accepting sends, waits for the sends in progress (asynchronous ones included)
// to finish, and closes the producer's own client. When ctx ends first, an own client is closed at
// once (failing what is still waiting, whose callbacks then run) and ctx's error is returned; with
// a shared client the sends still waiting finish by their own deadlines.
func (p *Producer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		p.unregister()
		if p.ownClient {
			_ = p.client.Close(context.Background())
			<-done
		}
		return fmt.Errorf("rocketgo: producer shutdown: %w", ctx.Err())
	}
	p.unregister()
	if p.ownClient {
		return p.client.Close(ctx)
	}
	return nil
}

// begin registers a send in progress; false once the producer is shut down.
func (p *Producer) begin() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	p.active.Add(1)
	return true
}

func (p *Producer) getRequest() *request {
	r, _ := p.pool.Get().(*request)
	if r == nil {
		r = &request{p: p}
	}
	return r
}

func (p *Producer) putRequest(r *request) {
	if cap(r.buf) > 1<<20 {
		r.buf = nil
	}
	r.props, r.body, r.msgID, r.oneway = nil, nil, "", false
	p.pool.Put(r)
}

// validate checks a message before anything is sent.
func (p *Producer) validate(m *message.Message) error {
	if m == nil {
		return fmt.Errorf("%w: nil message", ErrMessageIllegal)
	}
	if err := validateName("topic", m.Topic); err != nil {
		return err
	}
	if len(m.Body) == 0 {
		return fmt.Errorf("%w: empty body", ErrMessageIllegal)
	}
	if len(m.Body) > p.opts.MaxMessageSize {
		return fmt.Errorf("%w: body of %d bytes is over %d", ErrMessageIllegal, len(m.Body), p.opts.MaxMessageSize)
	}
	if err := message.ValidateProperties(m); err != nil {
		return fmt.Errorf("%w: %w", ErrMessageIllegal, err)
	}
	// The encoded properties (plus the UNIQ_KEY added here) must fit RocketMQ's int16 length.
	n := len(m.Tag) + 64
	for _, k := range m.Keys {
		n += len(k) + 1
	}
	for k, v := range m.Properties {
		n += len(k) + len(v) + 2
	}
	if n > wire.MaxPropertiesLen {
		return fmt.Errorf("%w: properties of about %d bytes are over %d", ErrMessageIllegal, n, wire.MaxPropertiesLen)
	}
	return nil
}

// validateName applies RocketMQ's topic and group rule: ^[%|a-zA-Z0-9_-]+$, at most 127 bytes
// for topics and 255 for groups.
func validateName(what, s string) error {
	limit := 127
	if what == "group" {
		limit = 255
	}
	if s == "" || len(s) > limit {
		return fmt.Errorf("%w: %s %q must have 1 to %d characters", ErrMessageIllegal, what, s, limit)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '%' || c == '|' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: %s %q has a character outside [%%|a-zA-Z0-9_-]", ErrMessageIllegal, what, s)
		}
	}
	return nil
}

// selectQueue picks the queue of an attempt: by sharding key (always the same queue), else
// round-robin, skipping queues of avoid (the broker that failed the previous attempt) while
// another broker has one.
func (p *Producer) selectQueue(route *client.Route, shardingKey, avoid string) (message.Queue, error) {
	qs := route.Publish
	if len(qs) == 0 {
		return message.Queue{}, fmt.Errorf("%w: topic %s has no writable queue", ErrTopicNotExist, route.Topic)
	}
	if shardingKey != "" {
		h := message.TagHash(shardingKey) // Java's String.hashCode, as SelectMessageQueueByHash
		if h < 0 {
			h = -h
		}
		return qs[h%int64(len(qs))], nil
	}
	start := int(p.rr.Add(1)-1) % len(qs)
	if avoid != "" {
		for i := range qs {
			q := qs[(start+i)%len(qs)]
			if q.BrokerName != avoid {
				return q, nil
			}
		}
	}
	return qs[start], nil
}

// retriable reports whether another attempt may succeed: transport failures, a lost answer, and
// the broker codes RocketMQ's clients retry.
func retriable(err error) bool {
	var re *client.ResponseError
	if errors.As(err, &re) {
		switch re.Code {
		case wire.TopicNotExist, wire.ServiceNotAvailable, wire.SystemError, wire.NoPermission, wire.NoBuyerID, wire.NotInCurrentUnit:
			return true
		}
		return false
	}
	if errors.Is(err, client.ErrClosed) && !errors.Is(err, client.ErrConnection) {
		return true // the connection closed under the request; a new one may work
	}
	return errors.Is(err, client.ErrConnection) || errors.Is(err, context.DeadlineExceeded)
}

// sendResult interprets a send response.
func sendResult(addr string, req int16, q message.Queue, msgID string, resp *wire.Command) (SendResult, error) {
	var st Status
	switch resp.Code {
	case wire.Success:
		st = SendOK
	case wire.FlushDiskTimeout:
		st = SendFlushDiskTimeout
	case wire.FlushSlaveTimeout:
		st = SendFlushSlaveTimeout
	case wire.SlaveNotAvailable:
		st = SendSlaveNotAvailable
	default:
		return SendResult{}, client.CheckResponse(addr, req, resp)
	}
	res := SendResult{Status: st, MsgID: msgID, Queue: q, OffsetMsgID: resp.Ext("msgId"), RegionID: resp.Ext("MSG_REGION"),
		TraceOn: resp.Ext("TRACE_ON") != "false"}
	if res.RegionID == "" {
		res.RegionID = "DefaultRegion"
	}
	if qid, err := strconv.ParseInt(resp.Ext("queueId"), 10, 32); err == nil {
		res.Queue.QueueID = int32(qid)
	}
	res.QueueOffset, _ = strconv.ParseInt(resp.Ext("queueOffset"), 10, 64)
	return res, nil
}
