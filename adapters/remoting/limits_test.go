package remoting

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestFrameLimitBoundary(t *testing.T) {
	cfg := testConfig()
	cfg.MaxFrameSize = 1024
	ts := startServer(t, cfg, nil)
	nc := rawDial(t, ts.addr())
	for _, extra := range []int{0, 1} {
		req := request(codeEcho, nil)
		req.Opaque = int32(10 + extra)
		overhead := len(wire.AppendFrame(nil, req))
		req.Body = make([]byte, 1024-overhead+extra) // whole frame: 1024, then 1025 bytes
		writeCmd(t, nc, req)
		resp := readCmd(t, nc)
		want := wire.Success
		if extra > 0 {
			want = wire.MessageIllegal
		}
		if resp.Code != want || resp.Opaque != req.Opaque {
			t.Fatalf("frame of %d bytes: %+v", 1024+extra, resp)
		}
	}
}

func TestOversizedResponseFailsOnlyItsCall(t *testing.T) {
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlock, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			resp := wire.NewResponse(req, wire.Success, "")
			resp.Body = make([]byte, 4096)
			return resp
		})
	})
	cfg := testConfig()
	cfg.MaxFrameSize = 1024 // the client's own limit
	cl := newClient(t, cfg, nil)
	_, err := cl.Invoke(timeout(t), ts.addr(), request(codeBlock, nil))
	if !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("err %v", err)
	}
	mustInvoke(t, cl, ts.addr(), request(codeEcho, nil))
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestRateLimit(t *testing.T) {
	r := rateLimit{interval: time.Second}
	t0 := time.Unix(1000, 0)
	if ok, n := r.allow(t0); !ok || n != 0 {
		t.Fatal("first event held back")
	}
	for range 3 {
		if ok, _ := r.allow(t0.Add(time.Millisecond)); ok {
			t.Fatal("event within the interval let through")
		}
	}
	if ok, n := r.allow(t0.Add(time.Second)); !ok || n != 3 {
		t.Fatalf("after the interval: %v %d", ok, n)
	}
}
