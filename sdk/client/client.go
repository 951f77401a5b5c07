// Package client is what the SDK's producer, consumers and admin share: the name-server route
// lookup and its cache, one connection per broker address carrying concurrent requests, the
// heartbeats that register producer and consumer groups with brokers, and the requests brokers
// send to clients. Several producers and consumers may share one Client (and so its connections);
// each of them otherwise makes its own.
package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/internal/remote"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Options configure a Client. Zero values take the defaults noted.
type Options struct {
	// NameServers are name-server addresses, host:port. Required.
	NameServers []string
	// Logger receives the client's logs. Default: discarded.
	Logger *slog.Logger
	// InstanceName distinguishes clients of one process in the client id ip@pid@instance.
	// Default: random.
	InstanceName string
	// ClientIP is the IP written into the client id and message ids. Default: the first
	// non-loopback IPv4 address of the host, else 127.0.0.1.
	ClientIP string
	// RequestTimeout bounds a request whose context has no deadline. Default 3s.
	RequestTimeout time.Duration
	// DialTimeout bounds a TCP connect. Default 3s.
	DialTimeout time.Duration
	// HeartbeatInterval is the period of heartbeats to every broker in use. Default 30s.
	HeartbeatInterval time.Duration
	// RouteRefreshInterval is the period of route lookups for every topic in use. Default 30s.
	RouteRefreshInterval time.Duration
	// CallbackWorkers run asynchronous completions. Default 4.
	CallbackWorkers int
	// MaxPendingWrite is how many encoded bytes may wait for one socket before senders block.
	// Default 4 MiB.
	MaxPendingWrite int
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 3 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 30 * time.Second
	}
	if o.RouteRefreshInterval <= 0 {
		o.RouteRefreshInterval = 30 * time.Second
	}
	if o.CallbackWorkers <= 0 {
		o.CallbackWorkers = 4
	}
}

// Client is the shared part of producers, consumers and admin. Its methods are safe for
// concurrent use.
type Client struct {
	opts  Options
	log   *slog.Logger
	id    string
	ip    netip.Addr
	ids   *message.IDGenerator
	exec  *remote.Executor
	nsIdx int // next name server to try, guarded by mu

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[string]*connEntry

	routes routeCache
	reg    registry

	hbWake chan struct{}
}

type connEntry struct {
	ready chan struct{} // closed once the dial finished
	conn  *remote.Conn
	err   error
}

// New makes a client and starts its background work (route refresh and heartbeats); Close stops
// it. Nothing is dialed until the first request.
func New(opts Options) (*Client, error) {
	opts.defaults()
	if len(opts.NameServers) == 0 {
		return nil, ErrNoNameServer
	}
	for _, ns := range opts.NameServers {
		if _, _, err := net.SplitHostPort(ns); err != nil {
			return nil, fmt.Errorf("rocketgo: name server address %q: %w", ns, err)
		}
	}
	ip, err := clientIP(opts.ClientIP)
	if err != nil {
		return nil, err
	}
	inst := opts.InstanceName
	if inst == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		inst = hex.EncodeToString(b[:])
	}
	c := &Client{
		opts:   opts,
		log:    opts.Logger,
		id:     ip.String() + "@" + strconv.Itoa(os.Getpid()) + "@" + inst,
		ip:     ip,
		ids:    message.NewIDGenerator(ip),
		exec:   remote.NewExecutor(opts.CallbackWorkers, 4096),
		conns:  make(map[string]*connEntry),
		hbWake: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.routes.init()
	c.reg.init()
	c.log = c.log.With("client", c.id)
	c.wg.Add(2)
	go c.routeLoop()
	go c.heartbeatLoop()
	return c, nil
}

// clientIP parses the configured IP or finds the host's first non-loopback IPv4.
func clientIP(s string) (netip.Addr, error) {
	if s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("rocketgo: client IP %q: %w", s, err)
		}
		return ip.Unmap(), nil
	}
	ifaces, err := net.Interfaces()
	if err == nil {
		for _, iface := range ifaces {
			if iface.Flags&net.FlagLoopback != 0 || iface.Flags&net.FlagUp == 0 {
				continue
			}
			addrs, err := iface.Addrs()
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap().Is4() && !ip.IsLoopback() {
						return ip.Unmap(), nil
					}
				}
			}
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
}

