package broker_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// fakeNamesrv records registrations.
type fakeNamesrv struct {
	mu   sync.Mutex
	regs []outbound.BrokerRegistration
	kick chan struct{}
}

func newFakeNamesrv() *fakeNamesrv { return &fakeNamesrv{kick: make(chan struct{}, 100)} }

func (f *fakeNamesrv) RegisterBroker(_ context.Context, _ string, reg outbound.BrokerRegistration) (outbound.RegisterResult, error) {
	f.mu.Lock()
	f.regs = append(f.regs, reg)
	f.mu.Unlock()
	f.kick <- struct{}{}
	return outbound.RegisterResult{}, nil
}

func (f *fakeNamesrv) UnregisterBroker(context.Context, string, outbound.BrokerRegistration) error {
	return nil
}

func (f *fakeNamesrv) registeredTopic(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.regs) == 0 {
		return false
	}
	for _, t := range f.regs[len(f.regs)-1].Topics {
		if t.Name == name {
			return true
		}
	}
	return false
}

// fakeChannel records notifications.
type fakeChannel struct {
	id       uint64
	mu       sync.Mutex
	notified []string
	checks   []outbound.TransactionCheck
}

func (c *fakeChannel) ID() uint64                 { return c.id }
func (c *fakeChannel) RemoteAddr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:5000") }
func (c *fakeChannel) Close() error               { return nil }
func (c *fakeChannel) NotifyConsumerIDsChanged(_ context.Context, g string) error {
	c.mu.Lock()
	c.notified = append(c.notified, g)
	c.mu.Unlock()
	return nil
}
func (c *fakeChannel) ResetConsumerOffsets(context.Context, string, string, string, int64, map[int32]int64) error {
	return nil
}
func (c *fakeChannel) CheckTransactionState(_ context.Context, chk outbound.TransactionCheck) error {
	c.mu.Lock()
	c.checks = append(c.checks, chk)
	c.mu.Unlock()
	return nil
}
func (c *fakeChannel) notifications() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.notified)
}

type env struct {
	b     *broker.Broker
	ns    *fakeNamesrv
	meta  *memory.MetaStore
	store *memory.Store
}

func newEnv(t *testing.T, mutate ...func(*broker.Config)) *env {
	t.Helper()
	return newEnvOn(t, memory.New(), memory.NewMetaStore(), mutate...)
}

func newEnvOn(t *testing.T, st *memory.Store, meta *memory.MetaStore, mutate ...func(*broker.Config)) *env {
	t.Helper()
	return newEnvWithTimers(t, st, meta, memory.NewTimerLog(), mutate...)
}

func newEnvWithTimers(t *testing.T, st *memory.Store, meta *memory.MetaStore, tl *memory.TimerLog, mutate ...func(*broker.Config)) *env {
	t.Helper()
	b, ns := startBroker(t, st, meta, tl, mutate...)
	return &env{b: b, ns: ns, meta: meta, store: st}
}

// startBroker starts a broker on st (any store: tests wrap the memory one to inject faults).
func startBroker(t *testing.T, st storage.MessageStore, meta *memory.MetaStore, tl *memory.TimerLog, mutate ...func(*broker.Config)) (*broker.Broker, *fakeNamesrv) {
	t.Helper()
	cfg := broker.Defaults()
	cfg.LongPollMaxSuspend = 5 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	ns := newFakeNamesrv()
	b := broker.New(cfg, st, meta, ns, testFilters(cfg), clock.System{}, zap.NewNop(), broker.WithTimerLog(tl))
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Serve(context.Background(), netip.MustParseAddrPort("127.0.0.1:10911"), "127.0.0.1:10912")
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	return b, ns
}

