package remoting

import (
	"context"
	"slices"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestRouterMiddlewareOrder(t *testing.T) {
	log, _ := testLogger()
	cfg := testConfig()
	cfg.MaxBodySize = 4
	r := NewRouter(cfg, log)
	var trail []string
	mark := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, c *Conn, req *wire.Command) *wire.Command {
				trail = append(trail, name)
				return next(ctx, c, req)
			}
		}
	}
	r.Handle(wire.SendMessage, func(_ context.Context, _ *Conn, req *wire.Command) *wire.Command {
		trail = append(trail, "handler")
		return wire.NewResponse(req, wire.Success, "")
	})
	r.Use(mark("outer"), mark("inner")) // Use after Handle still wraps it

	serve := func(code int16, body []byte) int16 {
		trail = trail[:0]
		return r.Serve(context.Background(), nil, &wire.Command{Code: code, Body: body}).Code
	}
	if code := serve(wire.SendMessage, nil); code != wire.Success || !slices.Equal(trail, []string{"outer", "inner", "handler"}) {
		t.Fatalf("code %d trail %v", code, trail)
	}
	// Middlewares see refused requests too; the handler does not.
	if code := serve(wire.SendMessage, []byte("12345")); code != wire.MessageIllegal || !slices.Equal(trail, []string{"outer", "inner"}) {
		t.Fatalf("code %d trail %v", code, trail)
	}
	if code := serve(99, nil); code != wire.RequestCodeNotSupported || !slices.Equal(trail, []string{"outer", "inner"}) {
		t.Fatalf("code %d trail %v", code, trail)
	}
	r.Handle(wire.SendMessage, nil)
	if code := serve(wire.SendMessage, nil); code != wire.RequestCodeNotSupported {
		t.Fatalf("removed handler answered %d", code)
	}
}

func TestRecoverCatchesMiddlewarePanic(t *testing.T) {
	log, logs := testLogger()
	r := NewRouter(testConfig(), log)
	r.Use(func(Handler) Handler {
		return func(context.Context, *Conn, *wire.Command) *wire.Command { panic(42) }
	})
	resp := r.Serve(context.Background(), nil, &wire.Command{Code: 1, Opaque: 3})
	if resp.Code != wire.SystemError || resp.Remark != "internal error: 42" || resp.Opaque != 3 || !resp.IsResponse() {
		t.Fatalf("response %+v", resp)
	}
	if logs.FilterMessage("handler panicked").Len() != 1 {
		t.Fatal("panic not logged")
	}
}
