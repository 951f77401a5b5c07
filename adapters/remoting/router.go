package remoting

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// Handler answers one request; it returns the response, or nil to send nothing. ctx ends when the
// connection closes or the server drains.
type Handler func(ctx context.Context, c *Conn, req *wire.Command) *wire.Command

// Router dispatches requests by code. Every request passes, outermost first, through Recover,
// the middlewares added with Use (in the order added), and for known codes LimitBody, so a
// metrics or ACL middleware sees every request including the refused ones.
//
// Handle and Use may be called at any time; the composed table is swapped atomically, so Serve
// never takes a lock.
type Router struct {
	cfg Config
	log *zap.Logger

	mu       sync.Mutex // serializes Handle and Use
	handlers map[int16]Handler
	inline   map[int16]bool
	groups   map[int16]GroupHandler
	mws      []Middleware

	table atomic.Pointer[routeTable]
}

// routeTable is the immutable result of composing middlewares around every handler once, so the
// hot path allocates no closures.
type routeTable struct {
	byCode   map[int16]Handler
	inline   map[int16]bool
	groups   map[int16]GroupHandler // empty while middlewares are installed
	notFound Handler
}

// NewRouter returns a router with no handlers: every code is answered REQUEST_CODE_NOT_SUPPORTED.
func NewRouter(cfg Config, log *zap.Logger) *Router {
	r := &Router{cfg: cfg.normalized(), log: log, handlers: make(map[int16]Handler), inline: make(map[int16]bool),
		groups: make(map[int16]GroupHandler)}
	r.rebuild()
	return r
}

// Handle installs h for code, replacing any earlier handler; a nil h removes it. Each request
// runs in its own goroutine, so h may block (a held pull) without delaying the connection.
func (r *Router) Handle(code int16, h Handler) { r.handle(code, h, false) }

// HandleInline installs h for code to run on the connection's read loop: requests of one
// connection then run in order, and the answers to a burst of pipelined requests leave in one
// write. Only for handlers that never block for long (no long polling, no waiting on a disk
// flush): while h runs, the connection reads nothing else.
func (r *Router) HandleInline(code int16, h Handler) { r.handle(code, h, true) }

func (r *Router) handle(code int16, h Handler, inline bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inline, code)
	delete(r.groups, code)
	if h == nil {
		delete(r.handlers, code)
	} else {
		r.handlers[code] = h
		if inline {
			r.inline[code] = true
		}
	}
	r.rebuild()
}

// Inline reports whether code runs on the read loop; unknown codes do (they are answered at once).
func (r *Router) Inline(code int16) bool {
	t := r.table.Load()
	if _, ok := t.byCode[code]; !ok {
		return true
	}
	return t.inline[code]
}

// Use appends middlewares; the first added is the outermost after Recover.
func (r *Router) Use(mws ...Middleware) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mws = append(r.mws, mws...)
	r.rebuild()
}

// Serve dispatches req to the handler of its code. It is itself a Handler.
func (r *Router) Serve(ctx context.Context, c *Conn, req *wire.Command) *wire.Command {
	t := r.table.Load()
	h, ok := t.byCode[req.Code]
	if !ok {
		h = t.notFound
	}
	return h(ctx, c, req)
}

// rebuild composes the table; r.mu must be held (or r unpublished).
func (r *Router) rebuild() {
	wrap := func(h Handler) Handler {
		for i := len(r.mws) - 1; i >= 0; i-- {
			h = r.mws[i](h)
		}
		return Recover(r.log)(h)
	}
	limit := LimitBody(r.cfg.MaxBodySize)
	t := &routeTable{byCode: make(map[int16]Handler, len(r.handlers)), inline: make(map[int16]bool, len(r.inline)),
		notFound: wrap(r.notSupported)}
	for code := range r.inline {
		t.inline[code] = true
	}
	t.groups = make(map[int16]GroupHandler, len(r.groups))
	if len(r.mws) == 0 {
		for code, g := range r.groups {
			t.groups[code] = g
		}
	}
	for code, h := range r.handlers {
		t.byCode[code] = wrap(limit(h))
	}
	r.table.Store(t)
}

// notSupported answers as Java does, remark included (leading space and all).
func (r *Router) notSupported(_ context.Context, c *Conn, req *wire.Command) *wire.Command {
	r.log.Debug("request code not supported", zap.Int16("code", req.Code), zap.Uint64("conn", c.ID()))
	return wire.NewResponse(req, wire.RequestCodeNotSupported,
		" request type "+strconv.Itoa(int(req.Code))+" not supported")
}
