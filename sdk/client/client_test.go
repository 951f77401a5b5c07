package client

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/internal/fakemq"
	"github.com/rocketgo/rocketgo/sdk/internal/leaktest"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func newClient(t *testing.T, ns string, opts ...func(*Options)) *Client {
	t.Helper()
	o := Options{NameServers: []string{ns}, InstanceName: t.Name()}
	for _, f := range opts {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func TestRouteQuotedAndUnquotedIDs(t *testing.T) {
	for _, quoted := range []bool{false, true} {
		t.Run("quoted="+strconv.FormatBool(quoted), func(t *testing.T) {
			cl := fakemq.NewCluster(t, 2)
			cl.QuotedIDs = quoted
			cl.CreateTopic("T", 3)
			c := newClient(t, cl.NS.Addr)
			r, err := c.Route(context.Background(), "T")
			if err != nil {
				t.Fatal(err)
			}
			if got := r.MasterAddr("broker-1"); got != cl.Brokers[1].Addr {
				t.Errorf("master of broker-1: %q, want %q", got, cl.Brokers[1].Addr)
			}
			if len(r.Publish) != 6 || len(r.Subscribe) != 6 || r.FromDefault {
				t.Errorf("publish %v subscribe %v fromDefault %v", r.Publish, r.Subscribe, r.FromDefault)
			}
			if r.Subscribe[0].BrokerName != "broker-0" || r.Subscribe[5].QueueID != 2 {
				t.Errorf("subscribe queues not sorted: %v", r.Subscribe)
			}
			// Cached: no second lookup.
			n := cl.NS.Count(wire.GetRouteInfoByTopic)
			if _, err := c.Route(context.Background(), "T"); err != nil || cl.NS.Count(wire.GetRouteInfoByTopic) != n {
				t.Errorf("second Route: err %v, lookups %d -> %d", err, n, cl.NS.Count(wire.GetRouteInfoByTopic))
			}
		})
	}
}

func TestRouteOfUnknownTopicAndTemplateFallback(t *testing.T) {
	cl := fakemq.NewCluster(t, 1)
	c := newClient(t, cl.NS.Addr)
	if _, err := c.Route(context.Background(), "Nope"); !errors.Is(err, ErrTopicNotExist) {
		t.Fatalf("err %v, want ErrTopicNotExist", err)
	}
	r, err := c.PublishRoute(context.Background(), "New", "", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !r.FromDefault || len(r.Publish) != 4 || r.Publish[0].Topic != "New" {
		t.Fatalf("template route %+v", r)
	}
	// Once the topic exists, a refresh replaces the derived route.
	cl.CreateTopic("New", 2)
	r, err = c.RefreshRoute(context.Background(), "New")
	if err != nil || r.FromDefault || len(r.Publish) != 2 {
		t.Fatalf("refreshed %+v, %v", r, err)
	}
}

func TestConcurrentRequestsShareOneConnection(t *testing.T) {
	defer leaktest.Check(t)()
	srv := fakemq.NewServer(t)
	srv.Handle(wire.GetMaxOffset, func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
		time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond) // answers come out of order
		resp := wire.NewResponse(req, wire.Success, "")
		resp.SetExt("offset", req.Ext("queueId"))
		return resp
	})
	c, err := New(Options{NameServers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Invoke(context.Background(), srv.Addr, wire.NewRequest(wire.GetMaxOffset, map[string]string{"queueId": strconv.Itoa(i)}, nil))
			if err != nil || resp.Ext("offset") != strconv.Itoa(i) {
				bad.Add(1)
			}
		}()
	}
	// Asynchronous requests pipeline on the same connection.
	var got atomic.Int32
	for i := range 200 {
		wg.Add(1)
		err := c.InvokeAsync(context.Background(), srv.Addr, asCmd(wire.NewRequest(wire.GetMaxOffset, map[string]string{"queueId": strconv.Itoa(i)}, nil)), 0,
			func(resp *wire.Command, err error) {
				defer wg.Done()
				if err == nil && resp.Ext("offset") == strconv.Itoa(i) {
					got.Add(1)
				}
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if bad.Load() != 0 || got.Load() != 200 {
		t.Fatalf("%d synchronous answers wrong, %d of 200 asynchronous right", bad.Load(), got.Load())
	}
	if n := len(srv.Conns()); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestContextDeadlineHonoured(t *testing.T) {
	defer leaktest.Check(t)()
	srv := fakemq.NewServer(t)
	srv.Hook(func(*fakemq.Conn, *wire.Command) *wire.Command { return fakemq.NoAnswer })
	c, err := New(Options{NameServers: []string{srv.Addr}, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Invoke(ctx, srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 140*time.Millisecond || d > time.Second {
		t.Errorf("returned after %s for a 150ms deadline", d)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel2()
	done := make(chan error, 1)
	start = time.Now()
	if err := c.InvokeAsync(ctx2, srv.Addr, asCmd(wire.NewRequest(wire.GetMaxOffset, nil, nil)), 0, func(_ *wire.Command, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("async err %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("async callback after %s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("async callback never came")
	}

	// Cancelling (not a deadline) ends a wait too, with the context's error.
	ctx3, cancel3 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel3)
	if _, err := c.Invoke(ctx3, srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want Canceled", err)
	}
}

func TestCloseFailsWaitingRequests(t *testing.T) {
	defer leaktest.Check(t)()
	srv := fakemq.NewServer(t)
	srv.Hook(func(*fakemq.Conn, *wire.Command) *wire.Command { return fakemq.NoAnswer })
	c, err := New(Options{NameServers: []string{srv.Addr}, RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() {
		_, err := c.Invoke(context.Background(), srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil))
		errs <- err
	}()
	for srv.Count(wire.GetMaxOffset) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.InvokeAsync(context.Background(), srv.Addr, asCmd(wire.NewRequest(wire.GetMaxOffset, nil, nil)), 0, func(_ *wire.Command, err error) { errs <- err }); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Errorf("err %v, want ErrClosed", err)
		}
	}
	if _, err := c.Invoke(context.Background(), srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestReconnectAfterTheServerDropsTheConnection(t *testing.T) {
	defer leaktest.Check(t)()
	srv := fakemq.NewServer(t)
	srv.Handle(wire.GetMaxOffset, func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
		return wire.NewResponse(req, wire.Success, "")
	})
	c, err := New(Options{NameServers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Invoke(context.Background(), srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil)); err != nil {
		t.Fatal(err)
	}
	for _, conn := range srv.Conns() {
		conn.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := c.Invoke(context.Background(), srv.Addr, wire.NewRequest(wire.GetMaxOffset, nil, nil))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConnection) {
			t.Fatalf("err %v, want ErrConnection while the old connection closes", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no reconnect")
		}
	}
	// Nothing listens: a connection error.
	if _, err := c.Invoke(context.Background(), "127.0.0.1:1", wire.NewRequest(wire.GetMaxOffset, nil, nil)); !errors.Is(err, ErrConnection) {
		t.Errorf("dial to a closed port: %v", err)
	}
}

type fakeConsumer struct {
	changed atomic.Int32
}

func (f *fakeConsumer) ConsumerData() wire.ConsumerData {
	return wire.ConsumerData{GroupName: "cg", ConsumeType: "CONSUME_PASSIVELY", MessageModel: "CLUSTERING",
		SubscriptionDataSet: []wire.SubscriptionData{{Topic: "T", SubString: "*", ExpressionType: "TAG"}}}
}
func (f *fakeConsumer) IDsChanged() { f.changed.Add(1) }
func (f *fakeConsumer) RunningInfo() map[string]string {
	return map[string]string{"PROP_CONSUME_TYPE": "CONSUME_PASSIVELY"}
}

func TestHeartbeatsAndBrokerRequests(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 2)
	c, err := New(Options{NameServers: []string{cl.NS.Addr}, HeartbeatInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	fc := &fakeConsumer{}
	unregister, err := c.RegisterConsumer("cg", fc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterConsumer("cg", fc); !errors.Is(err, ErrGroupRegistered) {
		t.Errorf("second consumer of a group: %v", err)
	}
	if _, err := c.Route(context.Background(), "T"); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, b := range cl.Brokers {
		if ids := b.Members("cg"); len(ids) != 1 || ids[0] != c.ID() {
			t.Errorf("%s members %v, want [%s]", b.Name, ids, c.ID())
		}
	}
	// The broker's notification (sent on the new member) reaches the consumer.
	waitUntil(t, func() bool { return fc.changed.Load() > 0 }, "NOTIFY_CONSUMER_IDS_CHANGED delivered")
	// Periodic heartbeats keep coming.
	n := cl.Brokers[0].Count(wire.HeartBeat)
	waitUntil(t, func() bool { return cl.Brokers[0].Count(wire.HeartBeat) > n+1 }, "periodic heartbeats")

	// GET_CONSUMER_RUNNING_INFO is answered through the same connection; unknown codes get
	// REQUEST_CODE_NOT_SUPPORTED, CHECK_TRANSACTION_STATE nothing.
	b := cl.Brokers[0]
	conn := b.Conns()[0]
	info := wire.NewRequest(wire.GetConsumerRunningInfo, map[string]string{"consumerGroup": "cg", "clientId": c.ID()}, nil)
	info.Opaque = 9001
	other := wire.NewRequest(wire.ConsumeMessageDirectly, map[string]string{"consumerGroup": "cg"}, nil)
	other.Opaque = 9002
	check := wire.NewRequest(wire.CheckTransactionState, nil, nil)
	check.Opaque = 9003
	for _, r := range []*wire.Command{check, info, other} {
		if err := conn.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool { return b.Response(9001) != nil && b.Response(9002) != nil }, "answers to broker requests")
	var body struct {
		Properties      map[string]string       `json:"properties"`
		SubscriptionSet []wire.SubscriptionData `json:"subscriptionSet"`
	}
	resp := b.Response(9001)
	if err := json.Unmarshal(resp.Body, &body); err != nil || resp.Code != wire.Success {
		t.Fatalf("running info: code %d body %s err %v", resp.Code, resp.Body, err)
	}
	if body.Properties["PROP_CONSUME_TYPE"] != "CONSUME_PASSIVELY" || len(body.SubscriptionSet) != 1 || body.Properties["PROP_NAMESERVER_ADDR"] != cl.NS.Addr {
		t.Errorf("running info %+v", body)
	}
	if code := b.Response(9002).Code; code != wire.RequestCodeNotSupported {
		t.Errorf("CONSUME_MESSAGE_DIRECTLY answered %d", code)
	}
	if b.Response(9003) != nil {
		t.Error("CHECK_TRANSACTION_STATE was answered")
	}
	unregister()
	if hb, _, ok := c.heartbeatData(); ok || len(hb.ConsumerDataSet) != 0 {
		t.Errorf("after unregister the heartbeat still carries %v", hb.ConsumerDataSet)
	}
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestResponseErrorsMatchSentinels(t *testing.T) {
	for code, target := range map[int16]error{
		wire.TopicNotExist: ErrTopicNotExist, wire.NoPermission: ErrNoPermission, wire.RequestCodeNotSupported: ErrNotSupported,
		wire.SystemBusy: ErrBusy, wire.QueryNotFound: ErrNotFound, wire.MessageIllegal: ErrMessageIllegal,
		wire.SubscriptionNotExist: ErrSubscription, wire.ServiceNotAvailable: ErrServiceUnavailable,
	} {
		err := error(&ResponseError{Addr: "x", Request: wire.SendMessage, Code: code})
		if !errors.Is(err, target) || !errors.Is(err, ErrServer) {
			t.Errorf("code %d does not match %v", code, target)
		}
		if errors.Is(err, ErrConnection) {
			t.Errorf("code %d matches ErrConnection", code)
		}
	}
	if err := CheckResponse("x", 1, &wire.Command{Code: wire.Success}); err != nil {
		t.Error(err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrNoNameServer) {
		t.Errorf("no name server: %v", err)
	}
	if _, err := New(Options{NameServers: []string{"nohostport"}}); err == nil {
		t.Error("bad address accepted")
	}
	c, err := New(Options{NameServers: []string{"127.0.0.1:9876"}, ClientIP: "10.1.2.3", InstanceName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if want := "10.1.2.3@" + strconv.Itoa(pid()) + "@x"; c.ID() != want {
		t.Errorf("id %q want %q", c.ID(), want)
	}
}
