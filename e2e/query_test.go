package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// The official Go client v2.1.2 defines QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33) but never
// sends them, so these tests send them raw, as Java's mqadmin would.

// queryByKey sends QUERY_MESSAGE over all time and returns the answer's code, its records and
// the index's last update offset.
func queryByKey(t *testing.T, brokerAddr, topic, key string, maxNum int, extra map[string]string) (int16, []wire.Record, int64) {
	t.Helper()
	ext := map[string]string{
		"topic": topic, "key": key, "maxNum": strconv.Itoa(maxNum),
		"beginTimestamp": "0", "endTimestamp": strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10),
	}
	for k, v := range extra {
		ext[k] = v
	}
	resp, err := rawRequest(brokerAddr, wire.NewRequest(wire.QueryMessage, ext, nil))
	if err != nil {
		t.Fatalf("QUERY_MESSAGE %s: %v", key, err)
	}
	recs, err := wire.DecodeRecords(resp.Body)
	if err != nil {
		t.Fatalf("QUERY_MESSAGE %s: body does not decode: %v", key, err)
	}
	last, err := strconv.ParseInt(resp.Ext("indexLastUpdatePhyoffset"), 10, 64)
	if err != nil {
		t.Fatalf("QUERY_MESSAGE %s (code %d %q): indexLastUpdatePhyoffset %q", key, resp.Code, resp.Remark, resp.Ext("indexLastUpdatePhyoffset"))
	}
	if _, err := strconv.ParseInt(resp.Ext("indexLastUpdateTimestamp"), 10, 64); err != nil {
		t.Fatalf("QUERY_MESSAGE %s: indexLastUpdateTimestamp %q", key, resp.Ext("indexLastUpdateTimestamp"))
	}
	return resp.Code, recs, last
}

// viewByOffset sends VIEW_MESSAGE_BY_ID for a commit-log offset.
func viewByOffset(t *testing.T, brokerAddr string, offset int64) (*wire.Command, []wire.Record) {
	t.Helper()
	resp, err := rawRequest(brokerAddr, wire.NewRequest(wire.ViewMessageByID, map[string]string{"offset": strconv.FormatInt(offset, 10)}, nil))
	if err != nil {
		t.Fatalf("VIEW_MESSAGE_BY_ID %d: %v", offset, err)
	}
	recs, err := wire.DecodeRecords(resp.Body)
	if err != nil {
		t.Fatalf("VIEW_MESSAGE_BY_ID %d: body does not decode: %v", offset, err)
	}
	return resp, recs
}

// offsetOf reads the commit-log offset out of an IPv4 offset message id (the last 8 of its 16
// bytes), as tools do before VIEW_MESSAGE_BY_ID.
func offsetOf(t *testing.T, offsetMsgID string) int64 {
	t.Helper()
	if len(offsetMsgID) != 32 {
		t.Fatalf("offset msg id %q is not 32 hex characters", offsetMsgID)
	}
	off, err := strconv.ParseUint(offsetMsgID[16:], 16, 64)
	if err != nil {
		t.Fatalf("offset msg id %q: %v", offsetMsgID, err)
	}
	return int64(off)
}

// TestQueryByKeyAndViewByOffset: messages sent with keys by the official client are found by
// each key, by their UNIQ_KEY and by their offset message id, byte-exact, before and after the
// broker is killed (the key index is rebuilt from the log past its last durable header).
func TestQueryByKeyAndViewByOffset(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const n, size = 30, 300

	dir := t.TempDir()
	b := startBroker(t, dir)
	topic := uniqueName("query")
	p, stopProducer := startProducer(t, b.NamesrvAddr)
	sent := make([]*primitive.SendResult, n)
	for i := range n {
		r, err := p.SendSync(context.Background(), testMessage(topic, "q"+strconv.Itoa(i), i, size))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		checkSendResult(t, fmt.Sprint("send ", i), r)
		sent[i] = r
	}
	stopProducer()

	checkQueries(t, b.BrokerAddr, topic, sent, size)
	b.Kill(t)
	b = startBroker(t, dir)
	checkQueries(t, b.BrokerAddr, topic, sent, size)
}

