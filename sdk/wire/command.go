// Package wire is the codec of RocketMQ's remoting protocol: frames, command headers (JSON and the
// ROCKETMQ binary form), request and response codes, the stored message record, properties, batch
// bodies and message ids. It is shared by the broker, the name server and the SDK, and imports only
// the standard library.
package wire

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
	Code      int16
	Language  string
	Version   int16
	Opaque    int32
	Flag      int32
	Remark    string
	ExtFields map[string]string
	Body      []byte

	// Serialize is how the header arrived; responses are usually encoded the same way.
	Serialize SerializeType
}

// IsResponse reports whether the response bit is set.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether the sender asked for no answer. The Go client never sets it.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// Ext returns an extension field, or "" when it is absent.
func (c *Command) Ext(key string) string {
	if c.ExtFields == nil {
		return ""
	}
	return c.ExtFields[key]
}

// SetExt sets an extension field, allocating the map on first use.
func (c *Command) SetExt(key, value string) {
	if c.ExtFields == nil {
		c.ExtFields = make(map[string]string, 8)
	}
	c.ExtFields[key] = value
}

// NewRequest builds a request with the given code; the caller assigns the opaque.
func NewRequest(code int16, ext map[string]string, body []byte) *Command {
	return &Command{Code: code, Language: LanguageGo, Version: DefaultVersion, ExtFields: ext, Body: body}
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
