package remoting

import "time"

// Config holds the transport's limits. Sizes are bytes.
type Config struct {
	// MaxFrameSize refuses frames over this many bytes (RocketMQ's 16 MiB).
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
