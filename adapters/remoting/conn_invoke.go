package remoting

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// result is what a waiting Invoke receives: the response, or why there is none.
type result struct {
	cmd *wire.Command
	err error
}

// pending maps the opaques of our outstanding requests to their waiters.
type pending struct {
	next   atomic.Int32
	mu     sync.Mutex
	calls  map[int32]chan result
	free   []chan result // drained channels for reuse: a buffered channel of pointers is two allocations
	failed error         // set once the connection closed: no new waiters
}

// maxFreeWaiters bounds the reusable channels kept per connection.
const maxFreeWaiters = 64

func (p *pending) init() { p.calls = make(map[int32]chan result) }

// add registers a waiter; it fails once the connection is closed.
func (p *pending) add(opaque int32) (chan result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return nil, p.failed
	}
	var ch chan result
	if n := len(p.free); n > 0 {
		ch, p.free = p.free[n-1], p.free[:n-1]
	} else {
		ch = make(chan result, 1)
	}
	p.calls[opaque] = ch
	return ch, nil
}

// release takes back ch from a waiter that has received its result (or will, see abandon).
func (p *pending) release(ch chan result) {
	p.mu.Lock()
	if len(p.free) < maxFreeWaiters {
		p.free = append(p.free, ch)
	}
	p.mu.Unlock()
}

// abandon unregisters a waiter that stopped waiting. When a result is already on its way the
// channel is drained first, so a reused channel never holds a stale result.
func (p *pending) abandon(opaque int32, ch chan result) {
	p.mu.Lock()
	_, waiting := p.calls[opaque]
	delete(p.calls, opaque)
	p.mu.Unlock()
	if !waiting {
		<-ch // complete or failAll took it out of the map and sends without blocking
	}
	p.release(ch)
}

// complete hands r to the waiter of opaque; false when nobody waits (late or unknown response).
func (p *pending) complete(opaque int32, r result) bool {
	p.mu.Lock()
	ch, ok := p.calls[opaque]
	delete(p.calls, opaque)
	p.mu.Unlock()
	if ok {
		ch <- r // buffered, and deleted under the lock: this is the only send
	}
	return ok
}

// failAll fails every waiter and every later add with err.
func (p *pending) failAll(err error) {
	p.mu.Lock()
	calls := p.calls
	p.calls = nil
	p.failed = err
	p.mu.Unlock()
	for _, ch := range calls {
		ch <- result{err: err}
	}
}

// Invoke sends req with a fresh opaque and waits for the response with that opaque, until ctx
// ends or the connection closes. req itself is not modified.
func (c *Conn) Invoke(ctx context.Context, req *wire.Command) (*wire.Command, error) {
	resp, _, err := c.invoke(ctx, req)
	return resp, err
}

// invoke is Invoke that also tells whether the request reached the socket, so a caller may retry
// one that never left on another connection.
func (c *Conn) invoke(ctx context.Context, req *wire.Command) (resp *wire.Command, sent bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, c.waitError(err, req)
	}
	out := *req
	out.Flag &^= wire.FlagResponse | wire.FlagOneway
	out.Opaque = c.pending.next.Add(1)
	ch, err := c.pending.add(out.Opaque)
	if err != nil {
		return nil, false, err
	}
	if err := c.writeCommand(&out); err != nil {
		c.pending.abandon(out.Opaque, ch)
		return nil, false, err
	}
	select {
	case r := <-ch:
		c.pending.release(ch)
		return r.cmd, true, r.err
	case <-ctx.Done():
		c.pending.abandon(out.Opaque, ch)
		return nil, true, c.waitError(ctx.Err(), &out)
	}
}

// InvokeOneway sends req with the oneway flag and a fresh opaque and returns once the frame is
// handed to the socket or queued behind a write in progress; no response is awaited. req is not
// modified and its body may be reused on return. ctx is checked first; writing is bounded by
// WriteTimeout.
func (c *Conn) InvokeOneway(ctx context.Context, req *wire.Command) error {
	if err := ctx.Err(); err != nil {
		return c.waitError(err, req)
	}
	out := *req
	out.Flag = out.Flag&^wire.FlagResponse | wire.FlagOneway
	out.Opaque = c.pending.next.Add(1)
	return c.writeCommand(&out)
}

// waitError wraps a context error; a deadline is also ErrTimeout.
func (c *Conn) waitError(err error, req *wire.Command) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: code %d opaque %d to %s: %w", ErrTimeout, req.Code, req.Opaque, c.remote, err)
	}
	return fmt.Errorf("remoting: code %d opaque %d to %s: %w", req.Code, req.Opaque, c.remote, err)
}

// closedError is returned by calls on a closed connection.
func (c *Conn) closedError() error {
	return fmt.Errorf("%w: connection %d to %s", ErrClosed, c.id, c.remote)
}

// deliver routes a response to its waiter; one nobody waits for is dropped, as the Go client does.
func (c *Conn) deliver(cmd *wire.Command) {
	if !c.pending.complete(cmd.Opaque, result{cmd: cmd}) {
		c.log.Debug("response with unknown opaque dropped", zap.Int32("opaque", cmd.Opaque), zap.Int16("code", cmd.Code))
	}
}
