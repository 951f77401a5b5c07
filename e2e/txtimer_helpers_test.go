package e2e

// Helpers of the transaction and timer tests (transaction_test.go, timer_test.go,
// timer_bench_test.go): fixed listen ports for restarts the official client must survive, the
// broker's log and /proc status, raw reads of queue ends, the timer admin requests (30001, 30002),
// a delivery recorder, and a transaction producer whose local-transaction answers are scripted
// per message. Names carry a tt prefix so they never clash with helpers of other test files.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// System topics of transactions and timers (REMOTING §4.6, §9.8, §9.13).
const (
	ttHalfTopic     = "RMQ_SYS_TRANS_HALF_TOPIC"
	ttOpTopic       = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
	ttCheckMaxTopic = "TRANS_CHECK_MAX_TIME_TOPIC"
	ttTimerTopic    = "rmq_sys_wheel_timer"
)

// ---------------------------------------------------------------------------------------------
// Process facts.

// ttSet turns key=value pairs into --set flags for startBroker.
func ttSet(kv ...string) []string {
	out := make([]string, 0, 2*len(kv))
	for _, s := range kv {
		out = append(out, "--set", s)
	}
	return out
}

// ttFixedPorts picks two free ports on 127.0.0.1 and returns --set flags that make the name
// server and the broker listen on them. startBroker passes port 0 first; --set is applied last, so
// these win. A restart with the same flags comes back on the same addresses, which an official
// client needs to find the broker again: it keeps the name-server address it was given.
func ttFixedPorts(t *testing.T) []string {
	t.Helper()
	var ports []int
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("picking a free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ttSet(fmt.Sprintf("namesrv.listen=127.0.0.1:%d", ports[0]), fmt.Sprintf("broker.listen=127.0.0.1:%d", ports[1]))
}

// ttPID is the broker's process id.
func (b *Broker) ttPID() int { return b.cmd.Process.Pid }

// ttLogLines returns the lines of the broker's log that contain substr.
func (b *Broker) ttLogLines(substr string) []string {
	f, err := os.Open(b.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// ttMem is the memory part of /proc/<pid>/status, in kB.
type ttMem struct {
	VmRSS, VmHWM, RssAnon, RssFile int64
}

func (m ttMem) String() string {
	return fmt.Sprintf("VmRSS %.1f MiB (RssAnon %.1f MiB + RssFile %.1f MiB), VmHWM %.1f MiB",
		float64(m.VmRSS)/1024, float64(m.RssAnon)/1024, float64(m.RssFile)/1024, float64(m.VmHWM)/1024)
}

func ttProcMem(pid int) (ttMem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ttMem{}, err
	}
	var m ttMem
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.VmRSS = v
		case "VmHWM":
			m.VmHWM = v
		case "RssAnon":
			m.RssAnon = v
		case "RssFile":
			m.RssFile = v
		}
	}
	return m, nil
}

// ---------------------------------------------------------------------------------------------
// Raw requests.

// ttCreateTopic creates topic with queues read and write queues through UPDATE_AND_CREATE_TOPIC
// (17) and waits until the name server routes it, so a push consumer can start on it.
func ttCreateTopic(t *testing.T, b *Broker, topic string, queues int) {
	t.Helper()
	resp, err := rawRequest(b.BrokerAddr, wire.NewRequest(wire.UpdateAndCreateTopic, map[string]string{
		"topic": topic, "readQueueNums": strconv.Itoa(queues), "writeQueueNums": strconv.Itoa(queues),
		"perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
	}, nil))
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("create topic %s: err %v, %s", topic, err, describeCmd(resp))
	}
	waitFor(t, 15*time.Second, "name-server route of "+topic, func() (bool, string) {
		code, err := routeCode(b.NamesrvAddr, topic)
		return err == nil && code == 0, fmt.Sprintf("code %d err %v", code, err)
	})
}

// ttMaxOffset is GET_MAX_OFFSET (30): the number of messages stored in topic/q.
func ttMaxOffset(addr, topic string, q int) (int64, error) {
	resp, err := rawRequest(addr, wire.NewRequest(wire.GetMaxOffset, map[string]string{
		"topic": topic, "queueId": strconv.Itoa(q)}, nil))
	if err != nil {
		return 0, err
	}
	if resp.Code != wire.Success {
		return 0, fmt.Errorf("GET_MAX_OFFSET %s/%d: %s", topic, q, describeCmd(resp))
	}
	return strconv.ParseInt(resp.Ext("offset"), 10, 64)
}

