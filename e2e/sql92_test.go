package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
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

// SQL92 property filters (issue: SQL92 filters behind the filter port). The broker filters; the
// official client never filters SQL92 again (REMOTING §13 item 13), so what a consumer receives is
// exactly what crossed the wire.

// sqlMsg is one message of the SQL92 tests: its id and its filtered properties ("" is absent).
type sqlMsg struct {
	id       string
	queue    int
	a, color string
}

// sqlSelector is a SQL92 expression and the same condition written in Go, three-valued logic
// folded in: a missing property or a non-number compared as a number never delivers.
type sqlSelector struct {
	expr  string
	match func(m sqlMsg) bool
}

func sqlNum(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

var sqlSelectors = []sqlSelector{
	{"a BETWEEN 3 AND 7 AND color = 'red'", func(m sqlMsg) bool {
		n, ok := sqlNum(m.a)
		return ok && n >= 3 && n <= 7 && m.color == "red"
	}},
	// IS NULL delivers the messages without the property.
	{"color IN ('red', 'green') OR a IS NULL", func(m sqlMsg) bool {
		return m.color == "red" || m.color == "green" || m.a == ""
	}},
	// NOT of UNKNOWN is UNKNOWN: messages without a (or with a = 'x') do not arrive.
	{"NOT (a > 5)", func(m sqlMsg) bool {
		n, ok := sqlNum(m.a)
		return ok && n <= 5
	}},
}

// sqlLayout is what the SQL92 tests send to each queue: every combination of values, with and
// without each property, and last a sentinel every selector matches.
func sqlLayout(queues int) [][]sqlMsg {
	as := []string{"1", "3", "4", "5", "7", "8", "x", "", "-2", "6"}
	colors := []string{"red", "green", "blue", ""}
	out := make([][]sqlMsg, queues)
	for q := range out {
		for i := 0; i < 20; i++ {
			out[q] = append(out[q], sqlMsg{id: fmt.Sprintf("q%d-%d", q, i), queue: q,
				a: as[(i+q)%len(as)], color: colors[(i/2+q)%len(colors)]})
		}
		out[q] = append(out[q], sqlMsg{id: fmt.Sprintf("q%d-end", q), queue: q, a: "4", color: "red"})
	}
	return out
}

// TestSQL92SelectorsDeliverExactlyTheMatches: official push consumers with SQL92 MessageSelectors
// receive exactly the messages their expressions match, messages lacking the properties included
// (delivered by IS NULL, never by a comparison), and raw SQL92 pulls carry nothing else.
func TestSQL92SelectorsDeliverExactlyTheMatches(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const queues = 4

	b := startBroker(t, t.TempDir())
	topic := uniqueName("sql")
	createTopicRaw(t, b, topic, queues)
	brokerName := brokerNameOf(t, b, topic)

	// The official producer, pinned to each queue, so that every queue ends with its sentinel.
	p := kitProducer(t, b.NamesrvAddr, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	layout := sqlLayout(queues)
	end := make([]int64, queues) // each queue's max offset once everything is stored
	for q, msgs := range layout {
		for _, m := range msgs {
			pm := primitive.NewMessage(topic, []byte(m.id))
			pm.WithTag("TagA")
			pm.WithProperty("mid", m.id)
			if m.a != "" {
				pm.WithProperty("a", m.a)
			}
			if m.color != "" {
				pm.WithProperty("color", m.color)
			}
			pm.Queue = &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: q}
			r, err := p.SendSync(context.Background(), pm)
			if err != nil {
				t.Fatalf("send %s: %v", m.id, err)
			}
			if r.MessageQueue == nil || r.MessageQueue.QueueId != q {
				t.Fatalf("send %s went to %v, not queue %d", m.id, r.MessageQueue, q)
			}
			end[q] = r.QueueOffset + 1
		}
	}

	type run struct {
		sel   sqlSelector
		group string
		rec   *recorder
		want  []string
	}
	var runs []*run
	for i, sel := range sqlSelectors {
		r := &run{sel: sel, group: uniqueName("sqlg"), rec: newRecorder("mid")}
		for _, msgs := range layout {
			for _, m := range msgs {
				if sel.match(m) {
					r.want = append(r.want, m.id)
				}
			}
		}
		startSQLConsumer(t, b.NamesrvAddr, r.group, topic, sel.expr, r.rec.handler(fmt.Sprintf("sql%d", i), consumer.ConsumeSuccess))
		runs = append(runs, r)
	}

	for _, r := range runs {
		waitFor(t, 60*time.Second, fmt.Sprintf("%q delivers its %d matches", r.sel.expr, len(r.want)),
			func() (bool, string) { return r.rec.hasAll(r.want) })
	}
	// Absence without a fixed observation window: every queue ends with a message each selector
	// matches, and the client commits a queue's offset past a message only once it has consumed
	// everything it pulled before it. Once the group's committed offset reaches a queue's end
	// (the client reports it every 5 s), everything the broker let through on that queue has been
	// handed to the callback, so the deliveries below are final.
	for _, r := range runs {
		for q := 0; q < queues; q++ {
			waitFor(t, 30*time.Second, fmt.Sprintf("%s committed to the end of queue %d", r.group, q), func() (bool, string) {
				code, off, err := queryConsumerOffset(b.BrokerAddr, r.group, topic, q)
				return err == nil && code == wire.Success && off == end[q], fmt.Sprintf("code %d offset %d of %d, err %v", code, off, end[q], err)
			})
		}
	}
	for _, r := range runs {
		got := byID(r.rec.snapshot())
		want := map[string]bool{}
		for _, id := range r.want {
			want[id] = true
		}
		var extra, missing []string
		for id := range got {
			if !want[id] {
				extra = append(extra, id)
			}
		}
		for id := range want {
			if got[id] == nil {
				missing = append(missing, id)
			}
		}
		sort.Strings(extra)
		sort.Strings(missing)
		if len(extra) > 0 || len(missing) > 0 {
			t.Errorf("%q: delivered %d distinct, want %d; not matching but delivered %v; missing %v",
				r.sel.expr, len(got), len(want), extra, missing)
		}
		t.Logf("%q: %d of %d messages delivered", r.sel.expr, len(got), queues*len(layout[0]))
	}

	// On the wire: raw pulls with the SQL92 expression in the request carry exactly the matches.
	rc := dialRaw(t, b.BrokerAddr)
	for _, sel := range sqlSelectors {
		var got, want []string
		for q := 0; q < queues; q++ {
			got = append(got, pullSQL92Queue(t, rc, uniqueName("rawsql"), topic, q, end[q], sel.expr)...)
			for _, m := range layout[q] {
				if sel.match(m) {
					want = append(want, m.id)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("raw SQL92 pulls of %q carried %v, want %v", sel.expr, got, want)
		}
	}
}

// TestSQL92Refusals: an expression that does not parse is refused with SUBSCRIPTION_PARSE_FAILED
// (23) and its position and reason, by CHECK_CLIENT_CONFIG, by a heartbeat (whose group's pulls
// then answer the same) and by a pull carrying it; a broker with enablePropertyFilter off
// refuses SQL92 as Java does (SYSTEM_ERROR).
func TestSQL92Refusals(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	b := startBroker(t, t.TempDir())
	topic := uniqueName("sqlbad")
	createTopicRaw(t, b, topic, 1)
	rc := dialRaw(t, b.BrokerAddr)

	expectCode := func(what string, resp *wire.Command, code int16, remark ...string) {
		t.Helper()
		if resp.Code != code {
			t.Errorf("%s: code %d, want %d: %s", what, resp.Code, code, describeCmd(resp))
			return
		}
		for _, r := range remark {
			if !strings.Contains(resp.Remark, r) {
				t.Errorf("%s: remark %q lacks %q", what, resp.Remark, r)
			}
		}
	}

	expectCode("CHECK_CLIENT_CONFIG with a valid SQL92 expression",
		rc.mustCall(checkClientConfigReq("g", topic, "SQL92", "a BETWEEN 3 AND 7"), 5*time.Second), wire.Success)
	expectCode("CHECK_CLIENT_CONFIG with reversed BETWEEN bounds",
		rc.mustCall(checkClientConfigReq("g", topic, "SQL92", "a BETWEEN 7 AND 3"), 5*time.Second),
		wire.SubscriptionParseFailed, "at offset 10", "reversed")
	expectCode("CHECK_CLIENT_CONFIG with a TAG expression",
		rc.mustCall(checkClientConfigReq("g", topic, "TAG", "A || B"), 5*time.Second), wire.Success)

	group := uniqueName("sqlbadg")
	expectCode("heartbeat with an invalid SQL92 subscription",
		rc.mustCall(sqlHeartbeatReq("c-bad", group, topic, "color = 'red' AND a >"), 5*time.Second),
		wire.SubscriptionParseFailed, "at offset 21", "expected a value")
	expectCode("pull of the refused group",
		rc.mustCall(pullReq(group, topic, 0, 0, 0, 0, ""), 5*time.Second),
		wire.SubscriptionParseFailed, "at offset 21")
	req := pullReq(uniqueName("sqlpull"), topic, 0, 0, pullFlagSubscription, 0, "a = = 1")
	req.SetExt("expressionType", "SQL92")
	expectCode("pull with an invalid SQL92 subscription", rc.mustCall(req, 5*time.Second),
		wire.SubscriptionParseFailed, "at offset 4")

	off := startBroker(t, t.TempDir(), "--set", "broker.enablePropertyFilter=false")
	createTopicRaw(t, off, topic, 1)
	rcOff := dialRaw(t, off.BrokerAddr)
	expectCode("CHECK_CLIENT_CONFIG with property filters off",
		rcOff.mustCall(checkClientConfigReq("g", topic, "SQL92", "a > 1"), 5*time.Second),
		wire.SystemError, "does not support consumer to filter message by SQL92")
	expectCode("heartbeat with property filters off",
		rcOff.mustCall(sqlHeartbeatReq("c-off", uniqueName("offg"), topic, "a > 1"), 5*time.Second),
		wire.SystemError, "enablePropertyFilter")
	expectCode("TAG heartbeat with property filters off",
		rcOff.mustCall(heartbeatReq("c-tag", uniqueName("tagg"), "CLUSTERING", rawSub{topic: topic, expr: "*"}), 5*time.Second),
		wire.Success)
}

// startSQLConsumer starts a clustering push consumer of group with a SQL92 selector, from the
// first offset; it is shut down at cleanup.
func startSQLConsumer(t *testing.T, ns, group, topic, expr string,
	h func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)) {
	t.Helper()
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("sqlinst")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.SQL92, Expression: expr}, h); err != nil {
		t.Fatalf("subscribe %s with %q: %v", topic, expr, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer %s start: %v", group, err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			if err := pc.Shutdown(); err != nil {
				t.Errorf("consumer shutdown: %v", err)
			}
		})
	})
}

