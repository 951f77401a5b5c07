package wire

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// Magic codes of stored records.
const (
	MagicV1    uint32 = 0xDAA320A7 // topic length in one byte
	MagicV2    uint32 = 0xDAA320AB // topic length in two bytes (5.x long topics)
	MagicBlank uint32 = 0xCBD43194 // filler at the end of a commit-log segment
)

// Message sysFlag bits.
const (
	SysFlagCompressed     int32 = 0x1
	SysFlagMultiTags      int32 = 0x2
	SysFlagTxPrepared     int32 = 0x4
	SysFlagTxCommit       int32 = 0x8
	SysFlagTxRollback     int32 = 0xC
	SysFlagTxMask         int32 = 0xC
	SysFlagBornHostV6     int32 = 0x10
	SysFlagStoreHostV6    int32 = 0x20
	SysFlagCompressionMsk int32 = 0x700
)

// Byte offsets of the fixed fields of a record, valid for every host kind.
const (
	RecordOffsetTotalSize   = 0
	RecordOffsetMagic       = 4
	RecordOffsetBodyCRC     = 8
	RecordOffsetQueueID     = 12
	RecordOffsetFlag        = 16
	RecordOffsetQueueOffset = 20
	RecordOffsetPhysOffset  = 28
	RecordOffsetSysFlag     = 36
	RecordOffsetBornTime    = 40
	RecordOffsetBornHost    = 48
)

// MaxTopicLenV1 is the longest topic a V1 record can carry.
const MaxTopicLenV1 = 255

// Record is one message in RocketMQ's stored layout: the commit log, pull bodies, check-back and
// query bodies all carry it.
type Record struct {
	StoreSize                 int32 // set by DecodeRecord
	BodyCRC                   int32 // set by DecodeRecord; AppendRecord computes it
	QueueID                   int32
	Flag                      int32
	QueueOffset               int64
	PhysicalOffset            int64
	SysFlag                   int32
	BornTimestamp             int64
	BornHost                  netip.AddrPort
	StoreTimestamp            int64
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
	Body                      []byte
	Topic                     string
	Properties                string
}

func hostLen(a netip.AddrPort) int {
	if a.Addr().Is4() || !a.Addr().IsValid() || a.Addr().Is4In6() {
		return 8
	}
	return 20
}

// StoreTimestampOffset is the byte offset of the store timestamp in r's encoding: it follows the
// born host, whose length depends on its kind.
func StoreTimestampOffset(r *Record) int { return RecordOffsetBornHost + hostLen(r.BornHost) }

// RecordSize is the encoded length of r.
func RecordSize(r *Record) int {
	tl := 1
	if len(r.Topic) > MaxTopicLenV1 {
		tl = 2
	}
	return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + hostLen(r.BornHost) + 8 + hostLen(r.StoreHost) + 4 + 8 +
		4 + len(r.Body) + tl + len(r.Topic) + 2 + len(r.Properties)
}

// BodyCRC is the checksum RocketMQ stores for a body: CRC-32 (IEEE) masked to 31 bits.
func BodyCRC(body []byte) int32 { return int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF) }

// AppendRecord appends r in the stored layout. The IPv6 sysFlag bits are derived from the hosts
// and the body CRC is computed. Topics longer than 255 bytes use the V2 magic.
func AppendRecord(dst []byte, r *Record) []byte {
	size := RecordSize(r)
	sys := r.SysFlag &^ (SysFlagBornHostV6 | SysFlagStoreHostV6)
	if hostLen(r.BornHost) == 20 {
		sys |= SysFlagBornHostV6
	}
	if hostLen(r.StoreHost) == 20 {
		sys |= SysFlagStoreHostV6
	}
	magic := MagicV1
	if len(r.Topic) > MaxTopicLenV1 {
		magic = MagicV2
	}
	be := binary.BigEndian
	dst = be.AppendUint32(dst, uint32(size))
	dst = be.AppendUint32(dst, magic)
	dst = be.AppendUint32(dst, uint32(BodyCRC(r.Body)))
	dst = be.AppendUint32(dst, uint32(r.QueueID))
	dst = be.AppendUint32(dst, uint32(r.Flag))
	dst = be.AppendUint64(dst, uint64(r.QueueOffset))
	dst = be.AppendUint64(dst, uint64(r.PhysicalOffset))
	dst = be.AppendUint32(dst, uint32(sys))
	dst = be.AppendUint64(dst, uint64(r.BornTimestamp))
	dst = appendHost(dst, r.BornHost)
	dst = be.AppendUint64(dst, uint64(r.StoreTimestamp))
	dst = appendHost(dst, r.StoreHost)
	dst = be.AppendUint32(dst, uint32(r.ReconsumeTimes))
	dst = be.AppendUint64(dst, uint64(r.PreparedTransactionOffset))
	dst = be.AppendUint32(dst, uint32(len(r.Body)))
	dst = append(dst, r.Body...)
	if magic == MagicV2 {
		dst = be.AppendUint16(dst, uint16(len(r.Topic)))
	} else {
		dst = append(dst, byte(len(r.Topic)))
	}
	dst = append(dst, r.Topic...)
	dst = be.AppendUint16(dst, uint16(len(r.Properties)))
	dst = append(dst, r.Properties...)
	return dst
}