// ID is the client id brokers know this client by: ip@pid@instance.
func (c *Client) ID() string { return c.id }

// IP is the client's IP.
func (c *Client) IP() netip.Addr { return c.ip }

// Logger is the client's logger.
func (c *Client) Logger() *slog.Logger { return c.log }

// IDs generates message ids (UNIQ_KEY) for this client.
func (c *Client) IDs() *message.IDGenerator { return c.ids }

// RequestTimeout is the bound of a request whose context has no deadline.
func (c *Client) RequestTimeout() time.Duration { return c.opts.RequestTimeout }

// Done is closed when Close begins.
func (c *Client) Done() <-chan struct{} { return c.ctx.Done() }

// Close stops the background work, closes every connection (failing the requests still waiting
// with ErrClosed) and waits for the client's goroutines, or for ctx to end.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()

	done := make(chan struct{})
	go func() {
		defer close(done)
		c.wg.Wait() // loops and dials end: the context is cancelled
		c.mu.Lock()
		entries := c.conns
		c.conns = map[string]*connEntry{}
		c.mu.Unlock()
		for _, e := range entries {
			<-e.ready
			if e.conn != nil {
				_ = e.conn.Close()
			}
		}
		c.exec.Close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rocketgo: client close: %w", ctx.Err())
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// conn returns the connection to addr, dialing it if needed. Concurrent callers share one dial.
func (c *Client) conn(ctx context.Context, addr string) (*remote.Conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		e, ok := c.conns[addr]
		if !ok {
			e = &connEntry{ready: make(chan struct{})}
			c.conns[addr] = e
			c.wg.Add(1)
			go c.dial(e, addr)
		}
		c.mu.Unlock()

		select {
		case <-e.ready:
		default:
			select {
			case <-e.ready:
			case <-ctx.Done():
				return nil, fmt.Errorf("rocketgo: connecting to %s: %w", addr, ctx.Err())
			}
		}
		if e.err != nil {
			c.forget(addr, e)
			return nil, e.err
		}
		select {
		case <-e.conn.Done():
			c.forget(addr, e) // broke since: dial again
			continue
		default:
			return e.conn, nil
		}
	}
}

func (c *Client) forget(addr string, e *connEntry) {
	c.mu.Lock()
	if c.conns[addr] == e {
		delete(c.conns, addr)
	}
	c.mu.Unlock()
}

func (c *Client) dial(e *connEntry, addr string) {
	defer c.wg.Done()
	conn, err := remote.Dial(c.ctx, addr, remote.Options{
		Logger:          c.log,
		Handler:         c.serve,
		Executor:        c.exec,
		DialTimeout:     c.opts.DialTimeout,
		MaxPendingWrite: c.opts.MaxPendingWrite,
		OnClose: func(conn *remote.Conn) {
			c.mu.Lock()
			if cur := c.conns[addr]; cur == e {
				delete(c.conns, addr)
			}
			c.mu.Unlock()
		},
	})
	if err != nil && c.ctx.Err() != nil {
		err = ErrClosed
	}
	if err != nil {
		c.log.Debug("dial failed", "addr", addr, "err", err)
	}
	e.conn, e.err = conn, err
	close(e.ready)
	if err == nil {
		// A new connection to a broker (first use, or after a break) carries no registration
		// yet: heartbeat now rather than at the next period, or pulls fail until then.
		c.wakeHeartbeat()
	}
}

// withTimeout bounds ctx by the request timeout when it has no deadline.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.opts.RequestTimeout)
}

// Invoke sends cmd to addr and waits for the answer. A context without a deadline is bounded by
// the request timeout. Only transport failures are errors: the caller checks the response code
// (CheckResponse).
func (c *Client) Invoke(ctx context.Context, addr string, cmd *wire.Command) (*wire.Command, error) {
	return c.InvokeEncoded(ctx, addr, remote.Cmd{Command: cmd})
}

