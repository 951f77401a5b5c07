package broker

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

// clientScanInterval is how often silent clients are looked for (RocketMQ's 10 s).
const clientScanInterval = 10 * time.Second

// Broker is the broker's domain. It implements the inbound ports the transport calls.
type Broker struct {
	cfg     Config
	store   storage.MessageStore
	clock   clock.Clock
	log     *zap.Logger
	topics  *Topics
	groups  *Groups
	offsets *ConsumerOffsets
	clients *Clients
	polls   *longPolls
	reg     *registrar
	meta    storage.MetaStore
	sched   *scheduler
	tx      *transactions
	timers  *timers
	locks   *queueLocks
	filters *subFilters

	addr   atomic.Pointer[netip.AddrPort] // advertised address, set by Serve
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ inbound.Sender     = (*Broker)(nil)
	_ inbound.Puller     = (*Broker)(nil)
	_ inbound.Offsets    = (*Broker)(nil)
	_ inbound.Clients    = (*Broker)(nil)
	_ inbound.TopicAdmin = (*Broker)(nil)
)

// Option adds an optional capability to a broker.
type Option func(*Broker)

// WithTimerLog enables timer messages (any delivery time), filed in l.
func WithTimerLog(l storage.TimerLog) Option {
	return func(b *Broker) {
		b.timers = newTimers(b, l, b.meta, b.cfg.TimerMaxDelay, b.log.Named("timer"))
	}
}

// New builds a broker over its store, its metadata store, its name-server client and the
// filters it compiles subscriptions with (TAG, and SQL92 when cfg.EnablePropertyFilter).
func New(cfg Config, store storage.MessageStore, meta storage.MetaStore, ns outbound.NameServerClient,
	filters *filter.Registry, clk clock.Clock, log *zap.Logger, opts ...Option) *Broker {
	topics := NewTopics(cfg, meta, clk, log)
	groups := NewGroups(cfg, meta, log)
	b := &Broker{
		cfg: cfg, store: store, meta: meta, clock: clk, log: log,
		topics: topics, groups: groups,
		offsets: NewConsumerOffsets(meta, log),
		clients: NewClients(cfg, clk, topics, groups, log),
		polls:   newLongPolls(cfg.MaxHeldPulls, cfg.MaxHeldPullsPerConn),
	}
	b.reg = newRegistrar(cfg, ns, topics, log)
	b.filters = newSubFilters(filters, cfg.EnablePropertyFilter)
	b.locks = newQueueLocks(cfg.LockLease, clk)
	b.tx = newTransactions(b, log.Named("transaction"))
	for _, o := range opts {
		o(b)
	}
	return b
}

// Start loads the broker's metadata and starts its background work. It does not register with
// name servers yet: Serve does, once the listener's address is known.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.topics.Load(ctx); err != nil {
		return err
	}
	if err := b.groups.Load(ctx); err != nil {
		return err
	}
	if err := b.offsets.Load(ctx); err != nil {
		return err
	}
	levels, err := ParseDelayLevels(b.cfg.MessageDelayLevel)
	if err != nil {
		return fmt.Errorf("broker.messageDelayLevel: %w", err)
	}
	b.sched = newScheduler(levels, b.store, b.meta, b.clock, b.log.Named("schedule"))
	if err := b.sched.load(ctx); err != nil {
		return err
	}
	if err := b.tx.load(ctx); err != nil {
		return err
	}
	if b.timers != nil {
		if err := b.timers.load(ctx); err != nil {
			return fmt.Errorf("timers: %w", err)
		}
		b.store.OnArrival(b.timers.arrived)
	}
	b.store.OnArrival(b.polls.arrived)
	b.store.OnArrival(b.sched.arrived)
	b.topics.OnChange(b.reg.trigger)
	bg, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.clients.runExpiry(bg, clientScanInterval) }()
	go func() { defer b.wg.Done(); b.persistOffsetsEvery(bg, b.cfg.OffsetFlushInterval) }()
	b.sched.run(bg, &b.wg)
	b.wg.Add(1)
	go func() { defer b.wg.Done(); b.tx.runChecks(bg, b.cfg.TransactionCheckInterval) }()
	if b.timers != nil {
		b.timers.run(bg, &b.wg)
	}
	return nil
}

