package remoting

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestRequestResponse(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	cl := newClient(t, testConfig(), nil)

	for i := range 3 {
		body := bytes.Repeat([]byte{byte(i)}, 100*i)
		resp := mustInvoke(t, cl, ts.addr(), request(codeEcho, body))
		if resp.Code != wire.Success || !resp.IsResponse() || !bytes.Equal(resp.Body, body) || resp.Ext("k") != "v" {
			t.Fatalf("response %d: %+v", i, resp)
		}
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want one reused", n)
	}
}

func TestBinaryHeaderAnsweredInKind(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	nc := rawDial(t, ts.addr())
	req := request(codeEcho, []byte("hi"))
	req.Opaque, req.Serialize = 77, wire.SerializeRocketMQ
	writeCmd(t, nc, req)
	resp := readCmd(t, nc)
	if resp.Opaque != 77 || resp.Serialize != wire.SerializeRocketMQ || string(resp.Body) != "hi" {
		t.Fatalf("response %+v", resp)
	}
}

func TestConcurrentRequestsOnOneConnection(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlock, func(ctx context.Context, _ *Conn, req *wire.Command) *wire.Command {
			close(entered)
			<-release
			return wire.NewResponse(req, wire.Success, "released")
		})
	})
	cl := newClient(t, testConfig(), nil)

	blocked := make(chan *wire.Command, 1)
	go func() {
		resp, err := cl.Invoke(timeout(t), ts.addr(), request(codeBlock, nil))
		if err != nil {
			t.Error(err)
		}
		blocked <- resp
	}()
	waitDone(t, entered, "blocking handler")
	for range 5 {
		if resp := mustInvoke(t, cl, ts.addr(), request(codeEcho, nil)); resp.Code != wire.Success {
			t.Fatalf("echo behind a blocked handler: %+v", resp)
		}
	}
	close(release)
	select {
	case resp := <-blocked:
		if resp == nil || resp.Remark != "released" {
			t.Fatalf("blocked response %+v", resp)
		}
	case <-time.After(waitLimit):
		t.Fatal("blocked request never answered")
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestUnknownCode(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	cl := newClient(t, testConfig(), nil)
	resp := mustInvoke(t, cl, ts.addr(), request(77, nil))
	if resp.Code != wire.RequestCodeNotSupported || resp.Remark != " request type 77 not supported" {
		t.Fatalf("response %+v", resp)
	}
}

func TestOversizedBody(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBodySize = 100
	var called atomic.Int64
	ts := startServer(t, cfg, func(r *Router) {
		r.Handle(wire.SendMessage, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			called.Add(1)
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	cl := newClient(t, cfg, nil)

	resp := mustInvoke(t, cl, ts.addr(), request(wire.SendMessage, make([]byte, 101)))
	if resp.Code != wire.MessageIllegal || !strings.Contains(resp.Remark, "101") || !strings.Contains(resp.Remark, "100") {
		t.Fatalf("response %+v", resp)
	}
	if called.Load() != 0 {
		t.Fatal("handler called for an oversized body")
	}
	if resp := mustInvoke(t, cl, ts.addr(), request(wire.SendMessage, make([]byte, 100))); resp.Code != wire.Success {
		t.Fatalf("after refusal: %+v", resp)
	}
	if called.Load() != 1 || ts.accepted.Load() != 1 {
		t.Fatalf("calls %d, connections %d", called.Load(), ts.accepted.Load())
	}
}

func TestOversizedFrameAnsweredAndConnectionKept(t *testing.T) {
	cfg := testConfig()
	cfg.MaxFrameSize = 1024
	ts := startServer(t, cfg, nil)
	cl := newClient(t, cfg, nil)

	resp := mustInvoke(t, cl, ts.addr(), request(codeEcho, make([]byte, 4096)))
	if resp.Code != wire.MessageIllegal || !strings.Contains(resp.Remark, "limit of 1024") {
		t.Fatalf("response %+v", resp)
	}
	if resp := mustInvoke(t, cl, ts.addr(), request(codeEcho, []byte("small"))); resp.Code != wire.Success || string(resp.Body) != "small" {
		t.Fatalf("after oversized frame: %+v", resp)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want the first kept", n)
	}
}

func TestBadFramesCloseConnection(t *testing.T) {
	cfg := testConfig()
	cfg.MaxFrameSize = 1024
	ts := startServer(t, cfg, nil)
	word := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cases := map[string][]byte{
		"negative length":      word(0xFFFFFFFB),
		"length under 4":       word(2),
		"header over payload":  append(append(word(8), word(100)...), 1, 2, 3, 4),
		"unknown serialize":    append(append(word(6), word(7<<24|2)...), '{', '}'),
		"bad json header":      append(append(word(7), word(3)...), '{', 'x', '}'),
		"oversized, huge hdr":  append(word(4096), word(0x00FFFFFF)...),
		"oversized, bad hdr":   append(append(word(4096), word(3)...), 'n', 'o', 'p'),
		"oversized, hdr > len": append(word(2000), word(1999)...),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			nc := rawDial(t, ts.addr())
			writeRaw(t, nc, frame)
			waitClosed(t, nc)
			// The server still serves new connections.
			nc2 := rawDial(t, ts.addr())
			req := request(codeEcho, nil)
			req.Opaque = 5
			writeCmd(t, nc2, req)
			if resp := readCmd(t, nc2); resp.Code != wire.Success || resp.Opaque != 5 {
				t.Fatalf("after %s: %+v", name, resp)
			}
		})
	}
}

func TestHandlerPanic(t *testing.T) {
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codePanic, func(context.Context, *Conn, *wire.Command) *wire.Command { panic("boom") })
	})
	cl := newClient(t, testConfig(), nil)
	resp := mustInvoke(t, cl, ts.addr(), request(codePanic, nil))
	if resp.Code != wire.SystemError || resp.Remark != "internal error: boom" {
		t.Fatalf("response %+v", resp)
	}
	if resp := mustInvoke(t, cl, ts.addr(), request(codeEcho, nil)); resp.Code != wire.Success {
		t.Fatalf("after panic: %+v", resp)
	}
	logged := ts.logs.FilterMessage("handler panicked").All()
	if len(logged) != 1 || !strings.Contains(logged[0].ContextMap()["stack"].(string), "TestHandlerPanic") {
		t.Fatalf("panic log %+v", logged)
	}
}

