package wire

import (
	"encoding/json"
	"maps"
	"testing"
)

// refJSONHeader is the header in the struct form encoding/json decodes; it is the reference the
// hand-written decoder must agree with.
type refJSONHeader struct {
	Code      int16             `json:"code"`
	Language  string            `json:"language"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark"`
	ExtFields map[string]string `json:"extFields"`
}

// decodeJSONHeaderRef is the decoder this package used before the hand-written one: reflection,
// but obviously right.
func decodeJSONHeaderRef(b []byte, cmd *Command) error {
	var h refJSONHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return malformed("json header: %v", err)
	}
	cmd.Code, cmd.Language, cmd.Version = h.Code, h.Language, h.Version
	cmd.Opaque, cmd.Flag, cmd.Remark = h.Opaque, h.Flag, h.Remark
	cmd.SetExtMap(h.ExtFields)
	return nil
}

// sameHeader compares everything a header carries, telling a nil extFields from an empty one.
func sameHeader(a, b *Command) bool {
	return a.Code == b.Code && a.Language == b.Language && a.Version == b.Version &&
		a.Opaque == b.Opaque && a.Flag == b.Flag && a.Remark == b.Remark &&
		(a.ExtMap() == nil) == (b.ExtMap() == nil) && maps.Equal(a.ExtMap(), b.ExtMap())
}

// checkJSONHeaderAgainstRef fails t unless both decoders accept or reject b and, when they
// accept, decode the same values.
func checkJSONHeaderAgainstRef(t *testing.T, b []byte) {
	t.Helper()
	var got, want Command
	errGot := decodeJSONHeader(b, &got)
	errWant := decodeJSONHeaderRef(b, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("decoders disagree on %q:\n hand-written: %v\n encoding/json: %v", b, errGot, errWant)
	}
	if errGot != nil {
		if !isMalformed(errGot) {
			t.Fatalf("error %v does not wrap ErrMalformed", errGot)
		}
		return
	}
	if !sameHeader(&got, &want) {
		t.Fatalf("decoders disagree on %q:\n hand-written: %+v\n encoding/json: %+v", b, got, want)
	}
}

// FuzzJSONHeaderDifferential holds the hand-written decoder to encoding/json on any input.
func FuzzJSONHeaderDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkJSONHeaderAgainstRef(t, b)
	})
}
