package wire

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"testing"
)

// wireNormal is what a command looks like after a trip through AppendFrame and DecodeCommand:
// an empty language is written as GO, the binary form knows only RocketMQ's language names,
// and an empty body or extFields map may come back nil.
func wireNormal(c *Command) Command {
	n := *c
	if n.Language == "" {
		n.Language = LanguageGo
	}
	if n.Serialize == SerializeRocketMQ {
		n.Language = languageName(languageCode(n.Language))
	}
	if len(n.Body) == 0 {
		n.Body = nil
	}
	return n
}

func sameCommand(a, b *Command) bool {
	return a.Code == b.Code && a.Language == b.Language && a.Version == b.Version &&
		a.Opaque == b.Opaque && a.Flag == b.Flag && a.Remark == b.Remark &&
		maps.Equal(a.ExtMap(), b.ExtMap()) && bytes.Equal(a.Body, b.Body) && a.Serialize == b.Serialize
}

// checkCommandRoundTrip encodes a decoded command and fails t unless it decodes to the same
// values again.
func checkCommandRoundTrip(t *testing.T, cmd *Command) {
	t.Helper()
	frame := AppendFrame(nil, cmd)
	payload, err := ReadFrame(bytes.NewReader(frame), len(frame), nil)
	if err != nil {
		t.Fatalf("reading back own frame: %v", err)
	}
	back, err := DecodeCommand(payload)
	if err != nil {
		t.Fatalf("decoding own frame %q: %v", frame, err)
	}
	want := wireNormal(cmd)
	if !sameCommand(back, &want) {
		t.Fatalf("round trip changed the command\n got %+v\nwant %+v", back, want)
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		cmd, err := DecodeCommand(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		checkCommandRoundTrip(t, cmd)
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte, limit uint16) {
		r := bytes.NewReader(stream)
		for {
			before := r.Len()
			payload, err := ReadFrame(r, int(limit), nil)
			var tl *FrameTooLargeError
			switch {
			case err == nil:
				if before-r.Len() != 4+len(payload) {
					t.Fatalf("consumed %d bytes for a payload of %d", before-r.Len(), len(payload))
				}
				if cmd, err := DecodeCommand(payload); err == nil {
					checkCommandRoundTrip(t, cmd)
				} else if !errors.Is(err, ErrMalformed) {
					t.Fatalf("decode error %v is not ErrMalformed", err)
				}
			case errors.As(err, &tl):
				if !errors.Is(err, ErrFrameTooLarge) || before-r.Len() != 4 {
					t.Fatalf("too large: %v after consuming %d bytes", err, before-r.Len())
				}
				if _, err := io.CopyN(io.Discard, r, int64(tl.Length)); err != nil {
					return // the oversized frame was cut short
				}
			case err == io.EOF:
				if before != 0 {
					t.Fatalf("io.EOF with %d bytes unread", before)
				}
				return
			case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrMalformed):
				return
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
