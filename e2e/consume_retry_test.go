package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 6: retries through CONSUMER_SEND_MSG_BACK and dead letters.

// fastLevels18 makes every one of the 18 levels 1 s, so a message can run through all 16
// retries of the default limit in about 20 s.
const fastLevels18 = "broker.messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"

// failingHandler records every delivery and answers RetryLater for messages whose id starts with
// "fail" or "doomed" until they have been redelivered okAt times (never when okAt < 0); others
// succeed at once.
func failingHandler(rec *recorder, name string, okAt int32) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		rec.add(name, msgs)
		for _, m := range msgs {
			id := m.GetProperty("mid")
			if !strings.HasPrefix(id, "fail") && !strings.HasPrefix(id, "doomed") {
				continue
			}
			if okAt < 0 || m.ReconsumeTimes < okAt {
				return consumer.ConsumeRetryLater, nil
			}
		}
		return consumer.ConsumeSuccess, nil
	}
}

// retryTestMessage is the message the retry tests send: a tag, two keys and user properties that
// must survive every retry and the dead-letter queue.
func retryTestMessage(topic, id string) *primitive.Message {
	m := primitive.NewMessage(topic, []byte("retry body "+id))
	m.WithTag("rtag")
	m.WithKeys([]string{"k1-" + id, "k2-" + id})
	m.WithProperty("mid", id)
	m.WithProperty("color", "green")
	return m
}

// checkRetryIdentity checks that a delivery still is the message retryTestMessage built.
func checkRetryIdentity(t *testing.T, what, topic, id, msgID string, m *primitive.MessageExt) {
	t.Helper()
	var problems []string
	if m.Topic != topic {
		problems = append(problems, fmt.Sprintf("topic %q, want %q", m.Topic, topic))
	}
	if string(m.Body) != "retry body "+id {
		problems = append(problems, fmt.Sprintf("body %q", m.Body))
	}
	if m.GetTags() != "rtag" {
		problems = append(problems, fmt.Sprintf("tags %q", m.GetTags()))
	}
	if m.GetKeys() != "k1-"+id+" k2-"+id {
		problems = append(problems, fmt.Sprintf("keys %q", m.GetKeys()))
	}
	if m.GetProperty("color") != "green" || m.GetProperty("mid") != id {
		problems = append(problems, fmt.Sprintf("user properties color=%q mid=%q", m.GetProperty("color"), m.GetProperty("mid")))
	}
	if msgID != "" && m.MsgId != msgID {
		problems = append(problems, fmt.Sprintf("MsgId %q, want the original %q (UNIQ_KEY kept)", m.MsgId, msgID))
	}
	if len(problems) > 0 {
		t.Errorf("%s: %s", what, strings.Join(problems, "; "))
	}
}

