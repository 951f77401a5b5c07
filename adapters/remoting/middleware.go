package remoting

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// Middleware wraps a Handler; metrics, ACL and limits are middlewares.
type Middleware func(Handler) Handler

// Recover turns a panicking handler into a SYSTEM_ERROR answer and a logged stack, so one bad
// request never takes the process down.
func Recover(log *zap.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, c *Conn, req *wire.Command) (resp *wire.Command) {
			defer func() {
				if v := recover(); v != nil {
					resp = recovered(log, c, req, v)
				}
			}()
			return next(ctx, c, req)
		}
	}
}

// recovered logs a recovered panic value with the panicking goroutine's stack and builds the
// answer. debug.Stack called from the deferred function still shows the panicking frames.
func recovered(log *zap.Logger, c *Conn, req *wire.Command, v any) *wire.Command {
	log.Error("handler panicked",
		zap.Int16("code", req.Code), zap.Int32("opaque", req.Opaque), zap.Uint64("conn", c.ID()),
		zap.Any("panic", v), zap.ByteString("stack", debug.Stack()))
	return wire.NewResponse(req, wire.SystemError, fmt.Sprintf("internal error: %v", v))
}

// LimitBody answers MESSAGE_ILLEGAL without calling next when the request body is over max bytes.
func LimitBody(max int) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, c *Conn, req *wire.Command) *wire.Command {
			if len(req.Body) > max {
				return bodyTooLarge(req, max)
			}
			return next(ctx, c, req)
		}
	}
}

func bodyTooLarge(req *wire.Command, max int) *wire.Command {
	return wire.NewResponse(req, wire.MessageIllegal,
		fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", len(req.Body), max))
}
