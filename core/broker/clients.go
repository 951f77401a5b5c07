package broker

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"go.uber.org/zap"
)

// Message models of consumer groups.
const (
	ModelClustering   = "CLUSTERING"
	ModelBroadcasting = "BROADCASTING"
)

type clientConn struct {
	ch       outbound.Channel
	clientID string
	lastSeen time.Time
}

type consumerGroup struct {
	consumeType      string
	messageModel     string
	consumeFromWhere string
	subs             map[string]inbound.Subscription // by topic
	conns            map[uint64]*clientConn          // by channel id
}

type producerGroup struct {
	conns map[uint64]*clientConn
}

// Clients is the registry of connected producers and consumers, fed by heartbeats and pruned by
// connection close and heartbeat silence. Membership changes are pushed to the group's members.
type Clients struct {
	cfg    Config
	clock  clock.Clock
	log    *zap.Logger
	topics *Topics
	groups *Groups

	mu        sync.RWMutex
	consumers map[string]*consumerGroup
	producers map[string]*producerGroup
}

// NewClients builds an empty registry.
func NewClients(cfg Config, clk clock.Clock, topics *Topics, groups *Groups, log *zap.Logger) *Clients {
	return &Clients{cfg: cfg, clock: clk, log: log, topics: topics, groups: groups,
		consumers: make(map[string]*consumerGroup), producers: make(map[string]*producerGroup)}
}

// Heartbeat registers the channel for every group the heartbeat names, creates the groups' retry
// topics, and notifies a group's members when its membership or subscriptions changed.
func (c *Clients) Heartbeat(ctx context.Context, ch outbound.Channel, hb *inbound.Heartbeat) error {
	now := c.clock.Now()
	for _, g := range hb.ProducerGroups {
		if err := topic.ValidateGroup(g); err != nil {
			return fmt.Errorf("%w: producer %w", errs.ErrInvalidArgument, err)
		}
	}
	for i := range hb.Consumers {
		cd := &hb.Consumers[i]
		if err := topic.ValidateGroup(cd.Group); err != nil {
			return fmt.Errorf("%w: consumer %w", errs.ErrInvalidArgument, err)
		}
		for _, s := range cd.Subscriptions {
			if err := topic.ValidateTopic(s.Topic); err != nil {
				return fmt.Errorf("%w: subscription of %s: %w", errs.ErrInvalidArgument, cd.Group, err)
			}
		}
	}

	c.mu.Lock()
	for _, g := range hb.ProducerGroups {
		pg := c.producers[g]
		if pg == nil {
			pg = &producerGroup{conns: make(map[uint64]*clientConn)}
			c.producers[g] = pg
		}
		pg.conns[ch.ID()] = &clientConn{ch: ch, clientID: hb.ClientID, lastSeen: now}
	}
	var changed []string
	for _, cd := range hb.Consumers {
		if c.registerConsumerLocked(ch, hb.ClientID, cd, now) {
			changed = append(changed, cd.Group)
		}
	}
	c.mu.Unlock()

	for _, cd := range hb.Consumers {
		group, err := c.groups.Ensure(ctx, cd.Group)
		if err != nil {
			return err
		}
		if cd.MessageModel != ModelBroadcasting && group.RetryQueueNums > 0 {
			if _, err := c.topics.Ensure(ctx, topic.RetryTopic(cd.Group), group.RetryQueueNums,
				topic.PermRead|topic.PermWrite); err != nil {
				return err
			}
		}
	}
	for _, g := range changed {
		c.notify(ctx, g)
	}
	return nil
}

// registerConsumerLocked records one group's part of a heartbeat and reports whether the group's
// membership or subscribed topics changed.
func (c *Clients) registerConsumerLocked(ch outbound.Channel, clientID string, cd inbound.ConsumerData, now time.Time) bool {
	cg := c.consumers[cd.Group]
	if cg == nil {
		cg = &consumerGroup{subs: make(map[string]inbound.Subscription), conns: make(map[uint64]*clientConn)}
		c.consumers[cd.Group] = cg
	}
	cg.consumeType, cg.messageModel, cg.consumeFromWhere = cd.ConsumeType, cd.MessageModel, cd.ConsumeFromWhere
	changed := false
	if cc, ok := cg.conns[ch.ID()]; ok {
		cc.lastSeen = now
		cc.clientID = clientID
	} else {
		cg.conns[ch.ID()] = &clientConn{ch: ch, clientID: clientID, lastSeen: now}
		changed = true
		c.log.Info("consumer joined", zap.String("group", cd.Group), zap.String("client", clientID),
			zap.Stringer("addr", ch.RemoteAddr()))
	}
	seen := make(map[string]struct{}, len(cd.Subscriptions))
	for _, s := range cd.Subscriptions {
		seen[s.Topic] = struct{}{}
		old, ok := cg.subs[s.Topic]
		if !ok {
			changed = true
		}
		if !ok || s.Version > old.Version {
			cg.subs[s.Topic] = s
		}
	}
	for t := range cg.subs {
		if _, ok := seen[t]; !ok {
			delete(cg.subs, t)
			changed = true
		}
	}
	return changed
}

// notifyTimeout bounds one NOTIFY_CONSUMER_IDS_CHANGED to one member.
const notifyTimeout = 3 * time.Second

