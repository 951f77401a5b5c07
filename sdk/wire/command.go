// Package wire is the codec of RocketMQ's remoting protocol: frames, command headers (JSON and the
// ROCKETMQ binary form), request and response codes, the stored message record, properties, batch
// bodies and message ids. It is shared by the broker, the name server and the SDK, and imports only
// the standard library.
package wire

import (
	"maps"
	"slices"
)

// Flag bits of a command.
const (
	FlagResponse int32 = 1 << 0 // set on responses
	FlagOneway   int32 = 1 << 1 // the sender will not wait for an answer
)

// SerializeType is the high byte of a frame's header-length word.
type SerializeType byte

// Serialize types.
const (
	SerializeJSON     SerializeType = 0
	SerializeRocketMQ SerializeType = 1
)

// Command is one remoting request or response: the decoded header plus the raw body.
type Command struct {
	Code     int16
	Language string
	Version  int16
	Opaque   int32
	Flag     int32
	Remark   string
	Body     []byte

	// ext holds the extension fields (the header's extFields) in order, each key once: a
	// handful of pairs, which a scan finds as fast as a map lookup, made in one allocation when
	// a header is decoded, where a map costs several and an insertion per field. nil when the
	// header had none or a null, empty when it had {}.
	ext []ExtField

	// Serialize is how the header arrived; responses are usually encoded the same way.
	Serialize SerializeType
}

// IsResponse reports whether the response bit is set.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether the sender asked for no answer. The Go client never sets it.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// ExtField is one extension header field.
type ExtField struct{ Key, Value string }

// Ext returns an extension field, or "" when it is absent.
func (c *Command) Ext(key string) string {
	v, _ := c.LookupExt(key)
	return v
}

// LookupExt returns an extension field and whether it is present.
func (c *Command) LookupExt(key string) (string, bool) {
	for i := range c.ext {
		if c.ext[i].Key == key {
			return c.ext[i].Value, true
		}
	}
	return "", false
}

// SetExt sets an extension field, replacing the value of a key already there.
func (c *Command) SetExt(key, value string) {
	for i := range c.ext {
		if c.ext[i].Key == key {
			c.ext[i].Value = value
			return
		}
	}
	if c.ext == nil {
		c.ext = make([]ExtField, 0, 8)
	}
	c.ext = append(c.ext, ExtField{key, value})
}

// ExtLen is the number of extension fields.
func (c *Command) ExtLen() int { return len(c.ext) }

// RangeExt calls fn with each extension field in order until fn returns false.
func (c *Command) RangeExt(fn func(key, value string) bool) {
	for _, f := range c.ext {
		if !fn(f.Key, f.Value) {
			return
		}
	}
}

// ExtMap returns the extension fields as a new map: nil when the header had none (or null),
// empty when it had an empty object.
func (c *Command) ExtMap() map[string]string {
	if c.ext == nil {
		return nil
	}
	m := make(map[string]string, len(c.ext))
	for _, f := range c.ext {
		m[f.Key] = f.Value
	}
	return m
}

// SetExtMap replaces the extension fields with those of m, in key order; nil clears them.
func (c *Command) SetExtMap(m map[string]string) {
	if m == nil {
		c.ext = nil
		return
	}
	c.ext = make([]ExtField, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c.ext = append(c.ext, ExtField{k, m[k]})
	}
}

// NewRequest builds a request with the given code and extension fields (written in key
// order); the caller assigns the opaque.
func NewRequest(code int16, ext map[string]string, body []byte) *Command {
	c := &Command{Code: code, Language: LanguageGo, Version: DefaultVersion, Body: body}
	c.SetExtMap(ext)
	return c
}

// NewResponse builds the answer to req: same opaque, response bit set.
func NewResponse(req *Command, code int16, remark string) *Command {
	return &Command{
		Code:      code,
		Language:  LanguageGo,
		Version:   DefaultVersion,
		Opaque:    req.Opaque,
		Flag:      FlagResponse,
		Remark:    remark,
		Serialize: req.Serialize,
	}
}

// Languages and versions this codec writes.
const (
	LanguageGo = "GO"
	// DefaultVersion is RocketMQ's V4_9_7 ordinal; clients only check that it is not negative.
	DefaultVersion int16 = 407
)

// extSet collects the extension fields of a header being decoded, the last value of a
// repeated key winning, in time linear in their number: a header may carry thousands of fields
// (a frame may be 16 MiB), and comparing each key with every one before it would let one frame
// hold a connection's reader for minutes. seen (a bit per key length and first byte, keyBit)
// spares the search for a key seen for the first time; past extIndexMin fields a map of
// positions (made here, returned for the next call) replaces the search. A function of values
// rather than a method, so that pairs may live in the caller's stack array.
func extSet(pairs []ExtField, seen uint64, index map[string]int, key, value string) ([]ExtField, uint64, map[string]int) {
	if index != nil {
		if i, ok := index[key]; ok {
			pairs[i].Value = value
			return pairs, seen, index
		}
		index[key] = len(pairs)
		return append(pairs, ExtField{key, value}), seen, index
	}
	bit := keyBit(key)
	if seen&bit != 0 {
		for i := range pairs {
			if pairs[i].Key == key {
				pairs[i].Value = value
				return pairs, seen, index
			}
		}
	}
	pairs = append(pairs, ExtField{key, value})
	if len(pairs) == extIndexMin {
		index = make(map[string]int, 2*extIndexMin)
		for i, f := range pairs {
			index[f.Key] = i
		}
	}
	return pairs, seen | bit, index
}

const extIndexMin = 32

// keyBit is one of 64 bits for key, from its length and first byte.
func keyBit(key string) uint64 {
	h := uint(len(key)) * 7
	if key != "" {
		h += uint(key[0])
	}
	return 1 << (h & 63)
}