// TestRetryLevelsAndReconsumeTimes: a message the consumer fails comes back through
// %RETRY%group with reconsumeTimes 1, 2, 3, each after the delay of level 3 + reconsumeTimes
// (configured as 1 s, 2 s, 3 s so the level choice shows in the gaps), with its original topic,
// body, tag, keys, properties and MsgId. A message consumed successfully is not redelivered.
func TestRetryLevelsAndReconsumeTimes(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	levels := map[int]time.Duration{3: time.Second, 4: 2 * time.Second, 5: 3 * time.Second}

	b := startBroker(t, t.TempDir(), "--set", "broker.messageDelayLevel=1s 1s 1s 2s 3s")
	topic, group := uniqueName("rty"), uniqueName("rtyG")
	createTopicRaw(t, b, topic, 4)
	p := kitProducer(t, b.NamesrvAddr)
	precreateRetryTopic(t, b, group)
	rec := newRecorder("mid")
	startKitConsumer(t, b.NamesrvAddr, group, topic, kitConsumerOpts{from: consumer.ConsumeFromFirstOffset}, failingHandler(rec, "c", 3))

	r, err := p.SendSync(context.Background(), retryTestMessage(topic, "fail3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendSync(context.Background(), retryTestMessage(topic, "fine")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "three retries of the failed message", func() (bool, string) {
		n := 0
		for _, d := range rec.snapshot() {
			if d.id == "fail3" {
				n++
			}
		}
		return n >= 4, fmt.Sprintf("%d deliveries", n)
	})
	var ds []delivery
	for _, d := range rec.snapshot() {
		if d.id == "fail3" {
			ds = append(ds, d)
		}
	}
	for k, d := range ds[:4] {
		if d.reconsum != int32(k) {
			t.Errorf("delivery %d: reconsumeTimes %d, want %d", k, d.reconsum, k)
		}
		checkRetryIdentity(t, fmt.Sprintf("delivery %d", k), topic, "fail3", r.MsgID, d.msg)
		if k == 0 {
			continue
		}
		// The retry was sent back after delivery k-1 was handed to the handler, so it cannot
		// be due before at[k-1] + delay; it may be up to 1 s late plus the send-back's own time.
		delay := levels[3+k-1]
		gap := time.UnixMilli(d.msg.StoreTimestamp).Sub(ds[k-1].at)
		t.Logf("retry %d (level %d, %s): delivered by the broker %s after the previous delivery, consumer got it %s later",
			k, 3+k-1, delay, gap.Round(time.Millisecond), d.at.Sub(time.UnixMilli(d.msg.StoreTimestamp)).Round(time.Millisecond))
		if gap < delay-time.Millisecond {
			t.Errorf("retry %d came %s after the failure, before its level-%d delay of %s", k, gap, 3+k-1, delay)
		}
		if gap > delay+1500*time.Millisecond {
			t.Errorf("retry %d came %s after the failure; level %d is %s", k, gap, 3+k-1, delay)
		}
		if d.msg.GetProperty("RETRY_TOPIC") != topic {
			t.Errorf("retry %d: RETRY_TOPIC=%q, want %q", k, d.msg.GetProperty("RETRY_TOPIC"), topic)
		}
	}
	if len(ds) > 4 {
		t.Errorf("the message was delivered %d times; it succeeded on the 4th", len(ds))
	}
	var fine []delivery
	for _, d := range rec.snapshot() {
		if d.id == "fine" {
			fine = append(fine, d)
		}
	}
	if len(fine) != 1 || fine[0].reconsum != 0 {
		t.Errorf("the message consumed successfully was delivered %d times", len(fine))
	}
	// The retries went through the retry topic: three records on %RETRY%group.
	if n := topicCount(t, b, "%RETRY%"+group, 1); n != 3 {
		t.Errorf("%%RETRY%%%s holds %d records, want 3", group, n)
	}
}