func checkQueries(t *testing.T, brokerAddr, topic string, sent []*primitive.SendResult, size int) {
	t.Helper()
	// checkRecord compares a returned record with message i as sent.
	checkRecord := func(what string, r wire.Record, i int) {
		t.Helper()
		id := "q" + strconv.Itoa(i)
		props := wire.ParseProperties(r.Properties)
		if r.Topic != topic || string(r.Body) != string(testBody(id, size)) || props["mid"] != id ||
			props["KEYS"] != fmt.Sprintf("k-%s group-%d", id, i%7) || props["UNIQ_KEY"] != sent[i].MsgID ||
			r.PhysicalOffset != offsetOf(t, sent[i].OffsetMsgID) {
			t.Fatalf("%s: record %s at %d with keys %q, uniq %q, body of %d bytes; want message %s at %d",
				what, props["mid"], r.PhysicalOffset, props["KEYS"], props["UNIQ_KEY"], len(r.Body), id, offsetOf(t, sent[i].OffsetMsgID))
		}
	}

	for _, i := range []int{0, 13, len(sent) - 1} {
		id := "q" + strconv.Itoa(i)
		code, recs, last := queryByKey(t, brokerAddr, topic, "k-"+id, 32, nil)
		if code != wire.Success || len(recs) != 1 {
			t.Fatalf("query k-%s: code %d, %d records; want 0 and one", id, code, len(recs))
		}
		checkRecord("query k-"+id, recs[0], i)
		if want := offsetOf(t, sent[len(sent)-1].OffsetMsgID); last < want {
			t.Fatalf("indexLastUpdatePhyoffset %d is before the last message sent (%d)", last, want)
		}

		code, recs, _ = queryByKey(t, brokerAddr, topic, sent[i].MsgID, 1, map[string]string{"_UNIQUE_KEY_QUERY": "true"})
		if code != wire.Success || len(recs) != 1 {
			t.Fatalf("query by UNIQ_KEY %s: code %d, %d records", sent[i].MsgID, code, len(recs))
		}
		checkRecord("query by UNIQ_KEY", recs[0], i)

		resp, recs := viewByOffset(t, brokerAddr, offsetOf(t, sent[i].OffsetMsgID))
		if resp.Code != wire.Success || len(recs) != 1 {
			t.Fatalf("view %s: code %d %q, %d records", sent[i].OffsetMsgID, resp.Code, resp.Remark, len(recs))
		}
		checkRecord("view by offset", recs[0], i)
	}

	// A key several messages share: all of them, oldest first; maxNum keeps the newest.
	var group3 []int
	for i := range sent {
		if i%7 == 3 {
			group3 = append(group3, i)
		}
	}
	code, recs, _ := queryByKey(t, brokerAddr, topic, "group-3", 64, nil)
	if code != wire.Success || len(recs) != len(group3) {
		t.Fatalf("query group-3: code %d, %d records, want %d", code, len(recs), len(group3))
	}
	for j, r := range recs {
		checkRecord("query group-3", r, group3[j])
	}
	if _, recs, _ := queryByKey(t, brokerAddr, topic, "group-3", 2, nil); len(recs) != 2 {
		t.Fatalf("query group-3 with maxNum 2: %d records", len(recs))
	} else {
		checkRecord("query group-3 max 2", recs[0], group3[len(group3)-2])
		checkRecord("query group-3 max 2", recs[1], group3[len(group3)-1])
	}

	// Nothing: an unknown key, another topic, a time range before every message.
	for _, q := range []struct{ topic, key string }{{topic, "k-nobody"}, {topic + "-other", "group-3"}} {
		if code, recs, _ := queryByKey(t, brokerAddr, q.topic, q.key, 32, nil); code != wire.QueryNotFound || len(recs) != 0 {
			t.Fatalf("query %s in %s: code %d, %d records; want 22 and none", q.key, q.topic, code, len(recs))
		}
	}
	if code, recs, _ := queryByKey(t, brokerAddr, topic, "group-3", 32, map[string]string{"endTimestamp": "1000"}); code != wire.QueryNotFound || len(recs) != 0 {
		t.Fatalf("query before every message: code %d, %d records", code, len(recs))
	}

	// An offset inside a record is no record.
	if resp, recs := viewByOffset(t, brokerAddr, offsetOf(t, sent[1].OffsetMsgID)+1); resp.Code != wire.SystemError || len(recs) != 0 {
		t.Fatalf("view inside a record: code %d %q", resp.Code, resp.Remark)
	}
}
