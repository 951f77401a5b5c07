package message

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestTagHashIsJavaStringHashCode(t *testing.T) {
	for tag, want := range map[string]int64{
		"":                   0,
		"TagA":               2598919, // observed in the official client's codeSet
		"TagB":               2598920,
		"hello world":        1794106052,
		"polygenelubricants": -2147483648, // Java's famous Integer.MIN_VALUE hash
		"标签":                 857175,      // UTF-16 units 0x6807 0x7B7E
		"😀":                  1772899,     // a surrogate pair: 0xD83D 0xDE00
	} {
		if got := TagHash(tag); got != want {
			t.Errorf("TagHash(%q) = %d, want %d", tag, got, want)
		}
	}
}

func TestParseTagExpression(t *testing.T) {
	for expr, want := range map[string]string{"": "", "*": "", " * ": "", "a": "a", "b || a": "a,b", "a||a|| b ": "a,b", "||": ""} {
		if got := strings.Join(ParseTagExpression(expr), ","); got != want {
			t.Errorf("%q: got %q want %q", expr, got, want)
		}
	}
}

var uniqRe = regexp.MustCompile(`^[0-9A-F]{32}$`)

func TestUniqIDLayout(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	g := NewIDGenerator(ip)
	fixed := time.Date(2026, 3, 2, 1, 2, 3, 4e6, time.Local)
	g.now = func() time.Time { return fixed }
	a, b := g.New(), g.New()
	for _, id := range []string{a, b} {
		if !uniqRe.MatchString(id) {
			t.Fatalf("id %q is not 32 upper-case hex characters", id)
		}
	}
	raw, _ := hex.DecodeString(a)
	if !bytes.Equal(raw[:4], []byte{192, 0, 2, 7}) {
		t.Errorf("ip bytes %x", raw[:4])
	}
	if pid := binary.BigEndian.Uint16(raw[4:]); pid != uint16(os.Getpid()) {
		t.Errorf("pid %d, want %d", pid, uint16(os.Getpid()))
	}
	monthStart := time.Date(2026, 3, 1, 0, 0, 0, 0, time.Local)
	if ms := binary.BigEndian.Uint32(raw[10:]); int64(ms) != fixed.Sub(monthStart).Milliseconds() {
		t.Errorf("ms since month start %d, want %d", ms, fixed.Sub(monthStart).Milliseconds())
	}
	rawB, _ := hex.DecodeString(b)
	if !bytes.Equal(raw[:14], rawB[:14]) || binary.BigEndian.Uint16(rawB[14:]) != binary.BigEndian.Uint16(raw[14:])+1 {
		t.Errorf("consecutive ids %s %s: same prefix and time, counter +1 expected", a, b)
	}
	// A new month restarts the time part.
	g.now = func() time.Time { return time.Date(2026, 4, 1, 0, 0, 1, 0, time.Local) }
	rawC, _ := hex.DecodeString(g.New())
	if ms := binary.BigEndian.Uint32(rawC[10:]); ms != 1000 {
		t.Errorf("after the month changed: %d ms, want 1000", ms)
	}
	// Two generators of one process differ in their discriminator.
	if other := NewIDGenerator(ip).New(); other[:20] == a[:20] {
		t.Errorf("two generators share the prefix %s", a[:20])
	}
}

func TestUniqIDsAreUniqueUnderConcurrency(t *testing.T) {
	g := NewIDGenerator(netip.MustParseAddr("10.0.0.1"))
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]string, 0, 5000)
			for range 5000 {
				local = append(local, g.New())
			}
			mu.Lock()
			for _, id := range local {
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
}

func TestAppendPropertiesRoundTrip(t *testing.T) {
	m := &Message{Tag: "TagA", Keys: []string{"k1", "k2"}, DelayLevel: 3, Properties: map[string]string{"a": "1", "empty": ""}}
	s := string(AppendProperties(nil, m, PropertyUniqKey, "ID1"))
	if !strings.HasSuffix(s, "\x02") {
		t.Errorf("properties %q do not end with 0x02", s)
	}
	got := wire.ParseProperties(s)
	want := map[string]string{"a": "1", "TAGS": "TagA", "KEYS": "k1 k2", "DELAY": "3", "UNIQ_KEY": "ID1"}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if err := ValidateProperties(&Message{Properties: map[string]string{"x": "a\x01b"}}); err == nil {
		t.Error("a separator in a value was accepted")
	}
}

func TestCompressRoundTripAndFromRecord(t *testing.T) {
	c, err := NewCompressor(5)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("rocketgo "), 1000)
	z := c.Append([]byte("prefix"), body)
	if string(z[:6]) != "prefix" || z[6] != 0x78 {
		t.Fatalf("compressed output %x...", z[:8])
	}
	rec := wire.Record{QueueID: 2, QueueOffset: 7, PhysicalOffset: 1234, SysFlag: wire.SysFlagCompressed, Topic: "T",
		Body: z[6:], Properties: "TAGS\x01x\x02KEYS\x01a b\x02UNIQ_KEY\x01ABC\x02", BornTimestamp: 1700000000000,
		StoreHost: netip.MustParseAddrPort("127.0.0.1:10911"), BornHost: netip.MustParseAddrPort("127.0.0.1:5")}
	data := wire.AppendRecord(nil, &rec)
	msgs, err := DecodeRecords(append(data, data...), "broker-a")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("decode: %v, %d messages", err, len(msgs))
	}
	m := msgs[0]
	if !bytes.Equal(m.Body, body) {
		t.Error("body was not inflated")
	}
	if m.Tag != "x" || strings.Join(m.Keys, ",") != "a,b" || m.MsgID != "ABC" || m.QueueOffset != 7 || m.CommitLogOffset != 1234 ||
		m.Queue != (Queue{"T", "broker-a", 2}) || m.OffsetMsgID != wire.OffsetMsgID(rec.StoreHost, 1234) {
		t.Errorf("decoded %+v", m)
	}
	// Without UNIQ_KEY the offset id stands in.
	rec.Properties = ""
	rec.SysFlag = 0
	rec.Body = []byte("x")
	m2, err := FromRecord(&rec, "b")
	if err != nil || m2.MsgID != m2.OffsetMsgID {
		t.Errorf("msg id %q offset id %q err %v", m2.MsgID, m2.OffsetMsgID, err)
	}
}

func TestQueueCompare(t *testing.T) {
	qs := []Queue{{"b", "x", 1}, {"a", "y", 0}, {"a", "x", 10}, {"a", "x", 2}}
	want := []Queue{{"a", "x", 2}, {"a", "x", 10}, {"a", "y", 0}, {"b", "x", 1}}
	sorted := append([]Queue(nil), qs...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j].Compare(sorted[i]) < 0 {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	for i := range want {
		if sorted[i] != want[i] {
			t.Fatalf("sorted %v want %v", sorted, want)
		}
	}
}