// InvokeEncoded is Invoke for a request that encodes itself.
func (c *Client) InvokeEncoded(ctx context.Context, addr string, enc remote.Encoder) (*wire.Command, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	conn := c.readyConn(addr)
	if conn == nil {
		var err error
		if conn, err = c.conn(ctx, addr); err != nil {
			return nil, err
		}
	}
	resp, err := conn.Invoke(ctx, enc)
	if err != nil {
		return nil, wrapInvokeErr(addr, err)
	}
	return resp, nil
}

func wrapInvokeErr(addr string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("rocketgo: request to %s: %w", addr, err)
	}
	return err
}

// InvokeAsync sends a request to addr; cb gets the answer or the failure, on a callback goroutine,
// exactly once, unless InvokeAsync returns an error. The deadline is the context's, else timeout
// from now (the request timeout when timeout is 0). Connecting (the first request to an address)
// blocks the caller.
func (c *Client) InvokeAsync(ctx context.Context, addr string, enc remote.Encoder, timeout time.Duration, cb remote.Callback) error {
	if timeout <= 0 {
		timeout = c.opts.RequestTimeout
	}
	conn, err := c.connFor(ctx, addr)
	if err != nil {
		return err
	}
	return conn.InvokeAsync(ctx, enc, timeout, cb)
}

// connFor is conn bounded by the request timeout when ctx has no deadline.
func (c *Client) connFor(ctx context.Context, addr string) (*remote.Conn, error) {
	if _, ok := ctx.Deadline(); ok {
		return c.conn(ctx, addr)
	}
	if conn := c.readyConn(addr); conn != nil {
		return conn, nil
	}
	dctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	return c.conn(dctx, addr)
}

// readyConn returns the open connection to addr, if there is one, without waiting.
func (c *Client) readyConn(addr string) *remote.Conn {
	c.mu.Lock()
	e := c.conns[addr]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	select {
	case <-e.ready:
		if e.conn != nil {
			select {
			case <-e.conn.Done():
			default:
				return e.conn
			}
		}
	default:
	}
	return nil
}

// InvokeOneway writes a request to addr, with the oneway flag, without waiting for an answer.
func (c *Client) InvokeOneway(ctx context.Context, addr string, cmd *wire.Command) error {
	cmd.Flag |= wire.FlagOneway
	return c.InvokeOnewayEncoded(ctx, addr, remote.Cmd{Command: cmd})
}

// InvokeOnewayEncoded is InvokeOneway for a request that encodes itself (and its flag).
func (c *Client) InvokeOnewayEncoded(ctx context.Context, addr string, enc remote.Encoder) error {
	conn, err := c.connFor(ctx, addr)
	if err != nil {
		return err
	}
	return conn.InvokeOneway(ctx, enc)
}

// Call is Invoke followed by CheckResponse: the response of a successful request, or an error.
func (c *Client) Call(ctx context.Context, addr string, cmd *wire.Command) (*wire.Command, error) {
	resp, err := c.Invoke(ctx, addr, cmd)
	if err != nil {
		return nil, err
	}
	if err := CheckResponse(addr, cmd.Code, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// CallNameServer sends cmd to the name servers in turn until one answers (any code), starting
// after the one used last.
func (c *Client) CallNameServer(ctx context.Context, cmd *wire.Command) (*wire.Command, string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	n := len(c.opts.NameServers)
	c.mu.Lock()
	start := c.nsIdx
	c.nsIdx = (c.nsIdx + 1) % n
	c.mu.Unlock()
	var errs []error
	for i := range n {
		addr := c.opts.NameServers[(start+i)%n]
		resp, err := c.Invoke(ctx, addr, cmd)
		if err == nil {
			return resp, addr, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) && c.isClosed() {
			break
		}
	}
	return nil, "", errors.Join(errs...)
}

// NameServers returns the configured name-server addresses.
func (c *Client) NameServers() []string { return append([]string(nil), c.opts.NameServers...) }
