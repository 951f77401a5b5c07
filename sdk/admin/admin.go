// Package admin manages RocketMQ-compatible clusters: topics, consumer groups, consumer offsets
// and cluster information, through the name servers and brokers.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Errors, the same values as in package client.
var (
	ErrClosed        = client.ErrClosed
	ErrTopicNotExist = client.ErrTopicNotExist
	ErrNotFound      = client.ErrNotFound
	ErrNotSupported  = client.ErrNotSupported
)

// Options configure an Admin.
type Options struct {
	// NameServers are name-server addresses (host:port); required unless Client is set.
	NameServers []string
	// Client shares connections; when nil the admin makes its own, closed by Close.
	Client *client.Client
	// Logger is used for an own client. Default: discarded.
	Logger *slog.Logger
	// InstanceName is used for an own client (see client.Options).
	InstanceName string
}

// Admin sends administrative requests. Its methods are safe for concurrent use.
type Admin struct {
	c   *client.Client
	own bool
}

// New makes an admin. No connection is made before the first call.
func New(opts Options) (*Admin, error) {
	if opts.Client != nil {
		return &Admin{c: opts.Client}, nil
	}
	c, err := client.New(client.Options{NameServers: opts.NameServers, Logger: opts.Logger, InstanceName: opts.InstanceName})
	if err != nil {
		return nil, err
	}
	return &Admin{c: c, own: true}, nil
}

// Client is the admin's client.
func (a *Admin) Client() *client.Client { return a.c }

// Close closes the admin's own client.
func (a *Admin) Close(ctx context.Context) error {
	if a.own {
		return a.c.Close(ctx)
	}
	return nil
}

// ClusterInfo returns the clusters, their brokers and the brokers' addresses by broker id.
func (a *Admin) ClusterInfo(ctx context.Context) (*wire.ClusterInfo, error) {
	resp, addr, err := a.c.CallNameServer(ctx, wire.NewRequest(wire.GetBrokerClusterInfo, map[string]string{}, nil))
	if err != nil {
		return nil, err
	}
	if err := client.CheckResponse(addr, wire.GetBrokerClusterInfo, resp); err != nil {
		return nil, err
	}
	return wire.DecodeClusterInfo(resp.Body)
}

// masters lists the master addresses of every broker, or of the brokers of cluster when given.
func (a *Admin) masters(ctx context.Context, cluster string) ([]string, error) {
	ci, err := a.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range ci.BrokerAddrTable {
		if cluster != "" && b.Cluster != cluster {
			continue
		}
		if addr := b.BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no broker master%s", client.ErrBrokerNotFound, inCluster(cluster))
	}
	return out, nil
}

func inCluster(c string) string {
	if c == "" {
		return ""
	}
	return " in cluster " + c
}

// TopicConfig describes a topic to create.
type TopicConfig struct {
	Name string
	// ReadQueueNums and WriteQueueNums default to 8.
	ReadQueueNums  int
	WriteQueueNums int
	// Perm defaults to read and write (6).
	Perm int
	// Order marks the topic as ordered (informational for brokers).
	Order bool
	// Cluster limits creation to the brokers of one cluster; default every broker. Ignored when
	// BrokerAddrs is given.
	Cluster string
	// BrokerAddrs creates the topic on these brokers only.
	BrokerAddrs []string
}