// TestRetryExhaustedToDLQ: a message that always fails is retried maxReconsumeTimes times and then
// dead-lettered to %DLQ%group: 16 retries with the client's default, 2 with
// consumer.WithMaxReconsumeTimes(2). The DLQ (1 queue, created on demand and routed) is readable
// by a consumer that subscribes to it, and the dead letter keeps its body, tag, keys, properties
// and MsgId, with the original topic in RETRY_TOPIC and DLQ_ORIGIN_TOPIC.
func TestRetryExhaustedToDLQ(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)

	b := startBroker(t, t.TempDir(), "--set", fastLevels18)
	topic := uniqueName("dlq")
	createTopicRaw(t, b, topic, 4)
	p := kitProducer(t, b.NamesrvAddr)

	type tc struct {
		group string
		max   int32 // 0: the client's default (it sends 16)
		rec   *recorder
	}
	cases := []*tc{{group: uniqueName("dlqDef")}, {group: uniqueName("dlqTwo"), max: 2}}
	for _, c := range cases {
		precreateRetryTopic(t, b, c.group)
		c.rec = newRecorder("mid")
		o := kitConsumerOpts{from: consumer.ConsumeFromFirstOffset}
		if c.max > 0 {
			o.extra = []consumer.Option{consumer.WithMaxReconsumeTimes(c.max)}
		}
		startKitConsumer(t, b.NamesrvAddr, c.group, topic, o, failingHandler(c.rec, c.group, -1))
	}
	sent, err := p.SendSync(context.Background(), retryTestMessage(topic, "doomed"))
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range cases {
		limit := int32(16)
		if c.max > 0 {
			limit = c.max
		}
		dlq := "%DLQ%" + c.group
		// Each of the limit+1 deliveries fails; the last failure dead-letters the message.
		waitFor(t, 60*time.Second, fmt.Sprintf("%s: %d deliveries", c.group, limit+1), func() (bool, string) {
			n := c.rec.count()
			return n >= int(limit)+1, fmt.Sprintf("%d deliveries", n)
		})
		waitRoute(t, b, dlq, 1, 15*time.Second)

		reader := newRecorder("mid")
		startKitConsumer(t, b.NamesrvAddr, uniqueName("dlqReader"), dlq, kitConsumerOpts{from: consumer.ConsumeFromFirstOffset},
			reader.handler("reader", consumer.ConsumeSuccess))
		waitFor(t, 30*time.Second, "the dead letter read from "+dlq, func() (bool, string) { return reader.hasAll([]string{"doomed"}) })

		ds := c.rec.snapshot()
		for k, d := range ds {
			if d.reconsum != int32(k) {
				t.Errorf("%s delivery %d: reconsumeTimes %d, want %d", c.group, k, d.reconsum, k)
			}
		}
		// Broker-side record counts are exact: one retry record per failure but the last, one
		// dead letter; the dead letter's arrival ended the chain, so no further delivery exists.
		if n := topicCount(t, b, "%RETRY%"+c.group, 1); n != int64(limit) {
			t.Errorf("%%RETRY%%%s holds %d records, want %d", c.group, n, limit)
		}
		if n := topicCount(t, b, dlq, 1); n != 1 {
			t.Errorf("%s holds %d records, want 1", dlq, n)
		}
		if len(ds) != int(limit)+1 {
			t.Errorf("%s: %d deliveries, want %d (the first and %d retries)", c.group, len(ds), limit+1, limit)
		}
		if qs, _, err := routeQueues(b.NamesrvAddr, dlq); err != nil || qs != 1 {
			t.Errorf("route of %s: %d queues (err %v), want 1", dlq, qs, err)
		}

		m := reader.snapshot()[0].msg
		checkRetryIdentity(t, "dead letter in "+dlq, dlq, "doomed", sent.MsgID, m)
		if m.GetProperty("RETRY_TOPIC") != topic || m.GetProperty("DLQ_ORIGIN_TOPIC") != topic {
			t.Errorf("dead letter: RETRY_TOPIC=%q DLQ_ORIGIN_TOPIC=%q, want the original topic %q",
				m.GetProperty("RETRY_TOPIC"), m.GetProperty("DLQ_ORIGIN_TOPIC"), topic)
		}
		t.Logf("%s: %d deliveries (reconsumeTimes 0..%d), dead letter in %s with reconsumeTimes %d, properties %v",
			c.group, len(ds), len(ds)-1, dlq, m.ReconsumeTimes, m.GetProperties())
	}
}

// pullRecords pulls topic/queue from offset with the expression in the request (SUBSCRIPTION
// flag), without holding, and decodes the records.
func pullRecords(t *testing.T, rc *rawConn, group, topic string, q int, offset int64, expr string) (*wire.Command, []wire.Record) {
	t.Helper()
	resp := rc.mustCall(pullReq(group, topic, q, offset, pullFlagSubscription, 0, expr), 5*time.Second)
	if resp.Code != wire.Success {
		return resp, nil
	}
	recs, err := wire.DecodeRecords(resp.Body)
	if err != nil {
		t.Fatalf("pull %s/%d@%d: decode body: %v", topic, q, offset, err)
	}
	return resp, recs
}

