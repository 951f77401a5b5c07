package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// offsetStore keeps a consumer's progress: the next offset to consume per queue.
type offsetStore interface {
	// read returns the stored offset of q; ok is false when there is none.
	read(ctx context.Context, q message.Queue) (off int64, ok bool, err error)
	// update sets the in-memory offset of q.
	update(q message.Queue, off int64)
	// get returns the in-memory offset of q.
	get(q message.Queue) (int64, bool)
	// persist stores the in-memory offsets of qs (or all when qs is nil).
	persist(ctx context.Context, qs []message.Queue) error
	// forget drops q from memory (after its last persist).
	forget(q message.Queue)
}

// memOffsets is the in-memory table both stores build on.
type memOffsets struct {
	mu   sync.Mutex
	offs map[message.Queue]int64
}

func (m *memOffsets) update(q message.Queue, off int64) {
	m.mu.Lock()
	if m.offs == nil {
		m.offs = map[message.Queue]int64{}
	}
	m.offs[q] = off
	m.mu.Unlock()
}

func (m *memOffsets) get(q message.Queue) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	off, ok := m.offs[q]
	return off, ok
}

func (m *memOffsets) forget(q message.Queue) {
	m.mu.Lock()
	delete(m.offs, q)
	m.mu.Unlock()
}

func (m *memOffsets) snapshot(qs []message.Queue) map[message.Queue]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[message.Queue]int64, len(m.offs))
	if qs == nil {
		for q, o := range m.offs {
			out[q] = o
		}
		return out
	}
	for _, q := range qs {
		if o, ok := m.offs[q]; ok {
			out[q] = o
		}
	}
	return out
}

// remoteOffsets keeps clustering offsets on the brokers (QUERY/UPDATE_CONSUMER_OFFSET).
type remoteOffsets struct {
	memOffsets
	c     *client.Client
	group string
}

func (r *remoteOffsets) read(ctx context.Context, q message.Queue) (int64, bool, error) {
	off, err := r.c.QueryConsumerOffset(ctx, r.group, q)
	if errors.Is(err, client.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return off, true, nil
}

func (r *remoteOffsets) persist(ctx context.Context, qs []message.Queue) error {
	var errs []error
	for q, off := range r.snapshot(qs) {
		err := r.c.UpdateConsumerOffset(ctx, r.group, q, off)
		if err != nil && !errors.Is(err, client.ErrTopicNotExist) { // a deleted topic has nothing to commit
			errs = append(errs, fmt.Errorf("commit %s=%d: %w", q, off, err))
		}
	}
	return errors.Join(errs...)
}

// localOffsets keeps broadcasting offsets in memory and, with a path, in a JSON file.
type localOffsets struct {
	memOffsets
	path   string
	fileMu sync.Mutex
}

type offsetFileEntry struct {
	Queue  message.Queue `json:"queue"`
	Offset int64         `json:"offset"`
}

// load reads the file, if there is one.
func (l *localOffsets) load() error {
	if l.path == "" {
		return nil
	}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var entries []offsetFileEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("offset file %s: %w", l.path, err)
	}
	for _, e := range entries {
		l.memOffsets.update(e.Queue, e.Offset)
	}
	return nil
}

func (l *localOffsets) read(_ context.Context, q message.Queue) (int64, bool, error) {
	off, ok := l.get(q)
	return off, ok, nil
}

// persist writes every offset (the file holds them all) atomically.
func (l *localOffsets) persist(context.Context, []message.Queue) error {
	if l.path == "" {
		return nil
	}
	snap := l.snapshot(nil)
	entries := make([]offsetFileEntry, 0, len(snap))
	for q, o := range snap {
		entries = append(entries, offsetFileEntry{q, o})
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	l.fileMu.Lock()
	defer l.fileMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.path)
}

// forget keeps broadcasting offsets: the file must remember queues this member stops reading.
func (l *localOffsets) forget(message.Queue) {}
