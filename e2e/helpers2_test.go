package e2e

// Shared helpers of the consumption tests (consume_*_test.go): a persistent raw remoting
// connection for protocol probes the official client does not expose, builders of the raw
// requests those probes send, and official-client constructors with the options the consumption
// tests need. Everything here only talks to the binary over TCP.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// ---------------------------------------------------------------------------------------------
// Persistent raw connection.

// rawConn is one remoting connection that can carry several requests at once (matched to their
// answers by opaque) and that collects the requests the broker sends on its own
// (NOTIFY_CONSUMER_IDS_CHANGED, RESET_CONSUMER_CLIENT_OFFSET). rawRequest in rawclient_test.go
// opens a connection per call; long polls, per-connection caps and broker-initiated requests need
// one connection that stays open.
type rawConn struct {
	t    testing.TB
	conn net.Conn

	wmu    sync.Mutex
	opaque atomic.Int32

	mu       sync.Mutex
	pending  map[int32]chan *wire.Command
	incoming []rawInbound  // broker-initiated requests, in arrival order
	inSignal chan struct{} // poked on every incoming request

	done    chan struct{} // closed when the reader stops (connection closed by either side)
	readErr error         // valid after done
}

// dialRaw connects to addr; the connection is closed at test cleanup.
func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	rc := &rawConn{t: t, conn: c, pending: make(map[int32]chan *wire.Command),
		inSignal: make(chan struct{}, 1), done: make(chan struct{})}
	rc.opaque.Store(1000)
	go rc.readLoop()
	t.Cleanup(rc.Close)
	return rc
}

func (rc *rawConn) readLoop() {
	defer close(rc.done)
	var buf []byte
	for {
		payload, err := wire.ReadFrame(rc.conn, 16<<20, buf)
		if err != nil {
			rc.readErr = err
			return
		}
		cmd, err := wire.DecodeCommand(payload)
		if err != nil {
			rc.readErr = fmt.Errorf("decode frame: %w", err)
			return
		}
		// DecodeCommand may alias the frame buffer: keep a private copy of the body.
		if cmd.Body != nil {
			cmd.Body = append([]byte(nil), cmd.Body...)
		}
		rc.mu.Lock()
		if cmd.IsResponse() {
			ch := rc.pending[cmd.Opaque]
			delete(rc.pending, cmd.Opaque)
			rc.mu.Unlock()
			if ch != nil {
				ch <- cmd
			}
			continue
		}
		rc.incoming = append(rc.incoming, rawInbound{cmd, time.Now()})
		rc.mu.Unlock()
		select {
		case rc.inSignal <- struct{}{}:
		default:
		}
	}
}

// Close closes the connection (idempotent).
func (rc *rawConn) Close() { _ = rc.conn.Close() }

// isClosed reports whether the connection is gone (closed by the broker or by Close).
func (rc *rawConn) isClosed() bool {
	select {
	case <-rc.done:
		return true
	default:
		return false
	}
}

// start writes req with a fresh opaque and returns the channel its answer will arrive on.
func (rc *rawConn) start(req *wire.Command) (<-chan *wire.Command, error) {
	req.Opaque = rc.opaque.Add(1)
	ch := make(chan *wire.Command, 1)
	rc.mu.Lock()
	rc.pending[req.Opaque] = ch
	rc.mu.Unlock()
	rc.wmu.Lock()
	_ = rc.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := rc.conn.Write(wire.AppendFrame(nil, req))
	rc.wmu.Unlock()
	if err != nil {
		rc.mu.Lock()
		delete(rc.pending, req.Opaque)
		rc.mu.Unlock()
		return nil, fmt.Errorf("write %s: %w", describeCmd(req), err)
	}
	return ch, nil
}

// await waits for an answer started with start.
func (rc *rawConn) await(ch <-chan *wire.Command, timeout time.Duration) (*wire.Command, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case resp := <-ch:
		return resp, nil
	case <-rc.done:
		// The answer may have been delivered just before the reader stopped.
		select {
		case resp := <-ch:
			return resp, nil
		default:
		}
		return nil, fmt.Errorf("connection closed while waiting for an answer: %v", rc.readErr)
	case <-t.C:
		return nil, fmt.Errorf("no answer within %s", timeout)
	}
}

// call sends req and waits up to timeout for its answer.
func (rc *rawConn) call(req *wire.Command, timeout time.Duration) (*wire.Command, error) {
	ch, err := rc.start(req)
	if err != nil {
		return nil, err
	}
	resp, err := rc.await(ch, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeCmd(req), err)
	}
	return resp, nil
}

