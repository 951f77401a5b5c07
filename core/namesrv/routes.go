// Package namesrv is the name server's domain: a stateless registry of brokers and the topic routes
// they serve, kept fresh by registrations and pruned when a broker falls silent.
package namesrv

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"go.uber.org/zap"
)

// ErrTopicNotFound: no broker serves the topic.
var ErrTopicNotFound = errors.New("no route for topic")

// MasterID is the broker id of a master.
const MasterID = 0

// BrokerData is one broker name (a master and its slaves) in one cluster.
type BrokerData struct {
	Cluster    string
	BrokerName string
	Addrs      map[int64]string // broker id -> ip:port; id 0 is the master
}

func (b *BrokerData) clone() BrokerData {
	c := BrokerData{Cluster: b.Cluster, BrokerName: b.BrokerName, Addrs: make(map[int64]string, len(b.Addrs))}
	for id, a := range b.Addrs {
		c.Addrs[id] = a
	}
	return c
}

// QueueData is what one broker offers of one topic.
type QueueData struct {
	BrokerName     string
	ReadQueueNums  int32
	WriteQueueNums int32
	Perm           int32
	TopicSysFlag   int32
}

// TopicRoute is the answer to a route query, sorted by broker name.
type TopicRoute struct {
	Brokers []BrokerData
	Queues  []QueueData
}

// ClusterInfo maps the whole registry.
type ClusterInfo struct {
	Brokers  map[string]BrokerData // by broker name
	Clusters map[string][]string   // cluster -> broker names, sorted
}

type liveBroker struct {
	cluster, brokerName string
	brokerID            int64
	lastUpdate          time.Time
	dataVersion         topic.DataVersion
	haServerAddr        string
	channel             uint64
}

// RouteTable is the registry. It is safe for concurrent use.
type RouteTable struct {
	cfg   Config
	clock clock.Clock
	log   *zap.Logger

	mu          sync.RWMutex
	topicQueues map[string]map[string]QueueData // topic -> broker name -> queues
	brokers     map[string]*BrokerData          // broker name -> data
	clusters    map[string]map[string]struct{}  // cluster -> broker names
	live        map[string]*liveBroker          // broker address -> liveness

	stop chan struct{}
	done chan struct{}
}

// NewRouteTable builds an empty registry.
func NewRouteTable(cfg Config, clk clock.Clock, log *zap.Logger) *RouteTable {
	return &RouteTable{
		cfg: cfg, clock: clk, log: log,
		topicQueues: make(map[string]map[string]QueueData),
		brokers:     make(map[string]*BrokerData),
		clusters:    make(map[string]map[string]struct{}),
		live:        make(map[string]*liveBroker),
	}
}

// Registration is one REGISTER_BROKER as the table sees it; Channel identifies the connection it
// came on so that closing that connection can drop the broker at once.
type Registration struct {
	outbound.BrokerRegistration
	Channel uint64
}

// Register records a broker's registration and returns what the broker should know of its master.
func (t *RouteTable) Register(reg Registration) outbound.RegisterResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := t.clusters[reg.ClusterName]
	if names == nil {
		names = make(map[string]struct{})
		t.clusters[reg.ClusterName] = names
	}
	names[reg.BrokerName] = struct{}{}

	bd := t.brokers[reg.BrokerName]
	first := bd == nil
	if first {
		bd = &BrokerData{Cluster: reg.ClusterName, BrokerName: reg.BrokerName, Addrs: make(map[int64]string)}
		t.brokers[reg.BrokerName] = bd
	}
	// One address holds one role: a slave promoted to master must not linger under its old id.
	for id, addr := range bd.Addrs {
		if addr == reg.BrokerAddr && id != reg.BrokerID {
			delete(bd.Addrs, id)
		}
	}
	bd.Addrs[reg.BrokerID] = reg.BrokerAddr

	prev := t.live[reg.BrokerAddr]
	if reg.BrokerID == MasterID && (prev == nil || prev.dataVersion != reg.DataVersion || first) {
		t.replaceTopicsLocked(reg.BrokerName, reg.Topics)
	}
	t.live[reg.BrokerAddr] = &liveBroker{
		cluster: reg.ClusterName, brokerName: reg.BrokerName, brokerID: reg.BrokerID,
		lastUpdate: t.clock.Now(), dataVersion: reg.DataVersion, haServerAddr: reg.HAServerAddr,
		channel: reg.Channel,
	}
	if prev == nil {
		t.log.Info("broker registered", zap.String("cluster", reg.ClusterName),
			zap.String("broker", reg.BrokerName), zap.Int64("id", reg.BrokerID), zap.String("addr", reg.BrokerAddr),
			zap.Int("topics", len(reg.Topics)))
	}

	var res outbound.RegisterResult
	if reg.BrokerID != MasterID {
		if master, ok := bd.Addrs[MasterID]; ok {
			res.MasterAddr = master
			if l := t.live[master]; l != nil {
				res.HAServerAddr = l.haServerAddr
			}
		}
	}
	return res
}

