package message

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// AppendProperties appends the properties of m as a producer sends them (REMOTING.md §8.4): the
// user properties, then TAGS, KEYS and DELAY from their fields, then extra pairs given as
// name, value, name, value... Every pair ends with 0x02, as the official Go client writes them;
// names and values must not contain 0x01 or 0x02.
func AppendProperties(dst []byte, m *Message, extra ...string) []byte {
	for k, v := range m.Properties {
		if k == "" || v == "" {
			continue
		}
		dst = appendPair(dst, k, v)
	}
	if m.Tag != "" {
		dst = appendPair(dst, PropertyTags, m.Tag)
	}
	if len(m.Keys) > 0 {
		dst = append(dst, PropertyKeys...)
		dst = append(dst, wire.NameValueSeparator)
		for i, k := range m.Keys {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, k...)
		}
		dst = append(dst, wire.PropertySeparator)
	}
	if m.DelayLevel > 0 {
		dst = append(dst, PropertyDelayLevel...)
		dst = append(dst, wire.NameValueSeparator)
		dst = appendInt(dst, int64(m.DelayLevel))
		dst = append(dst, wire.PropertySeparator)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		dst = appendPair(dst, extra[i], extra[i+1])
	}
	return dst
}

func appendPair(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, wire.NameValueSeparator)
	dst = append(dst, v...)
	return append(dst, wire.PropertySeparator)
}

func appendInt(dst []byte, n int64) []byte {
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return append(dst, buf[i:]...)
}

// ValidateProperties reports a property that cannot be encoded.
func ValidateProperties(m *Message) error {
	bad := func(s string) bool { return strings.ContainsAny(s, "\x01\x02") }
	for k, v := range m.Properties {
		if bad(k) || bad(v) {
			return fmt.Errorf("property %q contains a 0x01 or 0x02 separator byte", k)
		}
	}
	if bad(m.Tag) {
		return fmt.Errorf("tag %q contains a separator byte", m.Tag)
	}
	for _, k := range m.Keys {
		if bad(k) {
			return fmt.Errorf("key %q contains a separator byte", k)
		}
	}
	return nil
}

// Compressor zlib-compresses bodies at a fixed level, reusing its writers. Safe for concurrent use.
type Compressor struct {
	level int
	pool  sync.Pool // *compressState
}

type compressState struct {
	w   *zlib.Writer
	out appendWriter
}

// appendWriter is an io.Writer appending to a slice it does not own for longer than one call.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// NewCompressor returns a compressor at level (zlib's 1..9; the official clients use 5).
func NewCompressor(level int) (*Compressor, error) {
	if _, err := zlib.NewWriterLevel(io.Discard, level); err != nil {
		return nil, err
	}
	return &Compressor{level: level}, nil
}

// Append appends the zlib stream (RFC 1950) of body to dst.
func (c *Compressor) Append(dst, body []byte) []byte {
	st, _ := c.pool.Get().(*compressState)
	if st == nil {
		st = &compressState{}
		st.w, _ = zlib.NewWriterLevel(&st.out, c.level)
	}
	st.out.b = dst
	st.w.Reset(&st.out)
	_, _ = st.w.Write(body)
	_ = st.w.Close()
	dst = st.out.b
	st.out.b = nil
	c.pool.Put(st)
	return dst
}

// Decompress inflates a zlib body, limited to maxSize bytes (0: 64 MiB).
func Decompress(body []byte, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = 64 << 20
	}
	r, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(maxSize)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxSize {
		return nil, fmt.Errorf("decompressed body is over %d bytes", maxSize)
	}
	return out, nil
}

// FromRecord converts a stored record into an Ext of the queue's broker. A compressed body is
// inflated (on failure the raw bytes are kept, as the official client does, and the error is
// returned alongside the message).
func FromRecord(r *wire.Record, brokerName string) (*Ext, error) {
	m := &Ext{
		Message: Message{
			Topic: r.Topic,
			Body:  r.Body,
			Flag:  r.Flag,
		},
		Queue:                     Queue{Topic: r.Topic, BrokerName: brokerName, QueueID: r.QueueID},
		QueueOffset:               r.QueueOffset,
		CommitLogOffset:           r.PhysicalOffset,
		SysFlag:                   r.SysFlag,
		BodyCRC:                   r.BodyCRC,
		BornTimestamp:             time.UnixMilli(r.BornTimestamp),
		BornHost:                  r.BornHost,
		StoreTimestamp:            time.UnixMilli(r.StoreTimestamp),
		StoreHost:                 r.StoreHost,
		ReconsumeTimes:            r.ReconsumeTimes,
		PreparedTransactionOffset: r.PreparedTransactionOffset,
	}
	m.Properties = wire.ParseProperties(r.Properties)
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	m.Tag = m.Properties[PropertyTags]
	if k := m.Properties[PropertyKeys]; k != "" {
		m.Keys = strings.Fields(k)
	}
	m.OffsetMsgID = wire.OffsetMsgID(r.StoreHost, r.PhysicalOffset)
	m.MsgID = m.Properties[PropertyUniqKey]
	if m.MsgID == "" {
		m.MsgID = m.OffsetMsgID
	}
	var err error
	if r.SysFlag&wire.SysFlagCompressed != 0 && len(r.Body) > 0 {
		var body []byte
		if body, err = Decompress(r.Body, 0); err == nil {
			m.Body = body
		} else {
			err = fmt.Errorf("message %s: inflate body: %w", m.MsgID, err)
		}
	}
	return m, err
}

// DecodeRecords decodes a pull body (stored records back to back) into messages of the queue's
// broker. Bodies alias b unless they were compressed. A record that fails to inflate is still
// returned (raw body); the first such error is returned with the messages.
func DecodeRecords(b []byte, brokerName string) ([]*Ext, error) {
	var out []*Ext
	var firstErr error
	for len(b) > 0 {
		r, n, err := wire.DecodeRecord(b)
		if err != nil {
			return out, err
		}
		m, err := FromRecord(&r, brokerName)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		out = append(out, m)
		b = b[n:]
	}
	return out, firstErr
}