// CreateTopic creates (or updates) a topic on brokers, which then register it with the name
// servers.
func (a *Admin) CreateTopic(ctx context.Context, cfg TopicConfig) error {
	if cfg.Name == "" {
		return errors.New("rocketgo: topic name is required")
	}
	if cfg.ReadQueueNums <= 0 {
		cfg.ReadQueueNums = 8
	}
	if cfg.WriteQueueNums <= 0 {
		cfg.WriteQueueNums = 8
	}
	if cfg.Perm == 0 {
		cfg.Perm = client.PermRead | client.PermWrite
	}
	addrs := cfg.BrokerAddrs
	if len(addrs) == 0 {
		var err error
		if addrs, err = a.masters(ctx, cfg.Cluster); err != nil {
			return err
		}
	}
	ext := map[string]string{
		"topic":           cfg.Name,
		"defaultTopic":    "TBW102",
		"readQueueNums":   strconv.Itoa(cfg.ReadQueueNums),
		"writeQueueNums":  strconv.Itoa(cfg.WriteQueueNums),
		"perm":            strconv.Itoa(cfg.Perm),
		"topicFilterType": "SINGLE_TAG",
		"topicSysFlag":    "0",
		"order":           strconv.FormatBool(cfg.Order),
	}
	var errs []error
	for _, addr := range addrs {
		if _, err := a.c.Call(ctx, addr, wire.NewRequest(wire.UpdateAndCreateTopic, ext, nil)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteTopic deletes a topic from the brokers that hold it and from every name server.
func (a *Admin) DeleteTopic(ctx context.Context, topic string) error {
	var errs []error
	if r, err := a.c.QueryRoute(ctx, topic); err == nil {
		for _, name := range r.BrokerNames() {
			if addr := r.MasterAddr(name); addr != "" {
				if _, err := a.c.Call(ctx, addr, wire.NewRequest(wire.DeleteTopicInBroker, map[string]string{"topic": topic}, nil)); err != nil {
					errs = append(errs, err)
				}
			}
		}
	} else if !errors.Is(err, client.ErrTopicNotExist) {
		errs = append(errs, err)
	}
	for _, ns := range a.c.NameServers() {
		if _, err := a.c.Call(ctx, ns, wire.NewRequest(wire.DeleteTopicInNamesrv, map[string]string{"topic": topic}, nil)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Topics lists every topic the name servers know.
func (a *Admin) Topics(ctx context.Context) ([]string, error) {
	resp, addr, err := a.c.CallNameServer(ctx, wire.NewRequest(wire.GetAllTopicListFromNameserver, map[string]string{}, nil))
	if err != nil {
		return nil, err
	}
	if err := client.CheckResponse(addr, wire.GetAllTopicListFromNameserver, resp); err != nil {
		return nil, err
	}
	var body wire.TopicListBody
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("%w: topic list from %s: %v", client.ErrServer, addr, err)
	}
	slices.Sort(body.TopicList)
	return body.TopicList, nil
}

// TopicRoute returns a topic's current route.
func (a *Admin) TopicRoute(ctx context.Context, topic string) (*client.Route, error) {
	return a.c.QueryRoute(ctx, topic)
}

// TopicConfigs returns the topic configurations of one broker.
func (a *Admin) TopicConfigs(ctx context.Context, brokerAddr string) (map[string]wire.TopicConfig, error) {
	resp, err := a.c.Call(ctx, brokerAddr, wire.NewRequest(wire.GetAllTopicConfig, map[string]string{}, nil))
	if err != nil {
		return nil, err
	}
	var w wire.TopicConfigWrapper
	if err := json.Unmarshal(resp.Body, &w); err != nil {
		return nil, fmt.Errorf("%w: topic configs from %s: %v", client.ErrServer, brokerAddr, err)
	}
	return w.TopicConfigTable, nil
}

// GroupConfig is a consumer group's configuration at a broker (RocketMQ's
// SubscriptionGroupConfig).
type GroupConfig struct {
	GroupName                      string `json:"groupName"`
	ConsumeEnable                  bool   `json:"consumeEnable"`
	ConsumeFromMinEnable           bool   `json:"consumeFromMinEnable"`
	ConsumeBroadcastEnable         bool   `json:"consumeBroadcastEnable"`
	RetryQueueNums                 int    `json:"retryQueueNums"`
	RetryMaxTimes                  int    `json:"retryMaxTimes"`
	BrokerID                       int64  `json:"brokerId"`
	WhichBrokerWhenConsumeSlowly   int64  `json:"whichBrokerWhenConsumeSlowly"`
	NotifyConsumerIdsChangedEnable bool   `json:"notifyConsumerIdsChangedEnable"`
}

// DefaultGroupConfig is RocketMQ's default configuration of a group.
func DefaultGroupConfig(group string) GroupConfig {
	return GroupConfig{GroupName: group, ConsumeEnable: true, ConsumeFromMinEnable: true, ConsumeBroadcastEnable: true,
		RetryQueueNums: 1, RetryMaxTimes: 16, WhichBrokerWhenConsumeSlowly: 1, NotifyConsumerIdsChangedEnable: true}
}

// CreateGroup creates or updates a consumer group on brokers (every master when none is given).
// Brokers that create groups on first use (the default) do not need it.
func (a *Admin) CreateGroup(ctx context.Context, cfg GroupConfig, brokerAddrs ...string) error {
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if len(brokerAddrs) == 0 {
		if brokerAddrs, err = a.masters(ctx, ""); err != nil {
			return err
		}
	}
	var errs []error
	for _, addr := range brokerAddrs {
		if _, err := a.c.Call(ctx, addr, wire.NewRequest(wire.UpdateAndCreateSubscriptionGroup, map[string]string{}, body)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Groups returns the consumer group configurations of one broker.
func (a *Admin) Groups(ctx context.Context, brokerAddr string) (map[string]GroupConfig, error) {
	resp, err := a.c.Call(ctx, brokerAddr, wire.NewRequest(wire.GetAllSubscriptionGroupConfig, map[string]string{}, nil))
	if err != nil {
		return nil, err
	}
	var body struct {
		SubscriptionGroupTable map[string]GroupConfig `json:"subscriptionGroupTable"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("%w: group configs from %s: %v", client.ErrServer, brokerAddr, err)
	}
	return body.SubscriptionGroupTable, nil
}

// DeleteGroup deletes a consumer group from brokers (every master when none is given).
func (a *Admin) DeleteGroup(ctx context.Context, group string, brokerAddrs ...string) error {
	var err error
	if len(brokerAddrs) == 0 {
		if brokerAddrs, err = a.masters(ctx, ""); err != nil {
			return err
		}
	}
	var errs []error
	for _, addr := range brokerAddrs {
		if _, err := a.c.Call(ctx, addr, wire.NewRequest(wire.DeleteSubscriptionGroup, map[string]string{"groupName": group}, nil)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// GroupMembers lists the client ids of a group's live members, as the brokers of topic see them.
func (a *Admin) GroupMembers(ctx context.Context, group, topic string) ([]string, error) {
	r, err := a.c.QueryRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	var errs []error
	for _, name := range r.BrokerNames() {
		ids, err := a.c.ConsumerIDs(ctx, r.MasterAddr(name), group)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(out)
	return out, nil
}

// ConsumerOffset is a group's committed offset of a queue; none is an error matching ErrNotFound.
func (a *Admin) ConsumerOffset(ctx context.Context, group string, q message.Queue) (int64, error) {
	return a.c.QueryConsumerOffset(ctx, group, q)
}

// UpdateConsumerOffset sets a group's committed offset of a queue. Members of the group that hold
// the queue keep their own position and overwrite it with their next commit.
func (a *Admin) UpdateConsumerOffset(ctx context.Context, group string, q message.Queue, offset int64) error {
	return a.c.UpdateConsumerOffset(ctx, group, q, offset)
}

// QueueOffsets is a group's progress on one queue.
type QueueOffsets struct {
	Queue message.Queue
	// Committed is the group's committed offset, -1 when it has none.
	Committed int64
	// Max is the offset the queue's next message will get; Max - Committed is the lag.
	Max int64
}

// ConsumerOffsets returns a group's progress on every readable queue of a topic.
func (a *Admin) ConsumerOffsets(ctx context.Context, group, topic string) ([]QueueOffsets, error) {
	r, err := a.c.QueryRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make([]QueueOffsets, 0, len(r.Subscribe))
	for _, q := range r.Subscribe {
		qo := QueueOffsets{Queue: q, Committed: -1}
		if qo.Max, err = a.c.MaxOffset(ctx, q); err != nil {
			return nil, err
		}
		off, err := a.c.QueryConsumerOffset(ctx, group, q)
		switch {
		case err == nil:
			qo.Committed = off
		case !errors.Is(err, client.ErrNotFound):
			return nil, err
		}
		out = append(out, qo)
	}
	return out, nil
}

// MinOffset is the offset of a queue's oldest stored message.
func (a *Admin) MinOffset(ctx context.Context, q message.Queue) (int64, error) {
	return a.c.MinOffset(ctx, q)
}

// MaxOffset is the offset a queue's next message will get.
func (a *Admin) MaxOffset(ctx context.Context, q message.Queue) (int64, error) {
	return a.c.MaxOffset(ctx, q)
}

// ResetOffsetByTime moves a group's offsets of a topic to the messages stored at t, on every
// broker of the topic (INVOKE_BROKER_TO_RESET_OFFSET); brokers tell online members. With force
// false an offset only moves backwards. It returns the new offsets.
func (a *Admin) ResetOffsetByTime(ctx context.Context, group, topic string, t time.Time, force bool) (map[message.Queue]int64, error) {
	r, err := a.c.QueryRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	ext := map[string]string{"topic": topic, "group": group, "timestamp": strconv.FormatInt(t.UnixMilli(), 10), "isForce": strconv.FormatBool(force)}
	out := map[message.Queue]int64{}
	for _, name := range r.BrokerNames() {
		addr := r.MasterAddr(name)
		resp, err := a.c.Call(ctx, addr, wire.NewRequest(wire.InvokeBrokerToResetOffset, ext, nil))
		if err != nil {
			return nil, err
		}
		if len(resp.Body) == 0 {
			continue
		}
		table, err := wire.DecodeOffsetTable(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: reset answer from %s: %v", client.ErrServer, addr, err)
		}
		for _, e := range table {
			out[message.Queue{Topic: e.Queue.Topic, BrokerName: e.Queue.BrokerName, QueueID: e.Queue.QueueID}] = e.Offset
		}
	}
	return out, nil
}
