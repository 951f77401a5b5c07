package wire

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the named seed files under testdata/fuzz")

// seed is one named entry of a fuzz target's committed corpus.
type seed struct {
	name   string
	values []any
}

// marshalSeed writes values in the corpus file format of go test -fuzz.
func marshalSeed(values ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", v)
		default:
			panic(fmt.Sprintf("seed value of type %T", v))
		}
	}
	return b.Bytes()
}

func withLengthWord(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func jsonPayload(header string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(header))), header...)
}

const (
	javaResponseHeader = `{"code":0,"extFields":{"msgId":"7F00000100002A9F0000000000000000","queueId":"1","queueOffset":"0"},"flag":1,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":407}`
	notifyHeader       = `{"code":40,"extFields":{"consumerGroup":"cg"},"flag":2,"language":"JAVA","opaque":1001,"serializeTypeCurrentRPC":"JSON","version":407}`
)

// seedCorpus derives every committed seed from the REMOTING.md examples and the edge cases the
// unit tests pin, so the corpus cannot drift from them (TestSeedCorpus checks the files).
func seedCorpus(t testing.TB) map[string][]seed {
	first := firstProducerFrame(t)
	send := sendMessagePayload()
	// One extFields entry only: map order would make the encoding, and so the file, vary.
	bin := sampleCommand(SerializeRocketMQ)
	bin.SetExtMap(map[string]string{"properties": "KEYS\x01k1\x02TAGS\x01TagA\x02"})
	binaryFrame := AppendFrame(nil, bin)
	record := unhex(t, pulledRecordHex)
	batch := unhex(t, observedBatchHex)
	v6 := Record{
		QueueID: 3, QueueOffset: 5, PhysicalOffset: 1 << 40, BornHost: netip.MustParseAddrPort("[2001:db8::1]:1234"),
		StoreHost: netip.MustParseAddrPort("[::ffff:10.0.0.5]:10911"), Body: []byte("b"), Topic: "T", Properties: "a\x01b",
	}
	long := Record{StoreHost: netip.MustParseAddrPort("10.0.0.5:10911"), Topic: strings.Repeat("t", 300), Properties: "k\x01v"}
	v2Short := AppendRecord(nil, &Record{Topic: "T"})
	binary.BigEndian.PutUint32(v2Short[4:], MagicV2)
	v2Short = append(v2Short[:4+4+4+4+4+8+8+4+8+8+8+8+4+8+4], 0, 1, 'T', 0, 0)
	binary.BigEndian.PutUint32(v2Short, uint32(len(v2Short)))

	return map[string][]seed{
		"FuzzReadFrame": {
			{"remoting_1_2_first_frame", []any{first, uint16(0)}},
			{"remoting_4_2_send_message", []any{withLengthWord(send), uint16(0)}},
			{"binary_header", []any{binaryFrame, uint16(0)}},
			{"two_frames", []any{append(append([]byte(nil), first...), binaryFrame...), uint16(0)}},
			{"too_large", []any{append(append([]byte(nil), first...), first...), uint16(16)}},
			{"negative_length", []any{[]byte{0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0}, uint16(0)}},
			{"truncated", []any{first[:50], uint16(0)}},
		},
		"FuzzDecodeCommand": {
			{"remoting_1_2_first_frame", []any{first[4:]}},
			{"remoting_4_2_send_message", []any{send}},
			{"remoting_1_3_java_response", []any{jsonPayload(javaResponseHeader)}},
			{"remoting_5_2_notify", []any{jsonPayload(notifyHeader)}},
			{"binary_header", []any{binaryFrame[4:]}},
			{"header_beyond_payload", []any{jsonPayload(`{"code":1}`)[:10]}},
		},
		"FuzzJSONHeaderDifferential": {
			{"remoting_1_2_first_frame", []any{[]byte(firstProducerHeader)}},
			{"remoting_1_3_java_response", []any{[]byte(javaResponseHeader)}},
			{"remoting_4_2_send_message", []any{[]byte(sendMessageHeader)}},
			{"remoting_5_2_notify", []any{[]byte(notifyHeader)}},
			{"int_bounds", []any{[]byte(`{"code":-32768,"version":32767,"opaque":-2147483648,"flag":2147483647}`)}},
			{"int_overflow", []any{[]byte(`{"code":32768}`)}},
			{"int_fraction", []any{[]byte(`{"opaque":1.0}`)}},
			{"surrogates", []any{[]byte(`{"remark":"\ud83d\ude00 \ud83d \ude00\ud83d \ud83dx"}`)}},
			{"invalid_utf8", []any{[]byte("{\"remark\":\"bad\xff\xed\xa0\x80\",\"extFields\":{\"k\xfe\":\"v\"}}")}},
			{"case_folding", []any{[]byte("{\"CODE\":3,\"ver\u017fion\":5,\"\\u0065xtFields\":{\"k\":\"v\"}}")}},
			{"nested_unknown", []any{[]byte(`{"x":{"a":[1,-2.5e+3,{"b":null}],"c":true,"d":false,"e":"s"},"code":5}`)}},
			{"nulls", []any{[]byte(`{"code":1,"code":null,"remark":null,"language":null,"extFields":{"a":null}}`)}},
			{"extfields_null", []any{[]byte(`{"extFields":{"a":"1"},"extFields":null}`)}},
			{"extfields_merge", []any{[]byte(`{"extFields":{"a":"1"},"extFields":{"b":"2","a":"3"}}`)}},
			{"extfields_number", []any{[]byte(`{"extFields":{"queueId":1}}`)}},
			{"top_level_null", []any{[]byte(` null `)}},
			{"trailing_data", []any{[]byte(`{"code":1} x`)}},
		},
		"FuzzProperties": {
			{"remoting_4_2_go_style", []any{"KEYS\x01k1\x02UNIQ_KEY\x01C000020250390000000067eb60d80001\x02TAGS\x01TagA\x02", "UNIQ_KEY"}},
			{"remoting_8_1_java_style", []any{pulledRecordProps, "TAGS"}},
			{"empty_names_and_values", []any{"\x01v\x02k\x01\x02k2\x01v", "k"}},
			{"duplicates", []any{"K\x01a\x02K\x01b\x02K\x01", "K"}},
			{"no_separator", []any{"junk\x02\x02x\x01y\x01z", "junk"}},
		},
		"FuzzDecodeBatch": {
			{"remoting_4_3_observed", []any{batch}},
			{"one_entry", []any{AppendBatch(nil, []BatchEntry{{Flag: 5, Body: []byte("b"), Properties: "k\x01v\x02"}})}},
			{"empty", []any{[]byte{}}},
			{"size_lies", []any{mutateLen(batch, 0, 0x1c)}},
		},
		"FuzzDecodeRecord": {
			{"remoting_8_1_record", []any{record}},
			{"ipv6_and_mapped_hosts", []any{AppendRecord(nil, &v6)}},
			{"v2_long_topic", []any{AppendRecord(nil, &long)}},
			{"v2_short_topic", []any{v2Short}},
			{"bad_crc", []any{append(append([]byte(nil), record[:8]...), append([]byte{0, 0, 0, 0}, record[12:]...)...)}},
		},
		"FuzzDecodeRecords": {
			{"remoting_8_1_two_records", []any{append(append([]byte(nil), record...), record...)}},
			{"trailing_garbage", []any{append(append([]byte(nil), record...), 0, 0, 0)}},
		},
		"FuzzParseOffsetMsgID": {
			{"remoting_8_6", []any{"7F000001000051AF00000000000001D0"}},
			{"remoting_12a", []any{"7F00000100002A9F0000000000000000"}},
			{"lower_case", []any{"7f000001000051af00000000000001d0"}},
			{"ipv6", []any{"20010DB8000000000000000000000001000004D20000000000000010"}},
			{"ipv4_mapped", []any{"00000000000000000000FFFF7F000001000051AF00000000000001D0"}},
			{"port_too_big", []any{"7F00000100010000000000000000001D"}},
		},
		"FuzzAppendJSONString": {
			{"properties", []any{"KEYS\x01k1\x02UNIQ_KEY\x01C000020250390000000067eb60d80001\x02"}},
			{"invalid_utf8", []any{"bad\xff\xed\xa0\x80end"}},
			{"escapes", []any{"é😀\"\\\n\r\t\x00\x1f/"}},
		},
	}
}

// TestSeedCorpus checks that the committed seed files match seedCorpus; run it with
// -write-seeds to rewrite them.
func TestSeedCorpus(t *testing.T) {
	for target, seeds := range seedCorpus(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, s := range seeds {
			path := filepath.Join(dir, s.name)
			want := marshalSeed(s.values...)
			if *writeSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("seed %s is missing or stale (%v); rerun with -write-seeds", path, err)
			}
		}
	}
}
