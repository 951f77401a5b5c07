package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// observedBatchHex is the SEND_BATCH_MESSAGE body of REMOTING.md §4.3: "batch-1" without
// properties, then "batch-2" with TAGS=TagB, as the v2.1.2 client wrote them.
const observedBatchHex = `
0000001d 00000000 00000000 00000000 00000007 62617463682d31 0000
00000027 00000000 00000000 00000000 00000007 62617463682d32 000a 5441475301546167 4202`

func TestDecodeBatchObserved(t *testing.T) {
	b := unhex(t, observedBatchHex)
	entries, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	e1, e2 := entries[0], entries[1]
	if e1.Flag != 0 || string(e1.Body) != "batch-1" || e1.Properties != "" {
		t.Errorf("entry 1: %+v", e1)
	}
	if e2.Flag != 0 || string(e2.Body) != "batch-2" || e2.Properties != "TAGS\x01TagB\x02" {
		t.Errorf("entry 2: %+v", e2)
	}
	if v, ok := PropertyValue(e2.Properties, "TAGS"); !ok || v != "TagB" {
		t.Errorf("TAGS = %q", v)
	}
	// Bodies alias the input, and cannot be appended over the next entry.
	if &e1.Body[0] != &b[20] || cap(e1.Body) != len(e1.Body) {
		t.Error("entry body does not alias the input tightly")
	}
	if got := AppendBatch(nil, entries); !bytes.Equal(got, b) {
		t.Errorf("re-encoded\n got %x\nwant %x", got, b)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	in := []BatchEntry{
		{Flag: -1, Body: []byte("x"), Properties: "a\x01b"},
		{Flag: 7},
		{Body: bytes.Repeat([]byte{0xAB}, 1000), Properties: string(bytes.Repeat([]byte("p"), MaxPropertiesLen))},
	}
	b := AppendBatch([]byte("keep"), in)
	if string(b[:4]) != "keep" {
		t.Fatal("AppendBatch overwrote dst")
	}
	out, err := DecodeBatch(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d entries", len(out))
	}
	for i := range in {
		if out[i].Flag != in[i].Flag || !bytes.Equal(out[i].Body, in[i].Body) || out[i].Properties != in[i].Properties {
			t.Errorf("entry %d: %+v", i, out[i])
		}
	}
}

func TestDecodeBatchMalformed(t *testing.T) {
	good := unhex(t, observedBatchHex)
	for n := 0; n < len(good); n++ {
		if n == 0x1d { // a whole first entry alone is a valid batch
			continue
		}
		if _, err := DecodeBatch(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("cut at %d: got %v, want ErrMalformed", n, err)
		}
	}
	mutate := func(off int, v uint32, width int) []byte {
		b := append([]byte(nil), good...)
		if width == 2 {
			binary.BigEndian.PutUint16(b[off:], uint16(v))
		} else {
			binary.BigEndian.PutUint32(b[off:], v)
		}
		return b
	}
	cases := map[string][]byte{
		"total size too small":     mutate(0, 0x1c, 4),
		"total size too large":     mutate(0, 0x1e, 4),
		"negative total size":      mutate(0, 0xFFFFFFFF, 4),
		"negative body length":     mutate(16, 0xFFFFFFFF, 4),
		"body beyond input":        mutate(16, 0x7FFFFFFF, 4),
		"negative props length":    mutate(0x1d+27, 0x8000, 2),
		"props beyond input":       mutate(0x1d+27, 0x0b, 2),
		"body length and size lie": mutate(16, 0x09, 4),
	}
	for name, b := range cases {
		if _, err := DecodeBatch(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
	if _, err := DecodeBatch(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty body: %v", err)
	}
}

func TestDecodeBatchAllocationBounded(t *testing.T) {
	// The most entries a body can hold: empty messages of 22 bytes each.
	b := AppendBatch(nil, make([]BatchEntry, 1000))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := DecodeBatch(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations for a batch of empty messages, want 1", allocs)
	}
	// A body that claims a huge entry is rejected before anything is sized from it.
	hostile := mutateLen(b, 16, 0x7FFFFFF0)
	if n := allocatedBytes(func() { _, _ = DecodeBatch(hostile) }); n > 1024 {
		t.Errorf("rejecting a hostile body allocated %d bytes", n)
	}
}

// allocatedBytes reports how many bytes f allocates on the heap.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func mutateLen(b []byte, off int, v uint32) []byte {
	c := append([]byte(nil), b...)
	binary.BigEndian.PutUint32(c[off:], v)
	return c
}
