package remoting

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Groups. A producer that pipelines its sends (an async producer, a window of requests in
// flight) has many frames buffered on its connection at once. Served one by one, each pays its
// own append to the store: a lock, a write(2), a flush wake-up. A code registered with
// HandleGroup is served in groups instead: the read loop takes the requests of that code that
// are already complete in its buffer (never waiting for more bytes) and hands them to one
// GroupHandler call, which may store them with one append. A lone request goes to the code's
// plain handler, so a synchronous producer sees no difference.

// maxGroup bounds the requests served together, so the first of a long burst is not answered
// much later than it would have been alone.
const maxGroup = 64

// GroupHandler serves requests of one code that arrived together on one connection and returns
// their answers in the same order (nil for none).
type GroupHandler func(ctx context.Context, c *Conn, reqs []*wire.Command) []*wire.Command

// Grouper is what a connection asks to serve buffered requests together; Router implements it.
type Grouper interface {
	// Groupable reports whether requests of code may be served together.
	Groupable(code int16) bool
	// ServeGroup serves reqs, all of one groupable code, and returns their answers in order.
	ServeGroup(ctx context.Context, c *Conn, reqs []*wire.Command) []*wire.Command
}

// HandleGroup installs h for code to run on the read loop as HandleInline does, and g to serve
// requests of code that are buffered together. Requests in a group pass the same checks as
// alone (the body limit, panics answered SYSTEM_ERROR); while middlewares are installed with
// Use, requests are not grouped, so every middleware still sees each one.
func (r *Router) HandleGroup(code int16, h Handler, g GroupHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[code] = h
	r.inline[code] = true
	r.groups[code] = g
	r.rebuild()
}

// Groupable implements Grouper.
func (r *Router) Groupable(code int16) bool {
	t := r.table.Load()
	return t.groups[code] != nil
}

// ServeGroup implements Grouper.
func (r *Router) ServeGroup(ctx context.Context, c *Conn, reqs []*wire.Command) (resps []*wire.Command) {
	resps = make([]*wire.Command, len(reqs))
	g := r.table.Load().groups[reqs[0].Code]
	if g == nil { // removed meanwhile
		for i, req := range reqs {
			resps[i] = r.Serve(ctx, c, req)
		}
		return resps
	}
	ok := make([]*wire.Command, 0, len(reqs))
	at := make([]int, 0, len(reqs))
	for i, req := range reqs {
		if len(req.Body) > r.cfg.MaxBodySize {
			resps[i] = bodyTooLarge(req, r.cfg.MaxBodySize)
			continue
		}
		ok = append(ok, req)
		at = append(at, i)
	}
	if len(ok) == 0 {
		return resps
	}
	defer func() {
		if v := recover(); v != nil {
			resp := recovered(r.log, c, ok[0], v)
			for j, req := range ok {
				if resps[at[j]] == nil {
					out := *resp
					out.Opaque = req.Opaque
					resps[at[j]] = &out
				}
			}
		}
	}()
	for j, resp := range g(ctx, c, ok) {
		resps[at[j]] = resp
	}
	return resps
}

// frameBuffered reports whether br holds a whole frame no larger than maxFrame (length word
// included), so reading it cannot block.
func frameBuffered(br *bufio.Reader, maxFrame int) bool {
	n := br.Buffered()
	if n < 4 {
		return false
	}
	b, err := br.Peek(4)
	if err != nil {
		return false
	}
	l := int64(binary.BigEndian.Uint32(b))
	return l <= int64(maxFrame-4) && int64(n) >= 4+l
}

// gather collects, after first, the requests of first's code whose frames are already whole in
// br, up to maxGroup. A frame of anything else ends the group and is returned as next, to be
// dispatched as usual; err is a frame that cannot be decoded (the connection must close, after
// the group is served).
func (c *Conn) gather(br *bufio.Reader, first *wire.Command) (reqs []*wire.Command, next *wire.Command, err error) {
	reqs = append(make([]*wire.Command, 0, 8), first)
	for len(reqs) < maxGroup && frameBuffered(br, c.cfg.MaxFrameSize) {
		payload, err := wire.ReadFrame(br, c.cfg.MaxFrameSize-4, nil)
		if err != nil {
			return reqs, nil, c.readError(err)
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil {
			c.log.Warn("malformed frame, closing connection", zap.Error(err))
			return reqs, nil, fmt.Errorf("remoting: decode frame: %w", err)
		}
		if cmd.IsResponse() || cmd.Code != first.Code {
			return reqs, cmd, nil
		}
		reqs = append(reqs, cmd)
	}
	return reqs, nil, nil
}

// serveGroup serves reqs together on the read loop and queues their answers; the loop flushes
// them once its buffer is empty, as for inline requests.
func (c *Conn) serveGroup(reqs []*wire.Command) {
	admitted := reqs[:0:0]
	for _, req := range reqs {
		if c.beginRequest() {
			admitted = append(admitted, req)
		} else {
			c.refuse(req)
		}
	}
	if len(admitted) == 0 {
		return
	}
	resps := c.group.ServeGroup(c.ctx, c, admitted)
	for i, req := range admitted {
		c.answer(req, resps[i], false)
		c.endRequest()
	}
}
