package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// firstProducerHeader is the header of the frame of REMOTING.md §1.2: the first request the Go producer sends
// to the name server, 116 bytes.
const firstProducerHeader = `{"code":105,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"topic":"TopicTest"}}`

func firstProducerFrame(t testing.TB) []byte {
	t.Helper()
	return append(unhex(t, "00000070 0000006c"), firstProducerHeader...)
}

func TestFirstProducerFrame(t *testing.T) {
	frame := firstProducerFrame(t)
	if len(frame) != 116 {
		t.Fatalf("test vector is %d bytes, want 116", len(frame))
	}
	r := bytes.NewReader(frame)
	payload, err := ReadFrame(r, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) != 112 || r.Len() != 0 {
		t.Fatalf("payload %d bytes, %d left in reader", len(payload), r.Len())
	}
	cmd, err := DecodeCommand(payload)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Code != 105 || cmd.Opaque != 1 || cmd.Flag != 0 ||
		cmd.Language != "GO" || cmd.Version != 317 || cmd.Serialize != SerializeJSON || cmd.Body != nil {
		t.Fatalf("decoded %+v", cmd)
	}
	if cmd.ExtLen() != 1 || cmd.Ext("topic") != "TopicTest" {
		t.Fatalf("extFields %v", cmd.ExtMap())
	}
	if _, err := ReadFrame(r, 0, nil); err != io.EOF {
		t.Fatalf("read past the last frame: %v, want io.EOF", err)
	}
}

func sampleCommand(st SerializeType) *Command {
	c := &Command{
		Code:      SendMessage,
		Language:  "JAVA",
		Version:   407,
		Opaque:    -7,
		Flag:      FlagResponse | FlagOneway,
		Remark:    "remark with \"quotes\", \\, é and \x01",
		Body:      []byte("Hello RocketMQ"),
		Serialize: st,
	}
	c.SetExtMap(map[string]string{"topic": "TopicTest", "properties": "KEYS\x01k1\x02TAGS\x01TagA\x02", "empty": "", "ü": "\x00"})
	return c
}

func TestFrameRoundTrip(t *testing.T) {
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		want := sampleCommand(st)
		frame := AppendFrame([]byte("prefix"), want)
		if string(frame[:6]) != "prefix" {
			t.Fatal("AppendFrame overwrote dst")
		}
		frame = frame[6:]
		if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 {
			t.Fatalf("type %d: length word %d, frame %d", st, got, len(frame))
		}
		if got := SerializeType(frame[4]); got != st {
			t.Fatalf("serialize type byte %d, want %d", got, st)
		}
		payload, err := ReadFrame(bytes.NewReader(frame), len(frame), make([]byte, 0, 1024))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCommand(payload)
		if err != nil {
			t.Fatalf("type %d: %v", st, err)
		}
		if !sameHeader(got, want) || !bytes.Equal(got.Body, want.Body) || got.Serialize != st {
			t.Fatalf("type %d round trip\n got %+v\nwant %+v", st, got, want)
		}
	}
}

func TestFrameRoundTripEmpty(t *testing.T) {
	// No body, no remark, no extFields: the smallest commands either codec writes.
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		frame := AppendFrame(nil, &Command{Code: HeartBeat, Language: LanguageGo, Serialize: st})
		got, err := DecodeCommand(frame[4:])
		if err != nil {
			t.Fatal(err)
		}
		if got.Code != HeartBeat || got.Language != LanguageGo || got.Body != nil || got.ExtLen() != 0 || got.Remark != "" {
			t.Fatalf("type %d: %+v", st, got)
		}
	}
}

func TestReadFrameTooLarge(t *testing.T) {
	frame := AppendFrame(nil, sampleCommand(SerializeJSON))
	r := bytes.NewReader(frame)
	_, err := ReadFrame(r, 10, nil)
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want *FrameTooLargeError", err)
	}
	if tl.Length != len(frame)-4 || tl.Limit != 10 {
		t.Fatalf("error carries %+v", tl)
	}
	// Only the length word was consumed: the caller can still skip the payload.
	if r.Len() != len(frame)-4 {
		t.Fatalf("%d bytes left, want %d", r.Len(), len(frame)-4)
	}
	// The default limit applies when none is given.
	huge := binary.BigEndian.AppendUint32(nil, DefaultMaxFrame+1)
	if _, err := ReadFrame(bytes.NewReader(huge), 0, nil); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("default limit: got %v", err)
	}
}

