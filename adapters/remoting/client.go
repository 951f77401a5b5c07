package remoting

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// Client keeps one outbound connection per address string, as RocketMQ clients do: dialed on the
// first call, dialed again on the next call after it failed.
type Client struct {
	cfg     Config
	handler Handler
	log     *zap.Logger

	ctx    context.Context // parent of the connections' contexts; cancelled by Close
	cancel context.CancelFunc
	nextID atomic.Uint64

	mu     sync.Mutex
	conns  map[string]*dial
	closed bool
	wg     sync.WaitGroup // connection read loops; Add only under mu while !closed
}

// dialTimeout bounds one connection attempt on top of the caller's ctx, as RocketMQ's 3 s connect
// timeout does: a caller with a long deadline should not hang on an unreachable address. A
// constant rather than a Config key so the shipped configs need no new key; promote when needed.
const dialTimeout = 3 * time.Second

// dial is one connection attempt to an address, shared by the callers that arrive during it.
type dial struct {
	done chan struct{} // closed when conn or err is set
	conn *Conn
	err  error
}

// NewClient returns a client; h handles the requests peers send on its connections (nil ignores
// them).
func NewClient(cfg Config, h Handler, log *zap.Logger) *Client {
	cl := &Client{cfg: cfg.normalized(), handler: h, log: log, conns: make(map[string]*dial)}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	return cl
}

// Invoke sends req to addr and waits for the response.
func (cl *Client) Invoke(ctx context.Context, addr string, req *wire.Command) (*wire.Command, error) {
	for attempt := 0; ; attempt++ {
		c, err := cl.conn(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, sent, err := c.invoke(ctx, req)
		// A cached connection may be found dead only now (the peer restarted); a request that
		// never left can safely go out once more on a fresh connection.
		if err != nil && !sent && attempt == 0 && errors.Is(err, ErrClosed) {
			continue
		}
		return resp, err
	}
}

// InvokeOneway sends req to addr with the oneway flag, without waiting for an answer.
func (cl *Client) InvokeOneway(ctx context.Context, addr string, req *wire.Command) error {
	for attempt := 0; ; attempt++ {
		c, err := cl.conn(ctx, addr)
		if err != nil {
			return err
		}
		err = c.InvokeOneway(ctx, req)
		if err != nil && attempt == 0 && errors.Is(err, ErrClosed) && c.Closed() {
			continue
		}
		return err
	}
}

// Close closes every connection; calls in flight fail with ErrClosed.
func (cl *Client) Close() error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	cl.closed = true
	var conns []*Conn
	for _, d := range cl.conns {
		// d.conn is set under mu; one still dialing sees closed and closes its socket itself.
		if d.conn != nil {
			conns = append(conns, d.conn)
		}
	}
	cl.mu.Unlock()
	cl.cancel()
	for _, c := range conns {
		_ = c.Close()
	}
	cl.wg.Wait() // read loops end as soon as their sockets are closed
	return nil
}

// conn returns the live connection to addr, dialing it when there is none.
func (cl *Client) conn(ctx context.Context, addr string) (*Conn, error) {
	for {
		cl.mu.Lock()
		if cl.closed {
			cl.mu.Unlock()
			return nil, fmt.Errorf("%w: client", ErrClosed)
		}
		d, ok := cl.conns[addr]
		if !ok {
			d = &dial{done: make(chan struct{})}
			cl.conns[addr] = d
			cl.mu.Unlock()
			cl.connect(ctx, addr, d)
			return d.conn, d.err
		}
		cl.mu.Unlock()
		select {
		case <-d.done:
		case <-ctx.Done():
			return nil, dialError(ctx, addr, ctx.Err())
		}
		if d.err != nil {
			return nil, d.err
		}
		if !d.conn.Closed() {
			return d.conn, nil
		}
		cl.forget(addr, d) // closed but its OnClose has not removed it yet
	}
}

// connect dials addr for d and publishes the result.
func (cl *Client) connect(ctx context.Context, addr string, d *dial) {
	defer close(d.done)
	nd := net.Dialer{Timeout: dialTimeout}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		cl.forget(addr, d)
		d.err = dialError(ctx, addr, err)
		return
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		_ = nc.Close()
		cl.forget(addr, d)
		d.err = fmt.Errorf("%w: client", ErrClosed)
		return
	}
	c := newConn(cl.ctx, cl.nextID.Add(1), nc, cl.cfg, cl.handler, nil, cl.log.With(zap.String("addr", addr)))
	d.conn = c
	cl.wg.Add(1)
	cl.mu.Unlock()
	c.OnClose(func() { cl.forget(addr, d) })
	go func() {
		defer cl.wg.Done()
		c.run()
	}()
}

// forget removes d from the table unless a newer attempt replaced it.
func (cl *Client) forget(addr string, d *dial) {
	cl.mu.Lock()
	if cl.conns[addr] == d {
		delete(cl.conns, addr)
	}
	cl.mu.Unlock()
}

// dialError wraps a failed dial; a passed caller deadline is also ErrTimeout.
func dialError(ctx context.Context, addr string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: dial %s: %w", ErrTimeout, addr, context.DeadlineExceeded)
	}
	return fmt.Errorf("remoting: dial %s: %w", addr, err)
}
