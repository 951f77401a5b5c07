package producer

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/internal/fakemq"
	"github.com/rocketgo/rocketgo/sdk/internal/leaktest"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func newProducer(t *testing.T, ns string, mod ...func(*Options)) *Producer {
	t.Helper()
	o := Options{NameServers: []string{ns}, Group: "pg"}
	for _, f := range mod {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func TestSendHeaderAndStoredMessage(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	p := newProducer(t, cl.NS.Addr)
	m := &message.Message{Topic: "T1", Body: []byte("hello"), Tag: "TagA", Keys: []string{"k1", "k2"}, Flag: 7,
		Properties: map[string]string{"color": "red", "quote": `a"b\c`}}
	res, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SendOK || len(res.MsgID) != 32 || len(res.OffsetMsgID) != 32 || res.Queue.Topic != "T1" || res.Queue.BrokerName != "broker-0" {
		t.Fatalf("result %+v", res)
	}
	b := cl.Brokers[0]
	var req *wire.Command
	for _, r := range b.Requests() {
		if r.Code == wire.SendMessageV2 {
			req = r
		}
	}
	if req == nil {
		t.Fatal("no SEND_MESSAGE_V2 received")
	}
	for k, want := range map[string]string{"a": "pg", "b": "T1", "c": "TBW102", "d": "4", "e": strconv.Itoa(int(res.Queue.QueueID)),
		"f": "0", "h": "7", "j": "0", "k": "false", "l": "16", "m": "false"} {
		if got := req.Ext(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if born, _ := strconv.ParseInt(req.Ext("g"), 10, 64); time.Since(time.UnixMilli(born)) > time.Minute {
		t.Errorf("bornTimestamp %s", req.Ext("g"))
	}
	props := wire.ParseProperties(req.Ext("i"))
	for k, want := range map[string]string{"TAGS": "TagA", "KEYS": "k1 k2", "color": "red", "quote": `a"b\c`, "UNIQ_KEY": res.MsgID} {
		if props[k] != want {
			t.Errorf("property %s = %q, want %q", k, props[k], want)
		}
	}
	stored := b.Messages("T1", res.Queue.QueueID)
	if len(stored) != 1 || string(stored[0].Body) != "hello" || stored[0].Flag != 7 {
		t.Fatalf("stored %+v", stored)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), m); !errors.Is(err, ErrClosed) {
		t.Errorf("send after shutdown: %v", err)
	}
}

func TestLargeBodiesAreCompressed(t *testing.T) {
	cl := fakemq.NewCluster(t, 1)
	p := newProducer(t, cl.NS.Addr)
	body := bytes.Repeat([]byte("0123456789"), 1000)
	res, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	rec := cl.Brokers[0].Messages("T", res.Queue.QueueID)[0]
	if rec.SysFlag&wire.SysFlagCompressed == 0 || len(rec.Body) >= len(body) {
		t.Fatalf("sysFlag %d, %d bytes stored for %d", rec.SysFlag, len(rec.Body), len(body))
	}
	zr, err := zlib.NewReader(bytes.NewReader(rec.Body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, body) {
		t.Error("inflated body differs")
	}
	small, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: body[:4095]})
	if err != nil {
		t.Fatal(err)
	}
	recs := cl.Brokers[0].Messages("T", small.Queue.QueueID)
	if last := recs[len(recs)-1]; last.SysFlag&wire.SysFlagCompressed != 0 {
		t.Error("a 4095-byte body was compressed")
	}
}

func TestAsyncOnewayAndBatch(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 4)
	p := newProducer(t, cl.NS.Addr)
	const n = 2000
	var wg sync.WaitGroup
	var ok, failed atomic.Int32
	for i := range n {
		wg.Add(1)
		err := p.SendAsync(context.Background(), &message.Message{Topic: "T", Body: []byte("m" + strconv.Itoa(i))}, func(r SendResult, err error) {
			defer wg.Done()
			if err != nil || r.Status != SendOK || r.MsgID == "" {
				failed.Add(1)
				return
			}
			ok.Add(1)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if ok.Load() != n || failed.Load() != 0 {
		t.Fatalf("%d ok, %d failed", ok.Load(), failed.Load())
	}
	if a, b := cl.Brokers[0].Total("T"), cl.Brokers[1].Total("T"); a+b != n || a == 0 || b == 0 {
		t.Errorf("round robin put %d and %d messages on the brokers", a, b)
	}
	// One connection per broker carried them all.
	for _, b := range cl.Brokers {
		if c := len(b.Conns()); c != 1 {
			t.Errorf("%s has %d connections", b.Name, c)
		}
	}

	if err := p.SendOneway(context.Background(), &message.Message{Topic: "T", Body: []byte("oneway")}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return cl.Brokers[0].Total("T")+cl.Brokers[1].Total("T") == n+1 }, "the oneway message stored")

	batch := []*message.Message{{Topic: "T", Body: []byte("b1"), Tag: "x"}, {Topic: "T", Body: []byte("b2"), Keys: []string{"k"}}, {Topic: "T", Body: []byte("b3")}}
	res, err := p.SendBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Split(res.MsgID, ",")
	if len(ids) != 3 || len(strings.Split(res.OffsetMsgID, ",")) != 3 {
		t.Fatalf("batch result %+v", res)
	}
	var stored []wire.Record
	for _, b := range cl.Brokers {
		if b.Name == res.Queue.BrokerName {
			stored = b.Messages("T", res.Queue.QueueID)
		}
	}
	stored = stored[res.QueueOffset:]
	if len(stored) != 3 {
		t.Fatalf("%d batch messages stored", len(stored))
	}
	for i, r := range stored {
		props := wire.ParseProperties(r.Properties)
		if string(r.Body) != fmt.Sprintf("b%d", i+1) || props["UNIQ_KEY"] != ids[i] {
			t.Errorf("batch message %d: body %q props %v", i, r.Body, props)
		}
	}
	if wire.ParseProperties(stored[0].Properties)["TAGS"] != "x" || wire.ParseProperties(stored[1].Properties)["KEYS"] != "k" {
		t.Error("batch properties lost")
	}
	var berr atomic.Value
	wg.Add(1)
	if err := p.SendBatchAsync(context.Background(), batch, func(_ SendResult, err error) {
		if err != nil {
			berr.Store(err)
		}
		wg.Done()
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if e := berr.Load(); e != nil {
		t.Fatal(e)
	}
	if _, err := p.SendBatch(context.Background(), []*message.Message{{Topic: "T", Body: []byte("a")}, {Topic: "U", Body: []byte("b")}}); !errors.Is(err, ErrMessageIllegal) {
		t.Errorf("mixed-topic batch: %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestShardingKeyPicksTheSameQueue(t *testing.T) {
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 4)
	p := newProducer(t, cl.NS.Addr)
	route, err := p.client.PublishRoute(context.Background(), "T", "", 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"order-1", "order-2", "order-3", "polygenelubricants", "键"} {
		h := message.TagHash(key)
		if h < 0 {
			h = -h
		}
		want := route.Publish[h%int64(len(route.Publish))]
		for range 5 {
			res, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: []byte(key), ShardingKey: key})
			if err != nil {
				t.Fatal(err)
			}
			if res.Queue != want {
				t.Fatalf("key %s went to %v, want %v", key, res.Queue, want)
			}
		}
	}
}

// Sends that fail on one broker are retried on the other one.
func TestRetryAvoidsTheBrokerThatFailed(t *testing.T) {
	for _, mode := range []string{"error-code", "connection-drop"} {
		t.Run(mode, func(t *testing.T) {
			defer leaktest.Check(t)()
			cl := fakemq.NewCluster(t, 2)
			cl.CreateTopic("T", 4)
			bad := cl.Brokers[0]
			var badSends atomic.Int32
			bad.Hook(func(c *fakemq.Conn, req *wire.Command) *wire.Command {
				if req.Code != wire.SendMessageV2 && req.Code != wire.SendBatchMessage {
					return nil
				}
				badSends.Add(1)
				if mode == "connection-drop" {
					c.Close()
					return fakemq.NoAnswer
				}
				return wire.NewResponse(req, wire.SystemError, "disk on fire")
			})
			p := newProducer(t, cl.NS.Addr, func(o *Options) { o.MaxAttempts = 2 })
			for i := range 20 {
				res, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")})
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				if res.Queue.BrokerName != "broker-1" {
					t.Fatalf("send %d stored on %s", i, res.Queue.BrokerName)
				}
			}
			var wg sync.WaitGroup
			var asyncErr atomic.Int32
			for range 20 {
				wg.Add(1)
				if err := p.SendAsync(context.Background(), &message.Message{Topic: "T", Body: []byte("y")}, func(r SendResult, err error) {
					if err != nil || r.Queue.BrokerName != "broker-1" {
						asyncErr.Add(1)
					}
					wg.Done()
				}); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if asyncErr.Load() != 0 {
				t.Fatalf("%d asynchronous sends failed or landed on the bad broker", asyncErr.Load())
			}
			if badSends.Load() == 0 {
				t.Fatal("the failing broker was never tried: the test proves nothing")
			}
			if got := cl.Brokers[1].Total("T"); got != 40 {
				t.Errorf("good broker stored %d, want 40", got)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A failure that is not worth retrying (MESSAGE_ILLEGAL) comes back at once as an error that
// errors.Is recognises.
func TestNonRetriableErrors(t *testing.T) {
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 4)
	for _, b := range cl.Brokers {
		b.Hook(func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
			if req.Code == wire.SendMessageV2 && req.Ext("b") == "T" {
				return wire.NewResponse(req, wire.MessageIllegal, "too big")
			}
			return nil
		})
	}
	p := newProducer(t, cl.NS.Addr)
	_, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")})
	if !errors.Is(err, ErrMessageIllegal) {
		t.Fatalf("err %v", err)
	}
	var re *client.ResponseError
	if !errors.As(err, &re) || re.Code != wire.MessageIllegal || re.Remark != "too big" {
		t.Fatalf("err %v is not the broker's answer", err)
	}
	if n := cl.Brokers[0].Count(wire.SendMessageV2) + cl.Brokers[1].Count(wire.SendMessageV2); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	huge := &message.Message{Topic: "T", Body: []byte("x"), Properties: map[string]string{"big": strings.Repeat("v", 40000)}}
	for _, bad := range []*message.Message{nil, {Topic: "T"}, {Topic: "bad topic", Body: []byte("x")}, {Topic: "T", Body: []byte("x"), Tag: "a\x01"}, huge} {
		if _, err := p.Send(context.Background(), bad); !errors.Is(err, ErrMessageIllegal) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := p.Send(context.Background(), &message.Message{Topic: "Missing", Body: []byte("x")}); err != nil {
		t.Errorf("a new topic must be sent through the template route: %v", err)
	}
}

func TestSendHonoursContextDeadline(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 2)
	cl.CreateTopic("T", 4)
	for _, b := range cl.Brokers {
		b.Hook(func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
			if req.Code == wire.SendMessageV2 {
				return fakemq.NoAnswer
			}
			return nil
		})
	}
	p := newProducer(t, cl.NS.Addr, func(o *Options) { o.SendTimeout = time.Minute })
	if _, err := p.client.PublishRoute(context.Background(), "T", "", 4); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, &message.Message{Topic: "T", Body: []byte("x")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d < 190*time.Millisecond || d > time.Second {
		t.Errorf("Send returned after %s with a 200ms deadline", d)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	done := make(chan error, 1)
	start = time.Now()
	if err := p.SendAsync(ctx2, &message.Message{Topic: "T", Body: []byte("x")}, func(_ SendResult, err error) { done <- err }); err != nil {
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
	case <-time.After(5 * time.Second):
		t.Fatal("no callback")
	}

	// Without a deadline, SendTimeout bounds each attempt.
	p2 := newProducer(t, cl.NS.Addr, func(o *Options) { o.SendTimeout = 100 * time.Millisecond; o.MaxAttempts = 2 })
	start = time.Now()
	if _, err := p2.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d < 190*time.Millisecond || d > 2*time.Second {
		t.Errorf("two 100ms attempts took %s", d)
	}
	_ = p.Shutdown(context.Background())
	_ = p2.Shutdown(context.Background())
}

func TestShutdownWaitsForAsyncSends(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 4)
	release := make(chan struct{})
	cl.Brokers[0].Hook(func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
		if req.Code == wire.SendMessageV2 {
			<-release
		}
		return nil
	})
	p := newProducer(t, cl.NS.Addr)
	var done atomic.Int32
	for range 10 {
		if err := p.SendAsync(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}, func(_ SendResult, err error) {
			if err == nil {
				done.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	shut := make(chan error, 1)
	go func() { shut <- p.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while sends were in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := p.SendAsync(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("send during shutdown: %v", err)
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if done.Load() != 10 {
		t.Errorf("%d of 10 callbacks succeeded before Shutdown returned", done.Load())
	}
}

// A shared client outlives the producer.
func TestSharedClient(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	c, err := client.New(client.Options{NameServers: []string{cl.NS.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := New(Options{Client: c, Group: "g1"})
	p2, _ := New(Options{Client: c, Group: "g2"})
	if _, err := p1.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	_ = p1.Shutdown(context.Background())
	if _, err := p2.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}); err != nil {
		t.Fatalf("second producer after the first shut down: %v", err)
	}
	_ = p2.Shutdown(context.Background())
	_ = c.Close(context.Background())
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

// When Shutdown's context ends first, the producer's own client is closed: the sends still
// waiting fail (their callbacks run) and nothing is left running.
func TestShutdownGivesUpWithItsContext(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 1)
	cl.CreateTopic("T", 4)
	cl.Brokers[0].Hook(func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
		if req.Code == wire.SendMessageV2 {
			return fakemq.NoAnswer
		}
		return nil
	})
	p := newProducer(t, cl.NS.Addr, func(o *Options) { o.SendTimeout = time.Minute })
	var failed atomic.Int32
	for range 5 {
		if err := p.SendAsync(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}, func(_ SendResult, err error) {
			if errors.Is(err, ErrClosed) {
				failed.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if failed.Load() != 5 {
		t.Errorf("%d of 5 callbacks reported ErrClosed", failed.Load())
	}
}
