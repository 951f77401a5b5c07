package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors of frame decoding, checkable with errors.Is.
var (
	// ErrFrameTooLarge: the declared frame length is over the reader's limit. FrameTooLargeError
	// carries the length so the caller may skip the frame instead of closing the connection.
	ErrFrameTooLarge = errors.New("wire: frame too large")
	// ErrMalformed: the bytes do not form a valid frame, header, record or body.
	ErrMalformed = errors.New("wire: malformed")
)

// FrameTooLargeError reports a frame whose declared length is over the limit.
type FrameTooLargeError struct {
	Length int // the declared length (bytes after the length word)
	Limit  int
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("wire: frame of %d bytes is over the limit of %d", e.Length, e.Limit)
}

// Is makes errors.Is(err, ErrFrameTooLarge) hold.
func (e *FrameTooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// minFrame is the smallest legal frame payload: the header-length word.
const minFrame = 4

// DefaultMaxFrame is the payload limit ReadFrame applies when given none: Java's 16 MiB frame
// limit, which counts the length word too.
const DefaultMaxFrame = 16<<20 - 4

// ReadFrame reads one frame from r and returns its payload (everything after the length word),
// reusing buf when it is large enough. maxFrame limits the payload; zero or less means
// DefaultMaxFrame. A frame over the limit is not read: the error is a *FrameTooLargeError and
// the payload is still in r, to be discarded by the caller. A length below 4 (the header word)
// is ErrMalformed; a stream that ends between frames gives io.EOF, one that ends inside a frame
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, maxFrame int, buf []byte) ([]byte, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	n, err := readLength(r, buf)
	if err != nil {
		return nil, err
	}
	if n < minFrame {
		return nil, malformed("frame length %d is below the %d-byte header word", n, minFrame)
	}
	if n > maxFrame {
		return nil, &FrameTooLargeError{Length: n, Limit: maxFrame}
	}
	// The length is the peer's word: memory is committed as the bytes arrive, doubling, so a
	// connection that declares 16 MiB and sends nothing more holds 64 KiB, not 16 MiB.
	buf = buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), frameGrowStart)))
			copy(grown, buf)
			buf = grown
		}
		to := min(n, cap(buf))
		if _, err := io.ReadFull(r, buf[len(buf):to]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf = buf[:to]
	}
	return buf, nil
}

// frameGrowStart is the first step of a frame buffer that grows as its bytes arrive.
const frameGrowStart = 64 << 10

// DecodeCommand decodes a frame payload (as returned by ReadFrame) into a command. The body
// aliases payload. The header's strings share one copy of the header text, so a caller that
// keeps a single value for long (a topic name in a table) may want strings.Clone.
func DecodeCommand(payload []byte) (*Command, error) {
	if len(payload) < 4 {
		return nil, malformed("payload of %d bytes", len(payload))
	}
	word := binary.BigEndian.Uint32(payload)
	st := SerializeType(word >> 24)
	hlen := int(word & 0xFFFFFF)
	if hlen > len(payload)-4 {
		return nil, malformed("header length %d over payload %d", hlen, len(payload)-4)
	}
	header := payload[4 : 4+hlen]
	cmd := &Command{Serialize: st}
	var err error
	switch st {
	case SerializeJSON:
		err = decodeJSONHeader(header, cmd)
	case SerializeRocketMQ:
		err = decodeBinaryHeader(header, cmd)
	default:
		err = malformed("serialize type %d", st)
	}
	if err != nil {
		return nil, err
	}
	if body := payload[4+hlen:]; len(body) > 0 {
		cmd.Body = body
	}
	return cmd, nil
}

// AppendFrame appends the whole frame of cmd (length word, header word, header, body) to dst.
// The header is written as JSON unless cmd.Serialize is SerializeRocketMQ. The header length has
// 24 bits, so headers must stay under 16 MiB (real ones are a few hundred bytes).
func AppendFrame(dst []byte, cmd *Command) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	hstart := len(dst)
	st := cmd.Serialize
	if st == SerializeRocketMQ {
		dst = appendBinaryHeader(dst, cmd)
	} else {
		st = SerializeJSON
		dst = appendJSONHeader(dst, cmd)
	}
	hlen := len(dst) - hstart
	dst = append(dst, cmd.Body...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(st)<<24|uint32(hlen))
	return dst
}

// peeker is what a *bufio.Reader offers to read the length word without a copy.
type peeker interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// readLength reads the frame's length word without allocating: through Peek when r buffers, else
// into buf when it has room (the payload overwrites it afterwards).
func readLength(r io.Reader, buf []byte) (int, error) {
	if p, ok := r.(peeker); ok {
		b, err := p.Peek(4)
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		n := int(int32(binary.BigEndian.Uint32(b)))
		_, _ = p.Discard(4)
		return n, nil
	}
	var word []byte
	if cap(buf) >= 4 {
		word = buf[:4]
	} else {
		word = make([]byte, 4)
	}
	if _, err := io.ReadFull(r, word); err != nil {
		return 0, err
	}
	return int(int32(binary.BigEndian.Uint32(word))), nil
}
