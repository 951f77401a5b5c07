package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Consumer is what a consumer registers with its client: its heartbeat data and the broker
// requests addressed to its group. The methods are called from the client's goroutines and must
// not block.
type Consumer interface {
	// ConsumerData is the group's entry in heartbeats.
	ConsumerData() wire.ConsumerData
	// IDsChanged is called when a broker says the group's members changed (rebalance now).
	IDsChanged()
	// RunningInfo returns properties for GET_CONSUMER_RUNNING_INFO answers.
	RunningInfo() map[string]string
}

// OffsetResetter is implemented by consumers that accept RESET_CONSUMER_CLIENT_OFFSET.
type OffsetResetter interface {
	ResetOffsets(topic string, offsets map[message.Queue]int64)
}

// registry holds the producer groups and consumers of a client.
type registry struct {
	mu        sync.Mutex
	producers map[string]int // group -> registrations
	consumers map[string]Consumer
}

func (r *registry) init() {
	r.producers = make(map[string]int)
	r.consumers = make(map[string]Consumer)
}

// ErrGroupRegistered: a client carries at most one consumer per group.
var ErrGroupRegistered = errors.New("rocketgo: a consumer of this group is already registered with the client")

// RegisterProducer adds a producer group to the heartbeats until the returned function is called.
func (c *Client) RegisterProducer(group string) (unregister func()) {
	c.reg.mu.Lock()
	c.reg.producers[group]++
	c.reg.mu.Unlock()
	c.wakeHeartbeat()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.reg.mu.Lock()
			if c.reg.producers[group]--; c.reg.producers[group] <= 0 {
				delete(c.reg.producers, group)
			}
			c.reg.mu.Unlock()
		})
	}
}

// RegisterConsumer adds a consumer to the heartbeats and routes its group's broker requests to it
// until the returned function is called.
func (c *Client) RegisterConsumer(group string, cons Consumer) (unregister func(), err error) {
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	if c.reg.consumers[group] != nil {
		return nil, fmt.Errorf("%w: %s", ErrGroupRegistered, group)
	}
	c.reg.consumers[group] = cons
	var once sync.Once
	return func() {
		once.Do(func() {
			c.reg.mu.Lock()
			if c.reg.consumers[group] == cons {
				delete(c.reg.consumers, group)
			}
			c.reg.mu.Unlock()
		})
	}, nil
}

func (c *Client) consumer(group string) Consumer {
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	return c.reg.consumers[group]
}

// heartbeatData builds the heartbeat body; ok is false when nothing is registered.
func (c *Client) heartbeatData() (hb wire.HeartbeatData, hasConsumers, ok bool) {
	c.reg.mu.Lock()
	groups := make([]string, 0, len(c.reg.producers))
	for g := range c.reg.producers {
		groups = append(groups, g)
	}
	cons := make([]Consumer, 0, len(c.reg.consumers))
	for _, cs := range c.reg.consumers {
		cons = append(cons, cs)
	}
	c.reg.mu.Unlock()
	slices.Sort(groups)
	hb = wire.HeartbeatData{ClientID: c.id, ProducerDataSet: []wire.ProducerData{}, ConsumerDataSet: []wire.ConsumerData{}}
	for _, g := range groups {
		hb.ProducerDataSet = append(hb.ProducerDataSet, wire.ProducerData{GroupName: g})
	}
	for _, cs := range cons {
		hb.ConsumerDataSet = append(hb.ConsumerDataSet, cs.ConsumerData())
	}
	slices.SortFunc(hb.ConsumerDataSet, func(a, b wire.ConsumerData) int {
		switch {
		case a.GroupName < b.GroupName:
			return -1
		case a.GroupName > b.GroupName:
			return 1
		}
		return 0
	})
	return hb, len(cons) > 0, len(groups)+len(cons) > 0
}

// Heartbeat sends a heartbeat to every broker of the cached routes now (every address when
// consumers are registered, masters otherwise) and returns the failures joined.
func (c *Client) Heartbeat(ctx context.Context) error {
	hb, all, ok := c.heartbeatData()
	if !ok {
		return nil
	}
	body, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("rocketgo: heartbeat body: %w", err)
	}
	addrs := c.brokerAddrs(all)
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Call(ctx, addr, wire.NewRequest(wire.HeartBeat, map[string]string{}, body))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// wakeHeartbeat asks the heartbeat loop for a heartbeat soon.
func (c *Client) wakeHeartbeat() {
	select {
	case c.hbWake <- struct{}{}:
	default:
	}
}

func (c *Client) heartbeatLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.hbWake:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
		if err := c.Heartbeat(ctx); err != nil && c.ctx.Err() == nil {
			c.log.Debug("heartbeat failed", "err", err)
		}
		cancel()
	}
}
