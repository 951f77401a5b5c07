package wire

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// jsonHeaderCases are headers whose treatment is easy to get wrong; every one is also run
// through the encoding/json reference and seeds FuzzJSONHeaderDifferential.
var jsonHeaderCases = []string{
	// §1.2, the first frame the Go producer sends, and a Java answer (sorted keys, extra key).
	`{"code":105,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"topic":"TopicTest"}}`,
	`{"code":0,"extFields":{"msgId":"7F00000100002A9F0000000000000000","queueId":"1","queueOffset":"0"},"flag":1,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":407}`,
	sendMessageHeader,
	// Integer ranges and forms.
	`{"code":32767,"version":-32768,"opaque":2147483647,"flag":-2147483648}`,
	`{"code":32768}`, `{"code":-32769}`, `{"version":40000}`, `{"opaque":2147483648}`, `{"flag":-2147483649}`,
	`{"code":99999999999999999999}`, `{"code":-9223372036854775808}`, `{"code":9223372036854775808}`,
	`{"code":1.0}`, `{"code":1e2}`, `{"code":-0}`, `{"code":01}`, `{"code":-}`, `{"code":"10"}`, `{"code":true}`,
	`{"code":[]}`, `{"code":{}}`, `{"code":null}`, `{"code":1,"code":null}`, `{"code":1,"code":2}`,
	// Strings.
	`{"language":null,"remark":null}`, `{"language":"GO","language":null}`, `{"remark":7}`, `{"remark":false}`,
	`{"remark":"a\"b\\c\/d\b\f\n\r\t"}`, `{"remark":"\u00e9\u4e2d"}`, `{"remark":"\ud83d\ude00"}`,
	`{"remark":"\ud83d"}`, `{"remark":"\ude00\ud83d"}`, `{"remark":"\ud83d\u0041"}`, `{"remark":"\ud83d\ud83d\ude00"}`,
	`{"remark":"\ud83dx"}`, `{"remark":"\u12"}`, `{"remark":"\u12g4"}`, `{"remark":"\'"}`, `{"remark":"\x41"}`,
	"{\"remark\":\"raw\x01control\"}", "{\"remark\":\"bad\xffutf8\xed\xa0\x80\"}", "{\"remark\":\"tab\tinside\"}",
	`{"remark":"unterminated}`, `{"remark":"ends with backslash\`,
	// extFields.
	`{"extFields":{}}`, `{"extFields":null}`, `{"extFields":{"a":null}}`, `{"extFields":{"a":1}}`,
	`{"extFields":{"a":true}}`, `{"extFields":{"a":{}}}`, `{"extFields":{"a":["x"]}}`, `{"extFields":"x"}`,
	`{"extFields":[]}`, `{"extFields":{"a":"1"},"extFields":{"b":"2"}}`, `{"extFields":{"a":"1"},"extFields":null}`,
	`{"extFields":{"a":"1","a":"2"}}`, `{"extFields":{"\u0001k":"v\u0002"}}`, `{"extFields":{"a":"1",}}`,
	`{"extFields":{"a" "1"}}`, `{"extFields":{a:"1"}}`, `{"extFields":{0:"x"}}`,
	// Key matching follows encoding/json: exact, then Unicode case folding.
	`{"CODE":3,"Language":"x","EXTFIELDS":{"k":"v"}}`, "{\"ver\u017fion\":5}", `{"\u0063ode":9}`,
	"{\"extF\u0130elds\":{\"k\":\"v\"}}", `{"cod":1,"codee":2}`,
	// Unknown keys carry any valid value, which must still be valid.
	`{"x":{"a":[1,2,{"b":null}],"c":-1.5e+10,"d":true,"e":false,"f":"s"},"code":5}`, `{"x":[]}`, `{"x":{}}`,
	`{"x":1.}`, `{"x":.5}`, `{"x":1e}`, `{"x":-01}`, `{"x":0.5E-3}`, `{"x":[1,]}`, `{"x":[1 2]}`, `{"x":{"a"}}`,
	`{"x":{"a":1,}}`, `{"x":tru}`, `{"x":nul}`, `{"x":[}`, `{"x":{]}`, `{"x":"\q"}`,
	// Document level.
	`null`, ` null `, `{}`, " \t\r\n{} \n", `[]`, `"x"`, `1`, `true`, ``, ` `, `{`, `}`, `{}{}`, `{} x`,
	`{"code":1}}`, `{"code":1,}`, `{,}`, `{"code" 1}`, `{"code":1 "flag":2}`, "\xef\xbb\xbf{}", "{}\x00",
}

func TestJSONHeaderMatchesEncodingJSON(t *testing.T) {
	for _, c := range jsonHeaderCases {
		checkJSONHeaderAgainstRef(t, []byte(c))
	}
}

func TestJSONHeaderNestingLimit(t *testing.T) {
	// The top-level object is level 1, so maxJSONDepth-1 arrays fit and one more does not.
	for _, n := range []int{maxJSONDepth - 1, maxJSONDepth} {
		h := `{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
		checkJSONHeaderAgainstRef(t, []byte(h))
	}
}