func TestReadFrameMalformedLength(t *testing.T) {
	for _, n := range []uint32{0, 3, 0x80000000, 0xFFFFFFFF} {
		b := binary.BigEndian.AppendUint32(nil, n)
		b = append(b, make([]byte, 8)...)
		if _, err := ReadFrame(bytes.NewReader(b), 1<<20, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %#x: got %v, want ErrMalformed", n, err)
		}
	}
}

func TestReadFrameTruncated(t *testing.T) {
	frame := AppendFrame(nil, sampleCommand(SerializeJSON))
	for _, n := range []int{1, 3, 4, 9, len(frame) - 1} {
		_, err := ReadFrame(bytes.NewReader(frame[:n]), 0, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: got %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestDecodeCommandMalformed(t *testing.T) {
	header := []byte(`{"code":1}`)
	cases := map[string][]byte{
		"short payload":          {0, 0, 0},
		"header beyond payload":  append(binary.BigEndian.AppendUint32(nil, uint32(len(header)+1)), header...),
		"header length 24 bits":  append(binary.BigEndian.AppendUint32(nil, 0x00FFFFFF), header...),
		"unknown serialize type": append(binary.BigEndian.AppendUint32(nil, 2<<24|uint32(len(header))), header...),
		"empty json header":      binary.BigEndian.AppendUint32(nil, 0),
		"short binary header":    append(binary.BigEndian.AppendUint32(nil, 1<<24|3), 1, 2, 3),
	}
	for name, payload := range cases {
		if _, err := DecodeCommand(payload); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestBinaryHeaderMalformed(t *testing.T) {
	gc := &Command{Code: 1, Remark: "r"}
	gc.SetExt("k", "v")
	good := appendBinaryHeader(nil, gc)
	var c Command
	if err := decodeBinaryHeader(good, &c); err != nil || c.Ext("k") != "v" || c.Remark != "r" {
		t.Fatalf("good header: %v %+v", err, c)
	}
	// Every truncation must fail cleanly.
	for n := 0; n < len(good); n++ {
		var c Command
		if err := decodeBinaryHeader(good[:n], &c); !errors.Is(err, ErrMalformed) {
			t.Errorf("cut at %d: got %v", n, err)
		}
	}
	// Negative remark length.
	bad := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(bad[13:], 0xFFFFFFFF)
	if err := decodeBinaryHeader(bad, &c); !errors.Is(err, ErrMalformed) {
		t.Errorf("negative remark length: %v", err)
	}
}

// A frame's declared length is not trusted with memory: a peer that declares 16 MiB and sends
// a hundred bytes makes the reader hold about 64 KiB, not 16 MiB (found in review: a connection
// could pin the whole declared size, ten thousand connections 160 GiB). Large frames still read
// whole, however the bytes come.
func TestReadFrameCommitsMemoryAsBytesArrive(t *testing.T) {
	var stream []byte
	stream = binary.BigEndian.AppendUint32(stream, DefaultMaxFrame)
	stream = append(stream, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(stream), 0, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a frame cut short: %v, want io.ErrUnexpectedEOF", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading 100 bytes of a frame that declares %d allocated %d bytes", DefaultMaxFrame, grew)
	}

	payload := make([]byte, 3<<20+5)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	var frame []byte
	frame = binary.BigEndian.AppendUint32(frame, uint32(len(payload)))
	frame = append(frame, payload...)
	got, err := ReadFrame(iotest.HalfReader(bytes.NewReader(frame)), 0, make([]byte, 0, 1000))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("a 3 MiB frame read in halves: %d bytes, equal %v, %v", len(got), bytes.Equal(got, payload), err)
	}
}
