package app

import (
	"net"
	"strconv"
)

// AdvertisedAddr returns the "ip:port" other processes should dial to reach a listener bound at
// bound: configured when it is not empty; otherwise bound itself, with an unspecified ip
// (listening on 0.0.0.0 or ::) replaced by the machine's first non-loopback IPv4 address, or
// 127.0.0.1 when it has none. Using the bound address rather than the configured one is what
// turns "port 0" into the real port.
func AdvertisedAddr(configured string, bound net.Addr) string {
	return advertisedAddr(configured, bound, net.InterfaceAddrs)
}

func advertisedAddr(configured string, bound net.Addr, ifaces func() ([]net.Addr, error)) string {
	if configured != "" {
		return configured
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return bound.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = firstIPv4(ifaces)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// firstIPv4 is the first non-loopback, non-link-local IPv4 address of the machine: the one a
// RocketMQ client on another host can most likely reach.
func firstIPv4(ifaces func() ([]net.Addr, error)) net.IP {
	addrs, err := ifaces()
	if err == nil {
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := n.IP.To4(); ip4 != nil && !ip4.IsLoopback() && !ip4.IsLinkLocalUnicast() {
				return ip4
			}
		}
	}
	return net.IPv4(127, 0, 0, 1)
}
