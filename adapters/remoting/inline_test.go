package remoting

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

const (
	codeInline  int16 = 900
	codeBlocker int16 = 901
)

// TestInlineRequestsRunInOrderAndBurstsLeaveTogether pipelines many inline requests in one write:
// they are handled in the order sent, and their answers arrive in far fewer reads than requests.
func TestInlineRequestsRunInOrderAndBurstsLeaveTogether(t *testing.T) {
	var seen []int32
	var inHandler atomic.Int32
	ts := startServer(t, testConfig(), func(r *Router) {
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			if inHandler.Add(1) != 1 {
				t.Error("inline handlers of one connection overlapped")
			}
			seen = append(seen, req.Opaque) // safe: the read loop runs them one at a time
			inHandler.Add(-1)
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	nc := rawDial(t, ts.addr())
	const n = 200
	var burst []byte
	for i := int32(1); i <= n; i++ {
		req := request(codeInline, nil)
		req.Opaque = i
		burst = wire.AppendFrame(burst, req)
	}
	writeRaw(t, nc, burst)
	reads := countingReads(t, nc, n)
	if len(seen) != n {
		t.Fatalf("handled %d of %d", len(seen), n)
	}
	for i, o := range seen {
		if o != int32(i+1) {
			t.Fatalf("request %d handled at position %d", o, i)
		}
	}
	if reads > n/4 {
		t.Errorf("%d answers took %d socket reads: answers to a burst should leave together", n, reads)
	}
}

// countingReads reads n responses (in order of opaque) and returns how many socket reads it took.
func countingReads(t *testing.T, nc net.Conn, n int) int {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	var buf []byte
	reads, got := 0, 0
	chunk := make([]byte, 1<<20)
	for got < n {
		k, err := nc.Read(chunk)
		if err != nil {
			t.Fatalf("after %d answers: %v", got, err)
		}
		reads++
		buf = append(buf, chunk[:k]...)
		for len(buf) >= 4 {
			size := int(uint32(buf[0])<<24|uint32(buf[1])<<16|uint32(buf[2])<<8|uint32(buf[3])) + 4
			if len(buf) < size {
				break
			}
			cmd, err := wire.DecodeCommand(buf[4:size])
			if err != nil || !cmd.IsResponse() || cmd.Opaque != int32(got+1) {
				t.Fatalf("answer %d: %+v %v", got+1, cmd, err)
			}
			got++
			buf = buf[size:]
		}
	}
	return reads
}

// TestInlineNotDelayedByHeldRequest: a held (goroutine) request on the connection does not stop
// inline requests behind it from being answered.
func TestInlineNotDelayedByHeldRequest(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, testConfig(), func(r *Router) {
		r.Handle(codeBlocker, func(ctx context.Context, _ *Conn, req *wire.Command) *wire.Command {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return wire.NewResponse(req, wire.Success, "")
		})
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	if !ts.router.Inline(codeInline) || ts.router.Inline(codeBlocker) || ts.router.Inline(codeEcho) {
		t.Fatal("Inline reports the wrong codes")
	}
	nc := rawDial(t, ts.addr())
	held := request(codeBlocker, nil)
	held.Opaque = 1
	quick := request(codeInline, nil)
	quick.Opaque = 2
	writeRaw(t, nc, append(wire.AppendFrame(nil, held), wire.AppendFrame(nil, quick)...))
	if resp := readCmd(t, nc); resp.Opaque != 2 {
		t.Fatalf("first answer is for opaque %d, want the inline request's", resp.Opaque)
	}
	close(release)
	if resp := readCmd(t, nc); resp.Opaque != 1 {
		t.Fatalf("second answer is for opaque %d", resp.Opaque)
	}
}

// TestInlineBodiesStayIntactWhileBuffersAreReused pipelines requests with distinct bodies: an
// inline handler must see its own body whole, although frame buffers are reused after it returns.
func TestInlineBodiesStayIntactWhileBuffersAreReused(t *testing.T) {
	ts := startServer(t, testConfig(), func(r *Router) {
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			resp := wire.NewResponse(req, wire.Success, "")
			resp.Body = append([]byte(nil), req.Body...) // handlers copy what they keep
			return resp
		})
	})
	nc := rawDial(t, ts.addr())
	const n = 100
	var burst []byte
	for i := int32(1); i <= n; i++ {
		req := request(codeInline, bytes.Repeat([]byte{byte(i)}, int(i)*37))
		req.Opaque = i
		burst = wire.AppendFrame(burst, req)
	}
	writeRaw(t, nc, burst)
	for i := int32(1); i <= n; i++ {
		resp := readCmd(t, nc)
		if resp.Opaque != i || !bytes.Equal(resp.Body, bytes.Repeat([]byte{byte(i)}, int(i)*37)) {
			t.Fatalf("answer %d: opaque %d, body of %d bytes not the request's", i, resp.Opaque, len(resp.Body))
		}
	}
}

// An inline answer goes out before the read loop waits for the rest of a frame that arrived in
// part: a large body on a slow link, or a peer that stopped half way, must not hold the answers
// to the requests before it (found in review: they waited for the whole next frame).
func TestInlineAnswerIsNotHeldForAPartialNextFrame(t *testing.T) {
	ts := startServer(t, testConfig(), func(r *Router) {
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	nc := rawDial(t, ts.addr())
	a, b := request(codeInline, nil), request(codeInline, nil)
	a.Opaque, b.Opaque = 1, 2
	fb := wire.AppendFrame(nil, b)
	writeRaw(t, nc, append(wire.AppendFrame(nil, a), fb[:10]...))
	if err := nc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	payload, err := wire.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		t.Fatalf("answer to the first request while the second is half sent: %v", err)
	}
	if resp, err := wire.DecodeCommand(payload); err != nil || resp.Opaque != 1 {
		t.Fatalf("answer %+v, %v; want opaque 1", resp, err)
	}
	writeRaw(t, nc, fb[10:])
	payload, err = wire.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := wire.DecodeCommand(payload); err != nil || resp.Opaque != 2 {
		t.Fatalf("answer %+v, %v; want opaque 2", resp, err)
	}
}
