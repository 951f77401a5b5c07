package remoting

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// readBufferSize is the read buffer per connection. Small on purpose: a broker may hold thousands
// of mostly idle connections, and a frame larger than the buffer bypasses it (bufio reads it
// straight into the frame's own buffer).
const readBufferSize = 16 << 10

// Conn is one TCP connection, accepted by a Server or dialed by a Client. Both directions may
// carry requests: responses are matched to Invoke calls by opaque, requests go to the handler,
// each in its own goroutine.
type Conn struct {
	id      uint64
	nc      net.Conn
	cfg     Config
	log     *zap.Logger
	handler Handler               // nil: requests from the peer are ignored
	inline  func(code int16) bool // requests to run on the read loop; nil: none
	group   Grouper               // serves buffered requests together (group.go); nil: none
	remote  netip.AddrPort
	local   netip.AddrPort

	// ctx is handed to handlers; it ends when the connection closes or its owner drains.
	ctx    context.Context
	cancel context.CancelFunc

	writer  // serialized writes, batched by flat combining
	pending // Invoke calls waiting for their response

	// Requests in flight, and the drain that stops new ones; guarded by reqMu.
	reqMu    sync.Mutex
	inflight int
	draining bool
	idle     chan struct{} // closed once draining and inflight == 0

	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed after the socket is closed and callbacks ran
	cbMu      sync.Mutex
	cbs       []func()
	cbsRan    bool
}

// newConn wraps nc; parent bounds the handlers' context. Call run to start reading.
func newConn(parent context.Context, id uint64, nc net.Conn, cfg Config, h Handler, inline func(int16) bool, log *zap.Logger) *Conn {
	cfg = cfg.normalized()
	c := &Conn{
		id:      id,
		nc:      nc,
		cfg:     cfg,
		handler: h,
		inline:  inline,
		remote:  addrPort(nc.RemoteAddr()),
		local:   addrPort(nc.LocalAddr()),
		idle:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.log = log.With(zap.Uint64("conn", id), zap.Stringer("remote", c.remote))
	c.ctx, c.cancel = context.WithCancel(parent)
	c.writer.init(nc, cfg.WriteTimeout)
	c.pending.init()
	return c
}

// addrPort converts a net.Addr, unmapping IPv4-in-IPv6 so brokers see plain IPv4 hosts. Addresses
// that are not TCP (net.Pipe in tests) give the zero value.
func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// ID is unique among the connections of one Server or Client.
func (c *Conn) ID() uint64 {
	if c == nil {
		return 0
	}
	return c.id
}

// RemoteAddr is the peer's address (the zero value for a nil Conn, as handlers get in tests).
func (c *Conn) RemoteAddr() netip.AddrPort {
	if c == nil {
		return netip.AddrPort{}
	}
	return c.remote
}

// LocalAddr is this side's address.
func (c *Conn) LocalAddr() netip.AddrPort {
	if c == nil {
		return netip.AddrPort{}
	}
	return c.local
}

// Closed reports whether the connection is closed.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Done is closed once the connection is closed and its OnClose callbacks have run.
func (c *Conn) Done() <-chan struct{} { return c.done }

// OnClose registers fn to run once after the connection closed, in the goroutine that closed it;
// fn runs at once when the connection is already closed. Callbacks must not wait for the
// handler that triggered a Close.
func (c *Conn) OnClose(fn func()) {
	c.cbMu.Lock()
	if !c.cbsRan {
		c.cbs = append(c.cbs, fn)
		c.cbMu.Unlock()
		return
	}
	c.cbMu.Unlock()
	c.runCallback(fn)
}

// Close closes the socket at once, fails waiting Invokes with ErrClosed, cancels the handlers'
// context and runs the OnClose callbacks. Only the first call does anything.
func (c *Conn) Close() error { return c.closeWith(nil) }

// closeWith closes the connection; reason (nil for a local Close) is logged.
func (c *Conn) closeWith(reason error) error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
		err = c.nc.Close()
		c.pending.failAll(c.closedError())
		if reason != nil {
			c.log.Debug("connection closed", zap.Error(reason))
		}
		c.cbMu.Lock()
		cbs := c.cbs
		c.cbs, c.cbsRan = nil, true
		c.cbMu.Unlock()
		for _, fn := range cbs {
			c.runCallback(fn)
		}
		close(c.done)
	})
	return err
}

// runCallback keeps a panicking callback from killing the goroutine that closes the connection.
func (c *Conn) runCallback(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("OnClose callback panicked", zap.Any("panic", v), zap.Stack("stack"))
		}
	}()
	fn()
}

// beginRequest counts a request in; it refuses once the connection drains.
func (c *Conn) beginRequest() bool {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if c.draining {
		return false
	}
	c.inflight++
	return true
}

// endRequest counts a request out, after its response was written.
func (c *Conn) endRequest() {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.inflight--
	if c.draining && c.inflight == 0 {
		close(c.idle)
	}
}

// drain stops new requests and returns a channel closed when the running ones have answered.
func (c *Conn) drain() <-chan struct{} {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if !c.draining {
		c.draining = true
		if c.inflight == 0 {
			close(c.idle)
		}
	}
	return c.idle
}

// serve runs one request and writes its answer; it runs in its own goroutine.
func (c *Conn) serve(req *wire.Command) {
	defer c.endRequest()
	c.answer(req, c.call(req), true)
}

// serveInline runs one request on the read loop and queues its answer; the loop flushes once it
// has no more buffered input, so a burst of answers leaves in one write.
func (c *Conn) serveInline(req *wire.Command) {
	defer c.endRequest()
	c.answer(req, c.call(req), false)
}

// answer writes (or, with flush false, queues) the response to req.
func (c *Conn) answer(req, resp *wire.Command, flush bool) {
	if resp == nil || req.IsOneway() {
		return
	}
	// Copy so the handler may return a shared response; the transport, not the handler, makes
	// sure the answer carries the request's opaque and the response bit.
	out := *resp
	out.Opaque = req.Opaque
	out.Flag |= wire.FlagResponse
	var err error
	if flush {
		err = c.writeCommand(&out)
	} else {
		err = c.queueCommand(&out)
	}
	if err != nil {
		c.log.Debug("response not written", zap.Int16("code", req.Code), zap.Int32("opaque", req.Opaque), zap.Error(err))
	}
}

// call runs the handler, recovering a panic even when the handler is not behind a Router.
func (c *Conn) call(req *wire.Command) (resp *wire.Command) {
	defer func() {
		if v := recover(); v != nil {
			resp = recovered(c.log, c, req, v)
		}
	}()
	return c.handler(c.ctx, c, req)
}
