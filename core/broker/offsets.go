package broker

import (
	"context"
	"strings"
	"sync"

	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

const offsetsDoc = "consumerOffset.json"

// offsetsFile is RocketMQ's config/consumerOffset.json: "topic@group" -> queue id -> next offset.
type offsetsFile struct {
	OffsetTable map[string]map[int32]int64 `json:"offsetTable"`
}

type offsetKey struct{ topic, group string }

// ConsumerOffsets keeps committed offsets in memory and persists them when asked (periodically and
// at shutdown) with an atomic replace.
type ConsumerOffsets struct {
	doc *document
	log *zap.Logger

	mu    sync.RWMutex
	table map[offsetKey]map[int32]int64
	dirty bool
}

// NewConsumerOffsets builds an empty table; Load fills it.
func NewConsumerOffsets(meta storage.MetaStore, log *zap.Logger) *ConsumerOffsets {
	return &ConsumerOffsets{doc: newDocument(meta, offsetsDoc), log: log, table: make(map[offsetKey]map[int32]int64)}
}

// Load reads the persisted offsets.
func (o *ConsumerOffsets) Load(ctx context.Context) error {
	var f offsetsFile
	if _, err := o.doc.load(ctx, &f); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, qs := range f.OffsetTable {
		t, g, ok := strings.Cut(k, "@")
		if !ok || topic.ValidateTopic(t) != nil || topic.ValidateGroup(g) != nil {
			o.log.Warn("skipping invalid key in "+offsetsDoc, zap.String("key", k))
			continue
		}
		o.table[offsetKey{t, g}] = qs
	}
	return nil
}

// Commit records the next offset group will consume from queue.
func (o *ConsumerOffsets) Commit(group, topicName string, queueID int32, offset int64) {
	k := offsetKey{topicName, group}
	o.mu.Lock()
	qs := o.table[k]
	if qs == nil {
		qs = make(map[int32]int64)
		o.table[k] = qs
	}
	if cur, ok := qs[queueID]; !ok || cur != offset {
		qs[queueID] = offset
		o.dirty = true
	}
	o.mu.Unlock()
}

// Get returns the committed offset.
func (o *ConsumerOffsets) Get(group, topicName string, queueID int32) (int64, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	off, ok := o.table[offsetKey{topicName, group}][queueID]
	return off, ok
}

// DeleteTopic forgets every group's offsets on topicName.
func (o *ConsumerOffsets) DeleteTopic(topicName string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k := range o.table {
		if k.topic == topicName {
			delete(o.table, k)
			o.dirty = true
		}
	}
}

// Persist writes the table if it changed since the last write.
func (o *ConsumerOffsets) Persist(ctx context.Context) error {
	o.mu.Lock()
	dirty := o.dirty
	o.dirty = false
	o.mu.Unlock()
	if !dirty {
		return nil
	}
	err := o.doc.save(ctx, func() any {
		o.mu.RLock()
		defer o.mu.RUnlock()
		f := offsetsFile{OffsetTable: make(map[string]map[int32]int64, len(o.table))}
		for k, qs := range o.table {
			c := make(map[int32]int64, len(qs))
			for q, off := range qs {
				c[q] = off
			}
			f.OffsetTable[k.topic+"@"+k.group] = c
		}
		return f
	})
	if err != nil {
		o.mu.Lock()
		o.dirty = true
		o.mu.Unlock()
	}
	return err
}