// mustCall is call that fails the test on a transport error.
func (rc *rawConn) mustCall(req *wire.Command, timeout time.Duration) *wire.Command {
	rc.t.Helper()
	resp, err := rc.call(req, timeout)
	if err != nil {
		rc.t.Fatalf("raw request: %v", err)
	}
	return resp
}

// rawInbound is a broker-initiated request and when it arrived.
type rawInbound struct {
	cmd *wire.Command
	at  time.Time
}

// takeIncoming removes and returns the broker-initiated requests received so far with the given
// code (all codes when code < 0), oldest first.
func (rc *rawConn) takeIncoming(code int16) []rawInbound {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out, keep []rawInbound
	for _, in := range rc.incoming {
		if code < 0 || in.cmd.Code == code {
			out = append(out, in)
		} else {
			keep = append(keep, in)
		}
	}
	rc.incoming = keep
	return out
}

// waitIncoming waits up to timeout for a broker-initiated request with the given code, removes
// the oldest such request and returns it with its arrival time (nil when none came).
func (rc *rawConn) waitIncoming(code int16, timeout time.Duration) (*wire.Command, time.Time) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := rc.takeIncoming(code); len(got) > 0 {
			// Put back any later ones: callers count them one at a time.
			if len(got) > 1 {
				rc.mu.Lock()
				rc.incoming = append(got[1:], rc.incoming...)
				rc.mu.Unlock()
			}
			return got[0].cmd, got[0].at
		}
		select {
		case <-rc.inSignal:
		case <-deadline.C:
			return nil, time.Time{}
		case <-rc.done:
			if got := rc.takeIncoming(code); len(got) > 0 {
				return got[0].cmd, got[0].at
			}
			return nil, time.Time{}
		}
	}
}

