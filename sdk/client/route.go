package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Permission bits of a topic (REMOTING.md §3.1).
const (
	PermInherit = 1
	PermWrite   = 2
	PermRead    = 4
)

// Route is a topic's route as the name server gives it, with the queues derived from it.
type Route struct {
	Topic string
	Data  *wire.TopicRouteData
	// Publish lists the writable queues of brokers with a master, sorted by broker name and id.
	Publish []message.Queue
	// Subscribe lists the readable queues, sorted as RocketMQ's rebalance sorts them.
	Subscribe []message.Queue
	// FromDefault is set when the topic has no route of its own yet and this one was derived
	// from the auto-creation template topic (TBW102).
	FromDefault bool

	masters map[string]string
}

// NewRoute derives a route's queues. Exported for tests and tools.
func NewRoute(topic string, data *wire.TopicRouteData) *Route {
	r := &Route{Topic: topic, Data: data, masters: make(map[string]string, len(data.BrokerDatas))}
	for _, b := range data.BrokerDatas {
		if addr, ok := b.BrokerAddrs[0]; ok && addr != "" {
			r.masters[b.BrokerName] = addr
		}
	}
	qds := slices.Clone(data.QueueDatas)
	slices.SortFunc(qds, func(a, b wire.QueueData) int { return strings.Compare(a.BrokerName, b.BrokerName) })
	for _, q := range qds {
		if q.Perm&PermWrite != 0 && r.masters[q.BrokerName] != "" {
			for i := int32(0); i < q.WriteQueueNums; i++ {
				r.Publish = append(r.Publish, message.Queue{Topic: topic, BrokerName: q.BrokerName, QueueID: i})
			}
		}
		if q.Perm&PermRead != 0 {
			for i := int32(0); i < q.ReadQueueNums; i++ {
				r.Subscribe = append(r.Subscribe, message.Queue{Topic: topic, BrokerName: q.BrokerName, QueueID: i})
			}
		}
	}
	slices.SortFunc(r.Subscribe, message.Queue.Compare)
	return r
}

// MasterAddr is the address of a broker's master, or "".
func (r *Route) MasterAddr(brokerName string) string { return r.masters[brokerName] }

// BrokerNames lists the brokers of the route, sorted.
func (r *Route) BrokerNames() []string {
	names := make([]string, 0, len(r.Data.BrokerDatas))
	for _, b := range r.Data.BrokerDatas {
		names = append(names, b.BrokerName)
	}
	slices.Sort(names)
	return names
}

// routeCache holds the routes of the topics in use, and the lookups in flight.
type routeCache struct {
	mu      sync.RWMutex
	routes  map[string]*Route
	flights map[string]*routeFlight
}

type routeFlight struct {
	done chan struct{}
	r    *Route
	err  error
}

func (rc *routeCache) init() {
	rc.routes = make(map[string]*Route)
	rc.flights = make(map[string]*routeFlight)
}

func (rc *routeCache) get(topic string) *Route {
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	return rc.routes[topic]
}

func (rc *routeCache) put(r *Route) {
	rc.mu.Lock()
	rc.routes[r.Topic] = r
	rc.mu.Unlock()
}

func (rc *routeCache) topics() []string {
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	out := make([]string, 0, len(rc.routes))
	for t := range rc.routes {
		out = append(out, t)
	}
	return out
}

// CachedRoute returns the cached route of topic, or nil.
func (c *Client) CachedRoute(topic string) *Route { return c.routes.get(topic) }

