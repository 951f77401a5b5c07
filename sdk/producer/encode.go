package producer

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/rocketgo/rocketgo/sdk/internal/remote"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// request is one send (a message or a batch) encoded once and written, with the header of the
// chosen queue, for every attempt. Requests are pooled: the producer's hot path allocates little
// beyond the id string and what the response decoding needs.
type request struct {
	p        *Producer
	topic    string
	queueID  int32
	sysFlag  int32
	born     int64
	flag     int32
	batch    bool
	oneway   bool
	props    []byte // encoded properties (raw, not JSON-escaped); empty for batches
	body     []byte // body as sent: compressed, or the batch body
	msgID    string
	ownsBody bool // body is in buf (compressed or batch), else it aliases the message

	buf []byte // backing store for props and an owned body

	res SendResult // filled by DecodeResponse

	asyncState
}

// errFullDecode asks the connection to decode a response fully (errors, unusual headers).
var errFullDecode = errors.New("decode fully")

// DecodeResponse reads a successful send response straight from its header, on the connection's
// read loop (remote.ResponseDecoder): no Command, no map.
func (r *request) DecodeResponse(code int16, header []byte) error {
	var st Status
	switch code {
	case wire.Success:
		st = SendOK
	case wire.FlushDiskTimeout:
		st = SendFlushDiskTimeout
	case wire.FlushSlaveTimeout:
		st = SendFlushSlaveTimeout
	case wire.SlaveNotAvailable:
		st = SendSlaveNotAvailable
	default:
		return errFullDecode
	}
	res := SendResult{Status: st, MsgID: r.msgID, Queue: r.q, RegionID: "DefaultRegion", TraceOn: true}
	bad := false
	ok := remote.ExtFields(header, func(k, v []byte) {
		switch string(k) {
		case "msgId":
			res.OffsetMsgID = string(v)
		case "queueId":
			n, ok := atoi(v)
			bad = bad || !ok
			res.Queue.QueueID = int32(n)
		case "queueOffset":
			n, ok := atoi(v)
			bad = bad || !ok
			res.QueueOffset = n
		case "MSG_REGION":
			if string(v) != "DefaultRegion" && len(v) > 0 {
				res.RegionID = string(v)
			}
		case "TRACE_ON":
			res.TraceOn = string(v) != "false"
		}
	})
	if !ok || bad {
		return errFullDecode
	}
	r.res = res
	return nil
}

// atoi parses a decimal int64 without allocating.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// AppendFrame writes SEND_MESSAGE_V2 (310) or SEND_BATCH_MESSAGE (320) with the V2 short header
// names (REMOTING.md §4.3, §4.4), straight into dst.
func (r *request) AppendFrame(dst []byte, opaque int32) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	hstart := len(dst)
	code := wire.SendMessageV2
	if r.batch {
		code = wire.SendBatchMessage
	}
	flag := int32(0)
	if r.oneway {
		flag = wire.FlagOneway
	}
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"language":"GO","version":`...)
	dst = strconv.AppendInt(dst, int64(wire.DefaultVersion), 10)
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(opaque), 10)
	dst = append(dst, `,"flag":`...)
	dst = strconv.AppendInt(dst, int64(flag), 10)
	dst = append(dst, `,"extFields":{"a":"`...)
	dst = appendJSONText(dst, r.p.group)
	dst = append(dst, `","b":"`...)
	dst = appendJSONText(dst, r.topic)
	dst = append(dst, `","c":"`...)
	dst = appendJSONText(dst, r.p.opts.CreateTopicKey)
	dst = append(dst, `","d":"`...)
	dst = strconv.AppendInt(dst, int64(r.p.opts.DefaultTopicQueueNums), 10)
	dst = append(dst, `","e":"`...)
	dst = strconv.AppendInt(dst, int64(r.queueID), 10)
	dst = append(dst, `","f":"`...)
	dst = strconv.AppendInt(dst, int64(r.sysFlag), 10)
	dst = append(dst, `","g":"`...)
	dst = strconv.AppendInt(dst, r.born, 10)
	dst = append(dst, `","h":"`...)
	dst = strconv.AppendInt(dst, int64(r.flag), 10)
	dst = append(dst, `","i":"`...)
	dst = appendJSONBytes(dst, r.props)
	dst = append(dst, `","j":"0","k":"false","l":"`...)
	dst = strconv.AppendInt(dst, int64(r.p.opts.MaxReconsumeTimes), 10)
	if r.batch {
		dst = append(dst, `","m":"true"}}`...)
	} else {
		dst = append(dst, `","m":"false"}}`...)
	}
	hlen := len(dst) - hstart
	dst = append(dst, r.body...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(hlen)) // serialize type 0: JSON
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONText appends s escaped for the inside of a JSON string.
func appendJSONText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			dst = append(dst, c)
			continue
		}
		dst = appendEscape(dst, c)
	}
	return dst
}

