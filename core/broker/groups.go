package broker

import (
	"context"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

const groupsDoc = "subscriptionGroup.json"

type groupsFile struct {
	SubscriptionGroupTable map[string]topic.SubscriptionGroup `json:"subscriptionGroupTable"`
	DataVersion            topic.DataVersion                  `json:"dataVersion"`
}

// Groups holds the consumer groups' configurations (created on demand when allowed).
type Groups struct {
	cfg Config
	doc *document
	log *zap.Logger

	mu      sync.RWMutex
	table   map[string]topic.SubscriptionGroup
	version topic.DataVersion
}

// NewGroups builds an empty table; Load fills it.
func NewGroups(cfg Config, meta storage.MetaStore, log *zap.Logger) *Groups {
	return &Groups{cfg: cfg, doc: newDocument(meta, groupsDoc), log: log, table: make(map[string]topic.SubscriptionGroup)}
}

// Load reads the persisted groups.
func (g *Groups) Load(ctx context.Context) error {
	var f groupsFile
	if _, err := g.doc.load(ctx, &f); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.version = f.DataVersion
	for name, c := range f.SubscriptionGroupTable {
		if topic.ValidateGroup(name) != nil || c.GroupName != name {
			g.log.Warn("skipping invalid group in "+groupsDoc, zap.String("group", name))
			continue
		}
		g.table[name] = c
	}
	return nil
}

// Get returns a group's config.
func (g *Groups) Get(name string) (topic.SubscriptionGroup, bool) {
	g.mu.RLock()
	c, ok := g.table[name]
	g.mu.RUnlock()
	return c, ok
}

// Ensure returns the group's config, creating it with defaults when auto-creation is on.
func (g *Groups) Ensure(ctx context.Context, name string) (topic.SubscriptionGroup, error) {
	if c, ok := g.Get(name); ok {
		return c, nil
	}
	if err := topic.ValidateGroup(name); err != nil {
		return topic.SubscriptionGroup{}, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if !g.cfg.AutoCreateSubscriptionGroup {
		return topic.SubscriptionGroup{}, fmt.Errorf("%w: %s", errs.ErrSubscriptionGroupNotExist, name)
	}
	g.mu.Lock()
	c, ok := g.table[name]
	if !ok {
		c = topic.DefaultSubscriptionGroup(name)
		c.RetryMaxTimes = g.cfg.MaxReconsumeTimes
		g.table[name] = c
		g.version.Counter++
	}
	g.mu.Unlock()
	if ok {
		return c, nil
	}
	g.log.Info("subscription group created", zap.String("group", name))
	return c, g.persist(ctx)
}

func (g *Groups) persist(ctx context.Context) error {
	return g.doc.save(ctx, func() any {
		g.mu.RLock()
		defer g.mu.RUnlock()
		t := make(map[string]topic.SubscriptionGroup, len(g.table))
		for k, v := range g.table {
			t[k] = v
		}
		return groupsFile{SubscriptionGroupTable: t, DataVersion: g.version}
	})
}

// Snapshot returns every group and the table's data version.
func (g *Groups) Snapshot() ([]topic.SubscriptionGroup, topic.DataVersion) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]topic.SubscriptionGroup, 0, len(g.table))
	for _, c := range g.table {
		out = append(out, c)
	}
	return out, g.version
}
