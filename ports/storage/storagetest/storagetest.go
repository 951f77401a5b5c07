// Package storagetest is the conformance suite of the storage port: every MessageStore and
// MetaStore adapter runs it, so they all keep the same contract.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Hosts the suite's messages carry.
var (
	BornHost  = netip.MustParseAddrPort("192.168.0.10:50123")
	StoreHost = netip.MustParseAddrPort("127.0.0.1:10911")
)

// Msg builds a message of the suite: tags may be empty (no TAGS property).
func Msg(topicName string, queueID int32, body string, tags string) message.Message {
	m := message.Message{
		Topic:         topicName,
		QueueID:       queueID,
		Flag:          3,
		Body:          []byte(body),
		BornTimestamp: 1_700_000_000_000,
		BornHost:      BornHost,
		StoreHost:     StoreHost,
	}
	m.SetProperty(message.PropertyKeys, "k-"+body)
	if tags != "" {
		m.SetProperty(message.PropertyTags, tags)
	}
	return m
}

// Expect is the stored message a store must give back for m appended with result r.
func Expect(m message.Message, r storage.AppendResult) message.Ext {
	return message.Ext{
		Message:        m,
		QueueOffset:    r.QueueOffset,
		PhysicalOffset: r.PhysicalOffset,
		StoreTimestamp: r.StoreTimestamp,
		StoreSize:      r.Size,
		BodyCRC:        wire.BodyCRC(m.Body),
	}
}

func mustAppend(t testing.TB, s storage.MessageStore, msgs ...message.Message) []storage.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), msgs, nil)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(res) != len(msgs) {
		t.Fatalf("Append returned %d results for %d messages", len(res), len(msgs))
	}
	return res
}

func mustLookup(t testing.TB, s storage.MessageStore, q topic.QueueRef, from int64, limit int) []storage.Unit {
	t.Helper()
	units, err := s.Lookup(context.Background(), q, from, limit, nil)
	if err != nil {
		t.Fatalf("Lookup(%v, %d, %d): %v", q, from, limit, err)
	}
	return units
}

