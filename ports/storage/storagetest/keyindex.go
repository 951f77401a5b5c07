package storagetest

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// KeyMsg is a suite message with the given UNIQ_KEY and KEYS (either may be empty).
func KeyMsg(topicName, body, uniqKey, keys string) message.Message {
	m := Msg(topicName, 0, body, "")
	delete(m.Properties, message.PropertyKeys)
	if uniqKey != "" {
		m.SetProperty(message.PropertyUniqKey, uniqKey)
	}
	if keys != "" {
		m.SetProperty(message.PropertyKeys, keys)
	}
	return m
}

// allTime is a query's widest time range.
const allTime = math.MaxInt64

// QueryKey runs a key query over all time and returns its result.
func QueryKey(t testing.TB, s storage.KeyIndex, topicName, key string, maxNum int) storage.KeyResult {
	t.Helper()
	return queryRange(t, s, topicName, key, maxNum, 0, allTime)
}

func queryRange(t testing.TB, s storage.KeyIndex, topicName, key string, maxNum int, begin, end int64) storage.KeyResult {
	t.Helper()
	res, err := s.QueryByKey(context.Background(), storage.KeyQuery{Topic: topicName, Key: key, MaxNum: maxNum, BeginMs: begin, EndMs: end})
	if err != nil {
		t.Fatalf("QueryByKey(%s, %q, %d, %d..%d): %v", topicName, key, maxNum, begin, end, err)
	}
	return res
}

// hitsOf is what a query must answer for these append results, given newest first.
func hitsOf(rs ...storage.AppendResult) []storage.KeyHit {
	out := make([]storage.KeyHit, len(rs))
	for i, r := range rs {
		out[i] = storage.KeyHit{PhyOffset: r.PhysicalOffset, Size: r.Size, StoreTimestamp: r.StoreTimestamp}
	}
	return out
}

// ExpectHits fails the test unless querying key in topicName (all time, up to maxNum) answers
// exactly want, newest first.
func ExpectHits(t testing.TB, s storage.KeyIndex, topicName, key string, maxNum int, want ...storage.AppendResult) {
	t.Helper()
	got := QueryKey(t, s, topicName, key, maxNum).Hits
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if w := hitsOf(want...); !reflect.DeepEqual(got, w) {
		t.Fatalf("query %s#%s (max %d):\n got %+v\nwant %+v", topicName, key, maxNum, got, w)
	}
}

// runKeyIndex holds the store's KeyIndex to the port's contract.
func runKeyIndex(t *testing.T, open func(t *testing.T) storage.MessageStore) {
	t.Run("KeyIndexByKeyAndUniqKey", func(t *testing.T) { testKeyByKeyAndUniq(t, open(t)) })
	t.Run("KeyIndexTimeRange", func(t *testing.T) { testKeyTimeRange(t, open(t)) })
	t.Run("KeyIndexMaxNum", func(t *testing.T) { testKeyMaxNum(t, open(t)) })
	t.Run("KeyIndexTopicIsolation", func(t *testing.T) { testKeyTopics(t, open(t)) })
	t.Run("KeyIndexTransactions", func(t *testing.T) { testKeyTransactions(t, open(t)) })
	t.Run("KeyIndexHashCollision", func(t *testing.T) { testKeyCollision(t, open(t)) })
	t.Run("KeyIndexLastUpdate", func(t *testing.T) { testKeyLastUpdate(t, open(t)) })
}

