package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// pulledRecordHex is the 196-byte pull body of REMOTING.md §8.1: one V1 record that the real
// v2.1.2 client decoded.
const pulledRecordHex = `
000000c4 daa320a7 69c865ed 00000001 00000000 0000000000000000 0000000000000000 00000000
000001a1fc534b3c 7f000001 0000a0d4 000001a1fc534b3c 7f000001 000051af 00000000 0000000000000000
0000000e 48656c6c6f20526f636b65744d51 09 546f70696354657374 0052
434c5553544552 01 44656661756c74436c7573746572 02 4b455953 01 6b31 02 54414753 01 54616741 02
554e49515f4b4559 01 4330303030323032353033393030303030303030363765623630643830303031`

const pulledRecordProps = "CLUSTER\x01DefaultCluster\x02KEYS\x01k1\x02TAGS\x01TagA\x02UNIQ_KEY\x01C000020250390000000067eb60d80001"

func TestDecodeRecordTestVector(t *testing.T) {
	b := unhex(t, pulledRecordHex)
	if len(b) != 196 {
		t.Fatalf("test vector is %d bytes", len(b))
	}
	if size, magic, ok := PeekRecordHeader(b); !ok || size != 196 || magic != MagicV1 {
		t.Fatalf("PeekRecordHeader = %d %#x %v", size, magic, ok)
	}
	r, n, err := DecodeRecord(b)
	if err != nil || n != 196 {
		t.Fatalf("DecodeRecord: %d, %v", n, err)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"StoreSize", r.StoreSize, int32(196)},
		{"BodyCRC", uint32(r.BodyCRC), uint32(0x69C865ED)},
		{"QueueID", r.QueueID, int32(1)},
		{"Flag", r.Flag, int32(0)},
		{"QueueOffset", r.QueueOffset, int64(0)},
		{"PhysicalOffset", r.PhysicalOffset, int64(0)},
		{"SysFlag", r.SysFlag, int32(0)},
		{"BornTimestamp", r.BornTimestamp, int64(1795234679612)},
		{"BornHost", r.BornHost, netip.MustParseAddrPort("127.0.0.1:41172")},
		{"StoreTimestamp", r.StoreTimestamp, int64(1795234679612)},
		{"StoreHost", r.StoreHost, netip.MustParseAddrPort("127.0.0.1:20911")},
		{"ReconsumeTimes", r.ReconsumeTimes, int32(0)},
		{"PreparedTransactionOffset", r.PreparedTransactionOffset, int64(0)},
		{"Body", string(r.Body), "Hello RocketMQ"},
		{"Topic", r.Topic, "TopicTest"},
		{"Properties", r.Properties, pulledRecordProps},
		{"crc of body", BodyCRC(r.Body), r.BodyCRC},
		{"offset msg id", OffsetMsgID(r.StoreHost, r.PhysicalOffset), "7F000001000051AF0000000000000000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	props := ParseProperties(r.Properties)
	if len(props) != 4 || props["UNIQ_KEY"] != "C000020250390000000067eb60d80001" || props["CLUSTER"] != "DefaultCluster" {
		t.Errorf("properties %v", props)
	}
	// AppendRecord writes Properties verbatim and recomputes size and CRC: same bytes back.
	if got := AppendRecord(nil, &r); !bytes.Equal(got, b) {
		t.Errorf("re-encoded record differs\n got %x\nwant %x", got, b)
	}
	if RecordSize(&r) != 196 {
		t.Errorf("RecordSize = %d", RecordSize(&r))
	}
	// A pull body is records back to back.
	recs, err := DecodeRecords(append(append([]byte(nil), b...), b...))
	if err != nil || len(recs) != 2 || recs[1].Topic != "TopicTest" {
		t.Errorf("DecodeRecords: %d records, %v", len(recs), err)
	}
}

func TestRecordIPv6RoundTrip(t *testing.T) {
	r := Record{
		QueueID: 3, Flag: 9, QueueOffset: 5, PhysicalOffset: 1 << 40, SysFlag: SysFlagCompressed,
		BornTimestamp: 1, BornHost: netip.MustParseAddrPort("[2001:db8::1]:1234"),
		StoreTimestamp: 2, StoreHost: netip.MustParseAddrPort("10.0.0.5:10911"),
		ReconsumeTimes: 4, PreparedTransactionOffset: 77, Body: []byte{0x78, 0x5e, 1, 2}, Topic: "T",
		Properties: "a\x01b",
	}
	b := AppendRecord(nil, &r)
	if len(b) != RecordSize(&r) || len(b) != 91+4+1+3+12 {
		t.Fatalf("size %d, RecordSize %d", len(b), RecordSize(&r))
	}
	got, n, err := DecodeRecord(b)
	if err != nil || n != len(b) {
		t.Fatal(n, err)
	}
	if got.SysFlag != SysFlagCompressed|SysFlagBornHostV6 || got.BornHost != r.BornHost || got.StoreHost != r.StoreHost ||
		got.PhysicalOffset != r.PhysicalOffset || got.PreparedTransactionOffset != 77 || !bytes.Equal(got.Body, r.Body) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeRecordMalformed(t *testing.T) {
	b := unhex(t, pulledRecordHex)
	for n := 0; n < len(b); n++ {
		if _, _, err := DecodeRecord(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	bad := append([]byte(nil), b...)
	bad[4] = 0 // magic
	if _, _, err := DecodeRecord(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad magic: %v", err)
	}
	bad = append([]byte(nil), b...)
	bad[3]++ // total size one past the fields
	bad = append(bad, 0)
	if _, _, err := DecodeRecord(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("size mismatch: %v", err)
	}
	if _, err := DecodeRecords(append(b, 1, 2, 3)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing bytes: %v", err)
	}
}
