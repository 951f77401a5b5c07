package mmap

import "time"

// Flush policies.
const (
	FlushAsync = "async"
	FlushSync  = "sync"
)

// Config of the mmap store. Sizes are bytes.
type Config struct {
	// Dir holds commitlog/, consumequeue/ and the checkpoint.
	Dir string `koanf:"dir"`
	// SegmentSize is the size of each commit-log segment file.
	SegmentSize int64 `koanf:"segmentSize"`
	// ConsumeQueueUnits is the number of 20-byte units per consume-queue file.
	ConsumeQueueUnits int `koanf:"consumeQueueUnits"`
	// Flush is "async" (page cache, background flush) or "sync" (answer after the disk has it).
	Flush string `koanf:"flush"`
	// FlushInterval is the async background flush period.
	FlushInterval time.Duration `koanf:"flushInterval"`
	// SyncFlushTimeout bounds how long a sync-flush append waits for the disk.
	SyncFlushTimeout time.Duration `koanf:"syncFlushTimeout"`
	// MaxMessageSize refuses records larger than this.
	MaxMessageSize int `koanf:"maxMessageSize"`
}

// Defaults returns RocketMQ-like defaults rooted at dir.
func Defaults() Config {
	return Config{
		Dir:               "./data/store",
		SegmentSize:       1 << 30,
		ConsumeQueueUnits: 300_000,
		Flush:             FlushAsync,
		FlushInterval:     500 * time.Millisecond,
		SyncFlushTimeout:  5 * time.Second,
		MaxMessageSize:    4<<20 + 64<<10,
	}
}
