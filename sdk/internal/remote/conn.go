// Package remote is the SDK's remoting transport: one TCP connection to a name server or broker
// carrying many concurrent requests, matched to their responses by opaque, with writes of
// concurrent callers combined into few syscalls. Requests the peer sends (broker -> client) go to
// a handler. It knows frames and commands (sdk/wire), nothing of topics or messages.
package remote

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Errors of the transport, checkable with errors.Is.
var (
	// ErrClosed: the connection was closed (locally, or after a failure) before the response came.
	ErrClosed = errors.New("rocketgo: closed")
	// ErrConnection: dialing, reading or writing failed.
	ErrConnection = errors.New("rocketgo: connection failed")
)

// Encoder writes one request frame with the opaque the connection assigned.
type Encoder interface {
	AppendFrame(dst []byte, opaque int32) []byte
}

// Cmd adapts a command to Encoder; the command's Opaque is set when it is written. The command
// is not referenced after the call that wrote it returns.
type Cmd struct{ *wire.Command }

// AppendFrame implements Encoder.
func (c Cmd) AppendFrame(dst []byte, opaque int32) []byte {
	c.Opaque = opaque
	return wire.AppendFrame(dst, c.Command)
}

// Callback receives the response of an asynchronous request, or why there is none.
type Callback func(resp *wire.Command, err error)

// Handler answers a request the peer sent; nil means no answer. It runs on the connection's read
// loop and must not block.
type Handler func(c *Conn, req *wire.Command) *wire.Command

// Options configure a connection. Zero values take the defaults noted.
type Options struct {
	Logger  *slog.Logger // default: discard
	Handler Handler      // broker -> client requests; nil: ignored
	// Executor runs asynchronous callbacks. Required for InvokeAsync.
	Executor *Executor
	// DialTimeout bounds the TCP connect when the context has no earlier deadline. Default 3s.
	DialTimeout time.Duration
	// WriteTimeout bounds one socket write. Default 10s.
	WriteTimeout time.Duration
	// IdleTimeout closes a connection that has requests waiting but has received nothing for this
	// long (a peer that is gone without a reset). Default 120s.
	IdleTimeout time.Duration
	// MaxPendingWrite is how many encoded bytes may wait for the socket before writers block.
	// Default 4 MiB.
	MaxPendingWrite int
	// SweepInterval is how often deadlines of asynchronous requests are checked. Default 50ms.
	SweepInterval time.Duration
	// OnClose runs once after the connection closed (in the goroutine that closed it).
	OnClose func(*Conn)
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxPendingWrite <= 0 {
		o.MaxPendingWrite = 4 << 20
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 50 * time.Millisecond
	}
}

// Conn is one TCP connection.
type Conn struct {
	addr string
	nc   net.Conn
	opts Options
	log  *slog.Logger

	opaque atomic.Int32

	pmu     sync.Mutex
	pending map[int32]*call
	nAsync  int // asynchronous calls in pending
	closed  bool
	err     error // why it closed; set with closed

	wmu        sync.Mutex
	wbuf       []byte
	spare      []byte
	wclosed    bool
	writerWake sync.Cond
	spaceFree  chan struct{} // closed (and replaced) whenever the writer takes the buffer

	lastRead  atomic.Int64 // unix nanoseconds of the last frame read
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Dial connects to addr and starts the connection's goroutines (reader, writer, sweeper), which
// end with Close.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	opts.defaults()
	d := net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, ctxErr)
		}
		return nil, fmt.Errorf("%w: dial %s: %w", ErrConnection, addr, err)
	}
	return newConn(addr, nc, opts), nil
}