func testKeyByKeyAndUniq(t *testing.T, s storage.MessageStore) {
	msgs := []message.Message{
		KeyMsg("TopicK", "one", "C0A8000A1F4000000000000000000001", "order-1 customer-7"),
		KeyMsg("TopicK", "two", "C0A8000A1F4000000000000000000002", "order-2 customer-7 "),
		KeyMsg("TopicK", "three", "", "  order-3   customer-7"), // empty entries between separators
		KeyMsg("TopicK", "four", "C0A8000A1F4000000000000000000004", ""),
		KeyMsg("TopicK", "five", "dup", "dup dup"), // one record under one key three times
	}
	res := mustAppend(t, s, msgs...)
	ExpectHits(t, s, "TopicK", "C0A8000A1F4000000000000000000001", 10, res[0])
	ExpectHits(t, s, "TopicK", "C0A8000A1F4000000000000000000004", 10, res[3])
	ExpectHits(t, s, "TopicK", "order-1", 10, res[0])
	ExpectHits(t, s, "TopicK", "order-3", 10, res[2])
	ExpectHits(t, s, "TopicK", "customer-7", 10, res[2], res[1], res[0])
	ExpectHits(t, s, "TopicK", "dup", 10, res[4])
	for _, absent := range []string{"order-1 customer-7", "order", "", " ", "C0A8000A1F4000000000000000000003", "customer-77"} {
		ExpectHits(t, s, "TopicK", absent, 10)
	}

	// A hit is enough to read the record, and the record carries the key.
	for _, h := range QueryKey(t, s, "TopicK", "customer-7", 10).Hits {
		b, err := s.ReadRecord(context.Background(), h.PhyOffset, h.Size, nil)
		if err != nil {
			t.Fatalf("ReadRecord of hit %+v: %v", h, err)
		}
		r, _, err := wire.DecodeRecord(b)
		if err != nil || r.StoreTimestamp != h.StoreTimestamp {
			t.Fatalf("hit %+v decodes to %+v, %v", h, r, err)
		}
		if keys, _ := wire.PropertyValue(r.Properties, message.PropertyKeys); !message.HasIndexKey("", keys, "customer-7") {
			t.Fatalf("hit %+v has keys %q", h, keys)
		}
	}
}

func testKeyTimeRange(t *testing.T, s storage.MessageStore) {
	var res []storage.AppendResult
	for i := range 3 {
		if i > 0 {
			nextMilli(t, res[i-1].StoreTimestamp)
		}
		res = append(res, mustAppend(t, s, KeyMsg("TopicTR", fmt.Sprint(i), "", "k"))...)
	}
	ts := func(i int) int64 { return res[i].StoreTimestamp }
	for _, tc := range []struct {
		begin, end int64
		want       []storage.AppendResult
	}{
		{0, allTime, []storage.AppendResult{res[2], res[1], res[0]}},
		{ts(0), ts(0), []storage.AppendResult{res[0]}}, // both bounds included
		{ts(1), ts(2), []storage.AppendResult{res[2], res[1]}},
		{ts(0) + 1, ts(2) - 1, []storage.AppendResult{res[1]}},
		{ts(2) + 1, allTime, nil},
		{0, ts(0) - 1, nil},
		{ts(2), ts(0), nil}, // an empty range
	} {
		got := queryRange(t, s, "TopicTR", "k", 10, tc.begin, tc.end).Hits
		if want := hitsOf(tc.want...); !(len(got) == 0 && len(want) == 0) && !reflect.DeepEqual(got, want) {
			t.Fatalf("range %d..%d (records at %d, %d, %d): got %+v, want %+v", tc.begin, tc.end, ts(0), ts(1), ts(2), got, want)
		}
	}
}

func testKeyMaxNum(t *testing.T, s storage.MessageStore) {
	var res []storage.AppendResult
	for i := range 10 {
		res = append(res, mustAppend(t, s, KeyMsg("TopicMN", fmt.Sprint(i), "", fmt.Sprintf("same own-%d", i)))...)
	}
	ExpectHits(t, s, "TopicMN", "same", 3, res[9], res[8], res[7])
	ExpectHits(t, s, "TopicMN", "same", 1, res[9])
	ExpectHits(t, s, "TopicMN", "same", 0)
	ExpectHits(t, s, "TopicMN", "same", -1)
	all := QueryKey(t, s, "TopicMN", "same", 100).Hits
	if len(all) != 10 {
		t.Fatalf("max 100 returned %d hits, want all 10", len(all))
	}
	ExpectHits(t, s, "TopicMN", "own-4", 100, res[4])
}

func testKeyTopics(t *testing.T, s storage.MessageStore) {
	res := mustAppend(t, s,
		KeyMsg("TopicA", "a", "U-shared", "shared"), KeyMsg("TopicB", "b", "U-shared", "shared"),
		KeyMsg("TopicAB", "ab", "", "shared"))
	ExpectHits(t, s, "TopicA", "shared", 10, res[0])
	ExpectHits(t, s, "TopicB", "shared", 10, res[1])
	ExpectHits(t, s, "TopicB", "U-shared", 10, res[1])
	ExpectHits(t, s, "TopicAB", "shared", 10, res[2])
	ExpectHits(t, s, "Topic", "Ashared", 10) // "<topic>#<key>" must not be split anywhere else
	ExpectHits(t, s, "TopicC", "shared", 10)
}

