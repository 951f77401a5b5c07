package wire

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }

// unhex decodes the spaced hex dumps REMOTING.md prints.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// netipUnmap is what the codec writes for a host: IPv4-mapped addresses become IPv4.
func netipUnmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