// newConn wraps an established connection (tests use net.Pipe).
func newConn(addr string, nc net.Conn, opts Options) *Conn {
	opts.defaults()
	c := &Conn{
		addr:    addr,
		nc:      nc,
		opts:    opts,
		log:     opts.Logger.With("addr", addr),
		pending: make(map[int32]*call),
		done:    make(chan struct{}),
	}
	c.writerWake.L = &c.wmu
	c.spaceFree = make(chan struct{})
	c.lastRead.Store(time.Now().UnixNano())
	c.wg.Add(3)
	go c.readLoop()
	go c.writeLoop()
	go c.sweepLoop()
	return c
}

// Addr is the address the connection was dialed with.
func (c *Conn) Addr() string { return c.addr }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.err
}

// Close closes the connection, fails the requests still waiting with ErrClosed and waits for the
// connection's goroutines to end. It must not be called from a Handler or an OnClose callback.
func (c *Conn) Close() error {
	c.closeWith(ErrClosed)
	c.wg.Wait()
	return nil
}

// closeWith closes the connection without waiting; the first reason wins.
func (c *Conn) closeWith(reason error) {
	c.closeOnce.Do(func() {
		c.pmu.Lock()
		c.closed = true
		c.err = reason
		pending := c.pending
		c.pending = nil
		c.nAsync = 0
		c.pmu.Unlock()

		c.wmu.Lock()
		c.wclosed = true
		c.writerWake.Broadcast()
		c.wmu.Unlock()

		_ = c.nc.Close()
		close(c.done)
		if !errors.Is(reason, ErrClosed) {
			c.log.Debug("connection closed", "err", reason)
		}
		for _, k := range pending {
			c.finish(k, nil, reason)
		}
		if c.opts.OnClose != nil {
			c.opts.OnClose(c)
		}
	})
}

// call is one request waiting for its response. Calls are pooled.
type call struct {
	ch       chan result // synchronous calls; capacity 1, kept across reuse
	cb       Callback
	ctx      context.Context
	deadline time.Time
	// written is set once the request's frame is encoded. Until then only the caller (or a
	// close) may complete an asynchronous call: the encoder still belongs to the caller.
	written bool
	dec     ResponseDecoder // the encoder, when it decodes its own response
	resp    *wire.Command
	err     error
}

type result struct {
	resp *wire.Command
	err  error
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan result, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(k *call) {
	k.cb, k.ctx, k.resp, k.err, k.deadline, k.written, k.dec = nil, nil, nil, nil, time.Time{}, false, nil
	callPool.Put(k)
}

// run delivers an asynchronous result on the executor.
func (k *call) run() {
	cb, resp, err := k.cb, k.resp, k.err
	putCall(k)
	cb(resp, err)
}

// finish completes a call that has been removed from pending.
func (c *Conn) finish(k *call, resp *wire.Command, err error) {
	if k.cb == nil {
		k.ch <- result{resp, err}
		return
	}
	k.resp, k.err = resp, err
	c.opts.Executor.submit(k)
}

// register assigns an opaque and records k as waiting for it.
func (c *Conn) register(k *call) (int32, error) {
	opaque := c.opaque.Add(1)
	c.pmu.Lock()
	if c.closed {
		err := c.err
		c.pmu.Unlock()
		return 0, err
	}
	c.pending[opaque] = k
	if k.cb != nil {
		c.nAsync++
	}
	c.pmu.Unlock()
	return opaque, nil
}

// unregister removes the call of opaque; false means it was already completed or failed.
func (c *Conn) unregister(opaque int32) (*call, bool) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	k, ok := c.pending[opaque]
	if ok {
		delete(c.pending, opaque)
		if k.cb != nil {
			c.nAsync--
		}
	}
	return k, ok
}