func checkMessage(t testing.TB, s storage.MessageStore, want message.Ext) {
	t.Helper()
	got, err := s.Message(context.Background(), want.PhysicalOffset)
	if err != nil {
		t.Fatalf("Message(%d): %v", want.PhysicalOffset, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Message(%d) =\n%+v\nwant\n%+v", want.PhysicalOffset, got, want)
	}
}

// Run holds a MessageStore to the port's contract. open returns a new, empty, started store and
// arranges its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.MessageStore) {
	t.Run("AppendAssignsOffsets", func(t *testing.T) { testAppendOffsets(t, open(t)) })
	t.Run("ReadRecordDecodes", func(t *testing.T) { testReadRecord(t, open(t)) })
	t.Run("MessageRoundTrip", func(t *testing.T) { testMessage(t, open(t)) })
	t.Run("LookupPagination", func(t *testing.T) { testLookup(t, open(t)) })
	t.Run("QueueBounds", func(t *testing.T) { testQueueBounds(t, open(t)) })
	t.Run("OffsetAt", func(t *testing.T) { testOffsetAt(t, open(t)) })
	t.Run("Arrival", func(t *testing.T) { testArrival(t, open(t)) })
	t.Run("TransactionTypes", func(t *testing.T) { testTransactions(t, open(t)) })
	t.Run("ConcurrentAppenders", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("DeleteTopic", func(t *testing.T) { testDeleteTopic(t, open(t)) })
	t.Run("BadOffsets", func(t *testing.T) { testBadOffsets(t, open(t)) })
	t.Run("Refusals", func(t *testing.T) { testRefusals(t, open(t)) })
	t.Run("ResultsAppendToDst", func(t *testing.T) { testResultsDst(t, open(t)) })
	runKeyIndex(t, open)
}

func testAppendOffsets(t *testing.T, s storage.MessageStore) {
	q0 := topic.QueueRef{Topic: "TopicA", QueueID: 0}
	q1 := topic.QueueRef{Topic: "TopicA", QueueID: 1}
	qb := topic.QueueRef{Topic: "TopicB", QueueID: 0}
	next := map[topic.QueueRef]int64{}
	lastEnd := int64(-1)
	_, maxBefore := s.LogBounds()
	total := int64(0)
	for batch := range 5 {
		var msgs []message.Message
		for i := range batch + 1 {
			for _, q := range []topic.QueueRef{q0, q1, qb} {
				msgs = append(msgs, Msg(q.Topic, q.QueueID, fmt.Sprintf("b%d-%d", batch, i), "TagA"))
			}
		}
		res := mustAppend(t, s, msgs...)
		for i, r := range res {
			q := topic.QueueRef{Topic: msgs[i].Topic, QueueID: msgs[i].QueueID}
			if r.QueueOffset != next[q] {
				t.Fatalf("batch %d message %d of %v: queue offset %d, want %d", batch, i, q, r.QueueOffset, next[q])
			}
			next[q]++
			if r.PhysicalOffset < lastEnd {
				t.Fatalf("physical offset %d overlaps the previous record ending at %d", r.PhysicalOffset, lastEnd)
			}
			if r.Size <= 0 || r.StoreTimestamp <= 0 {
				t.Fatalf("result %+v has no size or timestamp", r)
			}
			lastEnd = r.PhysicalOffset + int64(r.Size)
			total += int64(r.Size)
		}
	}
	_, maxAfter := s.LogBounds()
	if maxAfter < lastEnd || maxAfter-maxBefore < total {
		t.Fatalf("LogBounds max %d (was %d) after %d bytes of records ending at %d", maxAfter, maxBefore, total, lastEnd)
	}
	for q, n := range next {
		if lo, hi := s.QueueBounds(q); lo != 0 || hi != n {
			t.Fatalf("QueueBounds(%v) = %d, %d, want 0, %d", q, lo, hi, n)
		}
	}
}

func testReadRecord(t *testing.T, s storage.MessageStore) {
	m := Msg("TopicR", 2, "hello record", "TagR")
	m.SysFlag = message.SysFlagMultiTags
	m.ReconsumeTimes = 4
	m.SetProperty(message.PropertyUniqKey, "C0A8000A1F4000000000000000000001")
	mustAppend(t, s, Msg("TopicR", 2, "first", ""))
	res := mustAppend(t, s, m)[0]
	prefix := []byte("prefix")
	b, err := s.ReadRecord(context.Background(), res.PhysicalOffset, res.Size, prefix)
	if err != nil {
		t.Fatalf("ReadRecord: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("prefix")) || len(b) != len(prefix)+int(res.Size) {
		t.Fatalf("ReadRecord returned %d bytes, want the prefix and %d", len(b), res.Size)
	}
	r, n, err := wire.DecodeRecord(b[len(prefix):])
	if err != nil || n != int(res.Size) {
		t.Fatalf("DecodeRecord: %d bytes, %v", n, err)
	}
	want := wire.Record{
		StoreSize: res.Size, BodyCRC: wire.BodyCRC(m.Body), QueueID: 2, Flag: m.Flag, QueueOffset: 1,
		PhysicalOffset: res.PhysicalOffset, SysFlag: m.SysFlag, BornTimestamp: m.BornTimestamp, BornHost: BornHost,
		StoreTimestamp: res.StoreTimestamp, StoreHost: StoreHost, ReconsumeTimes: 4, Body: m.Body, Topic: "TopicR",
		Properties: wire.EncodeProperties(m.Properties),
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("decoded record\n%+v\nwant\n%+v", r, want)
	}
	if got := wire.ParseProperties(r.Properties); !reflect.DeepEqual(got, m.Properties) {
		t.Fatalf("properties %v, want %v", got, m.Properties)
	}
	if res.QueueOffset != 1 {
		t.Fatalf("queue offset %d, want 1", res.QueueOffset)
	}
}

func testMessage(t *testing.T, s storage.MessageStore) {
	msgs := []message.Message{Msg("TopicM", 0, "one", "T1"), Msg("TopicM", 1, "two", ""), Msg("TopicM", 0, "three", "T3")}
	msgs[1].PreparedTransactionOffset = 77
	msgs[1].SysFlag = message.SysFlagTxCommit
	res := mustAppend(t, s, msgs...)
	for i := range msgs {
		checkMessage(t, s, Expect(msgs[i], res[i]))
	}
}

func testLookup(t *testing.T, s storage.MessageStore) {
	q := topic.QueueRef{Topic: "TopicL", QueueID: 3}
	var msgs []message.Message
	for i := range 10 {
		tags := fmt.Sprintf("Tag%d", i%3)
		if i == 4 {
			tags = ""
		}
		msgs = append(msgs, Msg(q.Topic, q.QueueID, fmt.Sprint("body-", i), tags))
		msgs = append(msgs, Msg("Other", 0, "noise", "X"))
	}
	res := mustAppend(t, s, msgs...)
	var want []storage.Unit
	for i := 0; i < len(msgs); i += 2 {
		want = append(want, storage.Unit{PhyOffset: res[i].PhysicalOffset, Size: res[i].Size, TagsCode: message.TagsCode(msgs[i].Tags())})
	}
	if want[4].TagsCode != 0 {
		t.Fatalf("a message without tags must have tags code 0")
	}
	var got []storage.Unit
	for from := int64(0); from < 10; from += 3 {
		page := mustLookup(t, s, q, from, 3)
		if len(page) != min(3, 10-int(from)) {
			t.Fatalf("Lookup from %d returned %d units", from, len(page))
		}
		got = append(got, page...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("units\n%v\nwant\n%v", got, want)
	}
	if u := mustLookup(t, s, q, 9, 100); len(u) != 1 || u[0] != want[9] {
		t.Fatalf("Lookup(9, 100) = %v", u)
	}
	if u := mustLookup(t, s, q, 10, 5); len(u) != 0 {
		t.Fatalf("Lookup at the max returned %v", u)
	}
	if u := mustLookup(t, s, q, 0, 0); len(u) != 0 {
		t.Fatalf("Lookup with max 0 returned %v", u)
	}
	dst := make([]storage.Unit, 1, 8)
	if u := mustLookup(t, s, q, 2, 2); len(u) != 2 {
		t.Fatalf("Lookup(2, 2) = %v", u)
	}
	u, err := s.Lookup(context.Background(), q, 2, 2, dst)
	if err != nil || len(u) != 3 || u[1] != want[2] || u[2] != want[3] {
		t.Fatalf("Lookup must append to dst: %v, %v", u, err)
	}
	if u := mustLookup(t, s, topic.QueueRef{Topic: "Nothing", QueueID: 0}, 0, 5); len(u) != 0 {
		t.Fatalf("Lookup of an unknown queue returned %v", u)
	}
}

func testQueueBounds(t *testing.T, s storage.MessageStore) {
	q := topic.QueueRef{Topic: "TopicQ", QueueID: 1}
	if lo, hi := s.QueueBounds(q); lo != 0 || hi != 0 {
		t.Fatalf("empty queue bounds %d, %d", lo, hi)
	}
	mustAppend(t, s, Msg(q.Topic, q.QueueID, "a", ""), Msg(q.Topic, q.QueueID, "b", ""), Msg(q.Topic, 0, "c", ""))
	if lo, hi := s.QueueBounds(q); lo != 0 || hi != 2 {
		t.Fatalf("bounds %d, %d, want 0, 2", lo, hi)
	}
	if lo, hi := s.QueueBounds(topic.QueueRef{Topic: q.Topic, QueueID: 7}); lo != 0 || hi != 0 {
		t.Fatalf("unused queue of a used topic: bounds %d, %d", lo, hi)
	}
}

// nextMilli waits (polling, bounded) until the wall clock is past ts.
func nextMilli(t testing.TB, ts int64) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().UnixMilli() <= ts {
		if time.Now().After(deadline) {
			t.Fatalf("clock stuck at %d", ts)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func testOffsetAt(t *testing.T, s storage.MessageStore) {
	ctx := context.Background()
	q := topic.QueueRef{Topic: "TopicT", QueueID: 0}
	if off, err := s.OffsetAt(ctx, q, time.Now().UnixMilli()); err != nil || off != 0 {
		t.Fatalf("OffsetAt on an empty queue = %d, %v", off, err)
	}
	a := mustAppend(t, s, Msg(q.Topic, 0, "a1", ""), Msg(q.Topic, 0, "a2", ""))
	nextMilli(t, a[1].StoreTimestamp)
	b := mustAppend(t, s, Msg(q.Topic, 0, "b1", ""), Msg("Other", 0, "x", ""), Msg(q.Topic, 0, "b2", ""))
	nextMilli(t, b[2].StoreTimestamp)
	c := mustAppend(t, s, Msg(q.Topic, 0, "c1", ""))
	if a[0].StoreTimestamp >= b[0].StoreTimestamp || b[0].StoreTimestamp >= c[0].StoreTimestamp {
		t.Fatalf("store timestamps not increasing: %d %d %d", a[0].StoreTimestamp, b[0].StoreTimestamp, c[0].StoreTimestamp)
	}
	for _, tc := range []struct {
		ts   int64
		want int64
	}{
		{0, 0},
		{a[0].StoreTimestamp, 0},
		{a[0].StoreTimestamp + 1, 2},
		{b[0].StoreTimestamp, 2},
		{c[0].StoreTimestamp, 4},
		{c[0].StoreTimestamp + 1, 5},
		{c[0].StoreTimestamp + 1_000_000, 5},
	} {
		if off, err := s.OffsetAt(ctx, q, tc.ts); err != nil || off != tc.want {
			t.Fatalf("OffsetAt(%d) = %d, %v, want %d", tc.ts, off, err, tc.want)
		}
	}
}

func testArrival(t *testing.T, s storage.MessageStore) {
	type event struct {
		q   topic.QueueRef
		max int64
	}
	events := make(chan event, 100)
	s.OnArrival(func(q topic.QueueRef, maxOffset int64) {
		select {
		case events <- event{q, maxOffset}:
		default:
			t.Errorf("arrival channel full")
		}
	})
	q := topic.QueueRef{Topic: "TopicN", QueueID: 2}
	mustAppend(t, s, Msg(q.Topic, q.QueueID, "1", ""), Msg(q.Topic, q.QueueID, "2", ""))
	mustAppend(t, s, Msg(q.Topic, q.QueueID, "3", ""))
	prepared := Msg(q.Topic, q.QueueID, "half", "")
	prepared.SysFlag = message.SysFlagTxPrepared
	mustAppend(t, s, prepared)
	last := int64(0)
	deadline := time.After(5 * time.Second)
	for last < 3 {
		select {
		case e := <-events:
			if e.q != q || e.max <= last || e.max > 3 {
				t.Fatalf("arrival %+v after max %d", e, last)
			}
			last = e.max
		case <-deadline:
			t.Fatalf("arrivals stopped at max %d, want 3", last)
		}
	}
	mustAppend(t, s, Msg(q.Topic, q.QueueID, "4", ""))
	select {
	case e := <-events:
		if e.max != 4 {
			t.Fatalf("arrival after the prepared record: %+v, want max 4", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no arrival for the fourth message")
	}
}

func testTransactions(t *testing.T, s storage.MessageStore) {
	q := topic.QueueRef{Topic: "TopicX", QueueID: 0}
	var msgs []message.Message
	for _, sf := range []int32{message.SysFlagTxNot, message.SysFlagTxPrepared, message.SysFlagTxCommit, message.SysFlagTxRollback, message.SysFlagTxNot} {
		m := Msg(q.Topic, q.QueueID, fmt.Sprint("sys", sf), "")
		m.SysFlag = sf
		msgs = append(msgs, m)
	}
	res := mustAppend(t, s, msgs...)
	wantQueue := []int64{0, 0, 1, 0, 2}
	for i, r := range res {
		if r.QueueOffset != wantQueue[i] {
			t.Fatalf("message %d (sysFlag %#x): queue offset %d, want %d", i, msgs[i].SysFlag, r.QueueOffset, wantQueue[i])
		}
		checkMessage(t, s, Expect(msgs[i], r))
	}
	if _, hi := s.QueueBounds(q); hi != 3 {
		t.Fatalf("queue max %d, want 3 (prepared and rollback records get no unit)", hi)
	}
	units := mustLookup(t, s, q, 0, 10)
	for i, want := range []int{0, 2, 4} {
		if units[i].PhyOffset != res[want].PhysicalOffset {
			t.Fatalf("unit %d points at %d, want message %d at %d", i, units[i].PhyOffset, want, res[want].PhysicalOffset)
		}
	}
}

func testConcurrent(t *testing.T, s storage.MessageStore) {
	const writers, perWriter = 8, 40
	queues := []topic.QueueRef{{Topic: "TopicC", QueueID: 0}, {Topic: "TopicC", QueueID: 1}}
	results := make(chan storage.AppendResult, writers*perWriter*2)
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range perWriter {
				q := queues[(w+i)%2]
				res, err := s.Append(context.Background(), []message.Message{
					Msg(q.Topic, q.QueueID, fmt.Sprintf("w%d-%d", w, i), "T"), Msg(q.Topic, q.QueueID, "second", "T")}, nil)

				if err != nil {
					errs <- err
					return
				}
				for _, r := range res {
					results <- r
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	close(results)
	byPhy := map[int64]storage.AppendResult{}
	for r := range results {
		if _, dup := byPhy[r.PhysicalOffset]; dup {
			t.Fatalf("physical offset %d assigned twice", r.PhysicalOffset)
		}
		byPhy[r.PhysicalOffset] = r
	}
	seen := 0
	for _, q := range queues {
		_, hi := s.QueueBounds(q)
		units := mustLookup(t, s, q, 0, int(hi)+10)
		if int64(len(units)) != hi {
			t.Fatalf("%v: %d units, max %d", q, len(units), hi)
		}
		for off, u := range units {
			r, ok := byPhy[u.PhyOffset]
			if !ok || r.QueueOffset != int64(off) || r.Size != u.Size {
				t.Fatalf("%v unit %d = %+v does not match an append result (%+v)", q, off, u, r)
			}
			if off > 0 && u.PhyOffset <= units[off-1].PhyOffset {
				t.Fatalf("%v: units out of log order at %d", q, off)
			}
		}
		seen += len(units)
	}
	if seen != writers*perWriter*2 {
		t.Fatalf("%d units for %d messages", seen, writers*perWriter*2)
	}
}

func testDeleteTopic(t *testing.T, s storage.MessageStore) {
	ctx := context.Background()
	gone := topic.QueueRef{Topic: "TopicGone", QueueID: 0}
	kept := topic.QueueRef{Topic: "TopicKept", QueueID: 0}
	msgs := []message.Message{Msg(gone.Topic, 0, "g0", ""), Msg(gone.Topic, 1, "g1", ""), Msg(kept.Topic, 0, "k0", "")}
	res := mustAppend(t, s, msgs...)
	if err := s.DeleteTopic(ctx, gone.Topic); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	for _, q := range []topic.QueueRef{gone, {Topic: gone.Topic, QueueID: 1}} {
		if lo, hi := s.QueueBounds(q); lo != 0 || hi != 0 {
			t.Fatalf("deleted queue %v bounds %d, %d", q, lo, hi)
		}
		if u := mustLookup(t, s, q, 0, 10); len(u) != 0 {
			t.Fatalf("deleted queue %v still has units %v", q, u)
		}
	}
	if _, hi := s.QueueBounds(kept); hi != 1 {
		t.Fatalf("kept queue max %d, want 1", hi)
	}
	checkMessage(t, s, Expect(msgs[0], res[0]))
	if err := s.DeleteTopic(ctx, "NeverExisted"); err != nil {
		t.Fatalf("DeleteTopic of an unknown topic: %v", err)
	}
	again := mustAppend(t, s, Msg(gone.Topic, 0, "again", ""))
	if again[0].QueueOffset != 0 {
		t.Fatalf("a recreated queue starts at %d, want 0", again[0].QueueOffset)
	}
	if err := s.DeleteTopic(ctx, "../escape"); err == nil {
		t.Fatalf("DeleteTopic accepted a path-like name")
	}
}

func testBadOffsets(t *testing.T, s storage.MessageStore) {
	ctx := context.Background()
	_, hi := s.LogBounds()
	res := mustAppend(t, s, Msg("TopicB", 0, "only", ""))
	_, hi2 := s.LogBounds()
	if hi2 <= hi {
		t.Fatalf("LogBounds max did not grow: %d -> %d", hi, hi2)
	}
	for _, off := range []int64{-1, hi2, hi2 + 1000, 1 << 50} {
		if _, err := s.Message(ctx, off); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Message(%d): %v, want ErrNotFound", off, err)
		}
		if _, err := s.ReadRecord(ctx, off, res[0].Size, nil); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("ReadRecord(%d): %v, want ErrNotFound", off, err)
		}
	}
	if _, err := s.Lookup(ctx, topic.QueueRef{Topic: "TopicB", QueueID: 0}, -1, 1, nil); err == nil {
		t.Fatalf("Lookup at a negative offset succeeded")
	}
}

func testRefusals(t *testing.T, s storage.MessageStore) {
	ctx := context.Background()
	_, before := s.LogBounds()
	for _, name := range []string{"a/b", "..", "x..y", "nul\x00", "", strings.Repeat("t", 256)} {
		if _, err := s.Append(ctx, []message.Message{Msg("Fine", 0, "ok", ""), Msg(name, 0, "bad", "")}, nil); err == nil {
			t.Fatalf("Append accepted topic %q", name)
		}
	}
	// A negative queue id would be stored as a header recovery takes for corruption.
	if _, err := s.Append(ctx, []message.Message{Msg("Fine", 0, "ok", ""), Msg("Fine", -1, "bad", "")}, nil); !errors.Is(err, errs.ErrMessageIllegal) {
		t.Fatalf("Append of queue id -1: %v, want ErrMessageIllegal", err)
	}
	if _, err := s.Append(ctx, []message.Message{Msg(strings.Repeat("t", 255), 0, "longest", "")}, nil); err != nil {
		t.Fatalf("Append of a 255-byte topic: %v", err)
	}
	_, before = s.LogBounds()
	big := Msg("TopicBig", 0, "", "")
	big.Body = make([]byte, 5<<20)
	if _, err := s.Append(ctx, []message.Message{Msg("TopicBig", 0, "ok", ""), big}, nil); !errors.Is(err, storage.ErrMessageTooLarge) {
		t.Fatalf("Append of a 5 MiB body: %v, want ErrMessageTooLarge", err)
	}
	if _, after := s.LogBounds(); after != before {
		t.Fatalf("a refused batch changed the log: max %d -> %d", before, after)
	}
	if _, hi := s.QueueBounds(topic.QueueRef{Topic: "Fine", QueueID: 0}); hi != 0 {
		t.Fatalf("a refused batch indexed %d units", hi)
	}
}

// testResultsDst: Append extends the caller's slice (reusing its capacity, keeping what it held)
// and leaves it as it was when the batch is refused.
func testResultsDst(t *testing.T, s storage.MessageStore) {
	ctx := context.Background()
	keep := storage.AppendResult{PhysicalOffset: -7}
	dst := make([]storage.AppendResult, 1, 8)
	dst[0] = keep
	got, err := s.Append(ctx, []message.Message{Msg("TopicDst", 0, "a", ""), Msg("TopicDst", 0, "b", "")}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != keep || &got[0] != &dst[0] {
		t.Fatalf("Append returned %d results (first %+v, same array %v); want the kept one and two more in dst's array",
			len(got), got[0], &got[0] == &dst[0])
	}
	if got[1].QueueOffset != 0 || got[2].QueueOffset != 1 || got[2].PhysicalOffset <= got[1].PhysicalOffset {
		t.Fatalf("results out of order: %+v", got[1:])
	}
	refused, err := s.Append(ctx, []message.Message{Msg("TopicDst", 0, "c", ""), Msg("bad/name", 0, "d", "")}, got)
	if err == nil || len(refused) != 3 || refused[0] != keep {
		t.Fatalf("refused batch: %d results, %v; want dst unchanged and an error", len(refused), err)
	}
}
