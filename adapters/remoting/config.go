package remoting

import "time"

// Config holds the transport's limits. Sizes are bytes. A zero duration or count disables that
// limit; a zero size falls back to Defaults, because a zero-byte limit would refuse everything.
type Config struct {
	// MaxFrameSize refuses frames over this many bytes, length word included (RocketMQ's 16 MiB).
	MaxFrameSize int `koanf:"maxFrameSize"`
	// MaxBodySize refuses request bodies over this many bytes (RocketMQ's 4 MiB message limit).
	MaxBodySize int `koanf:"maxBodySize"`
	// IdleTimeout closes a connection that has sent nothing for this long.
	IdleTimeout time.Duration `koanf:"idleTimeout"`
	// MaxConnections caps concurrent connections per listener; more are closed at accept.
	MaxConnections int `koanf:"maxConnections"`
	// WriteTimeout bounds one frame write to a slow peer.
	WriteTimeout time.Duration `koanf:"writeTimeout"`
	// MaxPendingWrite caps the answers waiting, while a write to the peer is stuck, to be
	// written to one connection; past it the connection is closed. Without it a peer that
	// sends requests and does not read the answers (large ones: messages by id, topic tables)
	// holds the broker's memory for as long as each stuck write takes.
	MaxPendingWrite int `koanf:"maxPendingWrite"`
}

// Defaults returns RocketMQ's limits.
func Defaults() Config {
	return Config{
		MaxFrameSize:    16 << 20,
		MaxBodySize:     4 << 20,
		IdleTimeout:     120 * time.Second,
		MaxConnections:  10000,
		WriteTimeout:    10 * time.Second,
		MaxPendingWrite: 64 << 20,
	}
}

// normalized fills the sizes a caller left at zero.
func (c Config) normalized() Config {
	d := Defaults()
	if c.MaxFrameSize <= 8 { // not even a frame's two length words
		c.MaxFrameSize = d.MaxFrameSize
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = d.MaxBodySize
	}
	if c.MaxPendingWrite <= 0 {
		c.MaxPendingWrite = d.MaxPendingWrite
	}
	return c
}