func sendReq(topicName, tag, body string) *inbound.SendRequest {
	return &inbound.SendRequest{
		ProducerGroup: "pg", Topic: topicName, QueueID: 0, BornTimestamp: time.Now().UnixMilli(),
		BornHost: netip.MustParseAddrPort("127.0.0.1:4000"), Body: []byte(body),
		Properties:   map[string]string{"TAGS": tag, "KEYS": "k1 k2", "WAIT": "true"},
		DefaultTopic: topic.DefaultTopic, DefaultTopicQueueNums: 4,
	}
}

func TestSendAutoCreatesTopicAndRegistersAtOnce(t *testing.T) {
	e := newEnv(t)
	res, err := e.b.Send(context.Background(), sendReq("Orders", "TagA", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Appended) != 1 || res.Appended[0].QueueOffset != 0 || res.Region != "DefaultRegion" {
		t.Fatalf("result %+v", res)
	}
	tc, ok := e.b.Topics()[0], false
	for _, c := range e.b.Topics() {
		if c.Name == "Orders" {
			tc, ok = c, true
		}
	}
	if !ok || tc.WriteQueueNums != 4 || tc.ReadQueueNums != 4 || tc.Perm != topic.PermRead|topic.PermWrite {
		t.Fatalf("auto-created topic %+v (found %v)", tc, ok)
	}
	deadline := time.After(5 * time.Second)
	for !e.ns.registeredTopic("Orders") {
		select {
		case <-e.ns.kick:
		case <-deadline:
			t.Fatal("the new topic was not registered with the name server")
		}
	}
	rec, err := e.store.Message(context.Background(), res.Appended[0].PhysicalOffset)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Properties["CLUSTER"] != "DefaultCluster" || rec.Properties["WAIT"] != "" || rec.Properties["KEYS"] != "k1 k2" {
		t.Fatalf("stored properties %v", rec.Properties)
	}
	if rec.StoreHost.String() != "127.0.0.1:10911" || rec.BornHost.String() != "127.0.0.1:4000" {
		t.Fatalf("hosts %v %v", rec.StoreHost, rec.BornHost)
	}
}

func TestSendRefusals(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.AutoCreateTopic = false })
	cases := []struct {
		name string
		req  *inbound.SendRequest
		want error
	}{
		{"invalid topic", sendReq("../etc", "", "x"), errs.ErrMessageIllegal},
		{"system topic", sendReq(topic.ScheduleTopic, "", "x"), errs.ErrNoPermission},
		{"unknown topic without auto-create", sendReq("Nope", "", "x"), errs.ErrTopicNotExist},
	}
	for _, c := range cases {
		if _, err := e.b.Send(context.Background(), c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if err := e.b.CreateOrUpdateTopic(context.Background(), topic.Config{Name: "Two", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6}); err != nil {
		t.Fatal(err)
	}
	r := sendReq("Two", "", "x")
	r.QueueID = 2
	if _, err := e.b.Send(context.Background(), r); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("queue out of range: %v", err)
	}
}

// An admin's topic creation is answered only once the name servers know the topic, so a
// producer that asks for its route right after gets the new queue count, not the template's.
func TestCreateTopicIsRegisteredBeforeItIsAnswered(t *testing.T) {
	e := newEnv(t)
	if err := e.b.CreateOrUpdateTopic(context.Background(), topic.Config{Name: "Fresh", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6}); err != nil {
		t.Fatal(err)
	}
	if !e.ns.registeredTopic("Fresh") {
		t.Fatal("CreateOrUpdateTopic returned before the name server had the topic")
	}
}