// brokerNameOf reads the name of the broker serving topic from the name server's route.
func brokerNameOf(t *testing.T, b *Broker, topic string) string {
	t.Helper()
	resp, err := rawRequest(b.NamesrvAddr, wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("route of %s: err %v, %s", topic, err, describeCmd(resp))
	}
	var route struct {
		BrokerDatas []struct {
			BrokerName string `json:"brokerName"`
		} `json:"brokerDatas"`
	}
	if err := json.Unmarshal(resp.Body, &route); err != nil || len(route.BrokerDatas) == 0 {
		t.Fatalf("route of %s: %v %s", topic, err, resp.Body)
	}
	return route.BrokerDatas[0].BrokerName
}

// pullSQL92Queue pulls queue q of topic from 0 to end with the SQL92 expression in the request
// (SUBSCRIPTION flag) and returns the ids of the records that came over the wire.
func pullSQL92Queue(t *testing.T, rc *rawConn, group, topic string, q int, end int64, expr string) []string {
	t.Helper()
	var ids []string
	for off := int64(0); off < end; {
		req := pullReq(group, topic, q, off, pullFlagSubscription, 0, expr)
		req.SetExt("expressionType", "SQL92")
		resp := rc.mustCall(req, 5*time.Second)
		if resp.Code != wire.Success && resp.Code != wire.PullRetryImmediately {
			t.Fatalf("SQL92 pull %s/%d@%d: %s", topic, q, off, describeCmd(resp))
		}
		next, err := strconv.ParseInt(resp.Ext("nextBeginOffset"), 10, 64)
		if err != nil || next <= off {
			t.Fatalf("SQL92 pull %s/%d@%d: nextBeginOffset does not advance: %s", topic, q, off, describeCmd(resp))
		}
		if resp.Code == wire.Success {
			recs, err := wire.DecodeRecords(resp.Body)
			if err != nil {
				t.Fatalf("decode pull body: %v", err)
			}
			for _, r := range recs {
				id, _ := wire.PropertyValue(r.Properties, "mid")
				ids = append(ids, id)
			}
		}
		off = next
	}
	return ids
}