func testKeyTransactions(t *testing.T, s storage.MessageStore) {
	var msgs []message.Message
	for _, sf := range []int32{message.SysFlagTxNot, message.SysFlagTxPrepared, message.SysFlagTxCommit, message.SysFlagTxRollback} {
		m := KeyMsg("TopicTX", fmt.Sprint("sys", sf), fmt.Sprint("U-", sf), "tx")
		m.SysFlag = sf
		msgs = append(msgs, m)
	}
	res := mustAppend(t, s, msgs...)
	ExpectHits(t, s, "TopicTX", "tx", 10, res[2], res[0])
	ExpectHits(t, s, "TopicTX", fmt.Sprint("U-", message.SysFlagTxPrepared), 10)
	ExpectHits(t, s, "TopicTX", fmt.Sprint("U-", message.SysFlagTxRollback), 10)
	ExpectHits(t, s, "TopicTX", fmt.Sprint("U-", message.SysFlagTxCommit), 10, res[2])
}

func testKeyCollision(t *testing.T, s storage.MessageStore) {
	// "Aa" and "BB" have the same Java hashCode, so "T#Aa" and "T#BB" share a hash slot in
	// RocketMQ's index layout; "AaAa", "AaBB", "BBAa" and "BBBB" do too.
	res := mustAppend(t, s,
		KeyMsg("TopicH", "1", "", "Aa"), KeyMsg("TopicH", "2", "", "BB"),
		KeyMsg("TopicH", "3", "", "AaBB BBAa"), KeyMsg("TopicH", "4", "", "Aa"))
	ExpectHits(t, s, "TopicH", "Aa", 10, res[3], res[0])
	ExpectHits(t, s, "TopicH", "BB", 10, res[1])
	ExpectHits(t, s, "TopicH", "AaBB", 10, res[2])
	ExpectHits(t, s, "TopicH", "BBBB", 10)
}

func testKeyLastUpdate(t *testing.T, s storage.MessageStore) {
	if r := QueryKey(t, s, "TopicLU", "k", 10); r.LastUpdatePhyOffset != 0 || r.LastUpdateTimestamp != 0 || len(r.Hits) != 0 {
		t.Fatalf("empty store: %+v", r)
	}
	mustAppend(t, s, KeyMsg("TopicLU", "a", "", "k"))
	prepared := KeyMsg("TopicLU", "b", "", "")
	prepared.SysFlag = message.SysFlagTxPrepared
	res := mustAppend(t, s, Msg("Other", 0, "x", ""), prepared)
	r := QueryKey(t, s, "TopicLU", "nothing", 10)
	if r.LastUpdatePhyOffset != res[1].PhysicalOffset || r.LastUpdateTimestamp != res[1].StoreTimestamp {
		t.Fatalf("last update %d at %d, want the last record appended: %d at %d",
			r.LastUpdatePhyOffset, r.LastUpdateTimestamp, res[1].PhysicalOffset, res[1].StoreTimestamp)
	}
}

// testKeyIndexRestart holds a persistent store's index to surviving a clean restart: what was
// found before is found after, and records appended after the restart join the same chains.
func testKeyIndexRestart(t *testing.T, open OpenDir) {
	dir := t.TempDir()
	s, stop := open(t, dir)
	var before []storage.AppendResult
	for i := range 20 {
		before = append(before, mustAppend(t, s, KeyMsg("TopicKR", fmt.Sprint(i), fmt.Sprintf("U-%d", i), fmt.Sprintf("all k-%d", i%3)))...)
	}
	prepared := KeyMsg("TopicKR", "half", "U-half", "all")
	prepared.SysFlag = message.SysFlagTxPrepared
	mustAppend(t, s, prepared)
	want := QueryKey(t, s, "TopicKR", "all", 100)
	if len(want.Hits) != 20 {
		t.Fatalf("%d hits before the restart, want 20", len(want.Hits))
	}
	stop()

	s, stop = open(t, dir)
	defer stop()
	if got := QueryKey(t, s, "TopicKR", "all", 100); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart:\n got %+v\nwant %+v", got, want)
	}
	ExpectHits(t, s, "TopicKR", "U-7", 10, before[7])
	ExpectHits(t, s, "TopicKR", "k-1", 3, before[19], before[16], before[13])
	ExpectHits(t, s, "TopicKR", "U-half", 10)
	after := mustAppend(t, s, KeyMsg("TopicKR", "after", "U-after", "k-1"))
	ExpectHits(t, s, "TopicKR", "k-1", 3, after[0], before[19], before[16])
	ExpectHits(t, s, "TopicKR", "U-after", 3, after[0])
}