func appendHost(dst []byte, a netip.AddrPort) []byte {
	addr := a.Addr().Unmap()
	switch {
	case addr.Is4():
		b := addr.As4()
		dst = append(dst, b[:]...)
	case addr.Is6():
		b := addr.As16()
		dst = append(dst, b[:]...)
	default:
		dst = append(dst, 0, 0, 0, 0)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(a.Port()))
}

// PeekRecordHeader reads the total size and magic at the start of b without decoding the rest.
func PeekRecordHeader(b []byte) (size int32, magic uint32, ok bool) {
	if len(b) < 8 {
		return 0, 0, false
	}
	return int32(binary.BigEndian.Uint32(b)), binary.BigEndian.Uint32(b[4:]), true
}

// DecodeRecord decodes the record at the start of b and returns it with its encoded length. The
// body aliases b. Every length is checked against the total size and the buffer; nothing is
// trusted.
func DecodeRecord(b []byte) (Record, int, error) {
	var r Record
	size, magic, ok := PeekRecordHeader(b)
	if !ok {
		return r, 0, malformed("record shorter than its header")
	}
	if magic != MagicV1 && magic != MagicV2 {
		return r, 0, malformed("record magic %#x", magic)
	}
	if size < 4 || int(size) > len(b) {
		return r, 0, malformed("record size %d with %d bytes available", size, len(b))
	}
	d := decoder{b: b[:size], off: 8}
	r.StoreSize = size
	r.BodyCRC = d.i32()
	r.QueueID = d.i32()
	r.Flag = d.i32()
	r.QueueOffset = d.i64()
	r.PhysicalOffset = d.i64()
	r.SysFlag = d.i32()
	r.BornTimestamp = d.i64()
	r.BornHost = d.host(r.SysFlag&SysFlagBornHostV6 != 0)
	r.StoreTimestamp = d.i64()
	r.StoreHost = d.host(r.SysFlag&SysFlagStoreHostV6 != 0)
	r.ReconsumeTimes = d.i32()
	r.PreparedTransactionOffset = d.i64()
	bl := d.i32()
	r.Body = d.bytes(int(bl))
	var tl int
	if magic == MagicV2 {
		tl = int(d.u16())
	} else {
		tl = int(d.u8())
	}
	r.Topic = string(d.bytes(tl))
	pl := int(d.u16())
	r.Properties = string(d.bytes(pl))
	if d.err != nil {
		return Record{}, 0, d.err
	}
	if d.off != int(size) {
		return Record{}, 0, malformed("record size %d but fields end at %d", size, d.off)
	}
	if len(r.Body) == 0 {
		r.Body = nil
	}
	return r, int(size), nil
}

// DecodeRecords decodes a concatenation of records, as in a pull body.
func DecodeRecords(b []byte) ([]Record, error) {
	var out []Record
	for len(b) > 0 {
		r, n, err := DecodeRecord(b)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		b = b[n:]
	}
	return out, nil
}

// decoder reads big-endian fields and remembers the first overrun instead of panicking.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || d.off+n > len(d.b) {
		d.err = malformed("field of %d bytes at %d overruns %d", n, d.off, len(d.b))
		return false
	}
	return true
}

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) i32() int32 {
	if !d.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b[d.off:]))
	d.off += 4
	return v
}

func (d *decoder) i64() int64 {
	if !d.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v
}

func (d *decoder) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

func (d *decoder) host(v6 bool) netip.AddrPort {
	n := 4
	if v6 {
		n = 16
	}
	ip := d.bytes(n)
	port := d.i32()
	if d.err == nil && (port < 0 || port > 0xFFFF) {
		// A port field is an int32 on the wire, but only 16 bits are a port: anything else is
		// corruption, and truncating it would hide that.
		d.err = malformed("host port %d at %d", port, d.off-4)
	}
	if d.err != nil {
		return netip.AddrPort{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(addr, uint16(port))
}