// appendJSONBytes appends b escaped for the inside of a JSON string; invalid UTF-8 becomes U+FFFD
// so the header stays valid JSON.
func appendJSONBytes(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				dst = append(dst, c)
			} else {
				dst = appendEscape(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}

func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// encodeMessage fills r for one message: properties with a fresh UNIQ_KEY (unless the message
// carries one), the body compressed when it is large.
func (p *Producer) encodeMessage(r *request, m *message.Message) {
	r.topic = m.Topic
	r.flag = m.Flag
	r.batch = false
	r.sysFlag = 0
	buf := r.buf[:0]
	buf = message.AppendProperties(buf, m)
	if uk := m.Properties[message.PropertyUniqKey]; uk != "" {
		r.msgID = uk
	} else {
		buf = append(buf, message.PropertyUniqKey...)
		buf = append(buf, wire.NameValueSeparator)
		n := len(buf)
		buf = p.client.IDs().Append(buf)
		r.msgID = string(buf[n:])
		buf = append(buf, wire.PropertySeparator)
	}
	propsLen := len(buf)
	r.ownsBody = false
	r.body = m.Body
	if p.compressor != nil && len(m.Body) >= p.opts.CompressOver {
		buf = p.compressor.Append(buf, m.Body)
		r.sysFlag |= wire.SysFlagCompressed
		r.ownsBody = true
	}
	r.buf = buf
	r.props = buf[:propsLen]
	if r.ownsBody {
		r.body = buf[propsLen:]
	}
}

// encodeBatch fills r for a batch: one record per message, each with its own UNIQ_KEY; the
// wrapper has no properties. msgID becomes the ids joined with commas, as Java reports them.
func (p *Producer) encodeBatch(r *request, msgs []*message.Message) {
	r.topic = msgs[0].Topic
	r.flag = 0
	r.batch = true
	r.sysFlag = 0
	r.props = nil
	r.ownsBody = true
	buf := r.buf[:0]
	ids := make([]byte, 0, len(msgs)*33)
	be := binary.BigEndian
	var fixed [20]byte // size, magic, CRC, flag, body length; magic and CRC stay 0
	for _, m := range msgs {
		start := len(buf)
		buf = append(buf, fixed[:]...)
		buf = append(buf, m.Body...)
		pl := len(buf)
		buf = append(buf, 0, 0)
		buf = message.AppendProperties(buf, m)
		var id []byte
		if uk := m.Properties[message.PropertyUniqKey]; uk != "" {
			id = []byte(uk)
		} else {
			buf = append(buf, message.PropertyUniqKey...)
			buf = append(buf, wire.NameValueSeparator)
			n := len(buf)
			buf = p.client.IDs().Append(buf)
			id = buf[n:]
			buf = append(buf, wire.PropertySeparator)
		}
		if len(ids) > 0 {
			ids = append(ids, ',')
		}
		ids = append(ids, id...)
		be.PutUint32(buf[start:], uint32(len(buf)-start))
		be.PutUint32(buf[start+12:], uint32(m.Flag))
		be.PutUint32(buf[start+16:], uint32(len(m.Body)))
		be.PutUint16(buf[pl:], uint16(len(buf)-pl-2))
	}
	r.buf = buf
	r.body = buf
	r.msgID = string(ids)
}
