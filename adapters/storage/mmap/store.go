// Package mmap is the file-backed message store: one commit log of fixed-size segments holding
// records in RocketMQ's stored layout, consume queues of 20-byte units per topic and queue, and
// a checkpoint. Reads go through shared mappings; the log is written with pwrite (segment.go),
// the queues and the key index through their mappings, only into blocks reserved first
// (reserve.go).
//
// Append encodes a batch under one lock, writes it to the log, then writes the batch's units to
// the consume queues (the dispatch is synchronous, so a unit is readable once its record is), and
// publishes the new log and queue ends. The flusher (flush.go) makes the log durable: group
// commit for sync flush, a dirty threshold and intervals for async flush. Reads verify every
// record (stored offset, layout, body CRC) before handing it out.
//
// Start after a clean stop trusts the checkpoint and reads no record. After a crash, recovery
// (recover.go) verifies the log from the checkpoint on, skips corrupt records in the middle,
// cuts a torn tail and rebuilds the consume-queue units past the checkpoint.
package mmap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/internal/durable"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

var _ storage.MessageStore = (*Store)(nil)

// Store is the mmap message store. Create it with New, open it with Start, close it with Stop.
//
// Lock order: ckMu, then mu, then qmu, then a queue's mu; segMu and fmu are leaves.
type Store struct {
	cfg     Config
	log     *zap.Logger
	clDir   string
	cqDir   string
	maxSize int // effective record size limit

	// Append state, guarded by mu.
	mu       sync.Mutex
	state    int // stateNew, stateStarting, stateOpen, stateClosed
	writePos int64
	lastTS   int64
	blanks   []byte // headers of the blank records of the batches being written
	wbuf     []byte // small chunks copied together for one write
	chunks   []chunk
	touched  []*cqueue

	batches sync.Pool // *batch: encode buffers (encode.go)
	comb    combiner  // combine.go

	committed atomic.Int64 // end of the readable log; everything below is written and indexed

	segMu     sync.RWMutex
	segs      []*segment // contiguous, ascending
	segClosed bool

	qmu     sync.RWMutex
	queues  map[topic.QueueRef]*cqueue
	qClosed bool

	arrivals atomic.Pointer[[]storage.ArrivalFunc]
	failure  atomic.Pointer[error] // set once a write or flush failed: the store refuses writes

	keys atomic.Pointer[keyIndex] // set by recovery; keyIndex.mu comes after mu and ckMu, before segMu

	flush flusher
	warm  warmer
	stats storeStats

	// Every fsync of a commit-log, consume-queue or checkpoint file goes through syncFn, and
	// every commit-log write through writeAt when it is set (else with pwrite): tests
	// set them to inject failures and to simulate a power loss (keep only what was synced).
	syncFn  func(*os.File) error
	writeAt func(f *os.File, b []byte, off int64) (int, error)

	ret retention // segment deletion and the disk watermarks (retention.go)

	ckMu      sync.Mutex
	ckFile    *os.File
	ckLast    int64 // dispatched offset of the last checkpoint written
	ckFlushed int64 // flushed offset of the last checkpoint written
	ckClean   bool  // the last checkpoint written is flagged clean
	lockFile  *os.File
}

const (
	stateNew = iota
	stateStarting
	stateOpen
	stateClosed
)

// New validates cfg and returns a store that Start opens.
func New(cfg Config, log *zap.Logger) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{
		cfg:     cfg,
		log:     log.Named("store"),
		clDir:   filepath.Join(cfg.Dir, "commitlog"),
		cqDir:   filepath.Join(cfg.Dir, "consumequeue"),
		maxSize: min(cfg.MaxMessageSize, int(cfg.SegmentSize-blankHeaderSize)),
		queues:  make(map[topic.QueueRef]*cqueue),
		syncFn:  datasync,
	}, nil
}

// Start opens the store: it locks the directory, recovers the log and the consume queues, and
// starts the flusher.
func (s *Store) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return fmt.Errorf("mmap store: Start called twice")
	}
	s.state = stateStarting
	s.mu.Unlock()
	return s.finishStart(s.open(ctx))
}

