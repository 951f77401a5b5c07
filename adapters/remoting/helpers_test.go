package remoting

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// waitLimit bounds every wait in these tests; nothing waits for a fixed time.
const waitLimit = 10 * time.Second

// Codes the test handlers use.
const (
	codeEcho  int16 = 1000
	codeBlock int16 = 1001
	codePanic int16 = 1002
)

// testLogger records logs in memory: unlike zaptest it stays safe when a connection goroutine
// logs after the test returned.
func testLogger() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	return zap.New(core), logs
}

func testConfig() Config {
	cfg := Defaults()
	cfg.MaxFrameSize = 64 << 10
	cfg.MaxBodySize = 32 << 10
	return cfg
}

func timeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// echo answers SUCCESS with the request's body and extFields.
func echo(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body = req.Body
	resp.SetExtMap(req.ExtMap())
	return resp
}

// testServer is a started Server with a Router and connection bookkeeping.
type testServer struct {
	*Server
	router    *Router
	accepted  atomic.Int64
	connected chan *Conn // every accepted connection, buffered
	logs      *observer.ObservedLogs
}

func startServer(t testing.TB, cfg Config, setup func(*Router)) *testServer {
	t.Helper()
	log, logs := testLogger()
	r := NewRouter(cfg, log)
	r.Handle(codeEcho, echo)
	if setup != nil {
		setup(r)
	}
	ts := &testServer{router: r, connected: make(chan *Conn, 64), logs: logs}
	ts.Server = NewServer(cfg, "127.0.0.1:0", r.Serve, log)
	ts.SetInline(r.Inline)
	ts.SetGrouper(r)
	ts.OnConnect(func(c *Conn) {
		ts.accepted.Add(1)
		select {
		case ts.connected <- c:
		default:
		}
	})
	if err := ts.Start(timeout(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(timeout(t)); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return ts
}

func (ts *testServer) addr() string { return ts.Addr().String() }

// nextConn returns the next accepted connection.
func (ts *testServer) nextConn(t testing.TB) *Conn {
	t.Helper()
	select {
	case c := <-ts.connected:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no connection accepted")
		return nil
	}
}

func newClient(t testing.TB, cfg Config, h Handler) *Client {
	log, _ := testLogger()
	cl := NewClient(cfg, h, log)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// mustInvoke invokes and fails the test on a transport error.
func mustInvoke(t testing.TB, cl *Client, addr string, req *wire.Command) *wire.Command {
	t.Helper()
	resp, err := cl.Invoke(timeout(t), addr, req)
	if err != nil {
		t.Fatalf("invoke code %d: %v", req.Code, err)
	}
	return resp
}

// rawDial opens a plain socket for tests that write frames by hand.
func rawDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

func writeRaw(t testing.TB, nc net.Conn, b []byte) {
	t.Helper()
	_ = nc.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func writeCmd(t testing.TB, nc net.Conn, cmd *wire.Command) {
	t.Helper()
	writeRaw(t, nc, wire.AppendFrame(nil, cmd))
}

// readCmd reads one frame, failing the test on error.
func readCmd(t testing.TB, nc net.Conn) *wire.Command {
	t.Helper()
	cmd, err := tryReadCmd(nc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return cmd
}

func tryReadCmd(nc net.Conn) (*wire.Command, error) {
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	payload, err := wire.ReadFrame(nc, 1<<30, nil)
	if err != nil {
		return nil, err
	}
	return wire.DecodeCommand(payload)
}

// waitClosed waits for the peer to close nc: a read returns EOF or a reset, not a timeout.
func waitClosed(t testing.TB, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 512)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("connection still open")
		}
		return
	}
}

// waitDone waits for ch or fails with what.
func waitDone(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func request(code int16, body []byte) *wire.Command {
	return wire.NewRequest(code, map[string]string{"k": "v"}, body)
}
