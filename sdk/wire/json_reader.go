package wire

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit. The header decoder applies the same one so that
// both agree on which headers are valid (FuzzJSONHeaderDifferential holds them to it).
const maxJSONDepth = 10000

// jsonReader is a cursor over JSON text that validates as it goes. It follows encoding/json's
// reading of the grammar exactly: same whitespace, same escapes, invalid UTF-8 and lone
// surrogates replaced by U+FFFD, same depth limit.
type jsonReader struct {
	b []byte
	i int
	// src is string(b), made on first need: every string without escapes is a substring of it,
	// so a header costs one string allocation however many fields it has.
	src string
}

func (r *jsonReader) errorf(format string, args ...any) error {
	return malformed("json header at byte %d: "+format, append([]any{r.i}, args...)...)
}

func (r *jsonReader) skipSpace() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the byte there without consuming it; 0 at the end, which is
// never valid where a token is expected, so callers need not tell the two apart.
func (r *jsonReader) next() byte {
	r.skipSpace()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// consume skips whitespace and then c, or fails.
func (r *jsonReader) consume(c byte) error {
	if r.next() != c {
		return r.errorf("want %q", c)
	}
	r.i++
	return nil
}

func (r *jsonReader) literal(lit string) error {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		return r.errorf("invalid literal")
	}
	r.i += len(lit)
	return nil
}

// scanString validates the string literal at r.i and moves past it. The content lies in
// b[start:end]; plain reports that it needs no decoding (no escapes, valid UTF-8).
func (r *jsonReader) scanString() (start, end int, plain bool, err error) {
	b := r.b
	i := r.i + 1
	start = i
	plain = true
	ascii := true
	for {
		// The common run: printable ASCII other than quote and backslash.
		i += plainPrefixBytes(b[i:])
		if i >= len(b) {
			r.i = i
			return 0, 0, false, r.errorf("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			if !ascii && plain && !utf8.Valid(b[start:i]) {
				plain = false
			}
			r.i = i + 1
			return start, i, plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				r.i = i
				return 0, 0, false, r.errorf("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(b[i+2:]) < 0 {
					r.i = i
					return 0, 0, false, r.errorf(`invalid \u escape`)
				}
				i += 6
			default:
				r.i = i
				return 0, 0, false, r.errorf("invalid escape %q", b[i+1])
			}
		case c < 0x20:
			r.i = i
			return 0, 0, false, r.errorf("control byte %#x in string", c)
		default:
			ascii = false
			i++
		}
	}
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var v rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		v = v<<4 | rune(c)
	}
	return v
}

// stringAt returns the string scanString found.
func (r *jsonReader) stringAt(start, end int, plain bool) string {
	switch {
	case start == end:
		return ""
	case plain:
		if r.src == "" {
			r.src = string(r.b)
		}
		return r.src[start:end]
	default:
		return unescapeJSON(r.b[start:end])
	}
}

// readString reads a string literal at r.i.
func (r *jsonReader) readString() (string, error) {
	start, end, plain, err := r.scanString()
	if err != nil {
		return "", err
	}
	return r.stringAt(start, end, plain), nil
}

// unescapeJSON decodes the content of a string literal that scanString validated. Like
// encoding/json it turns invalid UTF-8 and unpaired surrogates into U+FFFD rather than failing.
func unescapeJSON(s []byte) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				rr := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(rr) {
					// A pair only if a \u escape follows that completes it; otherwise the
					// following escape stands on its own.
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[i+2:])); dec != utf8.RuneError {
							sb.WriteRune(dec)
							i += 6
							continue
						}
					}
					rr = utf8.RuneError
				}
				sb.WriteRune(rr)
				continue
			default: // '"', '\\', '/'
				sb.WriteByte(s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(s) && s[j] != '\\' && s[j] < utf8.RuneSelf {
				j++
			}
			sb.Write(s[i:j])
			i = j
		default:
			rr, size := utf8.DecodeRune(s[i:])
			sb.WriteRune(rr) // RuneError for invalid bytes, one per byte
			i += size
		}
	}
	return sb.String()
}

// readInt reads an integer literal that must lie in [lo, hi]. As with encoding/json decoding into
// an int, a fraction or exponent is an error even when the value is whole.
func (r *jsonReader) readInt(lo, hi int64) (int64, error) {
	b := r.b
	i := r.i
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) || b[i] < '0' || b[i] > '9' {
		return 0, r.errorf("invalid number")
	}
	var u uint64
	if b[i] == '0' {
		i++
	} else {
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if u > (1<<63)/10 {
				return 0, r.errorf("number out of range")
			}
			u = u*10 + uint64(b[i]-'0')
		}
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, r.errorf("number is not an integer")
	}
	if u > 1<<63 || (!neg && u == 1<<63) {
		return 0, r.errorf("number out of range")
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if v < lo || v > hi {
		return 0, r.errorf("number %d out of range [%d, %d]", v, lo, hi)
	}
	r.i = i
	return v, nil
}

// skipNumber validates and skips a number of any form.
func (r *jsonReader) skipNumber() error {
	b := r.b
	i := r.i
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return r.errorf("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return r.errorf("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return r.errorf("invalid number")
		}
	}
	r.i = i
	return nil
}

// skipValue validates and skips one value of any kind; depth is the nesting level of the
// container it sits in. It loops instead of recursing, so hostile nesting costs a byte of
// stack per level, not a call frame.
func (r *jsonReader) skipValue(depth int) error {
	var stackBuf [32]byte
	open := stackBuf[:0] // '{' or '[' per open container
	for {
		// At the start of a value.
		switch c := r.next(); c {
		case '{', '[':
			if depth+len(open)+1 > maxJSONDepth {
				return r.errorf("nesting deeper than %d", maxJSONDepth)
			}
			r.i++
			open = append(open, c)
			if closer := c + 2; r.next() == closer { // '{'+2 == '}', '['+2 == ']'
				r.i++
				open = open[:len(open)-1]
			} else {
				if c == '{' {
					if err := r.skipKey(); err != nil {
						return err
					}
				}
				continue
			}
		case '"':
			if _, _, _, err := r.scanString(); err != nil {
				return err
			}
		case 't':
			if err := r.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := r.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := r.literal("null"); err != nil {
				return err
			}
		default:
			if err := r.skipNumber(); err != nil {
				return err
			}
		}
		// After a value: close containers until one continues with a comma.
		for {
			if len(open) == 0 {
				return nil
			}
			top := open[len(open)-1]
			c := r.next()
			if c == top+2 {
				r.i++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				return r.errorf("want ',' or %q", top+2)
			}
			r.i++
			if top == '{' {
				if err := r.skipKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// skipKey skips an object key and its colon.
func (r *jsonReader) skipKey() error {
	if r.next() != '"' {
		return r.errorf("want object key")
	}
	if _, _, _, err := r.scanString(); err != nil {
		return err
	}
	return r.consume(':')
}