// finishStart opens the store for business after open returned err, unless err is set or Stop
// came meanwhile: then it closes what open opened.
func (s *Store) finishStart(err error) error {
	s.mu.Lock()
	stopped := s.state != stateStarting // Stop came while the store was opening
	if err == nil && !stopped {
		s.state = stateOpen
		s.flush.start(s)
		s.warm.start(s)
		s.startRetention()
		s.mu.Unlock()
		return nil
	}
	s.state = stateClosed
	s.mu.Unlock()
	s.closeFiles() // after mu: it takes ckMu, which comes first
	if err == nil {
		err = storage.ErrClosed
	}
	return fmt.Errorf("mmap store: open %s: %w", s.cfg.Dir, err)
}

func (s *Store) open(ctx context.Context) error {
	if err := durable.MkdirAll(s.cfg.Dir); err != nil {
		return err
	}
	lf, err := lockDir(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.lockFile = lf
	return s.recoverGuarded(ctx)
}

// recoverGuarded runs recovery with a fault on mapped memory turned into an error. Recovery reads
// the files through their mappings, pages that were never written included; where reading such a
// page needs a new page (tmpfs) and the file system is full, the read raises SIGBUS, which would
// end the process instead of failing the start.
func (s *Store) recoverGuarded(ctx context.Context) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if f, ok := v.(interface{ Addr() uintptr }); ok {
			err = fmt.Errorf("%w: recovery faulted reading a mapped file at %#x (a full file system that must allocate to read a never-written page?): %v",
				storage.ErrUnavailable, f.Addr(), v)
			return
		}
		panic(v)
	}()
	return s.recover(ctx)
}

// Stop flushes everything, writes a clean checkpoint and closes the files. Appends waiting for a
// sync flush get their answer first. Stopping twice is harmless.
func (s *Store) Stop(context.Context) error {
	s.mu.Lock()
	if s.state != stateOpen {
		if s.state == stateNew || s.state == stateStarting { // Start closes what it opened
			s.state = stateClosed
		}
		s.mu.Unlock()
		return nil
	}
	s.state = stateClosed
	s.mu.Unlock()

	s.stopRetention()
	s.warm.stop()
	s.flush.stop()
	err := errors.Join(s.flushLog(), s.dropWarmSegments())
	kind := ckFull
	if err == nil && s.failed() == nil {
		kind = ckClean
	}
	err = errors.Join(err, s.writeCheckpoint(kind))
	s.closeFiles()
	s.flush.closed()
	if err != nil {
		s.log.Error("store stopped without a clean checkpoint", zap.Error(err))
		return fmt.Errorf("mmap store: stop: %w", err)
	}
	s.log.Info("store stopped", zap.Int64("logEnd", s.committed.Load()))
	return nil
}

// closeFiles unmaps and closes every file; readers get ErrClosed from then on.
func (s *Store) closeFiles() {
	s.segMu.Lock()
	s.segClosed = true
	for _, seg := range s.segs {
		if err := seg.close(); err != nil {
			s.log.Warn("close segment", zap.Int64("base", seg.base), zap.Error(err))
		}
	}
	s.segs = nil
	s.segMu.Unlock()

	s.qmu.Lock()
	s.qClosed = true
	for _, q := range s.queues {
		if err := q.close(); err != nil {
			s.log.Warn("close consume queue", zap.Stringer("queue", q.ref), zap.Error(err))
		}
	}
	s.qmu.Unlock()

	s.closeKeyIndex()
	s.ckMu.Lock()
	if s.ckFile != nil {
		_ = s.ckFile.Close()
		s.ckFile = nil
	}
	s.ckMu.Unlock()
	if s.lockFile != nil {
		_ = s.lockFile.Close()
		s.lockFile = nil
	}
}

// OnArrival implements storage.ArrivalNotifier.
func (s *Store) OnArrival(fn storage.ArrivalFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fns []storage.ArrivalFunc
	if old := s.arrivals.Load(); old != nil {
		fns = append(fns, *old...)
	}
	fns = append(fns, fn)
	s.arrivals.Store(&fns)
}

// LogBounds implements storage.CommitLog.
func (s *Store) LogBounds() (minOff, maxOff int64) {
	maxOff = s.committed.Load()
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	if len(s.segs) == 0 {
		return maxOff, maxOff
	}
	return s.segs[0].base, maxOff
}

// fail latches err: from now on the store refuses writes with ErrUnavailable.
func (s *Store) fail(err error) error {
	wrapped := fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	if s.failure.CompareAndSwap(nil, &wrapped) {
		s.log.Error("store refuses writes from now on", zap.Error(err))
	}
	return *s.failure.Load()
}

func (s *Store) failed() error {
	if p := s.failure.Load(); p != nil {
		return *p
	}
	return nil
}