// sendBackReq builds CONSUMER_SEND_MSG_BACK (36); maxTimes < -1 leaves the field out.
func sendBackReq(group string, phyOffset int64, delayLevel int, originTopic, originMsgID string, maxTimes int) *wire.Command {
	ext := map[string]string{
		"group":       group,
		"offset":      strconv.FormatInt(phyOffset, 10),
		"delayLevel":  strconv.Itoa(delayLevel),
		"originMsgId": originMsgID,
		"originTopic": originTopic,
		"unitMode":    "false",
	}
	if maxTimes >= -1 {
		ext["maxReconsumeTimes"] = strconv.Itoa(maxTimes)
	}
	return wire.NewRequest(wire.ConsumerSendMsgBack, ext, nil)
}

// TestSendBackRawLimits drives CONSUMER_SEND_MSG_BACK by hand: with the default limit a first
// send-back is a retry (delay level 3, reconsumeTimes 1, RETRY_TOPIC set); the maxReconsumeTimes
// the request carries decides the dead letter (1: dead, 5: retry again); delayLevel -1 (the
// orderly consumer's give-up) dead-letters at once. Every dead letter keeps the original record's
// body, tag, keys, properties and UNIQ_KEY, and names the original topic.
func TestSendBackRawLimits(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	b := startBroker(t, t.TempDir(), "--set", "broker.messageDelayLevel=1s 1s 1s")
	topic, group := uniqueName("sb"), uniqueName("sbG")
	retry, dlq := "%RETRY%"+group, "%DLQ%"+group
	createTopicRaw(t, b, topic, 1)
	rc := dialRaw(t, b.BrokerAddr)
	rawSend(t, rc, topic, 0, "sbtag", map[string]string{"KEYS": "sbkey", "color": "red", "UNIQ_KEY": "SBUNIQ0001"}, []byte("send back me"))

	_, recs := pullRecords(t, rc, group, topic, 0, 0, "*")
	if len(recs) != 1 {
		t.Fatalf("pull of the original: %d records", len(recs))
	}
	orig := recs[0]
	sendBack := func(phy int64, delayLevel, maxTimes int) {
		t.Helper()
		resp := rc.mustCall(sendBackReq(group, phy, delayLevel, topic, "SBUNIQ0001", maxTimes), 5*time.Second)
		if resp.Code != wire.Success {
			t.Fatalf("send back (offset %d, delayLevel %d, max %d): %s", phy, delayLevel, maxTimes, describeCmd(resp))
		}
	}
	waitCount := func(topic string, want int64) {
		t.Helper()
		waitFor(t, 10*time.Second, fmt.Sprintf("%d records in %s", want, topic), func() (bool, string) {
			n, err := maxOffsetRaw(b.BrokerAddr, topic, 0)
			return err == nil && n == want, fmt.Sprintf("%d records, err %v", n, err)
		})
	}

	// 1. No maxReconsumeTimes field: the group's default 16 applies; a retry reaches
	// %RETRY%group after level 3.
	sendBack(orig.PhysicalOffset, 0, -2)
	waitCount(retry, 1)
	_, recs = pullRecords(t, rc, group, retry, 0, 0, "*")
	if len(recs) != 1 || recs[0].ReconsumeTimes != 1 {
		t.Fatalf("retry record: %d records, %+v", len(recs), recs)
	}
	retried := recs[0]
	if props := wire.ParseProperties(retried.Properties); props["RETRY_TOPIC"] != topic || props["color"] != "red" || props["DELAY"] != "" {
		t.Errorf("retry record properties %v: want RETRY_TOPIC=%s, the original color=red and no DELAY", props, topic)
	}

	// 2. The retry (reconsumeTimes 1) with maxReconsumeTimes=5 in the request: another retry.
	sendBack(retried.PhysicalOffset, 0, 5)
	waitCount(retry, 2)
	if n, _ := maxOffsetRaw(b.BrokerAddr, dlq, 0); n != 0 {
		t.Errorf("%s has %d records after a send-back under the request's limit", dlq, n)
	}

	// 3. The same with maxReconsumeTimes=1: 1 >= 1, a dead letter.
	sendBack(retried.PhysicalOffset, 0, 1)
	waitCount(dlq, 1)

	// 4. delayLevel -1 dead-letters the original at once despite reconsumeTimes 0 and max 16.
	sendBack(orig.PhysicalOffset, -1, 16)
	waitCount(dlq, 2)
	waitRoute(t, b, dlq, 1, 10*time.Second)

	_, dead := pullRecords(t, rc, uniqueName("sbReader"), dlq, 0, 0, "*")
	if len(dead) != 2 {
		t.Fatalf("%s: pulled %d records, want 2", dlq, len(dead))
	}
	for i, r := range dead {
		props := wire.ParseProperties(r.Properties)
		t.Logf("dead letter %d: topic %s reconsumeTimes %d properties %v", i, r.Topic, r.ReconsumeTimes, props)
		if string(r.Body) != "send back me" || props["TAGS"] != "sbtag" || props["KEYS"] != "sbkey" || props["color"] != "red" ||
			props["UNIQ_KEY"] != "SBUNIQ0001" {
			t.Errorf("dead letter %d lost content: body %q properties %v", i, r.Body, props)
		}
		if props["RETRY_TOPIC"] != topic || props["DLQ_ORIGIN_TOPIC"] != topic {
			t.Errorf("dead letter %d: RETRY_TOPIC=%q DLQ_ORIGIN_TOPIC=%q, want %q", i, props["RETRY_TOPIC"], props["DLQ_ORIGIN_TOPIC"], topic)
		}
	}
	if dead[0].ReconsumeTimes != 2 || dead[1].ReconsumeTimes != 1 {
		t.Errorf("dead letters' reconsumeTimes %d and %d, want 2 and 1", dead[0].ReconsumeTimes, dead[1].ReconsumeTimes)
	}
}