// ttMustMaxOffset is ttMaxOffset that fails the test on an error.
func ttMustMaxOffset(t *testing.T, addr, topic string, q int) int64 {
	t.Helper()
	off, err := ttMaxOffset(addr, topic, q)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// ttStored is the number of messages stored in queues 0..queues-1 of topic.
func ttStored(t *testing.T, addr, topic string, queues int) int64 {
	t.Helper()
	var n int64
	for q := range queues {
		n += ttMustMaxOffset(t, addr, topic, q)
	}
	return n
}

// ttSendReq builds SEND_MESSAGE (10) of one message with the given properties.
func ttSendReq(topic string, props map[string]string, body []byte) *wire.Command {
	return wire.NewRequest(wire.SendMessage, map[string]string{
		"producerGroup": "tt-raw-producer", "topic": topic, "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
		"queueId": "0", "sysFlag": "0", "bornTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10), "flag": "0",
		"properties": wire.EncodeProperties(props), "reconsumeTimes": "0", "unitMode": "false", "batch": "false",
		"maxReconsumeTimes": "0",
	}, body)
}

// ---------------------------------------------------------------------------------------------
// Timer admin (rocketgo request codes 30001 and 30002, sdk/wire/codes_rocketgo.go).

// ttListTimers asks for up to limit pending timers due at or after fromMs.
func ttListTimers(addr string, fromMs int64, limit int) ([]wire.TimerInfo, error) {
	resp, err := rawRequest(addr, wire.NewRequest(wire.ListTimers, map[string]string{
		"fromMs": strconv.FormatInt(fromMs, 10), "limit": strconv.Itoa(limit)}, nil))
	if err != nil {
		return nil, err
	}
	if resp.Code != wire.Success {
		return nil, fmt.Errorf("LIST_TIMERS: %s", describeCmd(resp))
	}
	var body wire.TimerListBody
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("LIST_TIMERS body %q: %v", resp.Body, err)
	}
	return body.Timers, nil
}

// ttMustList is ttListTimers that fails the test on an error.
func ttMustList(t *testing.T, addr string, fromMs int64, limit int) []wire.TimerInfo {
	t.Helper()
	list, err := ttListTimers(addr, fromMs, limit)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// ttCancel asks the broker to cancel the timer message with the given offset message id and
// returns the answer.
func ttCancel(t *testing.T, addr, offsetMsgID string) *wire.Command {
	t.Helper()
	resp, err := rawRequest(addr, wire.NewRequest(wire.CancelTimer, map[string]string{"msgId": offsetMsgID}, nil))
	if err != nil {
		t.Fatalf("CANCEL_TIMER %s: %v", offsetMsgID, err)
	}
	return resp
}

// ttListed maps the offset message ids (upper case) of a listing to their entries.
func ttListed(list []wire.TimerInfo) map[string]wire.TimerInfo {
	out := make(map[string]wire.TimerInfo, len(list))
	for _, ti := range list {
		out[strings.ToUpper(ti.OffsetMsgID)] = ti
	}
	return out
}

// ttWaitListed waits until every offset message id in ids is listed as pending (the broker files
// a timer into its wheel shortly after the send; until then it is not listed) and returns the
// listing.
func ttWaitListed(t *testing.T, addr string, ids []string, timeout time.Duration) []wire.TimerInfo {
	t.Helper()
	var list []wire.TimerInfo
	waitFor(t, timeout, "timers listed as pending", func() (bool, string) {
		var err error
		list, err = ttListTimers(addr, 0, 1000)
		if err != nil {
			return false, err.Error()
		}
		got := ttListed(list)
		var missing []string
		for _, id := range ids {
			if _, ok := got[strings.ToUpper(id)]; !ok {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0, fmt.Sprintf("%d listed, missing %v", len(list), missing)
	})
	return list
}

// ---------------------------------------------------------------------------------------------
// Deliveries.

// ttDelivery is one message handed to a push consumer's callback.
type ttDelivery struct {
	at  time.Time
	msg *primitive.MessageExt
}

// ttRecorder records every delivery by the test's id property, redeliveries included.
type ttRecorder struct {
	idProp string

	mu   sync.Mutex
	byID map[string][]ttDelivery
	n    int
}

func newTTRecorder(idProp string) *ttRecorder {
	return &ttRecorder{idProp: idProp, byID: map[string][]ttDelivery{}}
}

func (r *ttRecorder) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		id := m.GetProperty(r.idProp)
		r.byID[id] = append(r.byID[id], ttDelivery{at: now, msg: m})
		r.n++
	}
	return consumer.ConsumeSuccess, nil
}

// of returns the deliveries of id so far.
func (r *ttRecorder) of(id string) []ttDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ttDelivery(nil), r.byID[id]...)
}