// write queues one frame for the writer, waiting (within ctx) while too much is queued already.
// The encoder runs under the write lock, so a close cannot overtake it.
func (c *Conn) write(ctx context.Context, enc Encoder, opaque int32) error {
	c.wmu.Lock()
	for len(c.wbuf) >= c.opts.MaxPendingWrite && !c.wclosed {
		free := c.spaceFree
		c.wmu.Unlock()
		select {
		case <-free:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.wmu.Lock()
	}
	if c.wclosed {
		c.wmu.Unlock()
		return c.closedErr()
	}
	c.wbuf = enc.AppendFrame(c.wbuf, opaque)
	c.writerWake.Signal()
	c.wmu.Unlock()
	return nil
}

func (c *Conn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// Invoke sends a request and waits for its response or the end of ctx. A context without a
// deadline waits as long as the connection lives: callers are expected to bound it.
func (c *Conn) Invoke(ctx context.Context, enc Encoder) (*wire.Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := getCall()
	k.dec, _ = enc.(ResponseDecoder)
	opaque, err := c.register(k)
	if err != nil {
		putCall(k)
		return nil, err
	}
	if err := c.write(ctx, enc, opaque); err != nil {
		if _, ok := c.unregister(opaque); ok {
			putCall(k)
			return nil, err
		}
		r := <-k.ch // failed by the close that made write fail
		putCall(k)
		return nil, r.err
	}
	select {
	case r := <-k.ch:
		putCall(k)
		return r.resp, r.err
	case <-ctx.Done():
		if _, ok := c.unregister(opaque); ok {
			putCall(k)
			return nil, ctx.Err()
		}
		r := <-k.ch // completed while we gave up: take it, it is already here or about to be
		putCall(k)
		return r.resp, r.err
	}
}

// InvokeAsync sends a request; cb gets the response, or an error when the deadline passes (the
// context's, else timeout from now), the context is cancelled, or the connection closes. cb runs
// on the Executor, exactly once, unless InvokeAsync returns an error (then never).
func (c *Conn) InvokeAsync(ctx context.Context, enc Encoder, timeout time.Duration, cb Callback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := getCall()
	k.cb = cb
	k.ctx = ctx
	k.dec, _ = enc.(ResponseDecoder)
	if d, ok := ctx.Deadline(); ok {
		k.deadline = d
	} else if timeout > 0 {
		k.deadline = time.Now().Add(timeout)
	}
	opaque, err := c.register(k)
	if err != nil {
		putCall(k)
		return err
	}
	if err := c.write(ctx, enc, opaque); err != nil {
		if _, ok := c.unregister(opaque); ok {
			putCall(k)
			return err
		}
		return nil // the close that failed the write also failed the call: cb has the error
	}
	c.pmu.Lock()
	if c.pending[opaque] == k {
		k.written = true // from now on the sweeper may expire it
	}
	c.pmu.Unlock()
	return nil
}

// InvokeOneway writes a request and does not wait for anything. The encoder should set the oneway
// flag (then RocketMQ does not answer); an answer that comes anyway is dropped.
func (c *Conn) InvokeOneway(ctx context.Context, enc Encoder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.write(ctx, enc, c.opaque.Add(1))
}

// Respond writes the answer to a request of the peer.
func (c *Conn) Respond(req, resp *wire.Command) error {
	resp.Flag |= wire.FlagResponse
	return c.write(context.Background(), Cmd{resp}, req.Opaque)
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	for {
		c.wmu.Lock()
		for len(c.wbuf) == 0 && !c.wclosed {
			c.writerWake.Wait()
		}
		if c.wclosed {
			c.wmu.Unlock()
			return
		}
		buf := c.wbuf
		c.wbuf, c.spare = c.spare[:0], nil
		if len(buf) >= c.opts.MaxPendingWrite {
			close(c.spaceFree)
			c.spaceFree = make(chan struct{})
		}
		c.wmu.Unlock()

		_ = c.nc.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
		if _, err := c.nc.Write(buf); err != nil {
			c.closeWith(fmt.Errorf("%w: write to %s: %w", ErrConnection, c.addr, err))
			return
		}
		if cap(buf) > 4*c.opts.MaxPendingWrite {
			buf = nil // a one-off huge frame: do not keep its buffer
		}
		c.wmu.Lock()
		c.spare = buf[:0]
		c.wmu.Unlock()
	}
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var buf []byte
	for {
		payload, err := readFrame(br, buf)
		if err != nil {
			c.closeWith(fmt.Errorf("%w: read from %s: %w", ErrConnection, c.addr, err))
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		buf = payload
		if c.fastResponse(payload) {
			continue
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil {
			c.log.Warn("dropping a malformed frame", "err", err)
			continue
		}
		if cmd.Body != nil {
			buf = nil // the body aliases this buffer: read the next frame into a new one
		}
		if cmd.IsResponse() {
			if k, ok := c.unregister(cmd.Opaque); ok {
				c.finish(k, cmd, nil)
			}
			continue
		}
		if c.opts.Handler == nil {
			continue
		}
		if resp := c.opts.Handler(c, cmd); resp != nil && !cmd.IsOneway() {
			if err := c.Respond(cmd, resp); err != nil {
				return
			}
		}
	}
}

// readFrame is wire.ReadFrame without its per-frame allocation of the length word (Peek reads
// it in place).
func readFrame(br *bufio.Reader, buf []byte) ([]byte, error) {
	word, err := br.Peek(4)
	if err != nil {
		if err == io.EOF && len(word) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(word)))
	if n < 4 || n > wire.DefaultMaxFrame {
		return nil, fmt.Errorf("%w: frame length %d", wire.ErrMalformed, n)
	}
	_, _ = br.Discard(4)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// fastResponse completes the call of a bodiless JSON response whose encoder decodes it itself,
// without building a Command; false means the frame needs the full decoder.
func (c *Conn) fastResponse(payload []byte) bool {
	word := binary.BigEndian.Uint32(payload)
	hlen := int(word & 0xFFFFFF)
	if word>>24 != uint32(wire.SerializeJSON) || hlen != len(payload)-4 {
		return false // not JSON, or a body follows
	}
	header := payload[4:]
	code, opaque, flag, ok := peekHeader(header)
	if !ok || flag&wire.FlagResponse == 0 {
		return false
	}
	c.pmu.Lock()
	k := c.pending[opaque]
	if k == nil || k.dec == nil {
		c.pmu.Unlock()
		return k == nil // nobody waits: drop it; a plain call: full decode
	}
	delete(c.pending, opaque)
	if k.cb != nil {
		c.nAsync--
	}
	c.pmu.Unlock()
	if err := k.dec.DecodeResponse(code, header); err != nil {
		cmd, err := wire.DecodeCommand(payload)
		c.finish(k, cmd, err)
		return true
	}
	c.finish(k, nil, nil)
	return true
}

// sweepLoop fails asynchronous calls whose deadline passed or whose context ended, and closes a
// connection that stopped answering.
func (c *Conn) sweepLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.SweepInterval)
	defer t.Stop()
	var expired []*call
	var errs []error
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			expired, errs = expired[:0], errs[:0]
			c.pmu.Lock()
			waiting := len(c.pending) > 0
			if c.nAsync > 0 {
				for op, k := range c.pending {
					if k.cb == nil || !k.written {
						continue
					}
					var err error
					if e := k.ctx.Err(); e != nil {
						err = e
					} else if !k.deadline.IsZero() && now.After(k.deadline) {
						err = fmt.Errorf("no response from %s in time: %w", c.addr, context.DeadlineExceeded)
					}
					if err != nil {
						delete(c.pending, op)
						c.nAsync--
						expired = append(expired, k)
						errs = append(errs, err)
					}
				}
			}
			c.pmu.Unlock()
			for i, k := range expired {
				c.finish(k, nil, errs[i])
				expired[i] = nil
			}
			if waiting && now.Sub(time.Unix(0, c.lastRead.Load())) > c.opts.IdleTimeout {
				c.closeWith(fmt.Errorf("%w: nothing received from %s for %s", ErrConnection, c.addr, c.opts.IdleTimeout))
				return
			}
		}
	}
}
