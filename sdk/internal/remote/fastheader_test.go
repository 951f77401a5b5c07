package remote

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestPeekHeader(t *testing.T) {
	cases := []struct {
		h                  string
		code, opaque, flag int64
		ok                 bool
	}{
		{`{"code":0,"language":"GO","version":407,"opaque":12,"flag":1,"extFields":{"msgId":"A","queueId":"1"}}`, 0, 12, 1, true},
		// Java: sorted keys, extra keys, remark, nested objects.
		{`{"code":17,"extFields":{"a":"{\"x\":1}"},"flag":1,"language":"JAVA","opaque":-5,"remark":"no \"route\"","serializeTypeCurrentRPC":"JSON","version":407}`, 17, -5, 1, true},
		{` { "opaque" : 3 , "code" : 2 } `, 2, 3, 0, true},
		{`{"code":1,"opaque":2,"x":[1,{"y":[]},"]"],"flag":1}`, 1, 2, 1, true},
		{`{"code":1}`, 0, 0, 0, false},                 // no opaque
		{`{"CODE":1,"opaque":2}`, 0, 0, 0, false},      // a case variant: the full decoder decides
		{`{"co\u0064e":1,"opaque":2}`, 0, 0, 0, false}, // an escaped key
		{`{"code":1.5,"opaque":2}`, 0, 0, 0, false},    // not an integer
		{`{"code":70000,"opaque":2}`, 0, 0, 0, false},  // out of int16
		{`{"code":1,"opaque":2`, 0, 0, 0, false},       // truncated
		{`{"code":1,"opaque":2} x`, 0, 0, 0, false},    // trailing text
		{`[1]`, 0, 0, 0, false},
	}
	for _, c := range cases {
		code, opaque, flag, ok := peekHeader([]byte(c.h))
		if ok != c.ok || ok && (int64(code) != c.code || int64(opaque) != c.opaque || int64(flag) != c.flag) {
			t.Errorf("%s: got %d %d %d %v", c.h, code, opaque, flag, ok)
		}
	}
}

func TestExtFields(t *testing.T) {
	got := map[string]string{}
	ok := ExtFields([]byte(`{"code":0,"extFields":{"msgId":"7F00","queueOffset":"5"},"flag":1,"opaque":1}`), func(k, v []byte) { got[string(k)] = string(v) })
	if !ok || got["msgId"] != "7F00" || got["queueOffset"] != "5" || len(got) != 2 {
		t.Fatalf("%v %v", ok, got)
	}
	for _, h := range []string{`{"extFields":{"a":"b\"c"}}`, `{"extFields":{"a":1}}`, `{"ExtFields":{"a":"b"}}`, `{"extFields":{"a":"b"`} {
		if ExtFields([]byte(h), func(k, v []byte) {}) {
			t.Errorf("%s accepted", h)
		}
	}
	if !ExtFields([]byte(`{"code":0,"opaque":1}`), func(k, v []byte) { t.Error("no fields expected") }) {
		t.Error("a header without extFields")
	}
}

// Whatever wire encodes, the fast path reads the same code, opaque and flag as the decoder.
func TestPeekHeaderAgreesWithWire(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		cmd := &wire.Command{Code: int16(r.IntN(1 << 16)), Opaque: int32(r.Uint32()), Flag: int32(r.IntN(4)), Remark: randText(r)}
		for range r.IntN(5) {
			cmd.SetExt(randText(r), randText(r))
		}
		frame := wire.AppendFrame(nil, cmd)
		payload := frame[4:]
		hlen := int(binary.BigEndian.Uint32(payload) & 0xFFFFFF)
		code, opaque, flag, ok := peekHeader(payload[4 : 4+hlen])
		if !ok {
			t.Fatalf("wire's own header rejected: %s", payload[4:4+hlen])
		}
		if code != cmd.Code || opaque != cmd.Opaque || flag != cmd.Flag {
			t.Fatalf("peek %d %d %d, sent %d %d %d", code, opaque, flag, cmd.Code, cmd.Opaque, cmd.Flag)
		}
		seen := 0
		plain := ExtFields(payload[4:4+hlen], func(k, v []byte) {
			seen++
			if cmd.Ext(string(k)) != string(v) {
				t.Fatalf("ext %q = %q, sent %q", k, v, cmd.Ext(string(k)))
			}
		})
		if plain && seen != cmd.ExtLen() {
			t.Fatalf("saw %d of %d fields", seen, cmd.ExtLen())
		}
	}
}

func randText(r *rand.Rand) string {
	const chars = "ab\"\\\x01\x02 {}[],:é"
	n := r.IntN(6)
	b := make([]rune, 0, n)
	for range n {
		b = append(b, []rune(chars)[r.IntN(len([]rune(chars)))])
	}
	return string(b) + strconv.Itoa(r.IntN(3))
}

// FuzzPeekHeader: the fast path never panics, and whenever both it and the full decoder accept a
// header they agree on code, opaque and flag.
func FuzzPeekHeader(f *testing.F) {
	f.Add([]byte(`{"code":0,"language":"GO","version":407,"opaque":12,"flag":1,"extFields":{"msgId":"A"}}`))
	f.Add([]byte(`{"code":17,"extFields":{"a":"{\"x\":1}"},"flag":1,"opaque":-5,"remark":"x"}`))
	f.Add([]byte(`{"code":1,"opaque":2,"x":[1,{"y":[]},"]"],"flag":1}`))
	f.Fuzz(func(t *testing.T, h []byte) {
		code, opaque, flag, ok := peekHeader(h)
		_ = ExtFields(h, func(k, v []byte) {})
		if !ok {
			return
		}
		payload := binary.BigEndian.AppendUint32(nil, uint32(len(h)))
		cmd, err := wire.DecodeCommand(append(payload, h...))
		if err != nil {
			return
		}
		if cmd.Code != code || cmd.Opaque != opaque || cmd.Flag != flag {
			t.Fatalf("%s: fast %d %d %d, full %d %d %d", h, code, opaque, flag, cmd.Code, cmd.Opaque, cmd.Flag)
		}
	})
}
