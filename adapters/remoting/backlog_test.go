package remoting

import (
	"context"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// A peer that sends requests and never reads the answers cannot make the connection hold more
// than MaxPendingWrite of them: past it the connection is closed (found in review: 4,000 small
// requests for 64 KiB answers left 158 MiB waiting, for as long as the stuck write took).
func TestUnreadAnswersCloseTheConnectionPastTheBacklogLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPendingWrite = 4 << 20
	ts := startServer(t, cfg, func(r *Router) {
		r.Handle(codeBlock, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			resp := wire.NewResponse(req, wire.Success, "")
			resp.Body = make([]byte, 64<<10)
			return resp
		})
	})
	nc := rawDial(t, ts.addr())
	c := ts.nextConn(t)
	var burst []byte
	for i := int32(1); i <= 4000; i++ {
		q := request(codeBlock, nil)
		q.Opaque = i
		burst = wire.AppendFrame(burst, q)
	}
	writeRaw(t, nc, burst) // and never read
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		c.writer.mu.Lock()
		n := len(c.writer.buf)
		c.writer.mu.Unlock()
		t.Fatalf("connection still open with %d bytes of answers waiting", n)
	}
	c.writer.mu.Lock()
	n := len(c.writer.buf)
	c.writer.mu.Unlock()
	if n > cfg.MaxPendingWrite+(64<<10)+1024 {
		t.Fatalf("%d bytes of answers held, over the %d limit", n, cfg.MaxPendingWrite)
	}
}
