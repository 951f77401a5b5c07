package mmap

import (
	"bytes"
	"encoding/binary"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// minRecordSize is the length of a record with empty body, topic and properties and IPv4 hosts.
var minRecordSize = int32(wire.RecordSize(&wire.Record{}))

// recordState is what checkRecord found at a position of the log.
type recordState int

const (
	// recBad: no record starts here (wrong magic, a size out of bounds, fields that do not add
	// up to the size, or a stored physical offset that is not this position).
	recBad recordState = iota
	// recBadCRC: a well-framed record whose body fails its CRC.
	recBadCRC
	// recOK: a record that verifies.
	recOK
	// recBlank: the filler that ends a segment.
	recBlank
	// recBadHeader: a record that verifies but whose header names a queue it cannot belong to
	// (found by recovery when it dispatches it).
	recBadHeader
)

// checkRecord examines the record that should start b, the rest of a segment from physical
// offset phy, and returns its size (the filler's for a blank) and what it found. It reads only
// inside b and allocates nothing.
func checkRecord(b []byte, phy int64) (int32, recordState) {
	size, magic, ok := wire.PeekRecordHeader(b)
	switch {
	case !ok:
		return 0, recBad
	case magic == wire.MagicBlank:
		if size >= blankHeaderSize && int64(size) == int64(len(b)) {
			return size, recBlank
		}
		return 0, recBad
	case magic != wire.MagicV1 && magic != wire.MagicV2:
		return 0, recBad
	case size < minRecordSize || int64(size)+blankHeaderSize > int64(len(b)):
		// A record always leaves room for the filler header after it in its segment.
		return 0, recBad
	}
	return size, verifyFramed(b[:size], phy, magic)
}

// verifyFramed checks a record whose size and magic were read from rec, which holds exactly
// its bytes: the stored physical offset must be phy, the variable fields must add up to the
// size, and the body must match its CRC. The header fields outside the body carry no checksum
// in RocketMQ's layout, so a flipped bit there (a timestamp, a property) cannot be seen.
func verifyFramed(rec []byte, phy int64, magic uint32) recordState {
	body, _, ok := splitFramed(rec, phy, magic)
	switch {
	case !ok:
		return recBad
	case wire.BodyCRC(body) != int32(binary.BigEndian.Uint32(rec[wire.RecordOffsetBodyCRC:])):
		return recBadCRC
	}
	return recOK
}

// splitFramed checks the stored offset and the layout of a record (see verifyFramed) and
// returns its body and properties.
func splitFramed(rec []byte, phy int64, magic uint32) (body, props []byte, ok bool) {
	be := binary.BigEndian
	n := len(rec)
	if n < wire.RecordOffsetBornHost || int64(be.Uint64(rec[wire.RecordOffsetPhysOffset:])) != phy {
		return nil, nil, false
	}
	sys := int32(be.Uint32(rec[wire.RecordOffsetSysFlag:]))
	off := wire.RecordOffsetBornHost + hostFieldLen(sys&wire.SysFlagBornHostV6) + 8 +
		hostFieldLen(sys&wire.SysFlagStoreHostV6) + 4 + 8
	if off+4 > n {
		return nil, nil, false
	}
	bodyLen := int(int32(be.Uint32(rec[off:])))
	off += 4
	if bodyLen < 0 || bodyLen > n-off {
		return nil, nil, false
	}
	body = rec[off : off+bodyLen]
	off += bodyLen
	var topicLen int
	if magic == wire.MagicV2 {
		if off+2 > n {
			return nil, nil, false
		}
		topicLen = int(be.Uint16(rec[off:]))
		off += 2
	} else {
		if off+1 > n {
			return nil, nil, false
		}
		topicLen = int(rec[off])
		off++
	}
	// A topic is never empty and never holds a NUL (checkTopic): zeros there are a lost sector.
	if topicLen == 0 || topicLen > n-off || bytes.IndexByte(rec[off:off+topicLen], 0) >= 0 {
		return nil, nil, false
	}
	off += topicLen
	if off+2 > n {
		return nil, nil, false
	}
	propsLen := int(be.Uint16(rec[off:]))
	off += 2
	if propsLen != n-off {
		return nil, nil, false
	}
	return body, rec[off:], true
}

// tornInside reports whether a record that verifies still shows a sector lost in a torn write:
// a zero byte in its properties, which clients write as text. The CRC covers only the body, so
// a lost sector holding only properties is found this way. Recovery applies it to records past
// the flushed offset, which may have been torn; below it the data was on disk, and a NUL is
// taken for what the client sent.
func tornInside(rec []byte, phy int64) bool {
	_, props, ok := splitFramed(rec, phy, binary.BigEndian.Uint32(rec[wire.RecordOffsetMagic:]))
	return !ok || bytes.IndexByte(props, 0) >= 0
}

// hostFieldLen is the stored length of a host: IPv4 and port, or IPv6 and port.
func hostFieldLen(v6 int32) int {
	if v6 != 0 {
		return 20
	}
	return 8
}
