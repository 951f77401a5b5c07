package mmap

import (
	"fmt"
	"time"
)

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
	// FlushInterval is the async background flush period: each tick flushes whatever is dirty.
	FlushInterval time.Duration `koanf:"flushInterval"`
	// FlushDirtyThreshold (bytes) is how much unflushed log data wakes the async flusher before
	// its tick. RocketMQ wakes it at 4 pages, which under load means an fdatasync every few
	// messages. Each fdatasync also costs the appender: pages it copied small appends into are
	// write-protected again and fault on the next copy, and a pwrite beside a running writeback
	// copies slower. `rocketgo bench store` (1 KiB, one writer, this 2-core VM, runs interleaved):
	// 16 KiB -> 4 MiB took batch-1 appends from 231k to 263-443k msgs/s (a wide spread), and
	// 64 MiB to 436-480k at 3.3-4.5 µs of CPU per message (4 MiB: 3.4-6.8); batch 128 used
	// 1.12-1.23 µs instead of 1.28-1.44 at the same or higher rate. 256 MiB gained nothing more
	// and had slow runs. The tick still bounds how long data stays only in the page cache.
	// 0 wakes it after every append.
	FlushDirtyThreshold int64 `koanf:"flushDirtyThreshold"`
	// FullFlushInterval bounds how long anything stays unflushed under async flush, however
	// little; it is also the period of the full checkpoint (consume queues fsynced, recovery
	// start point moved up).
	FullFlushInterval time.Duration `koanf:"fullFlushInterval"`
	// WarmAhead (bytes): once the log end is this close to the end of its segment, a background
	// goroutine makes the next segment (warm.go); 0 leaves segment creation to the appends.
	WarmAhead int64 `koanf:"warmAhead"`
	// SyncFlushTimeout bounds how long a sync-flush append waits for the disk.
	SyncFlushTimeout time.Duration `koanf:"syncFlushTimeout"`
	// MaxMessageSize refuses records larger than this.
	MaxMessageSize int `koanf:"maxMessageSize"`
	// IndexSlots is the number of hash slots of each key index file (4 bytes each).
	IndexSlots int `koanf:"indexSlots"`
	// IndexEntries is the number of 20-byte entries of each key index file; a new file starts
	// when one is full. Slot and entry counts fix the file layout: changing either rebuilds the
	// key index from the commit log at the next start.
	IndexEntries int `koanf:"indexEntries"`

	// Retention (retention.go). FileReservedTime: a commit-log segment last written longer ago
	// than this is deleted at one of the DeleteWhen hours.
	FileReservedTime time.Duration `koanf:"fileReservedTime"`
	// DeleteWhen lists the hours of the day (local time, "00".."23", separated by ';') at which
	// expired segments are deleted, as RocketMQ's deleteWhen.
	DeleteWhen string `koanf:"deleteWhen"`
	// DiskHighWatermark is the fraction of the store's file system in use above which the
	// oldest segments are deleted at once, expired or not (never the last one).
	DiskHighWatermark float64 `koanf:"diskHighWatermark"`
	// DiskCriticalWatermark is the fraction of the file system in use above which appends are
	// refused (storage.ErrUnavailable) until space is free again.
	DiskCriticalWatermark float64 `koanf:"diskCriticalWatermark"`
	// CleanInterval is how often disk use is measured and retention runs.
	CleanInterval time.Duration `koanf:"cleanInterval"`
	// DeleteFilesPerRun caps the segments one retention run deletes.
	DeleteFilesPerRun int `koanf:"deleteFilesPerRun"`
}

// Defaults returns RocketMQ-like defaults rooted at dir.
func Defaults() Config {
	return Config{
		Dir:                 "./data/store",
		SegmentSize:         1 << 30,
		ConsumeQueueUnits:   300_000,
		Flush:               FlushAsync,
		FlushInterval:       500 * time.Millisecond,
		FlushDirtyThreshold: 64 << 20,
		FullFlushInterval:   10 * time.Second,
		SyncFlushTimeout:    5 * time.Second,
		WarmAhead:           32 << 20,
		MaxMessageSize:      4<<20 + 64<<10,
		IndexSlots:          5_000_000,
		IndexEntries:        20_000_000,

		FileReservedTime:      72 * time.Hour,
		DeleteWhen:            "04",
		DiskHighWatermark:     0.75,
		DiskCriticalWatermark: 0.90,
		CleanInterval:         10 * time.Second,
		DeleteFilesPerRun:     10,
	}
}

// validate checks what the store cannot work without.
func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("mmap store: dir is empty")
	case c.SegmentSize < minSegmentSize:
		return fmt.Errorf("mmap store: segmentSize %d is below %d", c.SegmentSize, minSegmentSize)
	case c.ConsumeQueueUnits <= 0:
		return fmt.Errorf("mmap store: consumeQueueUnits %d is not positive", c.ConsumeQueueUnits)
	case c.Flush != FlushAsync && c.Flush != FlushSync:
		return fmt.Errorf("mmap store: flush %q is neither %q nor %q", c.Flush, FlushAsync, FlushSync)
	case c.FlushInterval <= 0:
		return fmt.Errorf("mmap store: flushInterval %v is not positive", c.FlushInterval)
	case c.FlushDirtyThreshold < 0:
		return fmt.Errorf("mmap store: flushDirtyThreshold %d is negative", c.FlushDirtyThreshold)
	case c.FullFlushInterval <= 0:
		return fmt.Errorf("mmap store: fullFlushInterval %v is not positive", c.FullFlushInterval)
	case c.WarmAhead < 0:
		return fmt.Errorf("mmap store: warmAhead %d is negative", c.WarmAhead)
	case c.SyncFlushTimeout <= 0:
		return fmt.Errorf("mmap store: syncFlushTimeout %v is not positive", c.SyncFlushTimeout)
	case c.MaxMessageSize <= 0:
		return fmt.Errorf("mmap store: maxMessageSize %d is not positive", c.MaxMessageSize)
	case c.IndexSlots < 1 || c.IndexSlots > maxIndexCount:
		return fmt.Errorf("mmap store: indexSlots %d is outside 1..%d", c.IndexSlots, maxIndexCount)
	case c.IndexEntries < 2 || c.IndexEntries > maxIndexCount:
		// Entry 0 is never used, so a file needs two to hold one.
		return fmt.Errorf("mmap store: indexEntries %d is outside 2..%d", c.IndexEntries, maxIndexCount)
	}
	return c.validateRetention()
}

// maxIndexCount bounds the slots and entries of an index file: entry numbers are int32, and a
// file of 2^28 of each is already 6 GiB.
const maxIndexCount = 1 << 28

// minSegmentSize keeps segments large enough for a few records and page-aligned bases.
const minSegmentSize = 4096