// checkClientConfigReq builds CHECK_CLIENT_CONFIG (46) as Java clients send it.
func checkClientConfigReq(group, topic, typ, expr string) *wire.Command {
	body, err := json.Marshal(map[string]any{
		"clientId": "127.0.0.1@check",
		"group":    group,
		"subscriptionData": map[string]any{
			"topic": topic, "subString": expr, "expressionType": typ, "subVersion": time.Now().UnixMilli(),
			"tagsSet": []string{}, "codeSet": []int{}, "classFilterMode": false,
		},
	})
	if err != nil {
		panic(err)
	}
	return wire.NewRequest(wire.CheckClientConfig, map[string]string{}, body)
}

// sqlHeartbeatReq builds HEART_BEAT (34) of one clustering consumer with a SQL92 subscription.
func sqlHeartbeatReq(clientID, group, topic, expr string) *wire.Command {
	body, err := json.Marshal(wire.HeartbeatData{ClientID: clientID, ProducerDataSet: []wire.ProducerData{},
		ConsumerDataSet: []wire.ConsumerData{{GroupName: group, ConsumeType: "CONSUME_PASSIVELY",
			MessageModel: "CLUSTERING", ConsumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
			SubscriptionDataSet: []wire.SubscriptionData{{Topic: topic, SubString: expr, TagsSet: []string{},
				CodeSet: []json.RawMessage{}, SubVersion: time.Now().UnixNano(), ExpressionType: "SQL92"}}}}})
	if err != nil {
		panic(err)
	}
	return wire.NewRequest(wire.HeartBeat, map[string]string{}, body)
}