// notify sends NOTIFY_CONSUMER_IDS_CHANGED to every member of group. Each write runs in its own
// goroutine: a member whose socket is full must not hold up the heartbeat or close that caused
// the notice, nor the other members.
func (c *Clients) notify(_ context.Context, group string) {
	if g, ok := c.groups.Get(group); ok && !g.NotifyConsumerIdsChangedEnable {
		return
	}
	c.mu.RLock()
	var chans []outbound.Channel
	if cg := c.consumers[group]; cg != nil {
		for _, cc := range cg.conns {
			chans = append(chans, cc.ch)
		}
	}
	c.mu.RUnlock()
	for _, ch := range chans {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			defer cancel()
			if err := ch.NotifyConsumerIDsChanged(ctx, group); err != nil {
				c.log.Debug("notify consumer ids changed failed", zap.String("group", group), zap.Error(err))
			}
		}()
	}
}

// ChannelClosed removes the channel from every group and notifies the groups it left.
func (c *Clients) ChannelClosed(ch outbound.Channel) {
	left := c.remove(func(cc *clientConn) bool { return cc.ch.ID() == ch.ID() }, "connection closed")
	for _, g := range left {
		c.notify(context.Background(), g)
	}
}

// Expire drops clients silent for longer than ClientExpiry, closes their connections, and
// notifies the groups they left.
func (c *Clients) Expire() {
	deadline := c.clock.Now().Add(-c.cfg.ClientExpiry)
	var stale []outbound.Channel
	left := c.remove(func(cc *clientConn) bool {
		if cc.lastSeen.Before(deadline) {
			stale = append(stale, cc.ch)
			return true
		}
		return false
	}, "heartbeat expired")
	for _, ch := range stale {
		_ = ch.Close()
	}
	for _, g := range left {
		c.notify(context.Background(), g)
	}
}

// remove drops matching client connections and returns the consumer groups that lost a member.
func (c *Clients) remove(match func(*clientConn) bool, why string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var left []string
	for name, cg := range c.consumers {
		for id, cc := range cg.conns {
			if match(cc) {
				delete(cg.conns, id)
				c.log.Info("consumer left", zap.String("group", name), zap.String("client", cc.clientID),
					zap.String("why", why))
				if !slices.Contains(left, name) {
					left = append(left, name)
				}
			}
		}
		if len(cg.conns) == 0 {
			delete(c.consumers, name)
		}
	}
	for name, pg := range c.producers {
		for id, cc := range pg.conns {
			if match(cc) {
				delete(pg.conns, id)
			}
		}
		if len(pg.conns) == 0 {
			delete(c.producers, name)
		}
	}
	return left
}

// ConsumerIDs lists the client ids of a group's live members, sorted.
func (c *Clients) ConsumerIDs(group string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cg := c.consumers[group]
	if cg == nil {
		return nil
	}
	ids := make([]string, 0, len(cg.conns))
	for _, cc := range cg.conns {
		if !slices.Contains(ids, cc.clientID) {
			ids = append(ids, cc.clientID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Subscription returns the registered subscription of group to topicName, and whether the group is
// registered at all.
func (c *Clients) Subscription(group, topicName string) (sub inbound.Subscription, groupFound, subFound bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cg := c.consumers[group]
	if cg == nil {
		return inbound.Subscription{}, false, false
	}
	sub, subFound = cg.subs[topicName]
	return sub, true, subFound
}

// runExpiry scans for silent clients every interval until ctx ends.
func (c *Clients) runExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Expire()
		}
	}
}

// consumerChannels lists the live connections of a consumer group.
func (c *Clients) consumerChannels(group string) []outbound.Channel {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cg := c.consumers[group]
	if cg == nil {
		return nil
	}
	out := make([]outbound.Channel, 0, len(cg.conns))
	for _, cc := range cg.conns {
		out = append(out, cc.ch)
	}
	return out
}

// producerChannel picks a live connection of a producer group, or nil.
func (c *Clients) producerChannel(group string) outbound.Channel {
	c.mu.RLock()
	defer c.mu.RUnlock()
	pg := c.producers[group]
	if pg == nil {
		return nil
	}
	var best *clientConn
	for _, cc := range pg.conns {
		if best == nil || cc.lastSeen.After(best.lastSeen) {
			best = cc
		}
	}
	if best == nil {
		return nil
	}
	return best.ch
}

// Unregister removes the channel from the named producer and consumer groups (either may be
// empty), as UNREGISTER_CLIENT asks; the channel's other registrations stay.
func (c *Clients) Unregister(ch outbound.Channel, producerGroup, consumerGroup string) {
	c.mu.Lock()
	if pg := c.producers[producerGroup]; pg != nil {
		delete(pg.conns, ch.ID())
		if len(pg.conns) == 0 {
			delete(c.producers, producerGroup)
		}
	}
	left := false
	if cg := c.consumers[consumerGroup]; cg != nil {
		if _, ok := cg.conns[ch.ID()]; ok {
			delete(cg.conns, ch.ID())
			left = true
		}
		if len(cg.conns) == 0 {
			delete(c.consumers, consumerGroup)
		}
	}
	c.mu.Unlock()
	if left {
		c.log.Info("consumer left", zap.String("group", consumerGroup), zap.String("why", "unregistered"))
		c.notify(context.Background(), consumerGroup)
	}
}
