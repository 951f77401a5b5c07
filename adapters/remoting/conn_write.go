package remoting

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// maxKeptBuffer is the largest write buffer a connection keeps between flushes; a burst of large
// responses may grow it further, but the memory is given back afterwards.
const maxKeptBuffer = 256 << 10

// writer serializes the frames of one connection by flat combining: a writer appends its encoded
// frame to a shared buffer under the lock; if no flush is running it becomes the flusher and
// writes the buffer with the lock released, looping while others appended during the syscall.
// So frames queued together leave in one write syscall, a lone frame leaves at once, frames never
// interleave, and no goroutine per connection waits for work.
type writer struct {
	nc      net.Conn
	timeout time.Duration

	mu       sync.Mutex
	flushed  sync.Cond // broadcast when a flush pass ends; L is &mu
	buf      []byte    // encoded frames not yet handed to the socket
	spare    []byte    // the other buffer, swapped in while buf is being written
	flushing bool
	err      error // sticky: after a failed write the stream may hold half a frame
}

func (w *writer) init(nc net.Conn, timeout time.Duration) {
	w.nc = nc
	w.timeout = timeout
	w.flushed.L = &w.mu
}

// writeCommand queues cmd as one frame and flushes unless a flush is already running, in which
// case that flusher writes it. cmd must be the caller's own copy (its Body field is cleared while
// the header is encoded). The body is copied: the caller may reuse it once this returns. A write
// error closes the connection; it is returned to the goroutine that performed the write.
func (c *Conn) writeCommand(cmd *wire.Command) error { return c.enqueue(cmd, 0) }

// queueCommand appends cmd to the write buffer without writing it, unless the buffer has grown
// past maxKeptBuffer; flushQueued sends what was queued.
func (c *Conn) queueCommand(cmd *wire.Command) error { return c.enqueue(cmd, maxKeptBuffer) }

// flushQueued writes whatever is queued, unless a flush already running will.
func (c *Conn) flushQueued() error { return c.enqueue(nil, 1) }

// enqueue appends cmd (when not nil) and then flushes if no flush is running and at least
// flushAt bytes are buffered (0: whatever is there, even nothing new).
func (c *Conn) enqueue(cmd *wire.Command, flushAt int) error {
	w := &c.writer
	w.mu.Lock()
	if cmd != nil {
		if err := c.appendLocked(cmd); err != nil {
			w.mu.Unlock()
			if errors.Is(err, ErrWriteBacklog) {
				c.closeWith(err)
			}
			return err
		}
	}
	if w.flushing || len(w.buf) < flushAt {
		w.mu.Unlock()
		return nil
	}
	err := c.flushLocked()
	w.mu.Unlock()
	if err != nil {
		c.closeWith(err)
	}
	return err
}

// appendLocked encodes cmd onto the buffer; w.mu is held.
func (c *Conn) appendLocked(cmd *wire.Command) error {
	w := &c.writer
	if c.Closed() {
		return c.closedError()
	}
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > c.cfg.MaxPendingWrite { // only grows while a write is stuck
		w.err = fmt.Errorf("%w: %d bytes of answers wait for %s", ErrWriteBacklog, len(w.buf), c.remote)
		w.buf = nil
		return w.err
	}
	// AppendFrame without the body, then the length word patched to cover it: the header is
	// encoded straight into the buffer and the body appended once.
	body := cmd.Body
	cmd.Body = nil
	start := len(w.buf)
	w.buf = wire.AppendFrame(w.buf, cmd)
	cmd.Body = body
	binary.BigEndian.PutUint32(w.buf[start:], uint32(len(w.buf)-start-4+len(body)))
	w.buf = append(w.buf, body...)
	return nil
}

// flushLocked writes buf until it stays empty; w.mu is held on entry and exit but released
// around each syscall so other writers can queue behind it.
func (c *Conn) flushLocked() error {
	w := &c.writer
	w.flushing = true
	defer func() {
		w.flushing = false
		w.flushed.Broadcast()
	}()
	for len(w.buf) > 0 && w.err == nil {
		out := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		err := c.writeOut(out)
		w.mu.Lock()
		if cap(out) <= maxKeptBuffer {
			w.spare = out[:0]
		}
		if err != nil {
			w.err = fmt.Errorf("remoting: write to %s: %w", c.remote, err)
			w.buf = nil
		}
	}
	return w.err
}

// writeOut hands b to the socket within WriteTimeout; net.Conn.Write writes all of b or fails.
func (c *Conn) writeOut(b []byte) error {
	if c.writer.timeout > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.writer.timeout)); err != nil {
			return err
		}
	}
	_, err := c.nc.Write(b)
	return err
}

// flush returns once every frame queued so far has been written (or writing failed); used before
// a graceful close. A running flush is bounded by WriteTimeout.
func (c *Conn) flush() error {
	w := &c.writer
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.flushing {
		w.flushed.Wait()
	}
	if len(w.buf) == 0 || w.err != nil || c.Closed() {
		return w.err
	}
	return c.flushLocked()
}
