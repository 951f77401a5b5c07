package message

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// IDGenerator makes client-side message ids (property UNIQ_KEY) in RocketMQ's layout
// (REMOTING.md §8.6): 16 bytes as 32 upper-case hex characters,
//
//	client IPv4 (4) | pid, low 16 bits (2) | instance discriminator (4) | ms since the start of the current month, local time (4) | counter (2)
//
// Java fills the discriminator with a class-loader hash; here it is random per generator, so two
// clients in one process do not collide even though each has its own counter. Safe for concurrent
// use.
type IDGenerator struct {
	prefix [20]byte // hex of the fixed 10 bytes

	mu         sync.Mutex
	monthStart time.Time
	nextMonth  time.Time
	counter    uint16
	now        func() time.Time
}

// NewIDGenerator returns a generator for a client at ip (an IPv4 address; anything else is written
// as 127.0.0.1's bytes would be by Java's fallback: the low 4 bytes).
func NewIDGenerator(ip netip.Addr) *IDGenerator {
	var fixed [10]byte
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		copy(fixed[:4], a[:])
	} else if ip.Is6() {
		a := ip.As16()
		copy(fixed[:4], a[12:])
	}
	binary.BigEndian.PutUint16(fixed[4:], uint16(os.Getpid()))
	_, _ = rand.Read(fixed[6:10])
	g := &IDGenerator{now: time.Now}
	hex.Encode(g.prefix[:], fixed[:])
	copy(g.prefix[:], strings.ToUpper(string(g.prefix[:])))
	var c [2]byte
	_, _ = rand.Read(c[:])
	g.counter = binary.BigEndian.Uint16(c[:])
	return g
}

const upperHex = "0123456789ABCDEF"

// Append appends a new id (32 bytes) to dst.
func (g *IDGenerator) Append(dst []byte) []byte {
	g.mu.Lock()
	now := g.now()
	if !now.Before(g.nextMonth) || now.Before(g.monthStart) {
		y, m, _ := now.Date()
		g.monthStart = time.Date(y, m, 1, 0, 0, 0, 0, now.Location())
		g.nextMonth = g.monthStart.AddDate(0, 1, 0)
	}
	g.counter++
	var tail [6]byte
	binary.BigEndian.PutUint32(tail[:], uint32(now.Sub(g.monthStart).Milliseconds()))
	binary.BigEndian.PutUint16(tail[4:], g.counter)
	g.mu.Unlock()
	dst = append(dst, g.prefix[:]...)
	for _, b := range tail {
		dst = append(dst, upperHex[b>>4], upperHex[b&0xF])
	}
	return dst
}

// New returns a new id.
func (g *IDGenerator) New() string {
	var buf [32]byte
	return string(g.Append(buf[:0]))
}
