package remoting

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// maxSkippedHeader bounds the header we still read from an oversized frame to answer it.
const maxSkippedHeader = 64 << 10

// run reads frames until the connection fails or is closed, then closes it. Answers already
// queued go out first, within WriteTimeout, also those behind a write another goroutine has
// under way (a half-closed peer still reads them; after a malformed frame they answer the
// requests before it).
func (c *Conn) run() {
	err := c.readLoop()
	if !c.Closed() {
		_ = c.flush()
	}
	c.closeWith(err)
}

// idleReader refreshes the read deadline before every socket read, so a connection is closed
// after IdleTimeout without inbound bytes, however long a frame takes to arrive.
type idleReader struct{ c *Conn }

func (r idleReader) Read(p []byte) (int, error) {
	if t := r.c.cfg.IdleTimeout; t > 0 {
		if err := r.c.nc.SetReadDeadline(time.Now().Add(t)); err != nil {
			return 0, err
		}
	}
	return r.c.nc.Read(p)
}

// readLoop returns why reading stopped.
func (c *Conn) readLoop() error {
	br := bufio.NewReaderSize(idleReader{c}, readBufferSize)
	var reuse []byte
	for {
		// The decoded Body aliases the payload. A request served inline is done with it when
		// its handler returns (inline handlers copy what they keep: the store copies bodies into
		// the log, decoded header strings are copies), so its buffer serves the next frame; a
		// request handed to a goroutine, or a response handed to a waiter, keeps its own.
		payload, err := wire.ReadFrame(br, c.cfg.MaxFrameSize-4, reuse) // wire limits the payload
		reuse = nil
		if err != nil {
			var tooLarge *wire.FrameTooLargeError
			if errors.As(err, &tooLarge) {
				if err := c.skipFrame(br, tooLarge); err != nil {
					return err
				}
				continue
			}
			return c.readError(err)
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil {
			c.log.Warn("malformed frame, closing connection", zap.Error(err))
			return fmt.Errorf("remoting: decode frame: %w", err) // run answers the requests before it
		}
		if c.group != nil && c.handler != nil && c.inline != nil && !cmd.IsResponse() && frameBuffered(br, c.cfg.MaxFrameSize) &&
			c.group.Groupable(cmd.Code) && c.inline(cmd.Code) {
			reqs, next, gerr := c.gather(br, cmd)
			if len(reqs) > 1 {
				c.serveGroup(reqs)
			} else {
				c.dispatch(cmd)
			}
			if gerr != nil {
				return gerr // run sends the served requests' answers before the close
			}
			if next != nil {
				c.dispatch(next)
			}
		} else if c.dispatch(cmd) && cap(payload) <= maxKeptBuffer {
			reuse = payload[:0]
		}
		if !frameBuffered(br, c.cfg.MaxFrameSize) {
			// The next frame is not all here, so reading it may wait (for a large body on a
			// slow link, or for ever): send what the inline handlers queued first.
			if err := c.flushQueued(); err != nil {
				return err
			}
		}
	}
}

// readError classifies why a read failed and logs it at the level it deserves.
func (c *Conn) readError(err error) error {
	switch {
	case c.Closed() || errors.Is(err, net.ErrClosed):
		// Closed locally: nothing to report.
	case errors.Is(err, io.EOF):
		c.log.Debug("peer closed connection")
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Info("idle timeout, closing connection", zap.Duration("idle", c.cfg.IdleTimeout))
	case errors.Is(err, wire.ErrMalformed):
		c.log.Warn("malformed frame, closing connection", zap.Error(err))
	default:
		c.log.Debug("read failed, closing connection", zap.Error(err))
	}
	return fmt.Errorf("remoting: read from %s: %w", c.remote, err)
}

// skipFrame handles a frame over MaxFrameSize whose length word was already read: it reads and
// decodes the header, discards the body and answers the request MESSAGE_ILLEGAL, keeping the
// connection. A header that cannot be read or decoded leaves the stream unusable: an error.
// Sizes in messages count the whole frame, length word included, as Java's limit does.
func (c *Conn) skipFrame(br *bufio.Reader, tl *wire.FrameTooLargeError) error {
	size, limit := tl.Length+4, c.cfg.MaxFrameSize
	hdr := make([]byte, 4, 64)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return c.readError(err)
	}
	hlen := int(binary.BigEndian.Uint32(hdr) & 0xFFFFFF)
	if hlen > maxSkippedHeader || hlen > tl.Length-4 {
		c.log.Warn("oversized frame with unusable header, closing connection",
			zap.Int("size", size), zap.Int("limit", limit), zap.Int("headerLength", hlen))
		return fmt.Errorf("remoting: frame of %d bytes with header of %d bytes: %w", size, hlen, tl)
	}
	hdr = append(hdr, make([]byte, hlen)...)
	if _, err := io.ReadFull(br, hdr[4:]); err != nil {
		return c.readError(err)
	}
	cmd, err := wire.DecodeCommand(hdr)
	if err != nil {
		c.log.Warn("oversized frame with malformed header, closing connection", zap.Int("size", size), zap.Error(err))
		return fmt.Errorf("remoting: header of oversized frame: %w", err)
	}
	if _, err := io.CopyN(io.Discard, br, int64(tl.Length-4-hlen)); err != nil {
		return c.readError(err)
	}
	c.log.Warn("oversized frame discarded", zap.Int("size", size), zap.Int("limit", limit),
		zap.Int16("code", cmd.Code), zap.Int32("opaque", cmd.Opaque), zap.Bool("response", cmd.IsResponse()))
	remark := fmt.Sprintf("frame of %d bytes is over the limit of %d bytes", size, limit)
	switch {
	case cmd.IsResponse():
		c.pending.complete(cmd.Opaque, result{err: fmt.Errorf("remoting: response from %s: %s: %w", c.remote, remark, wire.ErrFrameTooLarge)})
	case !cmd.IsOneway():
		// Written from the read loop: rare, and the frame it answers has already cost far more.
		resp := wire.NewResponse(cmd, wire.MessageIllegal, remark)
		if err := c.writeCommand(resp); err != nil {
			return err
		}
	}
	return nil
}

// refuse answers a request that arrived while the connection drains.
func (c *Conn) refuse(cmd *wire.Command) {
	if cmd.IsOneway() {
		return
	}
	resp := wire.NewResponse(cmd, wire.ServiceNotAvailable, "server is shutting down")
	if err := c.writeCommand(resp); err != nil {
		c.log.Debug("refusal not written", zap.Error(err))
	}
}

// dispatch routes a decoded frame: responses to their waiters, requests to a handler goroutine.
// It reports whether the frame's buffer is free again (the request was served inline).
func (c *Conn) dispatch(cmd *wire.Command) bool {
	if cmd.IsResponse() {
		c.deliver(cmd)
		return false
	}
	if c.handler == nil {
		c.log.Debug("request ignored: no handler", zap.Int16("code", cmd.Code))
		return false
	}
	if !c.beginRequest() {
		c.refuse(cmd)
		return false
	}
	if c.inline != nil && c.inline(cmd.Code) {
		c.serveInline(cmd)
		return true
	}
	go c.serve(cmd)
	return false
}
