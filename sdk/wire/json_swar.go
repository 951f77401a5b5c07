package wire

import "encoding/binary"

// Eight bytes at a time: JSON strings are mostly long runs of plain ASCII (ids, offsets,
// properties), and testing a word per step instead of a byte roughly halves the cost of both
// writing and reading headers.

const (
	swarLSB = 0x0101010101010101
	swarMSB = 0x8080808080808080
)

// swarSpecial reports whether any byte of x is a control byte, a quote, a backslash or non-ASCII:
// the bytes a JSON string cannot carry as they are or that need UTF-8 checks.
func swarSpecial(x uint64) bool {
	ctl := (x - swarLSB*0x20) & ^x
	q := x ^ (swarLSB * '"')
	quote := (q - swarLSB) & ^q
	bs := x ^ (swarLSB * '\\')
	back := (bs - swarLSB) & ^bs
	return (ctl|quote|back|x)&swarMSB != 0
}

// plainPrefix returns the length of the longest prefix of s made of plain bytes (jsonPlain).
func plainPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if swarSpecial(x) {
			break
		}
	}
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	return i
}

// plainPrefixBytes is plainPrefix for a byte slice.
func plainPrefixBytes(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if swarSpecial(binary.LittleEndian.Uint64(b[i:])) {
			break
		}
	}
	for i < len(b) && jsonPlain[b[i]] {
		i++
	}
	return i
}
