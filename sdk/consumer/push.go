package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// subscription is one subscribed topic.
type subscription struct {
	topic   string
	sel     Selector
	tags    []string // TAG selectors: the tags, empty for "*"
	version int64
	handler Handler
}

func (s *subscription) data() wire.SubscriptionData {
	d := wire.SubscriptionData{Topic: s.topic, SubString: s.sel.Expression, ExpressionType: s.sel.Type,
		SubVersion: s.version, TagsSet: []string{}, CodeSet: []json.RawMessage{}}
	if s.sel.Type == "TAG" {
		for _, t := range s.tags {
			d.TagsSet = append(d.TagsSet, t)
			d.CodeSet = append(d.CodeSet, json.RawMessage(strconv.FormatInt(message.TagHash(t), 10)))
		}
	}
	return d
}

// Consumer states.
const (
	stateNew = iota
	stateStarted
	stateClosed
)

// PushConsumer delivers the messages of its subscriptions to handlers: it divides the topics'
// queues with the other members of its group (clustering) or reads them all (broadcasting),
// long-polls each of its queues, runs the handlers with bounded concurrency, and commits offsets.
type PushConsumer struct {
	opts       Options
	client     *client.Client
	ownClient  bool
	log        *slog.Logger
	group      string
	retryTopic string

	subs    map[string]*subscription // fixed once started
	offsets offsetStore

	runCtx        context.Context // pulls and loops; ends when Shutdown begins
	runCancel     context.CancelFunc
	consumeCtx    context.Context // handlers; ends when Shutdown gives up waiting
	consumeCancel context.CancelFunc
	wg            sync.WaitGroup // loops and queue goroutines
	workers       sync.WaitGroup // concurrent consumption workers

	tasks chan *consumeTask // concurrent mode
	sem   chan struct{}     // orderly mode: handler calls running

	mu        sync.Mutex
	state     int
	queues    map[message.Queue]*processQueue
	retiring  map[message.Queue]*processQueue
	startedAt time.Time

	rebalanceWake chan struct{}
	unregister    func()
	resets        map[message.Queue]int64 // offsets a broker asked to reset to, applied by the rebalance loop
}

// NewPush makes a push consumer; Subscribe, then Start.
func NewPush(opts Options) (*PushConsumer, error) {
	opts.defaults()
	if err := validateGroup(opts.Group); err != nil {
		return nil, err
	}
	p := &PushConsumer{
		opts:          opts,
		group:         opts.Group,
		retryTopic:    message.RetryTopic(opts.Group),
		subs:          map[string]*subscription{},
		queues:        map[message.Queue]*processQueue{},
		retiring:      map[message.Queue]*processQueue{},
		rebalanceWake: make(chan struct{}, 1),
	}
	p.client = opts.Client
	if p.client == nil {
		c, err := client.New(client.Options{NameServers: opts.NameServers, Logger: opts.Logger, InstanceName: opts.InstanceName})
		if err != nil {
			return nil, err
		}
		p.client, p.ownClient = c, true
	}
	p.log = p.client.Logger().With("consumer", opts.Group)
	return p, nil
}

func validateGroup(g string) error {
	if g == "" {
		return errors.New("rocketgo: consumer group is required")
	}
	if g == "DEFAULT_CONSUMER" {
		return errors.New("rocketgo: consumer group DEFAULT_CONSUMER is reserved")
	}
	if len(g) > 255 {
		return fmt.Errorf("rocketgo: consumer group %q is longer than 255 characters", g)
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c == '%' || c == '|' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("rocketgo: consumer group %q has a character outside [%%|a-zA-Z0-9_-]", g)
		}
	}
	return nil
}

// Client is the consumer's client.
func (p *PushConsumer) Client() *client.Client { return p.client }

