package app

import (
	"errors"
	"net"
	"testing"
)

func TestAdvertisedAddr(t *testing.T) {
	ifaces := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
			&net.IPNet{IP: net.IPv4(169, 254, 0, 5), Mask: net.CIDRMask(16, 32)},
			&net.IPNet{IP: net.IPv4(10, 1, 2, 3), Mask: net.CIDRMask(8, 32)},
		}, nil
	}
	none := func() ([]net.Addr, error) { return nil, errors.New("no interfaces") }
	cases := []struct {
		configured string
		bound      net.Addr
		ifaces     func() ([]net.Addr, error)
		want       string
	}{
		{"", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40111}, ifaces, "127.0.0.1:40111"},
		{"", &net.TCPAddr{IP: net.IPv4zero, Port: 10911}, ifaces, "10.1.2.3:10911"},
		{"", &net.TCPAddr{IP: net.IPv6unspecified, Port: 10911}, ifaces, "10.1.2.3:10911"},
		{"", &net.TCPAddr{Port: 10911}, none, "127.0.0.1:10911"},
		{"192.168.1.9:10911", &net.TCPAddr{IP: net.IPv4zero, Port: 40111}, ifaces, "192.168.1.9:10911"},
	}
	for _, c := range cases {
		if got := advertisedAddr(c.configured, c.bound, c.ifaces); got != c.want {
			t.Errorf("advertisedAddr(%q, %v) = %q, want %q", c.configured, c.bound, got, c.want)
		}
	}
	// The real interfaces: whatever they are, the port is the bound one.
	if got := AdvertisedAddr("", &net.TCPAddr{IP: net.IPv4zero, Port: 1234}); got[len(got)-5:] != ":1234" {
		t.Errorf("AdvertisedAddr = %q", got)
	}
}