// describeCmd renders a command's header for evidence in failure messages.
func describeCmd(c *wire.Command) string {
	if c == nil {
		return "<nil>"
	}
	ext := c.ExtMap()
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	kind := "request"
	if c.IsResponse() {
		kind = "response"
	}
	fmt.Fprintf(&b, "%s code=%d opaque=%d flag=%d", kind, c.Code, c.Opaque, c.Flag)
	if c.Remark != "" {
		fmt.Fprintf(&b, " remark=%q", c.Remark)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, ext[k])
	}
	if len(c.Body) > 0 {
		if len(c.Body) <= 300 && json.Valid(c.Body) {
			fmt.Fprintf(&b, " body=%s", c.Body)
		} else {
			fmt.Fprintf(&b, " body=%dB", len(c.Body))
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------------
// Raw request builders.

// rawSub is one subscription of a raw heartbeat.
type rawSub struct {
	topic, expr string
}

// javaHashCode is Java's String.hashCode (the consume queue's tag code) for an ASCII string.
func javaHashCode(s string) int32 {
	var h int32
	for i := 0; i < len(s); i++ {
		h = 31*h + int32(s[i])
	}
	return h
}

// heartbeatReq builds HEART_BEAT (34) for one consumer group, shaped like the Go client's (codeSet
// entries as strings, subVersion in nanoseconds).
func heartbeatReq(clientID, group, model string, subs ...rawSub) *wire.Command {
	cd := wire.ConsumerData{GroupName: group, ConsumeType: "CONSUME_PASSIVELY", MessageModel: model,
		ConsumeFromWhere: "CONSUME_FROM_FIRST_OFFSET"}
	for _, s := range subs {
		sd := wire.SubscriptionData{Topic: s.topic, SubString: s.expr, TagsSet: []string{}, CodeSet: []json.RawMessage{},
			SubVersion: time.Now().UnixNano(), ExpressionType: "TAG"}
		if s.expr != "*" && s.expr != "" {
			for _, tag := range strings.Split(s.expr, "||") {
				tag = strings.TrimSpace(tag)
				sd.TagsSet = append(sd.TagsSet, tag)
				sd.CodeSet = append(sd.CodeSet, json.RawMessage(strconv.Quote(strconv.Itoa(int(javaHashCode(tag))))))
			}
		}
		cd.SubscriptionDataSet = append(cd.SubscriptionDataSet, sd)
	}
	body, err := json.Marshal(wire.HeartbeatData{ClientID: clientID, ProducerDataSet: []wire.ProducerData{},
		ConsumerDataSet: []wire.ConsumerData{cd}})
	if err != nil {
		panic(err)
	}
	return wire.NewRequest(wire.HeartBeat, map[string]string{}, body)
}

// Pull sysFlag bits (REMOTING §6.5).
const (
	pullFlagCommit       = 1
	pullFlagSuspend      = 2
	pullFlagSubscription = 4
)

// pullReq builds PULL_MESSAGE (11) as the push consumer sends it; sub is only sent with the
// SUBSCRIPTION bit.
func pullReq(group, topic string, queueID int, offset int64, sysFlag int, suspend time.Duration, sub string) *wire.Command {
	return wire.NewRequest(wire.PullMessage, map[string]string{
		"consumerGroup":        group,
		"topic":                topic,
		"queueId":              strconv.Itoa(queueID),
		"queueOffset":          strconv.FormatInt(offset, 10),
		"maxMsgNums":           "32",
		"sysFlag":              strconv.Itoa(sysFlag),
		"commitOffset":         "0",
		"suspendTimeoutMillis": strconv.FormatInt(suspend.Milliseconds(), 10),
		"subscription":         sub,
		"subVersion":           "0",
		"expressionType":       "TAG",
	}, nil)
}

// sendReq builds SEND_MESSAGE (10) of one message to topic/queueID with the given tag and
// properties.
func sendReq(topic string, queueID int, tag string, props map[string]string, body []byte) *wire.Command {
	p := map[string]string{"WAIT": "true"}
	if tag != "" {
		p["TAGS"] = tag
	}
	for k, v := range props {
		p[k] = v
	}
	return wire.NewRequest(wire.SendMessage, map[string]string{
		"producerGroup":         "raw-producer",
		"topic":                 topic,
		"defaultTopic":          "TBW102",
		"defaultTopicQueueNums": "4",
		"queueId":               strconv.Itoa(queueID),
		"sysFlag":               "0",
		"bornTimestamp":         strconv.FormatInt(time.Now().UnixMilli(), 10),
		"flag":                  "0",
		"properties":            wire.EncodeProperties(p),
		"reconsumeTimes":        "0",
		"unitMode":              "false",
		"batch":                 "false",
	}, body)
}

// rawSend sends one message on rc and returns its queue offset; it fails the test unless the
// broker stored it.
func rawSend(t testing.TB, rc *rawConn, topic string, queueID int, tag string, props map[string]string, body []byte) int64 {
	t.Helper()
	resp := rc.mustCall(sendReq(topic, queueID, tag, props, body), 5*time.Second)
	if resp.Code != wire.Success {
		t.Fatalf("raw send to %s/%d: %s", topic, queueID, describeCmd(resp))
	}
	off, err := strconv.ParseInt(resp.Ext("queueOffset"), 10, 64)
	if err != nil {
		t.Fatalf("raw send to %s/%d: queueOffset: %s", topic, queueID, describeCmd(resp))
	}
	return off
}

// createTopicRaw creates topic with the given number of read and write queues (perm 6) through
// UPDATE_AND_CREATE_TOPIC (17) and waits until the name server serves its route, so official
// consumers can start on it.
func createTopicRaw(t testing.TB, b *Broker, topic string, queues int) {
	t.Helper()
	resp, err := rawRequest(b.BrokerAddr, wire.NewRequest(wire.UpdateAndCreateTopic, map[string]string{
		"topic":           topic,
		"readQueueNums":   strconv.Itoa(queues),
		"writeQueueNums":  strconv.Itoa(queues),
		"perm":            "6",
		"topicFilterType": "SINGLE_TAG",
		"topicSysFlag":    "0",
		"order":           "false",
	}, nil))
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("create topic %s: err %v, %s", topic, err, describeCmd(resp))
	}
	waitRoute(t, b, topic, queues, 15*time.Second)
}

// routeQueues asks the name server for topic's route and returns the read queue count of its
// broker (-1 and the response code when there is no route).
func routeQueues(nsAddr, topic string) (int, int16, error) {
	resp, err := rawRequest(nsAddr, wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil {
		return -1, 0, err
	}
	if resp.Code != wire.Success {
		return -1, resp.Code, nil
	}
	var route struct {
		QueueDatas []struct {
			ReadQueueNums  int `json:"readQueueNums"`
			WriteQueueNums int `json:"writeQueueNums"`
			Perm           int `json:"perm"`
		} `json:"queueDatas"`
	}
	if err := json.Unmarshal(resp.Body, &route); err != nil {
		return -1, resp.Code, fmt.Errorf("route body %q: %v", resp.Body, err)
	}
	n := 0
	for _, q := range route.QueueDatas {
		n += q.ReadQueueNums
	}
	return n, 0, nil
}

// waitRoute waits until the name server routes topic with queues read queues (any count > 0 when
// queues is 0).
func waitRoute(t testing.TB, b *Broker, topic string, queues int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "name-server route of "+topic, func() (bool, string) {
		n, code, err := routeQueues(b.NamesrvAddr, topic)
		ok := err == nil && code == 0 && (n == queues || queues == 0 && n > 0)
		return ok, fmt.Sprintf("queues %d code %d err %v", n, code, err)
	})
}

// consumerIDs asks GET_CONSUMER_LIST_BY_GROUP (38); an empty list comes with the broker's code.
func consumerIDs(addr, group string) ([]string, int16, error) {
	resp, err := rawRequest(addr, wire.NewRequest(wire.GetConsumerListByGroup, map[string]string{"consumerGroup": group}, nil))
	if err != nil {
		return nil, 0, err
	}
	var body wire.ConsumerListBody
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, resp.Code, fmt.Errorf("consumer list body %q: %v", resp.Body, err)
		}
	}
	sort.Strings(body.ConsumerIDList)
	return body.ConsumerIDList, resp.Code, nil
}