// Subscribe adds a topic, before Start.
func (p *PushConsumer) Subscribe(topic string, sel Selector, h Handler) error {
	if h == nil {
		return errors.New("rocketgo: nil handler")
	}
	if topic == "" {
		return errors.New("rocketgo: empty topic")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateNew {
		return errors.New("rocketgo: Subscribe after Start")
	}
	sel = sel.normalized()
	s := &subscription{topic: topic, sel: sel, version: time.Now().UnixMilli(), handler: h}
	if sel.Type == "TAG" {
		s.tags = message.ParseTagExpression(sel.Expression)
	}
	p.subs[topic] = s
	return nil
}

// Start looks the subscribed topics up (each must exist), registers the group with the brokers
// and starts consuming. Queues are assigned by a rebalance that starts at once and repeats
// every RebalanceInterval and whenever a broker reports a change in the group.
func (p *PushConsumer) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.state != stateNew {
		p.mu.Unlock()
		return errors.New("rocketgo: consumer already started")
	}
	if len(p.subs) == 0 {
		p.mu.Unlock()
		return errors.New("rocketgo: no subscription")
	}
	if p.opts.Model == Clustering {
		if _, ok := p.subs[p.retryTopic]; !ok {
			var h Handler
			for _, s := range p.subs {
				h = s.handler
				break
			}
			p.subs[p.retryTopic] = &subscription{topic: p.retryTopic, sel: Tag("*"), version: time.Now().UnixMilli(), handler: h}
		}
	}
	p.mu.Unlock()

	for topic := range p.subs {
		if topic == p.retryTopic {
			continue // created by the broker when our heartbeat arrives
		}
		if _, err := p.client.Route(ctx, topic); err != nil {
			return fmt.Errorf("rocketgo: consumer %s: route of %s: %w", p.group, topic, err)
		}
	}
	if p.opts.Model == Clustering {
		p.offsets = &remoteOffsets{c: p.client, group: p.group}
	} else {
		lo := &localOffsets{path: p.opts.OffsetFile}
		if err := lo.load(); err != nil {
			return fmt.Errorf("rocketgo: consumer %s: %w", p.group, err)
		}
		p.offsets = lo
	}
	if p.opts.StartTimestamp.IsZero() {
		p.opts.StartTimestamp = time.Now().Add(-30 * time.Minute)
	}
	unregister, err := p.client.RegisterConsumer(p.group, p)
	if err != nil {
		return err
	}
	if err := p.client.Heartbeat(ctx); err != nil {
		unregister()
		return fmt.Errorf("rocketgo: consumer %s: heartbeat: %w", p.group, err)
	}

	p.mu.Lock()
	p.unregister = unregister
	p.state = stateStarted
	p.startedAt = time.Now()
	p.runCtx, p.runCancel = context.WithCancel(context.Background())
	p.consumeCtx, p.consumeCancel = context.WithCancel(context.Background())
	if p.opts.Orderly {
		p.sem = make(chan struct{}, p.opts.Concurrency)
	} else {
		p.tasks = make(chan *consumeTask, p.opts.Concurrency)
		p.workers.Add(p.opts.Concurrency)
		for range p.opts.Concurrency {
			go p.worker()
		}
	}
	p.wg.Add(2)
	go p.rebalanceLoop()
	go p.commitLoop()
	if p.lockingOrderly() {
		p.wg.Add(1)
		go p.lockLoop()
	}
	p.mu.Unlock()
	return nil
}

// lockingOrderly: orderly in clustering mode consumes only queues locked at the broker.
func (p *PushConsumer) lockingOrderly() bool { return p.opts.Orderly && p.opts.Model == Clustering }

