package remoting

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Server accepts connections and serves their requests with one Handler (usually Router.Serve).
type Server struct {
	cfg       Config
	listen    string
	handler   Handler
	inline    func(code int16) bool
	group     Grouper
	log       *zap.Logger
	onConnect func(*Conn)

	// drainCtx is the parent of every connection's context: cancelling it tells blocked handlers
	// (held pulls) to answer now. It is not derived from Start's ctx, which only bounds binding.
	drainCtx context.Context
	drain    context.CancelFunc

	nextID  atomic.Uint64
	refused rateLimit
	stopCh  chan struct{} // closed when Stop begins, to end accept back-off

	mu         sync.Mutex
	ln         net.Listener
	addr       netip.AddrPort
	conns      map[*Conn]struct{}
	stopping   bool
	acceptDone chan struct{}
	wg         sync.WaitGroup // connection goroutines; Add only under mu while !stopping

	stopOnce sync.Once
	stopErr  error
}

// NewServer prepares a server for listen ("host:port", port 0 for any); Start binds it.
func NewServer(cfg Config, listen string, h Handler, log *zap.Logger) *Server {
	s := &Server{
		cfg:     cfg.normalized(),
		listen:  listen,
		handler: h,
		log:     log.With(zap.String("listen", listen)),
		refused: rateLimit{interval: time.Second},
		stopCh:  make(chan struct{}),
		conns:   make(map[*Conn]struct{}),
	}
	s.drainCtx, s.drain = context.WithCancel(context.Background())
	return s
}

// OnConnect sets a hook run for each accepted connection before its first request is read, so it
// may register OnClose callbacks. Set it before Start.
func (s *Server) OnConnect(fn func(*Conn)) { s.onConnect = fn }

// SetInline names the request codes that run on their connection's read loop (Router.Inline);
// set before Start. Without it every request gets its own goroutine.
func (s *Server) SetInline(fn func(code int16) bool) { s.inline = fn }

// SetGrouper serves the requests g names in groups when they are buffered together (group.go);
// set before Start. Grouped codes must also be inline.
func (s *Server) SetGrouper(g Grouper) { s.group = g }

// Start binds the listener and starts accepting. ctx bounds binding only.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopping:
		return fmt.Errorf("remoting: start %s: %w", s.listen, ErrClosed)
	case s.ln != nil:
		return fmt.Errorf("remoting: start %s: already started", s.listen)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.listen)
	if err != nil {
		return fmt.Errorf("remoting: listen on %s: %w", s.listen, err)
	}
	s.ln = ln
	s.addr = addrPort(ln.Addr())
	s.acceptDone = make(chan struct{})
	go s.acceptLoop(ln, s.acceptDone)
	s.log.Info("remoting server listening", zap.Stringer("addr", s.addr))
	return nil
}

// Addr is the bound address, valid after Start.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

func (s *Server) acceptLoop(ln net.Listener, done chan struct{}) {
	defer close(done)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", zap.Error(err), zap.Duration("retryIn", backoff))
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.stopCh:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		s.admit(nc)
	}
}

// admit registers an accepted connection and starts serving it, or closes it when over the cap.
func (s *Server) admit(nc net.Conn) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if max := s.cfg.MaxConnections; max > 0 && len(s.conns) >= max {
		s.mu.Unlock()
		if ok, suppressed := s.refused.allow(time.Now()); ok {
			s.log.Warn("connection refused: too many connections",
				zap.Stringer("remote", nc.RemoteAddr()), zap.Int("max", max), zap.Int("suppressed", suppressed))
		}
		_ = nc.Close()
		return
	}
	c := newConn(s.drainCtx, s.nextID.Add(1), nc, s.cfg, s.handler, s.inline, s.log)
	c.group = s.group
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	c.log.Debug("connection accepted")
	c.OnClose(func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
	go func() {
		defer s.wg.Done()
		if s.onConnect != nil && !s.connectHook(c) {
			c.Close()
			return
		}
		c.run()
	}()
}

// connectHook runs the OnConnect hook; a panicking hook closes that connection only.
func (s *Server) connectHook(c *Conn) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("OnConnect hook panicked", zap.Any("panic", v), zap.Stack("stack"))
			ok = false
		}
	}()
	s.onConnect(c)
	return true
}

// Stop shuts down gracefully: it stops accepting, cancels the handlers' context so held requests
// answer now, waits (bounded by ctx) until every running handler has returned and its answer is
// written, then closes every connection, which runs their OnClose callbacks. Requests arriving
// meanwhile are answered SERVICE_NOT_AVAILABLE. Later calls return the first call's result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	ln, acceptDone := s.ln, s.acceptDone
	s.mu.Unlock()
	close(s.stopCh)
	defer s.drain()
	if ln == nil {
		return nil
	}
	_ = ln.Close()
	<-acceptDone // Accept returns at once on a closed listener

	// No connection is added from here on (stopping is set and the accept loop is gone).
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	// Refuse new requests first, so none starts with an already cancelled context.
	idle := make([]<-chan struct{}, len(conns))
	for i, c := range conns {
		idle[i] = c.drain()
	}
	s.drain()

	var err error
	for _, ch := range idle {
		if err = waitCtx(ctx, ch); err != nil {
			err = fmt.Errorf("remoting: stop %s: handlers still running: %w", s.addr, err)
			break
		}
	}
	for _, c := range conns {
		if err == nil {
			_ = c.flush() // answers buffered behind a writer that has not flushed yet
		}
		_ = c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	if werr := waitCtx(ctx, done); werr != nil && err == nil {
		err = fmt.Errorf("remoting: stop %s: connection goroutines still running: %w", s.addr, werr)
	}
	s.log.Info("remoting server stopped", zap.Stringer("addr", s.addr), zap.Error(err))
	return err
}

// waitCtx waits for ch to close or ctx to end.
func waitCtx(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