func TestRawHandlerPanicRecoveredWithoutRouter(t *testing.T) {
	log, _ := testLogger()
	s := NewServer(testConfig(), "127.0.0.1:0", func(context.Context, *Conn, *wire.Command) *wire.Command {
		panic("raw")
	}, log)
	if err := s.Start(timeout(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(timeout(t)) })
	cl := newClient(t, testConfig(), nil)
	if resp := mustInvoke(t, cl, s.Addr().String(), request(1, nil)); resp.Code != wire.SystemError {
		t.Fatalf("response %+v", resp)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = 50 * time.Millisecond
	ts := startServer(t, cfg, nil)
	nc := rawDial(t, ts.addr())
	c := ts.nextConn(t)
	waitClosed(t, nc)
	waitDone(t, c.Done(), "server side close")
	if len(ts.logs.FilterMessage("idle timeout, closing connection").All()) == 0 {
		t.Fatal("idle close not logged")
	}
}

func TestMaxConnections(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 1
	ts := startServer(t, cfg, nil)

	first := rawDial(t, ts.addr())
	writeCmd(t, first, request(codeEcho, nil))
	readCmd(t, first) // counted by the server now
	c := ts.nextConn(t)

	second := rawDial(t, ts.addr())
	waitClosed(t, second)
	if len(ts.logs.FilterMessage("connection refused: too many connections").All()) != 1 {
		t.Fatal("refusal not logged")
	}

	_ = first.Close()
	waitDone(t, c.Done(), "first connection closed")
	// Done closes after the OnClose callbacks, the server's bookkeeping among them.
	third := rawDial(t, ts.addr())
	writeCmd(t, third, request(codeEcho, nil))
	if resp := readCmd(t, third); resp.Code != wire.Success {
		t.Fatalf("third connection: %+v", resp)
	}
}

func TestServerInvokesClient(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	cl := newClient(t, testConfig(), func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
		if req.Code != wire.GetConsumerRunningInfo {
			return nil
		}
		resp := wire.NewResponse(req, wire.Success, "")
		resp.Body = []byte("running:" + req.Ext("consumerGroup"))
		return resp
	})
	mustInvoke(t, cl, ts.addr(), request(codeEcho, nil))
	sc := ts.nextConn(t)

	resp, err := sc.Invoke(timeout(t), wire.NewRequest(wire.GetConsumerRunningInfo, map[string]string{"consumerGroup": "g"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != wire.Success || string(resp.Body) != "running:g" {
		t.Fatalf("response %+v", resp)
	}
	if !sc.RemoteAddr().Addr().Is4() || sc.LocalAddr().Port() != ts.Addr().Port() {
		t.Fatalf("addresses %v %v", sc.RemoteAddr(), sc.LocalAddr())
	}

	// A request the client does not answer times out with both sentinels.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = sc.Invoke(ctx, wire.NewRequest(wire.NotifyConsumerIdsChanged, nil, nil))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestInvokeOneway(t *testing.T) {
	flags := make(chan int32, 4)
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(wire.UpdateConsumerOffset, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			flags <- req.Flag
			return wire.NewResponse(req, wire.Success, "must not be written")
		})
	})

	cl := newClient(t, testConfig(), nil)
	if err := cl.InvokeOneway(timeout(t), ts.addr(), request(wire.UpdateConsumerOffset, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-flags:
		if f&wire.FlagOneway == 0 || f&wire.FlagResponse != 0 {
			t.Fatalf("flag %d", f)
		}
	case <-time.After(waitLimit):
		t.Fatal("oneway request not delivered")
	}

	// On a raw socket: the oneway request is handled, and the first frame back answers the
	// request sent after it.
	nc := rawDial(t, ts.addr())
	ow := request(wire.UpdateConsumerOffset, nil)
	ow.Opaque, ow.Flag = 1, wire.FlagOneway
	next := request(codeEcho, nil)
	next.Opaque = 2
	writeCmd(t, nc, ow)
	<-flags
	writeCmd(t, nc, next)
	if resp := readCmd(t, nc); resp.Opaque != 2 {
		t.Fatalf("first frame back %+v, want the answer to opaque 2", resp)
	}
}

func TestUnknownOpaqueResponseDropped(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	nc := rawDial(t, ts.addr())
	stray := wire.NewResponse(&wire.Command{Opaque: 4242}, wire.Success, "stray")
	writeCmd(t, nc, stray)
	req := request(codeEcho, nil)
	req.Opaque = 9
	writeCmd(t, nc, req)
	if resp := readCmd(t, nc); resp.Opaque != 9 || resp.Code != wire.Success {
		t.Fatalf("response %+v", resp)
	}
	if len(ts.logs.FilterMessage("response with unknown opaque dropped").All()) != 1 {
		t.Fatal("drop not logged")
	}
}

func TestStopAnswersBlockedHandlerThenCloses(t *testing.T) {
	entered := make(chan struct{})
	log, _ := testLogger()
	r := NewRouter(testConfig(), log)
	r.Handle(wire.PullMessage, func(ctx context.Context, _ *Conn, req *wire.Command) *wire.Command {
		close(entered)
		<-ctx.Done() // a held pull, released by the drain
		return wire.NewResponse(req, wire.PullNotFound, "drained")
	})
	s := NewServer(testConfig(), "127.0.0.1:0", r.Serve, log)
	closed := make(chan struct{})
	s.OnConnect(func(c *Conn) { c.OnClose(func() { close(closed) }) })
	if err := s.Start(timeout(t)); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, testConfig(), nil)

	answered := make(chan *wire.Command, 1)
	go func() {
		resp, err := cl.Invoke(timeout(t), s.Addr().String(), request(wire.PullMessage, nil))
		if err != nil {
			t.Error(err)
		}
		answered <- resp
	}()
	waitDone(t, entered, "pull handler")
	if err := s.Stop(timeout(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	default:
		t.Fatal("OnClose had not run when Stop returned")
	}
	select {
	case resp := <-answered:
		if resp == nil || resp.Code != wire.PullNotFound || resp.Remark != "drained" {
			t.Fatalf("response %+v", resp)
		}
	case <-time.After(waitLimit):
		t.Fatal("held request not answered")
	}
	if err := s.Stop(timeout(t)); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if err := s.Start(timeout(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after stop: %v", err)
	}
}

func TestStopBoundedByContext(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	log, _ := testLogger()
	ts := NewServer(testConfig(), "127.0.0.1:0", func(context.Context, *Conn, *wire.Command) *wire.Command {
		close(entered)
		<-release // ignores the drain
		return nil
	}, log)
	if err := ts.Start(timeout(t)); err != nil {
		t.Fatal(err)
	}
	nc := rawDial(t, ts.Addr().String())
	writeCmd(t, nc, request(codeBlock, nil))
	waitDone(t, entered, "handler")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := ts.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v", err)
	}
	waitClosed(t, nc) // closed anyway
}

func TestRequestsDuringDrainRefused(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlock, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			close(entered)
			<-release
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	nc := rawDial(t, ts.addr())
	blocked := request(codeBlock, nil)
	blocked.Opaque = 1
	writeCmd(t, nc, blocked)
	waitDone(t, entered, "handler")
	sc := ts.nextConn(t)

	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop(timeout(t)) }()
	waitDone(t, sc.ctx.Done(), "drain")
	late := request(codeEcho, nil)
	late.Opaque = 2
	writeCmd(t, nc, late)
	if resp := readCmd(t, nc); resp.Opaque != 2 || resp.Code != wire.ServiceNotAvailable {
		t.Fatalf("late request answered %+v", resp)
	}
	close(release)
	if resp := readCmd(t, nc); resp.Opaque != 1 || resp.Code != wire.Success {
		t.Fatalf("held request answered %+v", resp)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
