package wire

import (
	"encoding/binary"
	"strings"
)

// BatchEntry is one message inside a SEND_BATCH_MESSAGE body (REMOTING.md §4.3).
type BatchEntry struct {
	Flag       int32
	Body       []byte
	Properties string
}

// batchFixed is the size of an entry without body and properties: total size, magic, body CRC,
// flag and body length (int32 each), then the properties length (int16).
const batchFixed = 4*5 + 2

// Offsets of the fields of one batch entry.
const (
	batchOffTotalSize = 0
	batchOffFlag      = 12
	batchOffBodyLen   = 16
	batchOffBody      = 20
)

// DecodeBatch splits a SEND_BATCH_MESSAGE body into its messages. Bodies alias b; properties are
// copied into one string shared by all entries.
//
// Every length is checked, and the total size of each entry must equal the sum of its parts:
// neither Java nor the Go client reads that field, but both write it correctly, so a mismatch
// means a corrupt body. Magic and CRC are ignored (clients send 0). An empty body is an error: a
// batch without messages cannot be stored or answered.
//
// Memory is bounded by the input: each entry takes at least 22 bytes of b, so the result holds
// at most len(b)/22 entries, and the properties string is no longer than b. Nothing is allocated
// before the whole body has been validated.
func DecodeBatch(b []byte) ([]BatchEntry, error) {
	if len(b) == 0 {
		return nil, malformed("batch body is empty")
	}
	count, propsLen, err := scanBatch(b)
	if err != nil {
		return nil, err
	}
	var props strings.Builder
	props.Grow(propsLen)
	out := make([]BatchEntry, count)
	for i := range out {
		n, body, p := batchEntryAt(b)
		start := props.Len()
		props.Write(p)
		out[i] = BatchEntry{Flag: int32(binary.BigEndian.Uint32(b[batchOffFlag:])), Body: body}
		out[i].Properties = props.String()[start:]
		b = b[n:]
	}
	return out, nil
}

// scanBatch validates every entry of b and returns how many there are and the total length of
// their properties.
func scanBatch(b []byte) (count, propsLen int, err error) {
	for off := 0; off < len(b); count++ {
		rest := b[off:]
		if len(rest) < batchFixed {
			return 0, 0, malformed("batch entry %d at byte %d: %d bytes left, need %d", count, off, len(rest), batchFixed)
		}
		size := int64(int32(binary.BigEndian.Uint32(rest[batchOffTotalSize:])))
		bodyLen := int64(int32(binary.BigEndian.Uint32(rest[batchOffBodyLen:])))
		if bodyLen < 0 || bodyLen > int64(len(rest)-batchFixed) {
			return 0, 0, malformed("batch entry %d at byte %d: body length %d with %d bytes left", count, off, bodyLen, len(rest))
		}
		propLen := int64(int16(binary.BigEndian.Uint16(rest[batchOffBody+bodyLen:])))
		if propLen < 0 || batchFixed+bodyLen+propLen > int64(len(rest)) {
			return 0, 0, malformed("batch entry %d at byte %d: properties length %d with %d bytes left", count, off, propLen, len(rest))
		}
		if want := batchFixed + bodyLen + propLen; size != want {
			return 0, 0, malformed("batch entry %d at byte %d: total size %d, fields add up to %d", count, off, size, want)
		}
		propsLen += int(propLen)
		off += int(size)
	}
	return count, propsLen, nil
}

// batchEntryAt reads the entry at the start of b, which scanBatch has validated.
func batchEntryAt(b []byte) (size int, body, props []byte) {
	size = int(binary.BigEndian.Uint32(b[batchOffTotalSize:]))
	bodyLen := int(binary.BigEndian.Uint32(b[batchOffBodyLen:]))
	if bodyLen > 0 {
		body = b[batchOffBody : batchOffBody+bodyLen : batchOffBody+bodyLen]
	}
	return size, body, b[batchOffBody+bodyLen+2 : size]
}

// AppendBatch appends entries as a SEND_BATCH_MESSAGE body, in the form the Go client writes
// (magic and CRC 0). Properties must not exceed MaxPropertiesLen bytes: the field is an int16,
// and DecodeBatch, like RocketMQ, rejects the body otherwise.
func AppendBatch(dst []byte, entries []BatchEntry) []byte {
	be := binary.BigEndian
	for i := range entries {
		e := &entries[i]
		dst = be.AppendUint32(dst, uint32(batchFixed+len(e.Body)+len(e.Properties)))
		dst = be.AppendUint32(dst, 0) // magic
		dst = be.AppendUint32(dst, 0) // body CRC
		dst = be.AppendUint32(dst, uint32(e.Flag))
		dst = be.AppendUint32(dst, uint32(len(e.Body)))
		dst = append(dst, e.Body...)
		dst = be.AppendUint16(dst, uint16(len(e.Properties)))
		dst = append(dst, e.Properties...)
	}
	return dst
}
