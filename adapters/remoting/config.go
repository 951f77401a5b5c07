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
}

// Defaults returns RocketMQ's limits.
func Defaults() Config {
	return Config{
		MaxFrameSize:   16 << 20,
		MaxBodySize:    4 << 20,
		IdleTimeout:    120 * time.Second,
		MaxConnections: 10000,
		WriteTimeout:   10 * time.Second,
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
	return c
}
