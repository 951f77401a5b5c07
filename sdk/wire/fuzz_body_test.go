package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzProperties(f *testing.F) {
	f.Fuzz(func(t *testing.T, s, name string) {
		m := ParseProperties(s)
		for k, v := range m {
			if k == "" || v == "" || strings.ContainsAny(k, "\x01\x02") || strings.ContainsRune(v, PropertySeparator) {
				t.Fatalf("ParseProperties(%q) kept %q=%q", s, k, v)
			}
			if got, ok := PropertyValue(s, k); !ok || got != v {
				t.Fatalf("PropertyValue(%q, %q) = %q %v, map says %q", s, k, got, ok, v)
			}
		}
		want, wantOK := m[name]
		if got, ok := PropertyValue(s, name); got != want || ok != wantOK {
			t.Fatalf("PropertyValue(%q, %q) = %q %v, map says %q %v", s, name, got, ok, want, wantOK)
		}
		enc := EncodeProperties(m)
		back := ParseProperties(enc)
		if !maps.Equal(back, m) {
			t.Fatalf("round trip of %q: %q became %q", s, m, back)
		}
		if again := EncodeProperties(back); again != enc {
			t.Fatalf("encoding is not stable: %q then %q", enc, again)
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := DecodeBatch(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(entries) > len(b)/batchFixed {
			t.Fatalf("%d entries from %d bytes", len(entries), len(b))
		}
		// Re-encoding gives the input back, except magic and CRC, which are written as 0.
		want := append([]byte(nil), b...)
		for off := 0; off < len(want); {
			binary.BigEndian.PutUint64(want[off+4:], 0)
			off += int(binary.BigEndian.Uint32(want[off:]))
		}
		enc := AppendBatch(nil, entries)
		if !bytes.Equal(enc, want) {
			t.Fatalf("re-encoded\n got %x\nwant %x", enc, want)
		}
		again, err := DecodeBatch(enc)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("own encoding: %d entries, %v", len(again), err)
		}
		for i := range entries {
			if again[i].Flag != entries[i].Flag || !bytes.Equal(again[i].Body, entries[i].Body) || again[i].Properties != entries[i].Properties {
				t.Fatalf("entry %d changed: %+v became %+v", i, entries[i], again[i])
			}
		}
	})
}

// recordNormal is what AppendRecord makes of a decoded record: hosts unmapped, IPv6 flags and
// CRC derived, size recomputed.
func recordNormal(r Record) Record {
	r.BornHost = netipUnmap(r.BornHost)
	r.StoreHost = netipUnmap(r.StoreHost)
	r.SysFlag &^= SysFlagBornHostV6 | SysFlagStoreHostV6
	if hostLen(r.BornHost) == 20 {
		r.SysFlag |= SysFlagBornHostV6
	}
	if hostLen(r.StoreHost) == 20 {
		r.SysFlag |= SysFlagStoreHostV6
	}
	r.BodyCRC = BodyCRC(r.Body)
	r.StoreSize = int32(RecordSize(&r))
	return r
}

func sameRecord(a, b *Record) bool {
	return a.StoreSize == b.StoreSize && a.BodyCRC == b.BodyCRC && a.QueueID == b.QueueID && a.Flag == b.Flag &&
		a.QueueOffset == b.QueueOffset && a.PhysicalOffset == b.PhysicalOffset && a.SysFlag == b.SysFlag &&
		a.BornTimestamp == b.BornTimestamp && a.BornHost == b.BornHost && a.StoreTimestamp == b.StoreTimestamp &&
		a.StoreHost == b.StoreHost && a.ReconsumeTimes == b.ReconsumeTimes &&
		a.PreparedTransactionOffset == b.PreparedTransactionOffset && bytes.Equal(a.Body, b.Body) &&
		a.Topic == b.Topic && a.Properties == b.Properties
}

// checkRecordRoundTrip re-encodes a decoded record and fails t unless it decodes to the
// normalised record and encodes to the same bytes again.
func checkRecordRoundTrip(t *testing.T, r Record) {
	t.Helper()
	enc := AppendRecord(nil, &r)
	if len(enc) != RecordSize(&r) {
		t.Fatalf("AppendRecord wrote %d bytes, RecordSize says %d", len(enc), RecordSize(&r))
	}
	back, n, err := DecodeRecord(enc)
	if err != nil || n != len(enc) {
		t.Fatalf("decoding own record: %d bytes, %v", n, err)
	}
	if want := recordNormal(r); !sameRecord(&back, &want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, want)
	}
	if again := AppendRecord(nil, &back); !bytes.Equal(again, enc) {
		t.Fatalf("encoding is not stable\n got %x\nwant %x", again, enc)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if n != int(r.StoreSize) || n > len(b) {
			t.Fatalf("consumed %d of %d bytes, size field %d", n, len(b), r.StoreSize)
		}
		// A record already in normal form comes back byte for byte.
		if norm := recordNormal(r); sameRecord(&r, &norm) {
			if enc := AppendRecord(nil, &r); !bytes.Equal(enc, b[:n]) {
				t.Fatalf("normal record re-encoded differently\n got %x\nwant %x", enc, b[:n])
			}
		}
		checkRecordRoundTrip(t, r)
	})
}

func FuzzDecodeRecords(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeRecords(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var enc []byte
		for i := range recs {
			enc = AppendRecord(enc, &recs[i])
		}
		back, err := DecodeRecords(enc)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("own encoding: %d records, %v", len(back), err)
		}
		for i := range recs {
			if want := recordNormal(recs[i]); !sameRecord(&back[i], &want) {
				t.Fatalf("record %d\n got %+v\nwant %+v", i, back[i], want)
			}
		}
	})
}

func FuzzParseOffsetMsgID(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		host, off, err := ParseOffsetMsgID(id)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again := OffsetMsgID(host, off)
		// An IPv4-mapped IPv6 host is written in the IPv4 form; every other id comes back as it
		// was, in upper case.
		if !host.Addr().Is4In6() && again != strings.ToUpper(id) {
			t.Fatalf("ParseOffsetMsgID(%q) = %s %#x, which formats as %s", id, host, off, again)
		}
		host2, off2, err := ParseOffsetMsgID(again)
		if err != nil || host2 != netipUnmap(host) || off2 != off {
			t.Fatalf("%s parses as %s %#x %v, want %s %#x", again, host2, off2, err, host, off)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		enc := AppendJSONString(nil, s)
		// Valid UTF-8 passes unchanged; each invalid byte becomes U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r)
			i += size
		}
		var got, ref Command
		header := append(append([]byte(`{"remark":`), enc...), '}')
		if err := decodeJSONHeader(header, &got); err != nil || got.Remark != want.String() {
			t.Fatalf("%q encoded as %s decodes to %q, %v", s, enc, got.Remark, err)
		}
		if err := decodeJSONHeaderRef(header, &ref); err != nil || ref.Remark != want.String() {
			t.Fatalf("%q encoded as %s: encoding/json reads %q, %v", s, enc, ref.Remark, err)
		}
	})
}