func TestBatchStoresEachMessageWithConsecutiveOffsets(t *testing.T) {
	e := newEnv(t)
	req := sendReq("Batch", "", "")
	req.Body = nil
	req.Properties = map[string]string{}
	for i := 0; i < 3; i++ {
		req.Batch = append(req.Batch, inbound.BatchEntry{Body: []byte{byte('a' + i)}, Properties: map[string]string{"TAGS": "T"}})
	}
	res, err := e.b.Send(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range res.Appended {
		if a.QueueOffset != int64(i) {
			t.Fatalf("record %d at queue offset %d", i, a.QueueOffset)
		}
		m, err := e.store.Message(context.Background(), a.PhysicalOffset)
		if err != nil || string(m.Body) != string(rune('a'+i)) || m.Properties["CLUSTER"] == "" || m.Properties["TAGS"] != "T" {
			t.Fatalf("record %d: %+v %v", i, m, err)
		}
	}
}

func heartbeat(group, topicName, expr string) *inbound.Heartbeat {
	return &inbound.Heartbeat{ClientID: "c-" + group, Consumers: []inbound.ConsumerData{{
		Group: group, ConsumeType: "CONSUME_PASSIVELY", MessageModel: broker.ModelClustering,
		Subscriptions: []inbound.Subscription{{Topic: topicName, Expression: expr, ExpressionType: "TAG", Version: 1}},
	}}}
}

func pullReq(group, topicName string, offset int64, suspend time.Duration) *inbound.PullRequest {
	return &inbound.PullRequest{Group: group, Topic: topicName, QueueID: 0, QueueOffset: offset, MaxMsgNums: 32,
		SysFlag: inbound.PullFlagSuspend, SuspendTimeout: suspend}
}

func TestPullFindsFiltersAndAnswersOffsets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tag := range []string{"TagA", "TagB", "TagA"} {
		if _, err := e.b.Send(ctx, sendReq("P", tag, "m-"+tag)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.b.Pull(ctx, pullReq("g", "P", 0, 0)); !errors.Is(err, errs.ErrSubscriptionNotExist) {
		t.Fatalf("pull before heartbeat: %v", err)
	}
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "P", "TagA")); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Pull(ctx, pullReq("g", "P", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := wire.DecodeRecords(res.Body)
	if err != nil || res.Status != inbound.PullFound || len(recs) != 2 || res.NextBeginOffset != 3 {
		t.Fatalf("pull: %+v recs %d err %v", res, len(recs), err)
	}
	for i, r := range recs {
		if r.QueueOffset != int64(i*2) || string(r.Body) != "m-TagA" {
			t.Fatalf("record %d: offset %d body %q", i, r.QueueOffset, r.Body)
		}
	}
	// Offset beyond the end of a queue that still holds its head restarts at 0.
	if res, _ := e.b.Pull(ctx, pullReq("g", "P", 9, 0)); res.Status != inbound.PullOffsetMoved || res.NextBeginOffset != 0 {
		t.Fatalf("overflow: %+v", res)
	}
	if res, _ := e.b.Pull(ctx, pullReq("g", "P", 3, 0)); res.Status != inbound.PullNoNewMsg || res.NextBeginOffset != 3 || res.MaxOffset != 3 {
		t.Fatalf("at end: %+v", res)
	}
	// A subscription no record matches scans to the end and answers "no match" with the offset after it.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 2}, heartbeat("h", "P", "TagC")); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.b.Pull(ctx, pullReq("h", "P", 0, 0)); res.Status != inbound.PullNoMatched || res.NextBeginOffset != 3 {
		t.Fatalf("no match: %+v", res)
	}
}

func TestLongPollWakesOnArrivalAndTimesOut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.b.Send(ctx, sendReq("L", "", "first")); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, heartbeat("g", "L", "*")); err != nil {
		t.Fatal(err)
	}
	done := make(chan *inbound.PullResult, 1)
	go func() {
		res, err := e.b.Pull(ctx, pullReq("g", "L", 1, 30*time.Second))
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Send until the held pull answers: the send may land before the pull is held, which the
	// pull must also notice.
	if _, err := e.b.Send(ctx, sendReq("L", "", "second")); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.Status != inbound.PullFound || res.Count != 1 {
			t.Fatalf("held pull answered %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held pull not answered after a message landed")
	}

	start := time.Now()
	res, err := e.b.Pull(ctx, pullReq("g", "L", 2, 100*time.Millisecond))
	if err != nil || res.Status != inbound.PullNoNewMsg || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("timeout: %+v %v after %v", res, err, time.Since(start))
	}

	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if res, err := e.b.Pull(cctx, pullReq("g", "L", 2, time.Minute)); err != nil || res.Status != inbound.PullNoNewMsg {
		t.Fatalf("cancelled hold: %+v %v", res, err)
	}
}