// maxOffsetRaw is GET_MAX_OFFSET (30).
func maxOffsetRaw(addr, topic string, queueID int) (int64, error) {
	resp, err := rawRequest(addr, wire.NewRequest(wire.GetMaxOffset, map[string]string{
		"topic": topic, "queueId": strconv.Itoa(queueID)}, nil))
	if err != nil {
		return 0, err
	}
	if resp.Code != wire.Success {
		return 0, fmt.Errorf("GET_MAX_OFFSET %s/%d: %s", topic, queueID, describeCmd(resp))
	}
	return strconv.ParseInt(resp.Ext("offset"), 10, 64)
}

// ---------------------------------------------------------------------------------------------
// Official clients.

// kitProducer starts a producer with extra options (e.g. a queue selector); shut down at cleanup.
func kitProducer(t *testing.T, ns string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		producer.WithGroupName(uniqueName("pg")),
		producer.WithInstanceName(uniqueName("pinst")),
		producer.WithRetry(2),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer start: %v", err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			if err := p.Shutdown(); err != nil {
				t.Errorf("producer shutdown: %v", err)
			}
		})
	})
	return p
}

// kitConsumerOpts configures kitConsumer.
type kitConsumerOpts struct {
	expr      string // tag expression; "" is "*"
	broadcast bool   // BROADCASTING instead of CLUSTERING (the client's zero MessageModel is BroadCasting)
	from      consumer.ConsumeFromWhere
	timestamp string // for ConsumeFromTimestamp, yyyyMMddHHmmss
	orderly   bool
	extra     []consumer.Option
}

// kitConsumer is a started push consumer.
type kitConsumer struct {
	Instance string // instance name; the client id is <ip>@Instance
	stop     func()
}

// Stop shuts the consumer down (idempotent).
func (c *kitConsumer) Stop() { c.stop() }

// ClientIDIn finds this consumer's client id in a consumer id list.
func (c *kitConsumer) ClientIDIn(ids []string) (string, bool) {
	for _, id := range ids {
		if strings.HasSuffix(id, "@"+c.Instance) {
			return id, true
		}
	}
	return "", false
}

// startKitConsumer starts a push consumer of group on topic with handler h; it is shut down at
// cleanup. Broadcasting consumers keep their offsets in a local file, which cleanup removes.
func startKitConsumer(t *testing.T, ns, group, topic string, o kitConsumerOpts,
	h func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)) *kitConsumer {
	t.Helper()
	inst := uniqueName("kinst")
	if o.expr == "" {
		o.expr = "*"
	}
	opts := []consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		consumer.WithGroupName(group),
		consumer.WithInstance(inst),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(o.from),
	}
	if o.broadcast {
		opts = append(opts, consumer.WithConsumerModel(consumer.BroadCasting))
	}
	if o.timestamp != "" {
		opts = append(opts, consumer.WithConsumeTimestamp(o.timestamp))
	}
	if o.orderly {
		opts = append(opts, consumer.WithConsumerOrder(true))
	}
	opts = append(opts, o.extra...)
	pc, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: o.expr}, h); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer %s start: %v", group, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := pc.Shutdown(); err != nil {
				t.Errorf("consumer shutdown: %v", err)
			}
			if o.broadcast {
				removeLocalOffsets(inst)
			}
		})
	}
	t.Cleanup(stop)
	return &kitConsumer{Instance: inst, stop: stop}
}