// Serve records the address clients dial (the store host of every record) and registers with the
// name servers: once before it returns, so that a broker reported as started is routable, then
// periodically.
func (b *Broker) Serve(ctx context.Context, addr netip.AddrPort, haAddr string) {
	b.addr.Store(&addr)
	b.reg.start(ctx, addr.String(), haAddr)
}

// SetNamesrvAddrs replaces the configured name servers; call it before Serve.
func (b *Broker) SetNamesrvAddrs(addrs []string) { b.reg.setNamesrvAddrs(addrs) }

// Addr is the advertised address once serving.
func (b *Broker) Addr() (netip.AddrPort, bool) { return b.storeHost() }

func (b *Broker) storeHost() (netip.AddrPort, bool) {
	p := b.addr.Load()
	if p == nil {
		return netip.AddrPort{}, false
	}
	return *p, true
}

// Stop unregisters from name servers, stops background work and persists offsets.
func (b *Broker) Stop(ctx context.Context) error {
	b.reg.stop(ctx)
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	if err := b.offsets.Persist(ctx); err != nil {
		return fmt.Errorf("persist consumer offsets at shutdown: %w", err)
	}
	if b.sched != nil {
		if err := b.sched.persist(ctx); err != nil {
			return fmt.Errorf("persist delay progress at shutdown: %w", err)
		}
	}
	if b.timers != nil {
		if err := b.timers.checkpoint(ctx); err != nil {
			return fmt.Errorf("timer checkpoint at shutdown: %w", err)
		}
	}
	return nil
}

func (b *Broker) persistOffsetsEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.offsets.Persist(ctx); err != nil {
				b.log.Error("persist consumer offsets", zap.Error(err))
			}
			if err := b.sched.persist(ctx); err != nil {
				b.log.Error("persist delay progress", zap.Error(err))
			}
		}
	}
}

// Heartbeat registers a client. Its subscriptions are compiled first: one that does not compile
// refuses the whole heartbeat, as invalid names do, and the group's pulls then answer with the
// same reason.
func (b *Broker) Heartbeat(ctx context.Context, ch outbound.Channel, hb *inbound.Heartbeat) error {
	if err := b.filters.check(hb); err != nil {
		return err
	}
	return b.clients.Heartbeat(ctx, ch, hb)
}

// ChannelClosed forgets a client connection.
func (b *Broker) ChannelClosed(ch outbound.Channel) { b.clients.ChannelClosed(ch) }

// Unregister drops a client's registration in the named groups.
func (b *Broker) Unregister(ch outbound.Channel, producerGroup, consumerGroup string) {
	b.clients.Unregister(ch, producerGroup, consumerGroup)
}

// ConsumerIDs lists a group's live members.
func (b *Broker) ConsumerIDs(group string) []string { return b.clients.ConsumerIDs(group) }

// CreateOrUpdateTopic is the admin path to a topic.
func (b *Broker) CreateOrUpdateTopic(ctx context.Context, cfg topic.Config) error {
	if topic.NotWritableByClients(cfg.Name) || cfg.Name == topic.DefaultTopic {
		return fmt.Errorf("%w: %s is a system topic", errs.ErrNoPermission, cfg.Name)
	}
	if err := b.topics.CreateOrUpdateTopic(ctx, cfg); err != nil {
		return err
	}
	b.reg.registerNow(ctx)
	return nil
}