// Shutdown stops pulling, waits for the handlers running (and gives up when ctx ends: their
// context is cancelled then), commits the offsets, releases orderly locks, and closes the
// consumer's own client. Messages pulled but not consumed are delivered again later.
func (p *PushConsumer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.state == stateClosed {
		p.mu.Unlock()
		return nil
	}
	started := p.state == stateStarted
	p.state = stateClosed
	p.mu.Unlock()
	if !started {
		if p.ownClient {
			return p.client.Close(ctx)
		}
		return nil
	}
	p.runCancel()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		p.workers.Wait()
		close(done)
	}()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		p.consumeCancel()
		<-done
		errs = append(errs, fmt.Errorf("rocketgo: consumer %s shutdown: handlers still running: %w", p.group, ctx.Err()))
	}
	p.consumeCancel()

	p.mu.Lock()
	held := make([]message.Queue, 0, len(p.queues))
	for q := range p.queues {
		held = append(held, q)
	}
	p.queues = map[message.Queue]*processQueue{}
	p.mu.Unlock()

	fctx, cancel := context.WithTimeout(context.Background(), p.client.RequestTimeout())
	if err := p.offsets.persist(fctx, held); err != nil {
		errs = append(errs, err)
	}
	if p.lockingOrderly() {
		p.unlockAll(fctx, held)
	}
	p.unregister()
	if !p.ownClient {
		for _, addr := range p.client.BrokerAddrs(true) {
			_ = p.client.UnregisterClient(fctx, addr, "", p.group)
		}
		cancel()
		_ = p.client.Heartbeat(context.Background())
	} else {
		cancel()
		if err := p.client.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ConsumerData implements client.Consumer.
func (p *PushConsumer) ConsumerData() wire.ConsumerData {
	d := wire.ConsumerData{GroupName: p.group, ConsumeType: "CONSUME_PASSIVELY", MessageModel: p.opts.Model.String(),
		ConsumeFromWhere: p.opts.StartFrom.String(), SubscriptionDataSet: []wire.SubscriptionData{}}
	topics := make([]string, 0, len(p.subs))
	for t := range p.subs {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		d.SubscriptionDataSet = append(d.SubscriptionDataSet, p.subs[t].data())
	}
	return d
}

// IDsChanged implements client.Consumer: rebalance soon.
func (p *PushConsumer) IDsChanged() { p.wakeRebalance() }

// RunningInfo implements client.Consumer.
func (p *PushConsumer) RunningInfo() map[string]string {
	p.mu.Lock()
	started := p.startedAt
	p.mu.Unlock()
	return map[string]string{
		"PROP_CLIENT_VERSION":           "rocketgo-sdk",
		"PROP_CONSUMEORDERLY":           strconv.FormatBool(p.opts.Orderly),
		"PROP_CONSUME_TYPE":             "CONSUME_PASSIVELY",
		"PROP_THREADPOOL_CORE_SIZE":     strconv.Itoa(p.opts.Concurrency),
		"PROP_CONSUMER_START_TIMESTAMP": strconv.FormatInt(started.UnixMilli(), 10),
	}
}

// ResetOffsets implements client.OffsetResetter (RESET_CONSUMER_CLIENT_OFFSET, sent by brokers
// when an admin resets the group's offsets): the queues named restart from the given offsets.
func (p *PushConsumer) ResetOffsets(topic string, offsets map[message.Queue]int64) {
	if _, ok := p.subs[topic]; !ok || len(offsets) == 0 {
		return
	}
	p.mu.Lock()
	if p.resets == nil {
		p.resets = map[message.Queue]int64{}
	}
	for q, off := range offsets {
		p.resets[q] = off
	}
	p.mu.Unlock()
	p.wakeRebalance()
}

// applyResets stops the queues to reset, stores their new offsets and lets the rebalance that
// follows take them again from there.
func (p *PushConsumer) applyResets() {
	p.mu.Lock()
	resets := p.resets
	p.resets = nil
	var stopped []*processQueue
	for q := range resets {
		if pq := p.queues[q]; pq != nil {
			delete(p.queues, q)
			stopped = append(stopped, pq)
		}
	}
	p.mu.Unlock()
	if len(resets) == 0 {
		return
	}
	for _, pq := range stopped {
		pq.drop()
		select {
		case <-pq.done: // retired: its last commit is behind us
		case <-p.runCtx.Done():
			return
		}
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
	defer cancel()
	qs := make([]message.Queue, 0, len(resets))
	for q, off := range resets {
		p.offsets.update(q, off)
		qs = append(qs, q)
	}
	if err := p.offsets.persist(ctx, qs); err != nil {
		p.log.Warn("storing reset offsets failed", "err", err)
	}
	p.log.Info("offsets reset", "queues", len(resets))
}

// Assigned lists the queues this consumer currently reads, sorted.
func (p *PushConsumer) Assigned() []message.Queue {
	p.mu.Lock()
	out := make([]message.Queue, 0, len(p.queues))
	for q := range p.queues {
		out = append(out, q)
	}
	p.mu.Unlock()
	slices.SortFunc(out, message.Queue.Compare)
	return out
}

func (p *PushConsumer) wakeRebalance() {
	select {
	case p.rebalanceWake <- struct{}{}:
	default:
	}
}

// Rebalance runs a rebalance now (it also runs by itself); useful after a membership change.
func (p *PushConsumer) Rebalance() { p.wakeRebalance() }

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *PushConsumer) commitLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-p.runCtx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(p.runCtx, p.client.RequestTimeout())
		if err := p.offsets.persist(ctx, p.Assigned()); err != nil && p.runCtx.Err() == nil {
			p.log.Debug("offset commit failed", "err", err)
		}
		cancel()
	}
}
