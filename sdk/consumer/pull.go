package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// PullOptions configure a PullConsumer. Zero values take the defaults noted.
type PullOptions struct {
	// NameServers are name-server addresses (host:port); required unless Client is set.
	NameServers []string
	// Client shares connections; when nil the consumer makes its own, closed by Shutdown.
	Client *client.Client
	// Logger is used for an own client. Default: discarded.
	Logger *slog.Logger
	// InstanceName is used for an own client (see client.Options).
	InstanceName string
	// Group is the consumer group offsets are committed for. Required.
	Group string
}

// PullConsumer reads queues the caller chooses, from offsets the caller chooses; it commits
// offsets only when asked. It takes no part in rebalancing.
type PullConsumer struct {
	opts      PullOptions
	client    *client.Client
	ownClient bool

	mu     sync.RWMutex
	closed bool
	active sync.WaitGroup
}

// NewPull makes a pull consumer. No connection is made before the first call.
func NewPull(opts PullOptions) (*PullConsumer, error) {
	if err := validateGroup(opts.Group); err != nil {
		return nil, err
	}
	c := &PullConsumer{opts: opts, client: opts.Client}
	if c.client == nil {
		cl, err := client.New(client.Options{NameServers: opts.NameServers, Logger: opts.Logger, InstanceName: opts.InstanceName})
		if err != nil {
			return nil, err
		}
		c.client, c.ownClient = cl, true
	}
	return c, nil
}

// Client is the consumer's client.
func (c *PullConsumer) Client() *client.Client { return c.client }

func (c *PullConsumer) begin() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	c.active.Add(1)
	return nil
}

// Shutdown waits for the calls in progress (or for ctx) and closes the consumer's own client.
func (c *PullConsumer) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("rocketgo: pull consumer shutdown: %w", ctx.Err())
	}
	if c.ownClient {
		// Closing the client fails the calls still waiting, so the waiter above ends too.
		err = errors.Join(err, c.client.Close(context.Background()))
		<-done
	}
	return err
}

// Queues lists the readable queues of topic, sorted.
func (c *PullConsumer) Queues(ctx context.Context, topic string) ([]message.Queue, error) {
	if err := c.begin(); err != nil {
		return nil, err
	}
	defer c.active.Done()
	r, err := c.client.RefreshRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	return append([]message.Queue(nil), r.Subscribe...), nil
}

// PullRequest says what to pull.
type PullRequest struct {
	Queue  message.Queue
	Offset int64
	// MaxMessages is the most messages returned. Default 32.
	MaxMessages int
	// Selector filters by tag or SQL92. Default: everything.
	Selector Selector
	// Wait > 0 lets the broker hold the pull up to Wait (at most ~20s at RocketMQ brokers) when
	// nothing is there yet (long polling). The context must allow for it.
	Wait time.Duration
}

// Pull reads messages from one queue at one offset.
func (c *PullConsumer) Pull(ctx context.Context, req PullRequest) (*PullResult, error) {
	if err := c.begin(); err != nil {
		return nil, err
	}
	defer c.active.Done()
	if req.MaxMessages <= 0 {
		req.MaxMessages = 32
	}
	sel := req.Selector.normalized()
	addr, err := c.client.MasterAddr(ctx, req.Queue)
	if err != nil {
		return nil, err
	}
	h := pullHeader{group: c.opts.Group, queue: req.Queue, offset: req.Offset, maxNums: req.MaxMessages,
		sysFlag: pullSubscription, sub: sel, subVersion: time.Now().UnixMilli()}
	if req.Wait > 0 {
		h.sysFlag |= pullSuspend
		h.suspend = req.Wait
	}
	var tags []string
	if sel.Type == "TAG" {
		tags = message.ParseTagExpression(sel.Expression)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.client.RequestTimeout()+req.Wait)
		defer cancel()
	}
	return pullOnce(ctx, c.client, addr, &h, tags)
}

// CommitOffset stores the group's offset of q (the next offset to consume) at the broker.
func (c *PullConsumer) CommitOffset(ctx context.Context, q message.Queue, offset int64) error {
	if err := c.begin(); err != nil {
		return err
	}
	defer c.active.Done()
	return c.client.UpdateConsumerOffset(ctx, c.opts.Group, q, offset)
}

// CommittedOffset is the group's stored offset of q; none is an error matching ErrNotFound.
func (c *PullConsumer) CommittedOffset(ctx context.Context, q message.Queue) (int64, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.client.QueryConsumerOffset(ctx, c.opts.Group, q)
}

// MinOffset is the offset of q's oldest stored message.
func (c *PullConsumer) MinOffset(ctx context.Context, q message.Queue) (int64, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.client.MinOffset(ctx, q)
}

// MaxOffset is the offset q's next message will get.
func (c *PullConsumer) MaxOffset(ctx context.Context, q message.Queue) (int64, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.client.MaxOffset(ctx, q)
}

// OffsetForTime is the offset of q's message stored nearest t.
func (c *PullConsumer) OffsetForTime(ctx context.Context, q message.Queue, t time.Time) (int64, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.client.SearchOffset(ctx, q, t)
}