// removeLocalOffsets deletes the local offset store a broadcasting consumer of instance inst left
// under $HOME/.rocketmq_client_go/<ip>@<inst> (the client offers no other location).
func removeLocalOffsets(inst string) {
	root := os.Getenv("rocketmq.client.localOffsetStoreDir")
	if root == "" {
		root = filepath.Join(os.Getenv("HOME"), ".rocketmq_client_go")
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "*@"+inst))
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

// ---------------------------------------------------------------------------------------------
// Delivery recording.

// delivery is one message handed to a consumer's callback.
type delivery struct {
	consumer string // which consumer (test label)
	id       string // the test's id property
	queue    int
	offset   int64
	topic    string
	tags     string
	reconsum int32
	at       time.Time
	msg      *primitive.MessageExt
}

// recorder records every delivery of one test, across consumers, in arrival order.
type recorder struct {
	idProp string

	mu  sync.Mutex
	all []delivery
}

func newRecorder(idProp string) *recorder { return &recorder{idProp: idProp} }

// handler returns a consume callback for the consumer labelled name that records each message
// and answers result.
func (r *recorder) handler(name string, result consumer.ConsumeResult) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		r.add(name, msgs)
		return result, nil
	}
}

func (r *recorder) add(name string, msgs []*primitive.MessageExt) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		d := delivery{consumer: name, id: m.GetProperty(r.idProp), offset: m.QueueOffset, topic: m.Topic,
			tags: m.GetTags(), reconsum: m.ReconsumeTimes, at: now, msg: m}
		if m.Queue != nil {
			d.queue = m.Queue.QueueId
		}
		r.all = append(r.all, d)
	}
}

// snapshot copies the deliveries so far.
func (r *recorder) snapshot() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.all...)
}

// count is the number of deliveries so far.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// hasAll reports whether every id in want was delivered at least once, with a progress string.
func (r *recorder) hasAll(want []string) (bool, string) {
	got := make(map[string]bool)
	r.mu.Lock()
	for _, d := range r.all {
		got[d.id] = true
	}
	n := len(r.all)
	r.mu.Unlock()
	var missing []string
	for _, id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return true, ""
	}
	sort.Strings(missing)
	if len(missing) > 8 {
		missing = append(missing[:8], "...")
	}
	return false, fmt.Sprintf("%d/%d distinct delivered (%d deliveries); missing %v", len(want)-len(missing), len(want), n, missing)
}

// byID groups deliveries by id.
func byID(ds []delivery) map[string][]delivery {
	out := make(map[string][]delivery)
	for _, d := range ds {
		out[d.id] = append(out[d.id], d)
	}
	return out
}

// percentile returns the p-th percentile (0..100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p/100*float64(len(s))+0.5) - 1
	idx = max(0, min(idx, len(s)-1))
	return s[idx]
}

// precreateRetryTopic makes the broker create %RETRY%group and register it with the name server
// before the group's real consumers start. The client resolves every subscribed topic's route at
// Start, before its first heartbeat creates the retry topic, and otherwise learns the retry route
// only at its 30 s route refresh (REMOTING §13 item 12): the first retry would then wait that
// long. A raw heartbeat creates it; its connection is closed again so the fake member leaves the
// group before the real ones join.
func precreateRetryTopic(t *testing.T, b *Broker, group string) {
	t.Helper()
	rc := dialRaw(t, b.BrokerAddr)
	resp := rc.mustCall(heartbeatReq("127.0.0.9@"+uniqueName("pre"), group, "CLUSTERING", rawSub{"%RETRY%" + group, "*"}), 5*time.Second)
	if resp.Code != wire.Success {
		t.Fatalf("heartbeat creating %%RETRY%%%s: %s", group, describeCmd(resp))
	}
	waitRoute(t, b, "%RETRY%"+group, 1, 15*time.Second)
	rc.Close()
	waitFor(t, 10*time.Second, "the pre-creating member gone from "+group, func() (bool, string) {
		ids, _, err := consumerIDs(b.BrokerAddr, group)
		return err == nil && len(ids) == 0, fmt.Sprintf("ids %v err %v", ids, err)
	})
}