// TestSendBackGroupLimitFromConfig: broker.maxReconsumeTimes is the limit of a group when the
// send-back names none (the Go client always names one; Java clients may not). With 0 the first
// send-back dead-letters the message at once.
func TestSendBackGroupLimitFromConfig(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	b := startBroker(t, t.TempDir(), "--set", "broker.maxReconsumeTimes=0", "--set", "broker.messageDelayLevel=1s 1s 1s")
	topic, group := uniqueName("sbc"), uniqueName("sbcG")
	dlq := "%DLQ%" + group
	createTopicRaw(t, b, topic, 1)
	rc := dialRaw(t, b.BrokerAddr)
	rawSend(t, rc, topic, 0, "t", nil, []byte("limit from config"))
	_, recs := pullRecords(t, rc, group, topic, 0, 0, "*")
	if len(recs) != 1 {
		t.Fatalf("pull of the original: %d records", len(recs))
	}
	resp := rc.mustCall(sendBackReq(group, recs[0].PhysicalOffset, 0, topic, "", -2), 5*time.Second)
	if resp.Code != wire.Success {
		t.Fatalf("send back: %s", describeCmd(resp))
	}
	if !pollUntil(5*time.Second, func() bool { n, err := maxOffsetRaw(b.BrokerAddr, dlq, 0); return err == nil && n == 1 }) {
		nDLQ, _ := maxOffsetRaw(b.BrokerAddr, dlq, 0)
		sched, _ := maxOffsetRaw(b.BrokerAddr, scheduleTopic, 2)
		nRetry, _ := maxOffsetRaw(b.BrokerAddr, "%RETRY%"+group, 0)
		t.Errorf("with broker.maxReconsumeTimes=0 a send-back without maxReconsumeTimes left %s with %d records; "+
			"instead %s queue 2 (delay level 3) holds %d and %%RETRY%%%s %d: the group limit is not taken from the config",
			dlq, nDLQ, scheduleTopic, sched, group, nRetry)
	}
}
