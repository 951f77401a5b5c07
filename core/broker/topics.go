package broker

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

const topicsDoc = "topics.json"

// topicsFile is the persisted form, as RocketMQ's config/topics.json.
type topicsFile struct {
	DataVersion      topic.DataVersion       `json:"dataVersion"`
	TopicConfigTable map[string]topic.Config `json:"topicConfigTable"`
}

// Topics holds the broker's topic table, persists it, and tells listeners when it changes so the
// broker can re-register with name servers at once.
type Topics struct {
	cfg   Config
	doc   *document
	clock clock.Clock
	log   *zap.Logger

	mu       sync.RWMutex
	table    map[string]topic.Config
	version  topic.DataVersion
	onChange []func()
}

// NewTopics builds an empty table; Load fills it.
func NewTopics(cfg Config, meta storage.MetaStore, clk clock.Clock, log *zap.Logger) *Topics {
	return &Topics{cfg: cfg, doc: newDocument(meta, topicsDoc), clock: clk, log: log, table: make(map[string]topic.Config)}
}

// OnChange registers fn to run (outside the lock) after every change.
func (t *Topics) OnChange(fn func()) {
	t.mu.Lock()
	t.onChange = append(t.onChange, fn)
	t.mu.Unlock()
}

// Load reads the persisted table and adds the system topics a broker always has.
func (t *Topics) Load(ctx context.Context) error {
	var f topicsFile
	found, err := t.doc.load(ctx, &f)
	if err != nil {
		return fmt.Errorf("load topics: %w", err)
	}
	if found {
		t.mu.Lock()
		for name, c := range f.TopicConfigTable {
			if topic.ValidateTopic(name) != nil || c.Name != name {
				t.log.Warn("skipping invalid topic in "+topicsDoc, zap.String("topic", name))
				continue
			}
			t.table[name] = c
		}
		t.version = f.DataVersion
		t.mu.Unlock()
	}
	for _, c := range t.systemTopics() {
		if _, ok := t.Get(c.Name); !ok {
			t.putLocked(c)
		}
	}
	// TBW102 is a template exactly when auto-creation is on; the switch may change across restarts.
	if c, ok := t.Get(topic.DefaultTopic); ok && c.Inheritable() != t.cfg.AutoCreateTopic {
		c.Perm ^= topic.PermInherit
		t.putLocked(c)
	}
	t.bump()
	return t.persist(ctx)
}

func (t *Topics) systemTopics() []topic.Config {
	n := t.cfg.DefaultTopicQueueNums
	sys := []topic.Config{
		{Name: topic.SelfTestTopic, ReadQueueNums: 1, WriteQueueNums: 1, Perm: topic.PermRead | topic.PermWrite},
		{Name: topic.OffsetMovedEvent, ReadQueueNums: 1, WriteQueueNums: 1, Perm: topic.PermRead | topic.PermWrite},
		{Name: topic.ScheduleTopic, ReadQueueNums: 18, WriteQueueNums: 18, Perm: topic.PermRead | topic.PermWrite},
		{Name: t.cfg.Cluster, ReadQueueNums: 16, WriteQueueNums: 16, Perm: topic.PermRead | topic.PermWrite | topic.PermInherit},
		{Name: t.cfg.Name, ReadQueueNums: 1, WriteQueueNums: 1, Perm: topic.PermRead | topic.PermWrite | topic.PermInherit},
	}
	if t.cfg.AutoCreateTopic {
		sys = append(sys, topic.Config{Name: topic.DefaultTopic, ReadQueueNums: n, WriteQueueNums: n,
			Perm: topic.PermRead | topic.PermWrite | topic.PermInherit})
	}
	for i := range sys {
		sys[i].FilterType = topic.FilterSingleTag
	}
	return sys
}

// Get returns a topic's config.
func (t *Topics) Get(name string) (topic.Config, bool) {
	t.mu.RLock()
	c, ok := t.table[name]
	t.mu.RUnlock()
	return c, ok
}

// Snapshot returns every topic and the table's data version.
func (t *Topics) Snapshot() ([]topic.Config, topic.DataVersion) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]topic.Config, 0, len(t.table))
	for _, c := range t.table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, t.version
}

// Topics lists every topic config, sorted by name.
func (t *Topics) Topics() []topic.Config {
	out, _ := t.Snapshot()
	return out
}