// replaceTopicsLocked makes the master's topic list authoritative: topics it no longer reports
// leave the routes (a topic deleted on the broker disappears at its next registration).
func (t *RouteTable) replaceTopicsLocked(brokerName string, topics []topic.Config) {
	seen := make(map[string]struct{}, len(topics))
	for _, tc := range topics {
		seen[tc.Name] = struct{}{}
		qs := t.topicQueues[tc.Name]
		if qs == nil {
			qs = make(map[string]QueueData)
			t.topicQueues[tc.Name] = qs
		}
		qs[brokerName] = QueueData{
			BrokerName: brokerName, ReadQueueNums: tc.ReadQueueNums, WriteQueueNums: tc.WriteQueueNums,
			Perm: tc.Perm, TopicSysFlag: tc.SysFlag,
		}
	}
	for name, qs := range t.topicQueues {
		if _, ok := seen[name]; ok {
			continue
		}
		if _, ok := qs[brokerName]; ok {
			delete(qs, brokerName)
			if len(qs) == 0 {
				delete(t.topicQueues, name)
			}
		}
	}
}

// Unregister removes one broker address, as at a broker's orderly shutdown.
func (t *RouteTable) Unregister(cluster, brokerName, addr string, brokerID int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(cluster, brokerName, addr, brokerID, "unregistered")
}

func (t *RouteTable) removeLocked(cluster, brokerName, addr string, brokerID int64, why string) {
	delete(t.live, addr)
	bd := t.brokers[brokerName]
	if bd == nil {
		return
	}
	if cur, ok := bd.Addrs[brokerID]; ok && cur == addr {
		delete(bd.Addrs, brokerID)
	}
	t.log.Info("broker removed", zap.String("broker", brokerName), zap.String("addr", addr),
		zap.Int64("id", brokerID), zap.String("why", why))
	if len(bd.Addrs) > 0 {
		return
	}
	delete(t.brokers, brokerName)
	if names := t.clusters[cluster]; names != nil {
		delete(names, brokerName)
		if len(names) == 0 {
			delete(t.clusters, cluster)
		}
	}
	for name, qs := range t.topicQueues {
		delete(qs, brokerName)
		if len(qs) == 0 {
			delete(t.topicQueues, name)
		}
	}
}

// ChannelClosed drops every broker that registered over the closed connection.
func (t *RouteTable) ChannelClosed(channel uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, l := range t.live {
		if l.channel == channel {
			t.removeLocked(l.cluster, l.brokerName, addr, l.brokerID, "connection closed")
		}
	}
}

// Expire drops brokers silent for longer than the configured expiry and returns how many.
func (t *RouteTable) Expire() int {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for addr, l := range t.live {
		if now.Sub(l.lastUpdate) > t.cfg.BrokerExpiry {
			t.removeLocked(l.cluster, l.brokerName, addr, l.brokerID, "expired")
			n++
		}
	}
	return n
}

// Route returns the brokers and queues serving topicName.
func (t *RouteTable) Route(topicName string) (TopicRoute, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	qs := t.topicQueues[topicName]
	if len(qs) == 0 {
		return TopicRoute{}, ErrTopicNotFound
	}
	var r TopicRoute
	for name, q := range qs {
		r.Queues = append(r.Queues, q)
		if bd := t.brokers[name]; bd != nil {
			r.Brokers = append(r.Brokers, bd.clone())
		}
	}
	sort.Slice(r.Queues, func(i, j int) bool { return r.Queues[i].BrokerName < r.Queues[j].BrokerName })
	sort.Slice(r.Brokers, func(i, j int) bool { return r.Brokers[i].BrokerName < r.Brokers[j].BrokerName })
	return r, nil
}

// Topics lists every routed topic, sorted.
func (t *RouteTable) Topics() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.topicQueues))
	for name := range t.topicQueues {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// DeleteTopic removes a topic from every route.
func (t *RouteTable) DeleteTopic(topicName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.topicQueues, topicName)
}

// Cluster returns the whole registry.
func (t *RouteTable) Cluster() ClusterInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ci := ClusterInfo{Brokers: make(map[string]BrokerData, len(t.brokers)), Clusters: make(map[string][]string, len(t.clusters))}
	for name, bd := range t.brokers {
		ci.Brokers[name] = bd.clone()
	}
	for c, names := range t.clusters {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		slices.Sort(list)
		ci.Clusters[c] = list
	}
	return ci
}

// Start runs the expiry scan until Stop.
func (t *RouteTable) Start(context.Context) error {
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.done)
		tick := time.NewTicker(t.cfg.ScanInterval)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				if n := t.Expire(); n > 0 {
					t.log.Warn("expired silent brokers", zap.Int("count", n))
				}
			}
		}
	}()
	return nil
}

// Stop ends the expiry scan.
func (t *RouteTable) Stop(ctx context.Context) error {
	if t.stop == nil {
		return nil
	}
	close(t.stop)
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
