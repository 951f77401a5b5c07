package wire

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

// OffsetMsgID is the id a broker gives a stored record: upper-case hex of the store host's address
// and port and the record's physical offset (32 characters for IPv4).
func OffsetMsgID(storeHost netip.AddrPort, physicalOffset int64) string {
	var out [56]byte
	return string(AppendOffsetMsgID(out[:0], storeHost, physicalOffset))
}

// AppendOffsetMsgID appends OffsetMsgID's id to dst: a batch's ids, comma-separated, are built
// in one buffer instead of a string each.
func AppendOffsetMsgID(dst []byte, storeHost netip.AddrPort, physicalOffset int64) []byte {
	var buf [28]byte
	b := appendHost(buf[:0], storeHost)
	b = binary.BigEndian.AppendUint64(b, uint64(physicalOffset))
	const upperHex = "0123456789ABCDEF"
	for _, c := range b {
		dst = append(dst, upperHex[c>>4], upperHex[c&0xF])
	}
	return dst
}

// ParseOffsetMsgID decodes an offset message id (32 hex characters for IPv4, 56 for IPv6).
func ParseOffsetMsgID(id string) (netip.AddrPort, int64, error) {
	if len(id) != 32 && len(id) != 56 {
		return netip.AddrPort{}, 0, malformed("offset message id of %d characters", len(id))
	}
	b, err := hex.DecodeString(id)
	if err != nil {
		return netip.AddrPort{}, 0, malformed("offset message id: %v", err)
	}
	ipLen := len(b) - 12
	addr, _ := netip.AddrFromSlice(b[:ipLen])
	port := binary.BigEndian.Uint32(b[ipLen:])
	if port > 0xFFFF {
		return netip.AddrPort{}, 0, malformed("offset message id port %d", port)
	}
	off := int64(binary.BigEndian.Uint64(b[ipLen+4:]))
	return netip.AddrPortFrom(addr, uint16(port)), off, nil
}
