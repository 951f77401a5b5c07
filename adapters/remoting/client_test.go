package remoting

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestClientReconnectsAfterServerRestart(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, nil)
	addr := ts.addr()
	cl := newClient(t, cfg, nil)
	mustInvoke(t, cl, addr, request(codeEcho, nil))
	old := ts.nextConn(t)
	if err := ts.Stop(timeout(t)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, old.Done(), "old connection closed")

	log, _ := testLogger()
	r := NewRouter(cfg, log)
	r.Handle(codeEcho, echo)
	s2 := NewServer(cfg, addr, r.Serve, log)
	if err := s2.Start(timeout(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Stop(timeout(t)) })

	// The client may notice the old socket's close only once it writes on it: then that one call
	// fails with ErrClosed and the next dials afresh. Any other outcome is a bug.
	resp, err := cl.Invoke(timeout(t), addr, request(codeEcho, nil))
	if errors.Is(err, ErrClosed) {
		resp, err = cl.Invoke(timeout(t), addr, request(codeEcho, nil))
	}
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("after restart: %+v, %v", resp, err)
	}
}

func TestClientDialFailureThenSuccess(t *testing.T) {
	cl := newClient(t, testConfig(), nil)
	// A listener closed at once gives an address that refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if _, err := cl.Invoke(timeout(t), addr, request(codeEcho, nil)); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("invoke to a closed port: %v", err)
	}
	ts := startServer(t, testConfig(), nil)
	mustInvoke(t, cl, ts.addr(), request(codeEcho, nil))
}

func TestClientClose(t *testing.T) {
	entered := make(chan struct{})
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlock, func(ctx context.Context, _ *Conn, req *wire.Command) *wire.Command {
			close(entered)
			<-ctx.Done()
			return nil
		})
	})
	cl := newClient(t, testConfig(), nil)
	failed := make(chan error, 1)
	go func() {
		_, err := cl.Invoke(timeout(t), ts.addr(), request(codeBlock, nil))
		failed <- err
	}()
	waitDone(t, entered, "handler")
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-failed; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting invoke: %v", err)
	}
	if _, err := cl.Invoke(timeout(t), ts.addr(), request(codeEcho, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("invoke after close: %v", err)
	}
	if err := cl.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestConnCloseFailsWaitersAndRunsOnClose(t *testing.T) {
	entered := make(chan struct{})
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlock, func(ctx context.Context, _ *Conn, req *wire.Command) *wire.Command {
			close(entered)
			<-ctx.Done()
			return nil
		})
	})
	cl := newClient(t, testConfig(), nil)
	mustInvoke(t, cl, ts.addr(), request(codeEcho, nil))
	sc := ts.nextConn(t)
	ran := make(chan struct{})
	sc.OnClose(func() { close(ran) })

	failed := make(chan error, 1)
	go func() {
		_, err := sc.Invoke(timeout(t), request(codeBlock, nil)) // the client has no handler: no answer
		failed <- err
	}()
	go func() {
		_, err := cl.Invoke(timeout(t), ts.addr(), request(codeBlock, nil))
		failed <- err
	}()
	waitDone(t, entered, "handler")
	_ = sc.Close()
	waitDone(t, ran, "OnClose")
	for range 2 {
		if err := <-failed; !errors.Is(err, ErrClosed) {
			t.Fatalf("waiter: %v", err)
		}
	}
	if !sc.Closed() {
		t.Fatal("Closed() false")
	}
	late := make(chan struct{})
	sc.OnClose(func() { close(late) })
	waitDone(t, late, "OnClose registered after close")
	if err := sc.InvokeOneway(timeout(t), request(codeEcho, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("oneway on closed conn: %v", err)
	}
}
