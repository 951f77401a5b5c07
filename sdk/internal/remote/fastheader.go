package remote

import "bytes"

// A fast path for the JSON headers of responses: the read loop finds code, opaque and flag
// without building a Command, and an encoder that implements ResponseDecoder reads the few
// extFields it needs straight from the header text. Anything unusual (escapes in keys, keys in
// another case, a malformed header) makes these functions say no, and the caller falls back to
// wire.DecodeCommand, which handles everything.

// ResponseDecoder is implemented by an Encoder that decodes its own response. DecodeResponse runs
// on the connection's read loop with the response's code and JSON header (it must not block or
// keep header); a nil error completes the call with a nil *wire.Command, an error makes the
// connection decode the response fully and pass the Command as usual.
type ResponseDecoder interface {
	DecodeResponse(code int16, header []byte) error
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type scan struct {
	b []byte
	i int
}

func (s *scan) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *scan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes and returns its contents; ok is false for an
// escaped or unterminated string.
func (s *scan) plainString() ([]byte, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// skipString skips the string at s.i (escapes allowed).
func (s *scan) skipString() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return true
		}
	}
	return false
}

// skipValue skips any JSON value. Numbers and literals are not validated: only the fields the
// fast path reads are, and the rest is the full decoder's business.
func (s *scan) skipValue() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	start := s.i
	for s.i < len(s.b) && !isSpace(s.b[s.i]) && s.b[s.i] != ',' && s.b[s.i] != '}' && s.b[s.i] != ']' {
		s.i++
	}
	return s.i > start
}

// number reads an integer within [lo, hi].
func (s *scan) number(lo, hi int64) (int64, bool) {
	s.ws()
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + int64(s.b[s.i]-'0')
		if v > 1<<40 {
			return 0, false
		}
		s.i++
	}
	if s.i == start {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, v >= lo && v <= hi
}

// object walks the members of the object at s.i, calling member for each key; member must
// consume the value. ok is false on anything it cannot walk plainly.
func (s *scan) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.eat(':') || !member(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

var (
	keyCode   = []byte("code")
	keyOpaque = []byte("opaque")
	keyFlag   = []byte("flag")
	keyExt    = []byte("extFields")
)

// peekHeader reads code, opaque and flag from a JSON header.
func peekHeader(h []byte) (code int16, opaque, flag int32, ok bool) {
	s := scan{b: h}
	var haveCode, haveOpaque bool
	ok = s.object(func(key []byte) bool {
		var v int64
		var good bool
		switch {
		case bytes.Equal(key, keyCode):
			v, good = s.number(-1<<15, 1<<15-1)
			code, haveCode = int16(v), good
		case bytes.Equal(key, keyOpaque):
			v, good = s.number(-1<<31, 1<<31-1)
			opaque, haveOpaque = int32(v), good
		case bytes.Equal(key, keyFlag):
			v, good = s.number(-1<<31, 1<<31-1)
			flag = int32(v)
		case bytes.EqualFold(key, keyCode) || bytes.EqualFold(key, keyOpaque) || bytes.EqualFold(key, keyFlag):
			return false // encoding/json would take these; leave them to the full decoder
		default:
			good = s.skipValue()
		}
		return good
	})
	s.ws()
	return code, opaque, flag, ok && haveCode && haveOpaque && s.i == len(s.b)
}

// ExtFields calls fn with each extFields entry of a JSON header whose key and value are plain
// strings. It returns false (fn may have seen some entries) when the header has anything else
// there (escapes, non-string values, other key spellings), so that the caller can fall back to
// the full decoder. The slices are only valid during the call.
func ExtFields(h []byte, fn func(key, value []byte)) bool {
	s := scan{b: h}
	return s.object(func(key []byte) bool {
		if !bytes.Equal(key, keyExt) {
			if bytes.EqualFold(key, keyExt) {
				return false
			}
			return s.skipValue()
		}
		return s.object(func(k []byte) bool {
			v, ok := s.plainString()
			if ok {
				fn(k, v)
			}
			return ok
		})
	})
}