func TestJSONHeaderDecodesFields(t *testing.T) {
	var c Command
	if err := decodeJSONHeader([]byte(sendMessageHeader), &c); err != nil {
		t.Fatal(err)
	}
	if c.Code != SendMessage || c.Language != "GO" || c.Version != 317 || c.Opaque != 3 || c.Flag != 0 || c.Remark != "" {
		t.Fatalf("header fields: %+v", c)
	}
	if c.ExtLen() != 13 || c.Ext("topic") != "TopicTest" || c.Ext("queueId") != "1" {
		t.Fatalf("extFields: %v", c.ExtMap())
	}
	if p := c.Ext("properties"); p != "KEYS\x01k1\x02UNIQ_KEY\x01C000020250390000000067eb60d80001\x02TAGS\x01TagA\x02" {
		t.Fatalf("properties %q", p)
	}
}

func TestJSONHeaderRejects(t *testing.T) {
	for _, h := range []string{
		`{"code":32768}`,
		`{"code":-32769}`,
		`{"extFields":{"queueId":1}}`,
		`{"extFields":{"batch":false}}`,
		`{"extFields":{"k":{"nested":"x"}}}`,
	} {
		var c Command
		if err := decodeJSONHeader([]byte(h), &c); !isMalformed(err) {
			t.Errorf("%s: got %v, want ErrMalformed", h, err)
		}
	}
}

func TestAppendJSONStringEscapes(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 0x20; c++ {
		all.WriteByte(byte(c))
	}
	tests := []struct{ in, want string }{
		{"KEYS\x01k1\x02", `"KEYS\u0001k1\u0002"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`},
		{"q\"b\\s/", `"q\"b\\s/"`},
		{"\n\r\t", `"\n\r\t"`},
		{"é中😀", `"é中😀"`},
		{"bad\xff", `"bad\ufffd"`},
		{"", `""`},
	}
	for _, tc := range tests {
		if got := string(AppendJSONString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Every control byte must come back through encoding/json unchanged.
	for _, s := range []string{all.String(), "KEYS\x01k1\x02UNIQ_KEY\x01C0000202\x02", "mixed \x05 é \x1b[0m"} {
		enc := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || back != s {
			t.Errorf("%q encoded as %s decodes to %q, %v", s, enc, back, err)
		}
		for _, c := range enc {
			if c < 0x20 {
				t.Errorf("%s holds raw control byte %#x", enc, c)
			}
		}
	}
}

// A key repeated inside extFields, or in a second extFields member, keeps its last value and
// appears once, as encoding/json's map would have it.
func TestJSONHeaderRepeatedExtKeys(t *testing.T) {
	for _, h := range []string{
		`{"extFields":{"a":"1","b":"2","a":"3"}}`,
		`{"extFields":{"a":"1","b":"2"},"extFields":{"a":"3"}}`,
		`{"extFields":{"topic":"x","tag":"2","topic":"y","a":"3"}}`, // same first byte, other lengths
	} {
		var c Command
		if err := decodeJSONHeader([]byte(h), &c); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		want := map[string]string{}
		var ref struct{ ExtFields map[string]string }
		if err := json.Unmarshal([]byte(h), &ref); err != nil {
			t.Fatal(err)
		}
		maps.Copy(want, ref.ExtFields)
		if got := c.ExtMap(); !maps.Equal(got, want) || c.ExtLen() != len(want) {
			t.Fatalf("%s: decoded %v (%d fields), encoding/json %v", h, got, c.ExtLen(), want)
		}
	}
}

// manyExtFieldsHeader is a JSON header with n distinct extension keys, every tenth one repeated
// later with another value, as a hostile client might send to make decoding quadratic.
func manyExtFieldsHeader(n int) []byte {
	b := []byte(`{"code":10,"extFields":{`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"k%x":"v%d"`, i, i)
	}
	for i := 0; i < n; i += 10 {
		b = fmt.Appendf(b, `,"k%x":"w%d"`, i, i)
	}
	return append(b, "}}"...)
}

// Thousands of extension fields, repeats included, decode as encoding/json decodes them, JSON
// and binary alike (and in linear time: BenchmarkDecodeManyExtFields).
func TestManyExtFields(t *testing.T) {
	h := manyExtFieldsHeader(50_000)
	var c Command
	if err := decodeJSONHeader(h, &c); err != nil {
		t.Fatal(err)
	}
	var ref struct{ ExtFields map[string]string }
	if err := json.Unmarshal(h, &ref); err != nil {
		t.Fatal(err)
	}
	if got := c.ExtMap(); !maps.Equal(got, ref.ExtFields) || c.ExtLen() != len(ref.ExtFields) {
		t.Fatalf("JSON: %d fields decoded, encoding/json has %d", c.ExtLen(), len(ref.ExtFields))
	}
	var bin Command
	if err := decodeBinaryHeader(appendBinaryHeader(nil, &c), &bin); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(bin.ExtMap(), ref.ExtFields) {
		t.Fatal("binary round trip lost fields")
	}
}

func BenchmarkDecodeManyExtFields(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		h := manyExtFieldsHeader(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(h)))
			for b.Loop() {
				var c Command
				if err := decodeJSONHeader(h, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
