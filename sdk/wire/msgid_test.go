package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestOffsetMsgID(t *testing.T) {
	cases := []struct {
		id     string
		host   string
		offset int64
	}{
		{"7F000001000051AF00000000000001D0", "127.0.0.1:20911", 0x1D0},
		{"7F00000100002A9F0000000000000000", "127.0.0.1:10911", 0},
		{"0A000005000000507FFFFFFFFFFFFFFF", "10.0.0.5:80", 1<<63 - 1},
		{"20010DB8000000000000000000000001000004D20000000000000010", "[2001:db8::1]:1234", 16},
	}
	for _, c := range cases {
		host := netip.MustParseAddrPort(c.host)
		if got := OffsetMsgID(host, c.offset); got != c.id {
			t.Errorf("OffsetMsgID(%s, %#x) = %s, want %s", host, c.offset, got, c.id)
		}
		gotHost, gotOff, err := ParseOffsetMsgID(c.id)
		if err != nil || gotHost != host || gotOff != c.offset {
			t.Errorf("ParseOffsetMsgID(%s) = %s, %#x, %v", c.id, gotHost, gotOff, err)
		}
	}
	// Lower case is accepted; an IPv4-mapped store host gets the 32-character form.
	if h, off, err := ParseOffsetMsgID("7f000001000051af00000000000001d0"); err != nil || h.Port() != 20911 || off != 0x1D0 {
		t.Errorf("lower case: %v %v %v", h, off, err)
	}
	if got := OffsetMsgID(netip.MustParseAddrPort("[::ffff:127.0.0.1]:20911"), 0x1D0); got != "7F000001000051AF00000000000001D0" {
		t.Errorf("mapped host: %s", got)
	}
}

func TestParseOffsetMsgIDRejects(t *testing.T) {
	for _, id := range []string{
		"",
		"7F000001000051AF00000000000001D",   // 31 characters
		"7F000001000051AF00000000000001D00", // 33
		"7F000001000051AF00000000000001DX",  // not hex
		"7F00000100010000000000000000000",   // short
		"7F00000100010000000000000000001D0", // port 65536 (33 chars too)
		"7F00000100010000000000000000001D",  // port 65536
	} {
		if _, _, err := ParseOffsetMsgID(id); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseOffsetMsgID(%q): %v, want ErrMalformed", id, err)
		}
	}
}
