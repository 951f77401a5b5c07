package remoting

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

const codeGrouped int16 = 902

// groupRecorder records how grouped requests were served: alone (the plain handler) or in
// groups (the group handler), in the order they were served.
type groupRecorder struct {
	mu     sync.Mutex
	order  []int32
	groups []int
	panics bool
}

func (g *groupRecorder) single(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
	g.mu.Lock()
	g.order = append(g.order, req.Opaque)
	g.mu.Unlock()
	return wire.NewResponse(req, wire.Success, "alone")
}

func (g *groupRecorder) group(_ context.Context, _ *Conn, reqs []*wire.Command) []*wire.Command {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.panics {
		panic("group handler failed")
	}
	g.groups = append(g.groups, len(reqs))
	out := make([]*wire.Command, len(reqs))
	for i, req := range reqs {
		g.order = append(g.order, req.Opaque)
		out[i] = wire.NewResponse(req, wire.Success, "grouped")
	}
	return out
}

// readAnswers reads n responses and returns their codes by opaque, failing on a duplicate.
func readAnswers(t *testing.T, ts *testServer, burst []byte, n int) map[int32]int16 {
	t.Helper()
	nc := rawDial(t, ts.addr())
	writeRaw(t, nc, burst)
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	got := make(map[int32]int16, n)
	for len(got) < n {
		payload, err := wire.ReadFrame(nc, 1<<20, nil)
		if err != nil {
			t.Fatalf("after %d answers: %v", len(got), err)
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil || !cmd.IsResponse() {
			t.Fatalf("answer %+v %v", cmd, err)
		}
		if _, dup := got[cmd.Opaque]; dup {
			t.Fatalf("request %d answered twice", cmd.Opaque)
		}
		got[cmd.Opaque] = cmd.Code
	}
	return got
}

// A pipelined burst of a grouped code is served in groups, in the order sent; a request of
// another code in the middle is served in its place, and one over the body limit is refused
// on its own while the rest of its group is served.
func TestBufferedRequestsAreServedInGroups(t *testing.T) {
	rec := &groupRecorder{}
	cfg := testConfig()
	cfg.MaxBodySize = 1024
	var inlineAt []int
	ts := startServer(t, cfg, func(r *Router) {
		r.HandleGroup(codeGrouped, rec.single, rec.group)
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			rec.mu.Lock()
			inlineAt = append(inlineAt, len(rec.order))
			rec.mu.Unlock()
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	const n = 120
	var burst []byte
	for i := int32(1); i <= n; i++ {
		var req *wire.Command
		switch i {
		case 50:
			req = request(codeInline, nil)
		case 70:
			req = request(codeGrouped, bytes.Repeat([]byte("b"), 2048))
		default:
			req = request(codeGrouped, []byte("body"))
		}
		req.Opaque = i
		burst = wire.AppendFrame(burst, req)
	}
	got := readAnswers(t, ts, burst, n)
	for i := int32(1); i <= n; i++ {
		want := wire.Success
		if i == 70 {
			want = wire.MessageIllegal
		}
		if got[i] != want {
			t.Fatalf("request %d answered %d, want %d", i, got[i], want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.order) != n-2 {
		t.Fatalf("%d grouped-code requests served, want %d", len(rec.order), n-2)
	}
	prev := int32(0)
	for _, o := range rec.order {
		if o <= prev {
			t.Fatalf("served out of order: %v", rec.order)
		}
		prev = o
	}
	if len(inlineAt) != 1 || inlineAt[0] != 49 {
		t.Fatalf("the other code was served after %v grouped requests, want 49", inlineAt)
	}
	largest := 0
	for _, g := range rec.groups {
		largest = max(largest, g)
	}
	if largest < 2 || largest > maxGroup {
		t.Fatalf("group sizes %v: want groups of 2 to %d", rec.groups, maxGroup)
	}
}

// A panicking group handler answers every request of its group SYSTEM_ERROR and the connection
// goes on serving.
func TestGroupHandlerPanicAnswersEveryRequest(t *testing.T) {
	rec := &groupRecorder{panics: true}
	ts := startServer(t, testConfig(), func(r *Router) { r.HandleGroup(codeGrouped, rec.single, rec.group) })
	const n = 40
	burst := groupedBurst(n)
	echoReq := request(codeEcho, []byte("after"))
	echoReq.Opaque = n + 1
	burst = wire.AppendFrame(burst, echoReq)
	got := readAnswers(t, ts, burst, n+1)
	panicked := 0
	for i := int32(1); i <= n; i++ {
		switch got[i] {
		case wire.SystemError:
			panicked++
		case wire.Success: // served alone: the plain handler does not panic
		default:
			t.Fatalf("request %d answered %d", i, got[i])
		}
	}
	if panicked == 0 {
		t.Fatal("no request went through the group handler")
	}
	if got[n+1] != wire.Success {
		t.Fatalf("the request after the panic answered %d", got[n+1])
	}
}

// With a middleware installed, requests are not grouped: the middleware sees every one.
func TestMiddlewaresTurnGroupingOff(t *testing.T) {
	rec := &groupRecorder{}
	var seen sync.Map
	ts := startServer(t, testConfig(), func(r *Router) {
		r.HandleGroup(codeGrouped, rec.single, rec.group)
		r.Use(func(next Handler) Handler {
			return func(ctx context.Context, c *Conn, req *wire.Command) *wire.Command {
				seen.Store(req.Opaque, true)
				return next(ctx, c, req)
			}
		})
	})
	const n = 60
	readAnswers(t, ts, groupedBurst(n), n)
	for i := int32(1); i <= n; i++ {
		if _, ok := seen.Load(i); !ok {
			t.Fatalf("the middleware did not see request %d", i)
		}
	}
	if len(rec.groups) != 0 {
		t.Fatalf("grouped %v with a middleware installed", rec.groups)
	}
}

// groupedBurst is n pipelined requests of the grouped code, opaques 1 to n.
func groupedBurst(n int32) []byte {
	var burst []byte
	for i := int32(1); i <= n; i++ {
		req := request(codeGrouped, []byte("x"))
		req.Opaque = i
		burst = wire.AppendFrame(burst, req)
	}
	return burst
}

// A malformed frame closes the connection, but only after the requests served before it, alone
// or in a group, are answered.
func TestMalformedFrameAfterServedRequestsStillAnswersThem(t *testing.T) {
	rec := &groupRecorder{}
	ts := startServer(t, testConfig(), func(r *Router) {
		r.HandleGroup(codeGrouped, rec.single, rec.group)
		r.HandleInline(codeInline, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
			return wire.NewResponse(req, wire.Success, "")
		})
	})
	malformed := []byte{0, 0, 0, 8, 0, 0, 0, 4, '{', 'x', 'y', '}'} // a header that is not JSON
	for _, code := range []int16{codeGrouped, codeInline} {
		var burst []byte
		for i := int32(1); i <= 5; i++ {
			req := request(code, []byte("x"))
			req.Opaque = i
			burst = wire.AppendFrame(burst, req)
		}
		got := readAnswers(t, ts, append(burst, malformed...), 5)
		for i := int32(1); i <= 5; i++ {
			if got[i] != wire.Success {
				t.Fatalf("code %d: request %d answered %d", code, i, got[i])
			}
		}
	}
}
