// Package fakemq is an in-process name server and broker for the SDK's unit tests: enough of
// RocketMQ's remoting protocol to send, pull, heartbeat, rebalance and commit offsets, with hooks
// to fail, delay or inspect any request. It is not a broker; rocketgo is.
package fakemq

import (
	"bufio"
	"net"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// HandlerFunc answers one request; NoAnswer (or nil from a handler) means no answer. A hook
// returning nil lets the handler answer.
type HandlerFunc func(c *Conn, req *wire.Command) *wire.Command

// NoAnswer is returned by a hook or handler to leave a request unanswered.
var NoAnswer = &wire.Command{Code: -1}

// Server is a TCP server dispatching requests by code, each in its own goroutine.
type Server struct {
	Addr string
	ln   net.Listener

	mu       sync.Mutex
	handlers map[int16]HandlerFunc
	hook     HandlerFunc // runs first; a non-nil answer wins
	onClose  func(*Conn)
	conns    map[*Conn]bool
	closed   bool
	wg       sync.WaitGroup

	reqMu     sync.Mutex
	requests  []*wire.Command
	responses []*wire.Command // answers of clients to requests the server sent
}

// Conn is one accepted connection.
type Conn struct {
	nc  net.Conn
	wmu sync.Mutex
}

// Write sends a command (a request to the client, or an answer).
func (c *Conn) Write(cmd *wire.Command) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(wire.AppendFrame(nil, cmd))
	return err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// NewServer listens on 127.0.0.1:0 and serves until t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, handlers: map[int16]HandlerFunc{}, conns: map[*Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Handle sets the handler of a request code.
func (s *Server) Handle(code int16, h HandlerFunc) {
	s.mu.Lock()
	s.handlers[code] = h
	s.mu.Unlock()
}

// Hook sets a function that sees every request first; a non-nil answer replaces the handler's.
// It may also block (to simulate a slow server) or close the connection.
func (s *Server) Hook(h HandlerFunc) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// OnClose sets a function called when a connection closes.
func (s *Server) OnClose(fn func(*Conn)) {
	s.mu.Lock()
	s.onClose = fn
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*wire.Command {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]*wire.Command(nil), s.requests...)
}

// Response returns the client's answer with opaque, if it came.
func (s *Server) Response(opaque int32) *wire.Command {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	for _, r := range s.responses {
		if r.Opaque == opaque {
			return r
		}
	}
	return nil
}

// Count is how many requests with code were received.
func (s *Server) Count(code int16) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Code == code {
			n++
		}
	}
	return n
}

// Conns returns the open connections.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{nc: nc}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *Server) serve(c *Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		onClose := s.onClose
		s.mu.Unlock()
		_ = c.nc.Close()
		if onClose != nil {
			onClose(c)
		}
	}()
	br := bufio.NewReader(c.nc)
	var reqs sync.WaitGroup
	defer reqs.Wait()
	for {
		payload, err := wire.ReadFrame(br, 0, nil)
		if err != nil {
			return
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil {
			continue
		}
		if cmd.IsResponse() {
			s.reqMu.Lock()
			s.responses = append(s.responses, cmd)
			s.reqMu.Unlock()
			continue
		}
		s.reqMu.Lock()
		s.requests = append(s.requests, cmd)
		s.reqMu.Unlock()
		reqs.Add(1)
		go func() {
			defer reqs.Done()
			s.mu.Lock()
			hook, h := s.hook, s.handlers[cmd.Code]
			s.mu.Unlock()
			var resp *wire.Command
			if hook != nil {
				resp = hook(c, cmd)
			}
			if resp == nil && h != nil {
				resp = h(c, cmd)
			}
			if resp == nil && h == nil && hook == nil {
				resp = wire.NewResponse(cmd, wire.RequestCodeNotSupported, "not supported")
			}
			if resp != nil && resp != NoAnswer && !cmd.IsOneway() {
				resp.Opaque = cmd.Opaque
				resp.Flag |= wire.FlagResponse
				_ = c.Write(resp)
			}
		}()
	}
}