// DeleteTopic removes a topic, its consume queues and its consumer offsets.
func (b *Broker) DeleteTopic(ctx context.Context, name string) error {
	if err := topic.ValidateTopic(name); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if topic.NotWritableByClients(name) || name == topic.DefaultTopic {
		return fmt.Errorf("%w: %s is a system topic", errs.ErrNoPermission, name)
	}
	if err := b.topics.DeleteTopic(ctx, name); err != nil {
		return err
	}
	b.offsets.DeleteTopic(name)
	if err := b.store.DeleteTopic(ctx, name); err != nil {
		return fmt.Errorf("delete consume queues of %s: %w", name, storeError(err))
	}
	return nil
}

// HeldPulls counts the pulls being held.
func (b *Broker) HeldPulls() int { return b.polls.held() }

// SubscriptionGroups lists the consumer groups' configurations and their data version.
func (b *Broker) SubscriptionGroups() ([]topic.SubscriptionGroup, topic.DataVersion) {
	return b.groups.Snapshot()
}

// Topics lists the topic table.
func (b *Broker) Topics() []topic.Config { return b.topics.Topics() }

// QueryConsumerOffset returns the committed offset. Without one, RocketMQ's rule decides: a
// queue whose first record is still hot (within HotLogBytes of the log's end) answers 0, so a new
// group on a young topic reads from the start even with ConsumeFromLastOffset; otherwise found is
// false and the client picks its start (last, first or by time).
func (b *Broker) QueryConsumerOffset(ctx context.Context, group, topicName string, queueID int32) (int64, bool, error) {
	if err := validNames(group, topicName); err != nil {
		return 0, false, err
	}
	if off, ok := b.offsets.Get(group, topicName, queueID); ok {
		return off, true, nil
	}
	q := topic.QueueRef{Topic: topicName, QueueID: queueID}
	minOff, maxOff := b.store.QueueBounds(q)
	if minOff > 0 {
		return 0, false, nil
	}
	if maxOff == 0 || b.cfg.HotLogBytes <= 0 {
		return 0, true, nil
	}
	units, err := b.store.Lookup(ctx, q, 0, 1, nil)
	if err != nil || len(units) == 0 {
		return 0, false, nil
	}
	_, logEnd := b.store.LogBounds()
	return 0, logEnd-units[0].PhyOffset <= b.cfg.HotLogBytes, nil
}

// UpdateConsumerOffset commits an offset.
func (b *Broker) UpdateConsumerOffset(_ context.Context, group, topicName string, queueID int32, offset int64) error {
	if err := validNames(group, topicName); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: negative offset %d", errs.ErrInvalidArgument, offset)
	}
	// Only queues that exist: the table is persisted every few seconds and must stay bounded.
	tc, ok := b.topics.Get(topicName)
	if !ok {
		return fmt.Errorf("%w: %s", errs.ErrTopicNotExist, topicName)
	}
	if queueID < 0 || queueID >= tc.QueueNums() {
		return fmt.Errorf("%w: queue %d of topic %s does not exist", errs.ErrInvalidArgument, queueID, topicName)
	}
	b.offsets.Commit(group, topicName, queueID, offset)
	return nil
}

// MaxOffset is the next offset to be written in a queue.
func (b *Broker) MaxOffset(_ context.Context, topicName string, queueID int32) (int64, error) {
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	_, m := b.store.QueueBounds(topic.QueueRef{Topic: topicName, QueueID: queueID})
	return m, nil
}

// MinOffset is the smallest offset a queue still holds.
func (b *Broker) MinOffset(_ context.Context, topicName string, queueID int32) (int64, error) {
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	m, _ := b.store.QueueBounds(topic.QueueRef{Topic: topicName, QueueID: queueID})
	return m, nil
}

// SearchOffset finds the first offset stored at or after a time.
func (b *Broker) SearchOffset(ctx context.Context, topicName string, queueID int32, ts int64) (int64, error) {
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	off, err := b.store.OffsetAt(ctx, topic.QueueRef{Topic: topicName, QueueID: queueID}, ts)
	if err != nil {
		return 0, storeError(err)
	}
	return off, nil
}

func validNames(group, topicName string) error {
	if err := topic.ValidateGroup(group); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	if err := topic.ValidateTopic(topicName); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalidArgument, err)
	}
	return nil
}
