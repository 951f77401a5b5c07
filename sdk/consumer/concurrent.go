package consumer

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// consumeTask is one handler call of the concurrent mode.
type consumeTask struct {
	pq   *processQueue
	msgs []*message.Ext
}

// dispatch hands msgs to the workers in batches of BatchSize, grouped by handler; false when the
// queue stopped meanwhile (the rest is delivered again later).
func (p *PushConsumer) dispatch(pq *processQueue, msgs []*message.Ext) bool {
	for len(msgs) > 0 {
		n := 1
		for n < len(msgs) && n < p.opts.BatchSize && msgs[n].Topic == msgs[0].Topic {
			n++
		}
		t := &consumeTask{pq: pq, msgs: msgs[:n:n]}
		select {
		case p.tasks <- t:
		case <-pq.ctx.Done():
			return false
		}
		msgs = msgs[n:]
	}
	return true
}

func (p *PushConsumer) worker() {
	defer p.workers.Done()
	for {
		select {
		case t := <-p.tasks:
			p.consume(t)
		case <-p.runCtx.Done():
			return
		}
	}
}

// handlerFor finds the handler of a message's (restored) topic.
func (p *PushConsumer) handlerFor(topic string) Handler {
	if s := p.subs[topic]; s != nil {
		return s.handler
	}
	return nil
}

// call runs a handler, turning a panic into an error.
func (p *PushConsumer) call(h Handler, msgs []*message.Ext) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(p.consumeCtx, msgs)
}

func (p *PushConsumer) consume(t *consumeTask) {
	pq := t.pq
	if pq.dropped.Load() {
		return
	}
	h := p.handlerFor(t.msgs[0].Topic)
	if h == nil {
		// A retried message of a topic no longer subscribed: nothing to do with it.
		pq.remove(t.msgs)
		return
	}
	err := p.call(h, t.msgs)
	if err == nil {
		pq.remove(t.msgs)
		return
	}
	if p.consumeCtx.Err() != nil {
		return // a forced shutdown interrupted the handler: leave the messages for redelivery
	}
	p.log.Debug("consume failed; sending back for retry", "queue", pq.q, "count", len(t.msgs), "err", err)
	var failed []*message.Ext
	for _, m := range t.msgs {
		if !p.sendBack(m, 0) {
			failed = append(failed, m)
		}
	}
	sent := make([]*message.Ext, 0, len(t.msgs))
	for _, m := range t.msgs {
		if !contains(failed, m) {
			sent = append(sent, m)
		}
	}
	pq.remove(sent)
	if len(failed) > 0 {
		// The broker did not take them: consume them here again a little later.
		p.workers.Add(1) // this worker holds a count, so Shutdown has not finished waiting
		go func() {
			defer p.workers.Done()
			if !sleep(pq.ctx, 5*time.Second) {
				return
			}
			_ = p.dispatch(pq, failed)
		}()
	}
}

func contains(ms []*message.Ext, m *message.Ext) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// sendBack returns a failed message to the broker (CONSUMER_SEND_MSG_BACK); false if that failed.
func (p *PushConsumer) sendBack(m *message.Ext, delayLevel int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), p.client.RequestTimeout())
	defer cancel()
	addr, err := p.client.MasterAddr(ctx, m.Queue)
	if err != nil {
		addr = m.StoreHost.String()
	}
	if err := p.client.SendBack(ctx, addr, p.group, m, delayLevel, p.opts.MaxReconsumeTimes); err != nil {
		p.log.Warn("send back failed", "msgId", m.MsgID, "err", err)
		return false
	}
	return true
}