func TestHeartbeatCreatesRetryTopicAndNotifiesMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := &fakeChannel{id: 1}, &fakeChannel{id: 2}
	if err := e.b.Heartbeat(ctx, a, heartbeat("g", "T", "*")); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range e.b.Topics() {
		found = found || c.Name == "%RETRY%g"
	}
	if !found {
		t.Fatal("retry topic not created on first heartbeat")
	}
	hb := heartbeat("g", "T", "*")
	hb.ClientID = "other"
	if err := e.b.Heartbeat(ctx, b, hb); err != nil {
		t.Fatal(err)
	}
	// Notifications are written asynchronously.
	waitFor(t, "notifications", 5*time.Second, func() bool { return a.notifications() >= 2 && b.notifications() >= 1 })
	if ids := e.b.ConsumerIDs("g"); len(ids) != 2 {
		t.Fatalf("ids %v", ids)
	}
	before := a.notifications()
	if err := e.b.Heartbeat(ctx, b, hb); err != nil { // unchanged: no notification
		t.Fatal(err)
	}
	e.b.ChannelClosed(b)
	if ids := e.b.ConsumerIDs("g"); len(ids) != 1 {
		t.Fatalf("after close: ids %v", ids)
	}
	// Exactly one more: the close notifies, the unchanged heartbeat before it did not.
	waitFor(t, "the close notification", 5*time.Second, func() bool { return a.notifications() == before+1 })
	time.Sleep(50 * time.Millisecond) // absence can only be seen over time: no notice beyond that one
	if n := a.notifications(); n != before+1 {
		t.Fatalf("notifications %d, want %d", n, before+1)
	}
	if err := e.b.Heartbeat(ctx, a, heartbeat("bad/group", "T", "*")); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Fatalf("bad group: %v", err)
	}
}

func TestOffsetsPersistAcrossRestart(t *testing.T) {
	st, meta := memory.New(), memory.NewMetaStore()
	e := newEnvOn(t, st, meta)
	ctx := context.Background()
	if _, err := e.b.Send(ctx, sendReq("O", "", "x")); err != nil {
		t.Fatal(err)
	}
	off, found, err := e.b.QueryConsumerOffset(ctx, "g", "O", 0)
	if err != nil || !found || off != 0 {
		t.Fatalf("new group on a young queue: %d %v %v", off, found, err)
	}
	if err := e.b.UpdateConsumerOffset(ctx, "g", "O", 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOn(t, st, meta)
	if off, found, _ := e2.b.QueryConsumerOffset(ctx, "g", "O", 0); !found || off != 1 {
		t.Fatalf("after restart: %d %v", off, found)
	}
	if err := e2.b.UpdateConsumerOffset(ctx, "g", "O", 0, -5); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}
	if m, _ := e2.b.MaxOffset(ctx, "O", 0); m != 1 {
		t.Fatalf("max offset %d", m)
	}
}

func TestUnregisterDropsOnlyTheNamedGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ch := &fakeChannel{id: 1}
	hb := heartbeat("g1", "T", "*")
	hb.Consumers = append(hb.Consumers, heartbeat("g2", "T", "*").Consumers...)
	if err := e.b.Heartbeat(ctx, ch, hb); err != nil {
		t.Fatal(err)
	}
	e.b.Unregister(ch, "", "g1")
	if ids := e.b.ConsumerIDs("g1"); len(ids) != 0 {
		t.Fatalf("g1 still has %v", ids)
	}
	if ids := e.b.ConsumerIDs("g2"); len(ids) != 1 {
		t.Fatalf("g2 lost its member: %v", ids)
	}
}
