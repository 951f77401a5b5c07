package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 9: tag filtering. The official client filters by tag string again on its side, so
// what it delivers cannot show what crossed the wire; raw pulls decode the pull bodies for that.

// tagMix is the tag of message i of the tag tests: "Aa" and "BB" have the same Java hashCode
// (2112), so the consume queue's tag code cannot tell them apart.
var tagMix = []string{"Aa", "BB", "A", "B", "C", ""}

// TestTagsOrSubscription: a consumer subscribed to "A || B" receives exactly the messages tagged
// A or B; one subscribed to "*" receives all, untagged ones included.
func TestTagsOrSubscription(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	const rounds = 10

	b := startBroker(t, t.TempDir())
	topic := uniqueName("tag")
	createTopicRaw(t, b, topic, 4)
	p := kitProducer(t, b.NamesrvAddr)
	tagOf := map[string]string{}
	var all, ab []string
	for r := 0; r < rounds; r++ {
		for _, tag := range tagMix {
			id := fmt.Sprintf("m%d-%s", r, tag)
			m := primitive.NewMessage(topic, []byte(id))
			if tag != "" {
				m.WithTag(tag)
			}
			m.WithProperty("mid", id)
			if _, err := p.SendSync(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			tagOf[id] = tag
			all = append(all, id)
			if tag == "A" || tag == "B" {
				ab = append(ab, id)
			}
		}
	}

	abRec, allRec := newRecorder("mid"), newRecorder("mid")
	startKitConsumer(t, b.NamesrvAddr, uniqueName("tagAB"), topic, kitConsumerOpts{expr: "A || B", from: consumer.ConsumeFromFirstOffset}, abRec.handler("ab", consumer.ConsumeSuccess))
	startKitConsumer(t, b.NamesrvAddr, uniqueName("tagAll"), topic, kitConsumerOpts{expr: "*", from: consumer.ConsumeFromFirstOffset}, allRec.handler("all", consumer.ConsumeSuccess))
	waitFor(t, 30*time.Second, `"*" receives everything`, func() (bool, string) { return allRec.hasAll(all) })
	waitFor(t, 30*time.Second, `"A || B" receives the A and B messages`, func() (bool, string) { return abRec.hasAll(ab) })
	// Every queue holds the other tags interleaved with A and B, before and after them; pulls
	// read a queue in order, so anything wrongly let through would have arrived by now.
	for _, d := range abRec.snapshot() {
		if d.tags != "A" && d.tags != "B" {
			t.Errorf(`"A || B" consumer got %s tagged %q`, d.id, d.tags)
		}
	}
	if got := len(byID(allRec.snapshot())); got != len(all) {
		t.Errorf(`"*" consumer got %d distinct messages, want %d`, got, len(all))
	}
}

// pullAll pulls topic queue 0 from 0 to its end with the given pull (SUBSCRIPTION flag with expr,
// or the registered subscription when expr is empty) and returns the tags of the records that
// came over the wire and the answer codes.
func pullAll(t *testing.T, rc *rawConn, group, topic, expr string, end int64) (tags []string, codes []int16) {
	t.Helper()
	flag := pullFlagSubscription
	if expr == "" {
		flag = 0
	}
	for off := int64(0); off < end; {
		resp := rc.mustCall(pullReq(group, topic, 0, off, flag, 0, expr), 5*time.Second)
		codes = append(codes, resp.Code)
		if resp.Code != wire.Success && resp.Code != wire.PullRetryImmediately {
			t.Fatalf("pull %s@%d with %q: %s", topic, off, expr, describeCmd(resp))
		}
		next, err := strconv.ParseInt(resp.Ext("nextBeginOffset"), 10, 64)
		if err != nil || next <= off {
			t.Fatalf("pull %s@%d with %q: nextBeginOffset %q does not advance: %s", topic, off, expr, resp.Ext("nextBeginOffset"), describeCmd(resp))
		}
		if resp.Code == wire.Success {
			recs, err := wire.DecodeRecords(resp.Body)
			if err != nil {
				t.Fatalf("decode pull body: %v", err)
			}
			for _, r := range recs {
				tag, _ := wire.PropertyValue(r.Properties, "TAGS")
				tags = append(tags, tag)
			}
		}
		off = next
	}
	return tags, codes
}

// TestTagFilterOnTheWire: the broker filters by the consume queue's tag hash and settles hash
// collisions by the tag string, so a pull for "Aa" carries only Aa records, not BB (same hash),
// whether the expression comes in the pull (SUBSCRIPTION flag) or from the group's heartbeat; a
// pull for "A || B" carries only A and B records; a pull whose expression matches nothing answers
// PULL_RETRY_IMMEDIATELY (20) with nextBeginOffset past the skipped records. The official
// consumer subscribed to "Aa" gets only the Aa messages.
func TestTagFilterOnTheWire(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	const rounds = 5

	if javaHashCode("Aa") != javaHashCode("BB") {
		t.Fatalf("test premise: hashCode(Aa)=%d hashCode(BB)=%d", javaHashCode("Aa"), javaHashCode("BB"))
	}
	b := startBroker(t, t.TempDir())
	topic := uniqueName("tw")
	createTopicRaw(t, b, topic, 1)
	rc := dialRaw(t, b.BrokerAddr)
	var aaIDs []string
	for r := 0; r < rounds; r++ {
		for _, tag := range tagMix {
			id := fmt.Sprintf("w%d-%s", r, tag)
			rawSend(t, rc, topic, 0, tag, map[string]string{"mid": id}, []byte(id))
			if tag == "Aa" {
				aaIDs = append(aaIDs, id)
			}
		}
	}
	end := int64(rounds * len(tagMix))

	count := func(tags []string) string {
		m := map[string]int{}
		for _, tg := range tags {
			m[tg]++
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q:%d", k, m[k]))
		}
		return strings.Join(parts, " ")
	}
	check := func(what, expr, group string, want string) {
		t.Helper()
		tags, codes := pullAll(t, rc, group, topic, expr, end)
		t.Logf("%s: records over the wire %s (answer codes %v)", what, count(tags), codes)
		if got := count(tags); got != want {
			t.Errorf("%s: records over the wire %s, want %s", what, got, want)
		}
	}
	check(`pull with "Aa" in the request`, "Aa", uniqueName("twG"), `"Aa":5`)
	check(`pull with "BB" in the request`, "BB", uniqueName("twG"), `"BB":5`)
	check(`pull with "A || B" in the request`, "A || B", uniqueName("twG"), `"A":5 "B":5`)
	check(`pull with "*"`, "*", uniqueName("twG"), `"":5 "A":5 "Aa":5 "B":5 "BB":5 "C":5`)

	// The group's registered subscription, as push consumers pull (no SUBSCRIPTION flag).
	regGroup := uniqueName("twReg")
	if resp := rc.mustCall(heartbeatReq("127.0.0.9@"+uniqueName("tw"), regGroup, "CLUSTERING", rawSub{topic, "Aa"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("heartbeat: %s", describeCmd(resp))
	}
	check(`pull with the heartbeat's "Aa"`, "", regGroup, `"Aa":5`)

	// Nothing matches: one answer, 20, skipping every record.
	resp := rc.mustCall(pullReq(uniqueName("twG"), topic, 0, 0, pullFlagSubscription, 0, "Zz"), 5*time.Second)
	if resp.Code != wire.PullRetryImmediately || resp.Ext("nextBeginOffset") != strconv.FormatInt(end, 10) || len(resp.Body) > 0 {
		t.Errorf(`pull for "Zz": %s; want code 20, nextBeginOffset %d and no body`, describeCmd(resp), end)
	}

	rec := newRecorder("mid")
	startKitConsumer(t, b.NamesrvAddr, uniqueName("twAa"), topic, kitConsumerOpts{expr: "Aa", from: consumer.ConsumeFromFirstOffset}, rec.handler("aa", consumer.ConsumeSuccess))
	waitFor(t, 30*time.Second, `the "Aa" consumer gets the Aa messages`, func() (bool, string) { return rec.hasAll(aaIDs) })
	for _, d := range rec.snapshot() {
		if d.tags != "Aa" {
			t.Errorf(`"Aa" consumer got %s tagged %q`, d.id, d.tags)
		}
	}
}