// QueryRoute asks the name servers for topic's route; it neither reads nor fills the cache.
// A topic without a route gives an error matching ErrTopicNotExist.
func (c *Client) QueryRoute(ctx context.Context, topic string) (*Route, error) {
	resp, addr, err := c.CallNameServer(ctx, wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil {
		return nil, err
	}
	if err := CheckResponse(addr, wire.GetRouteInfoByTopic, resp); err != nil {
		return nil, err
	}
	if len(resp.Body) == 0 {
		return nil, fmt.Errorf("%w: empty route body for %s from %s", ErrTopicNotExist, topic, addr)
	}
	data, err := wire.DecodeTopicRoute(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("rocketgo: route of %s from %s: %w", topic, addr, err)
	}
	return NewRoute(topic, data), nil
}

// Route returns topic's route, from the cache or else from the name servers (then cached and
// refreshed periodically). Concurrent lookups of one topic share one request.
func (c *Client) Route(ctx context.Context, topic string) (*Route, error) {
	return c.route(ctx, topic, "", 0)
}

// PublishRoute is Route for a producer: a topic the name servers do not know gets the route of
// the template topic createKey (TBW102 when empty) with at most queueNums queues per broker, so
// the first send can make the broker create the topic.
func (c *Client) PublishRoute(ctx context.Context, topic, createKey string, queueNums int) (*Route, error) {
	if createKey == "" {
		createKey = "TBW102"
	}
	return c.route(ctx, topic, createKey, queueNums)
}

func (c *Client) route(ctx context.Context, topic, createKey string, queueNums int) (*Route, error) {
	if r := c.routes.get(topic); r != nil {
		return r, nil
	}
	c.routes.mu.Lock()
	if r := c.routes.routes[topic]; r != nil {
		c.routes.mu.Unlock()
		return r, nil
	}
	f, ok := c.routes.flights[topic]
	if !ok {
		f = &routeFlight{done: make(chan struct{})}
		c.routes.flights[topic] = f
		c.routes.mu.Unlock()
		// The lookup runs under the first caller's context; a caller that gives up early makes
		// the others retry.
		f.r, f.err = c.lookup(ctx, topic, createKey, queueNums)
		c.routes.mu.Lock()
		delete(c.routes.flights, topic)
		if f.err == nil {
			c.routes.routes[topic] = f.r
		}
		c.routes.mu.Unlock()
		close(f.done)
		if f.err == nil {
			c.wakeHeartbeat() // a new broker may have come into use
		}
		return f.r, f.err
	}
	c.routes.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("rocketgo: route of %s: %w", topic, ctx.Err())
	}
	if f.err != nil && (errors.Is(f.err, context.DeadlineExceeded) || errors.Is(f.err, context.Canceled)) && ctx.Err() == nil {
		return c.route(ctx, topic, createKey, queueNums)
	}
	return f.r, f.err
}

func (c *Client) lookup(ctx context.Context, topic, createKey string, queueNums int) (*Route, error) {
	r, err := c.QueryRoute(ctx, topic)
	if err == nil || createKey == "" || !errors.Is(err, ErrTopicNotExist) {
		return r, err
	}
	def, derr := c.QueryRoute(ctx, createKey)
	if derr != nil {
		return nil, fmt.Errorf("%w: %s (and the template topic %s: %v)", ErrTopicNotExist, topic, createKey, derr)
	}
	return defaultRoute(topic, def, queueNums), nil
}

// defaultRoute derives a new topic's route from the template's, capping queue counts as the
// official clients do.
func defaultRoute(topic string, def *Route, queueNums int) *Route {
	data := &wire.TopicRouteData{BrokerDatas: def.Data.BrokerDatas}
	for _, q := range def.Data.QueueDatas {
		if queueNums > 0 {
			q.ReadQueueNums = min(q.ReadQueueNums, int32(queueNums))
			q.WriteQueueNums = min(q.WriteQueueNums, int32(queueNums))
		}
		data.QueueDatas = append(data.QueueDatas, q)
	}
	r := NewRoute(topic, data)
	r.FromDefault = true
	return r
}

// RefreshRoute looks topic up again and replaces the cached route. A route derived from the
// template is kept while the topic still has none of its own.
func (c *Client) RefreshRoute(ctx context.Context, topic string) (*Route, error) {
	r, err := c.QueryRoute(ctx, topic)
	if err != nil {
		if old := c.routes.get(topic); old != nil && old.FromDefault && errors.Is(err, ErrTopicNotExist) {
			return old, nil
		}
		return nil, err
	}
	old := c.routes.get(topic)
	c.routes.put(r)
	if old == nil || !sameBrokers(old, r) {
		c.wakeHeartbeat()
	}
	return r, nil
}

func sameBrokers(a, b *Route) bool {
	if len(a.masters) != len(b.masters) {
		return false
	}
	for n, addr := range a.masters {
		if b.masters[n] != addr {
			return false
		}
	}
	return true
}

// BrokerAddr finds the master address of brokerName in the cached routes.
func (c *Client) BrokerAddr(brokerName string) (string, error) {
	c.routes.mu.RLock()
	defer c.routes.mu.RUnlock()
	for _, r := range c.routes.routes {
		if a := r.masters[brokerName]; a != "" {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrBrokerNotFound, brokerName)
}

// brokerAddrs lists the addresses to heartbeat: masters only, or every address of every broker.
func (c *Client) brokerAddrs(all bool) []string {
	c.routes.mu.RLock()
	defer c.routes.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range c.routes.routes {
		for _, b := range r.Data.BrokerDatas {
			for id, addr := range b.BrokerAddrs {
				if (all || id == 0) && addr != "" && !seen[addr] {
					seen[addr] = true
					out = append(out, addr)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *Client) routeLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.RouteRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		for _, topic := range c.routes.topics() {
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
			if _, err := c.RefreshRoute(ctx, topic); err != nil && c.ctx.Err() == nil {
				c.log.Debug("route refresh failed", "topic", topic, "err", err)
			}
			cancel()
		}
	}
}
