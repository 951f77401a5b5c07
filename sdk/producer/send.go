package producer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Send sends one message and waits until the broker stored it. A failed attempt is retried (on
// another broker when the topic has one) up to MaxAttempts; ctx bounds the whole call.
func (p *Producer) Send(ctx context.Context, m *message.Message) (SendResult, error) {
	if err := p.validate(m); err != nil {
		return SendResult{}, err
	}
	if !p.begin() {
		return SendResult{}, ErrClosed
	}
	defer p.active.Done()
	r := p.getRequest()
	defer p.putRequest(r)
	route, err := p.route(ctx, m.Topic)
	if err != nil {
		return SendResult{}, err
	}
	r.born = time.Now().UnixMilli()
	p.encodeMessage(r, m)
	return p.sendSync(ctx, r, route, m.ShardingKey)
}

// SendBatch sends messages of one topic as one batch to one queue (chosen by the first message's
// ShardingKey, else round-robin) and waits for the result. Batches are not compressed.
func (p *Producer) SendBatch(ctx context.Context, msgs []*message.Message) (SendResult, error) {
	if err := p.validateBatch(msgs); err != nil {
		return SendResult{}, err
	}
	if !p.begin() {
		return SendResult{}, ErrClosed
	}
	defer p.active.Done()
	r := p.getRequest()
	defer p.putRequest(r)
	route, err := p.route(ctx, msgs[0].Topic)
	if err != nil {
		return SendResult{}, err
	}
	r.born = time.Now().UnixMilli()
	p.encodeBatch(r, msgs)
	return p.sendSync(ctx, r, route, msgs[0].ShardingKey)
}

func (p *Producer) validateBatch(msgs []*message.Message) error {
	if len(msgs) == 0 {
		return fmt.Errorf("%w: empty batch", ErrMessageIllegal)
	}
	total := 0
	for i, m := range msgs {
		if err := p.validate(m); err != nil {
			return fmt.Errorf("batch message %d: %w", i, err)
		}
		if m.Topic != msgs[0].Topic {
			return fmt.Errorf("%w: batch mixes topics %s and %s", ErrMessageIllegal, msgs[0].Topic, m.Topic)
		}
		if m.DelayLevel > 0 {
			return fmt.Errorf("%w: batch message %d has a delay level; batches cannot be delayed", ErrMessageIllegal, i)
		}
		total += len(m.Body) + 64
	}
	if total > p.opts.MaxMessageSize {
		return fmt.Errorf("%w: batch of about %d bytes is over %d", ErrMessageIllegal, total, p.opts.MaxMessageSize)
	}
	return nil
}

func (p *Producer) route(ctx context.Context, topic string) (*client.Route, error) {
	return p.client.PublishRoute(ctx, topic, p.opts.CreateTopicKey, p.opts.DefaultTopicQueueNums)
}

func (p *Producer) sendSync(ctx context.Context, r *request, route *client.Route, shardingKey string) (SendResult, error) {
	code := wire.SendMessageV2
	if r.batch {
		code = wire.SendBatchMessage
	}
	_, hasDeadline := ctx.Deadline()
	avoid := ""
	var lastErr error
	for attempt := 0; attempt < p.opts.MaxAttempts; attempt++ {
		q, err := p.selectQueue(route, shardingKey, avoid)
		if err != nil {
			return SendResult{}, err
		}
		addr := route.MasterAddr(q.BrokerName)
		r.queueID = q.QueueID
		r.q = q
		actx, cancel := ctx, context.CancelFunc(func() {})
		if !hasDeadline {
			actx, cancel = context.WithTimeout(ctx, p.opts.SendTimeout)
		}
		resp, err := p.client.InvokeEncoded(actx, addr, r)
		cancel()
		if err == nil && resp == nil {
			return r.res, nil // decoded on the read loop
		}
		if err == nil {
			var res SendResult
			res, err = sendResult(addr, code, q, r.msgID, resp)
			if err == nil {
				return res, nil
			}
		}
		lastErr = err
		if ctx.Err() != nil || !retriable(err) {
			break
		}
		p.log.Debug("send attempt failed", "topic", r.topic, "queue", q, "attempt", attempt+1, "err", err)
		avoid = q.BrokerName
		if shardingKey == "" {
			route = p.refreshAfterFailure(ctx, route, err)
		}
	}
	return SendResult{}, fmt.Errorf("rocketgo: send to %s: %w", r.topic, lastErr)
}

// refreshAfterFailure looks the route up again when the broker did not know the topic (it may
// have moved); otherwise the cached route stands.
func (p *Producer) refreshAfterFailure(ctx context.Context, route *client.Route, err error) *client.Route {
	if !errors.Is(err, client.ErrTopicNotExist) {
		return route
	}
	if fresh, ferr := p.client.RefreshRoute(ctx, route.Topic); ferr == nil {
		return fresh
	}
	return route
}

// Callback receives the result of an asynchronous send.
type Callback func(SendResult, error)

// SendAsync sends one message without waiting: cb gets the result (after retries, as for Send)
// on a callback goroutine. Sends are pipelined on one connection per broker. SendAsync blocks
// only to look up a new topic's route, to dial, or while MaxInflight sends are waiting. If it
// returns an error, cb is not called. ctx bounds the whole send, including the wait for the
// answer; without a deadline each attempt is bounded by SendTimeout. cb must not block for long:
// it delays other callbacks.
func (p *Producer) SendAsync(ctx context.Context, m *message.Message, cb Callback) error {
	if err := p.validate(m); err != nil {
		return err
	}
	return p.sendAsync(ctx, cb, m.Topic, m.ShardingKey, func(r *request) { p.encodeMessage(r, m) })
}

// SendBatchAsync is SendBatch without waiting; see SendAsync.
func (p *Producer) SendBatchAsync(ctx context.Context, msgs []*message.Message, cb Callback) error {
	if err := p.validateBatch(msgs); err != nil {
		return err
	}
	return p.sendAsync(ctx, cb, msgs[0].Topic, msgs[0].ShardingKey, func(r *request) { p.encodeBatch(r, msgs) })
}

func (p *Producer) sendAsync(ctx context.Context, cb Callback, topic, shardingKey string, encode func(*request)) error {
	if cb == nil {
		cb = func(SendResult, error) {}
	}
	if !p.begin() {
		return ErrClosed
	}
	select {
	case p.inflight <- struct{}{}:
	default:
		select {
		case p.inflight <- struct{}{}:
		case <-ctx.Done():
			p.active.Done()
			return fmt.Errorf("rocketgo: waiting for an in-flight slot: %w", ctx.Err())
		}
	}
	route, err := p.route(ctx, topic)
	if err != nil {
		<-p.inflight
		p.active.Done()
		return err
	}
	r := p.getRequest()
	r.born = time.Now().UnixMilli()
	encode(r)
	r.ctx, r.cb, r.route, r.shardingKey, r.attempts, r.avoid = ctx, cb, route, shardingKey, 0, ""
	if err := r.attempt(); err != nil {
		r.release()
		return err
	}
	return nil
}

// asyncState is the part of a request an asynchronous send keeps across its attempts.
type asyncState struct {
	ctx         context.Context
	cb          Callback
	route       *client.Route
	shardingKey string
	attempts    int
	avoid       string
	q           message.Queue
	addr        string
	doneFn      func(*wire.Command, error) // r.done, bound once per pooled request
}

func (r *request) release() {
	p := r.p
	r.ctx, r.cb, r.route = nil, nil, nil
	p.putRequest(r)
	<-p.inflight
	p.active.Done()
}

// attempt starts one attempt; an error means it could not be started.
func (r *request) attempt() error {
	p := r.p
	q, err := p.selectQueue(r.route, r.shardingKey, r.avoid)
	if err != nil {
		return err
	}
	r.attempts++
	r.q, r.addr = q, r.route.MasterAddr(q.BrokerName)
	r.queueID = q.QueueID
	if r.doneFn == nil {
		r.doneFn = r.done
	}
	// Without a deadline in ctx, each attempt gets SendTimeout.
	return p.client.InvokeAsync(r.ctx, r.addr, r, p.opts.SendTimeout, r.doneFn)
}

func (r *request) done(resp *wire.Command, err error) {
	p := r.p
	code := wire.SendMessageV2
	if r.batch {
		code = wire.SendBatchMessage
	}
	var res SendResult
	switch {
	case err == nil && resp == nil:
		res = r.res // decoded on the read loop
	case err == nil:
		res, err = sendResult(r.addr, code, r.q, r.msgID, resp)
	}
	for err != nil && r.attempts < p.opts.MaxAttempts && r.ctx.Err() == nil && retriable(err) {
		r.avoid = r.q.BrokerName
		if r.shardingKey == "" {
			r.route = p.refreshAfterFailure(r.ctx, r.route, err)
		}
		if err = r.attempt(); err == nil {
			return // the next attempt reports
		}
	}
	if err != nil {
		err = fmt.Errorf("rocketgo: send to %s: %w", r.topic, err)
	}
	cb := r.cb
	r.release()
	cb(res, err)
}

// SendOneway writes one message and returns without waiting for the broker: no result, no retry.
func (p *Producer) SendOneway(ctx context.Context, m *message.Message) error {
	if err := p.validate(m); err != nil {
		return err
	}
	if !p.begin() {
		return ErrClosed
	}
	defer p.active.Done()
	route, err := p.route(ctx, m.Topic)
	if err != nil {
		return err
	}
	q, err := p.selectQueue(route, m.ShardingKey, "")
	if err != nil {
		return err
	}
	r := p.getRequest()
	defer p.putRequest(r)
	r.born = time.Now().UnixMilli()
	p.encodeMessage(r, m)
	r.queueID = q.QueueID
	r.oneway = true
	return p.client.InvokeOnewayEncoded(ctx, route.MasterAddr(q.BrokerName), r)
}