// CreateOrUpdateTopic stores cfg as given (the admin path).
func (t *Topics) CreateOrUpdateTopic(ctx context.Context, cfg topic.Config) error {
	if err := topic.ValidateTopic(cfg.Name); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if cfg.ReadQueueNums <= 0 || cfg.WriteQueueNums <= 0 || cfg.ReadQueueNums > maxQueueNums || cfg.WriteQueueNums > maxQueueNums {
		return fmt.Errorf("%w: queue counts %d/%d must be within 1..%d", errs.ErrInvalidArgument,
			cfg.ReadQueueNums, cfg.WriteQueueNums, maxQueueNums)
	}
	if cfg.FilterType == "" {
		cfg.FilterType = topic.FilterSingleTag
	}
	t.putLocked(cfg)
	t.bump()
	t.log.Info("topic created or updated", zap.String("topic", cfg.Name), zap.Int32("read", cfg.ReadQueueNums),
		zap.Int32("write", cfg.WriteQueueNums), zap.Int32("perm", cfg.Perm))
	return t.commit(ctx)
}

// maxQueueNums bounds the queues of one topic (RocketMQ's BenchmarkTest has 1024).
const maxQueueNums = 1024

// DeleteTopic removes a topic from the table.
func (t *Topics) DeleteTopic(ctx context.Context, name string) error {
	t.mu.Lock()
	_, ok := t.table[name]
	delete(t.table, name)
	t.mu.Unlock()
	if !ok {
		return nil
	}
	t.bump()
	t.log.Info("topic deleted", zap.String("topic", name))
	return t.commit(ctx)
}

// AutoCreate creates name from the template topic, as a first send to an unknown topic does:
// min(queueNums, template write queues) queues, the template's permission without INHERIT.
func (t *Topics) AutoCreate(ctx context.Context, name, template string, queueNums int32) (topic.Config, error) {
	if c, ok := t.Get(name); ok {
		return c, nil
	}
	tpl, ok := t.Get(template)
	if !ok || !t.cfg.AutoCreateTopic || !tpl.Inheritable() {
		return topic.Config{}, fmt.Errorf("%w: %s (auto-creation from %q not possible)", errs.ErrTopicNotExist, name, template)
	}
	n := min(queueNums, tpl.WriteQueueNums)
	if n <= 0 {
		n = tpl.WriteQueueNums
	}
	return t.create(ctx, topic.Config{Name: name, ReadQueueNums: n, WriteQueueNums: n,
		Perm: tpl.Perm &^ topic.PermInherit, FilterType: tpl.FilterType, SysFlag: tpl.SysFlag})
}

// Ensure creates a system-owned topic (retry, dead letter) when it is missing.
func (t *Topics) Ensure(ctx context.Context, name string, queueNums, perm int32) (topic.Config, error) {
	if c, ok := t.Get(name); ok {
		return c, nil
	}
	return t.create(ctx, topic.Config{Name: name, ReadQueueNums: queueNums, WriteQueueNums: queueNums,
		Perm: perm, FilterType: topic.FilterSingleTag})
}

func (t *Topics) create(ctx context.Context, c topic.Config) (topic.Config, error) {
	t.mu.Lock()
	if cur, ok := t.table[c.Name]; ok { // lost a race: someone created it first
		t.mu.Unlock()
		return cur, nil
	}
	t.table[c.Name] = c
	t.mu.Unlock()
	t.bump()
	t.log.Info("topic auto-created", zap.String("topic", c.Name), zap.Int32("queues", c.WriteQueueNums),
		zap.Int32("perm", c.Perm))
	return c, t.commit(ctx)
}

func (t *Topics) putLocked(c topic.Config) {
	t.mu.Lock()
	t.table[c.Name] = c
	t.mu.Unlock()
}

func (t *Topics) bump() {
	t.mu.Lock()
	t.version.Counter++
	t.version.Timestamp = t.clock.Now().UnixMilli()
	t.mu.Unlock()
}

// commit persists and then notifies listeners.
func (t *Topics) commit(ctx context.Context) error {
	err := t.persist(ctx)
	t.mu.RLock()
	fns := append([]func(){}, t.onChange...)
	t.mu.RUnlock()
	for _, fn := range fns {
		fn()
	}
	return err
}

func (t *Topics) persist(ctx context.Context) error {
	return t.doc.save(ctx, func() any {
		t.mu.RLock()
		defer t.mu.RUnlock()
		table := make(map[string]topic.Config, len(t.table))
		for k, v := range t.table {
			table[k] = v
		}
		return topicsFile{DataVersion: t.version, TopicConfigTable: table}
	})
}