// total is the number of deliveries so far.
func (r *ttRecorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// has reports whether every id in want was delivered, with a progress string for waitFor.
func (r *ttRecorder) has(want ...string) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []string
	for _, id := range want {
		if len(r.byID[id]) == 0 {
			missing = append(missing, id)
		}
	}
	return len(missing) == 0, fmt.Sprintf("%d deliveries; missing %v", r.n, missing)
}

// ttStartConsumer starts a clustering push consumer of a new group on topic, from the first
// offset, recording into r; it is shut down at cleanup. The topic must have a route already.
func ttStartConsumer(t *testing.T, ns, topic string, r *ttRecorder) {
	t.Helper()
	group := uniqueName("ttcg")
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("ttcinst")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, r.handle); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer %s start: %v", group, err)
	}
	t.Cleanup(func() {
		if err := pc.Shutdown(); err != nil {
			t.Errorf("consumer shutdown: %v", err)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// Transaction producer with scripted answers.

// ttCheck is one CHECK_TRANSACTION_STATE a producer handled.
type ttCheck struct {
	at         time.Time
	producer   string // label of the producer that handled it
	checkTimes string // TRANSACTION_CHECK_TIMES of the checked copy
	topic      string // topic of the record in the check body (REAL_TOPIC, as Java rebuilds it)
	answer     primitive.LocalTransactionState
}

// ttPlan scripts what ExecuteLocalTransaction and CheckLocalTransaction answer for each message
// (by its "tid" property) and records every call. One plan can back several producers of a group,
// as a shared transaction database would.
type ttPlan struct {
	mu     sync.Mutex
	exec   map[string]primitive.LocalTransactionState
	check  map[string]func(n int) primitive.LocalTransactionState // n: 1 for the first check of that id
	checks map[string][]ttCheck
}

func newTTPlan() *ttPlan {
	return &ttPlan{exec: map[string]primitive.LocalTransactionState{},
		check: map[string]func(int) primitive.LocalTransactionState{}, checks: map[string][]ttCheck{}}
}

// set scripts the answers for tid; a nil check always answers unknown.
func (p *ttPlan) set(tid string, exec primitive.LocalTransactionState, check func(n int) primitive.LocalTransactionState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exec[tid] = exec
	p.check[tid] = check
}

// checksOf returns the checks of tid so far.
func (p *ttPlan) checksOf(tid string) []ttCheck {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ttCheck(nil), p.checks[tid]...)
}

// totalChecks counts the checks of all ids.
func (p *ttPlan) totalChecks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, cs := range p.checks {
		n += len(cs)
	}
	return n
}

// ttAlways answers st to every check.
func ttAlways(st primitive.LocalTransactionState) func(int) primitive.LocalTransactionState {
	return func(int) primitive.LocalTransactionState { return st }
}

func ttStateName(s primitive.LocalTransactionState) string {
	switch s {
	case primitive.CommitMessageState:
		return "commit"
	case primitive.RollbackMessageState:
		return "rollback"
	case primitive.UnknowState:
		return "unknown"
	}
	return strconv.Itoa(int(s))
}

// ttChecksString renders checks for logs and failure messages.
func ttChecksString(cs []ttCheck, since time.Time) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("#%d at +%dms by %s times=%s answered %s", i+1, c.at.Sub(since).Milliseconds(),
			c.producer, c.checkTimes, ttStateName(c.answer))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// ttListener is the primitive.TransactionListener of one producer.
type ttListener struct {
	plan  *ttPlan
	label string
}

func (l *ttListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	l.plan.mu.Lock()
	defer l.plan.mu.Unlock()
	if st, ok := l.plan.exec[m.GetProperty("tid")]; ok {
		return st
	}
	return primitive.UnknowState
}

func (l *ttListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	tid := m.GetProperty("tid")
	l.plan.mu.Lock()
	defer l.plan.mu.Unlock()
	n := len(l.plan.checks[tid]) + 1
	st := primitive.UnknowState
	if f := l.plan.check[tid]; f != nil {
		st = f(n)
	}
	l.plan.checks[tid] = append(l.plan.checks[tid], ttCheck{at: time.Now(), producer: l.label,
		checkTimes: m.GetProperty("TRANSACTION_CHECK_TIMES"), topic: m.Topic, answer: st})
	return st
}

// ttStartTxProducer starts an official TransactionProducer of group with its own instance name
// (the client keys its instances, and with them the check-back handler, by ip@instance). It is
// shut down at cleanup, or earlier through the returned idempotent stop.
func ttStartTxProducer(t *testing.T, ns, group, label string, plan *ttPlan) (rocketmq.TransactionProducer, func()) {
	t.Helper()
	p, err := rocketmq.NewTransactionProducer(&ttListener{plan: plan, label: label},
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		producer.WithGroupName(group),
		producer.WithInstanceName(uniqueName("ttpinst")),
		producer.WithRetry(2),
	)
	if err != nil {
		t.Fatalf("new transaction producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("transaction producer start: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := p.Shutdown(); err != nil {
				t.Errorf("transaction producer shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// ttClientHeartbeatDelay is when the v2.1.2 client sends its first heartbeat after Start; it
// goes only to brokers its route table already knows, and the next one comes 30 s later.
const ttClientHeartbeatDelay = time.Second

// ttStartRegisteredTxProducer starts a transaction producer and returns once the broker knows it
// as a live producer of group: a check-back only reaches producers that sent a heartbeat, and the
// client's only early heartbeat goes out 1 s after Start, to the brokers it has routes for. So a
// probe transaction (tid probeID, committed at once, hence visible on topic) is sent right after
// Start to learn the route, and the function returns when that heartbeat is due plus a margin.
func ttStartRegisteredTxProducer(t *testing.T, ns, group, label, topic, probeID string, plan *ttPlan) (rocketmq.TransactionProducer, func()) {
	t.Helper()
	started := time.Now()
	p, stop := ttStartTxProducer(t, ns, group, label, plan)
	plan.set(probeID, primitive.CommitMessageState, ttAlways(primitive.CommitMessageState))
	ttSendTx(t, p, topic, probeID, primitive.CommitMessageState)
	if wait := time.Until(started.Add(ttClientHeartbeatDelay + 700*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	return p, stop
}

// ttTxMessage is the message of transaction tid.
func ttTxMessage(topic, tid string) *primitive.Message {
	m := primitive.NewMessage(topic, []byte("tx body of "+tid))
	m.WithTag("tx")
	m.WithKeys([]string{"key-" + tid})
	m.WithProperty("tid", tid)
	return m
}

// ttSendTx runs one transaction through p and checks the local state the client reports.
func ttSendTx(t *testing.T, p rocketmq.TransactionProducer, topic, tid string, wantState primitive.LocalTransactionState) *primitive.TransactionSendResult {
	t.Helper()
	r, err := p.SendMessageInTransaction(context.Background(), ttTxMessage(topic, tid))
	if err != nil {
		t.Fatalf("transaction %s: %v", tid, err)
	}
	if r.SendResult == nil || r.Status != primitive.SendOK {
		t.Fatalf("transaction %s: half message not stored: %+v", tid, r.SendResult)
	}
	if r.State != wantState {
		t.Fatalf("transaction %s: local state %s, want %s", tid, ttStateName(r.State), ttStateName(wantState))
	}
	if !offsetMsgIDRe.MatchString(r.OffsetMsgID) {
		t.Errorf("transaction %s: offset msg id %q (the client parses it for END_TRANSACTION)", tid, r.OffsetMsgID)
	}
	return r
}
