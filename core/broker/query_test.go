package broker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// sendKeyed sends one message with the given KEYS and UNIQ_KEY and returns its append result.
func sendKeyed(t *testing.T, e *env, topicName, body, keys, uniq string) *inbound.SendResult {
	t.Helper()
	req := sendReq(topicName, "TagQ", body)
	req.Properties["KEYS"] = keys
	if uniq != "" {
		req.Properties["UNIQ_KEY"] = uniq
	}
	res, err := e.b.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("send %s: %v", body, err)
	}
	return res
}

// queryBodies runs QueryMessage over all time and returns the bodies of the records answered.
func queryBodies(t *testing.T, e *env, topicName, key string, maxNum int32) ([]string, *inbound.QueryResult) {
	t.Helper()
	res, err := e.b.QueryMessage(context.Background(), topicName, key, maxNum, 0, math.MaxInt64)
	if err != nil {
		t.Fatalf("QueryMessage(%s, %s): %v", topicName, key, err)
	}
	recs, err := wire.DecodeRecords(res.Body)
	if err != nil || len(recs) != res.Count {
		t.Fatalf("body of %d records decodes to %d: %v", res.Count, len(recs), err)
	}
	var bodies []string
	for _, r := range recs {
		if r.Topic != topicName {
			t.Fatalf("a record of %s answered a query on %s", r.Topic, topicName)
		}
		bodies = append(bodies, string(r.Body))
	}
	return bodies, res
}

func TestQueryMessageByKeyAndUniqKey(t *testing.T) {
	e := newEnv(t)
	sendKeyed(t, e, "Orders", "first", "order-1 customer-9", "C0A8000A00000000000000000000AAA1")
	sendKeyed(t, e, "Orders", "second", "order-2 customer-9", "C0A8000A00000000000000000000AAA2")
	sendKeyed(t, e, "Invoices", "other topic", "customer-9", "")
	last := sendKeyed(t, e, "Orders", "third", "order-3", "")

	bodies, res := queryBodies(t, e, "Orders", "customer-9", 32)
	if fmt.Sprint(bodies) != "[first second]" {
		t.Fatalf("customer-9 answered %q, want first and second, oldest first", bodies)
	}
	if res.IndexLastUpdatePhyOffset != last.Appended[0].PhysicalOffset || res.IndexLastUpdateTimestamp != last.Appended[0].StoreTimestamp {
		t.Fatalf("index last update %d at %d, want the last record %+v", res.IndexLastUpdatePhyOffset, res.IndexLastUpdateTimestamp, last.Appended[0])
	}
	if bodies, _ := queryBodies(t, e, "Orders", "C0A8000A00000000000000000000AAA2", 32); fmt.Sprint(bodies) != "[second]" {
		t.Fatalf("unique key answered %q", bodies)
	}
	if bodies, _ := queryBodies(t, e, "Invoices", "customer-9", 32); fmt.Sprint(bodies) != "[other topic]" {
		t.Fatalf("Invoices answered %q", bodies)
	}
	bodies, res = queryBodies(t, e, "Orders", "order-9", 32)
	if len(bodies) != 0 || res.Count != 0 || len(res.Body) != 0 || res.IndexLastUpdatePhyOffset == 0 {
		t.Fatalf("no match answered %q, %+v", bodies, res)
	}
}

func TestQueryMessageBodyIsTheStoredRecords(t *testing.T) {
	e := newEnv(t)
	a := sendKeyed(t, e, "Raw", "one", "k", "")
	b := sendKeyed(t, e, "Raw", "two", "k", "")
	var want []byte
	for _, r := range []*inbound.SendResult{a, b} {
		rec, err := e.store.ReadRecord(context.Background(), r.Appended[0].PhysicalOffset, r.Appended[0].Size, nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rec...)
	}
	res, err := e.b.QueryMessage(context.Background(), "Raw", "k", 10, 0, math.MaxInt64)
	if err != nil || !bytes.Equal(res.Body, want) || res.Count != 2 {
		t.Fatalf("body of %d bytes (%d records, %v), want the two stored records unchanged (%d bytes)", len(res.Body), res.Count, err, len(want))
	}
}

func TestQueryMessageMaxNum(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.MaxQueryResults = 3 })
	for i := range 5 {
		sendKeyed(t, e, "Many", fmt.Sprint("m", i), "same", "")
	}
	if bodies, _ := queryBodies(t, e, "Many", "same", 2); fmt.Sprint(bodies) != "[m3 m4]" {
		t.Fatalf("maxNum 2 answered %q, want the two newest", bodies)
	}
	if bodies, _ := queryBodies(t, e, "Many", "same", 100); fmt.Sprint(bodies) != "[m2 m3 m4]" {
		t.Fatalf("maxNum 100 under a cap of 3 answered %q, want the three newest", bodies)
	}
	e = newEnv(t, func(c *broker.Config) { c.MaxQueryResults = 0 }) // the default, 64
	for i := range 70 {
		sendKeyed(t, e, "Many", fmt.Sprint("m", i), "same", "")
	}
	if bodies, _ := queryBodies(t, e, "Many", "same", 1000); len(bodies) != 64 || bodies[63] != "m69" {
		t.Fatalf("default cap answered %d records ending %q, want 64 ending m69", len(bodies), bodies[len(bodies)-1])
	}
}

func TestQueryMessageTimeRange(t *testing.T) {
	e := newEnv(t)
	r := sendKeyed(t, e, "Timed", "x", "k", "").Appended[0]
	for _, tc := range []struct {
		begin, end int64
		want       int
	}{
		{r.StoreTimestamp, r.StoreTimestamp, 1},
		{0, r.StoreTimestamp - 1, 0},
		{r.StoreTimestamp + 1, math.MaxInt64, 0},
		{r.StoreTimestamp + 1, r.StoreTimestamp - 1, 0},
	} {
		res, err := e.b.QueryMessage(context.Background(), "Timed", "k", 10, tc.begin, tc.end)
		if err != nil || res.Count != tc.want {
			t.Errorf("range %d..%d (record at %d): %d records, %v; want %d", tc.begin, tc.end, r.StoreTimestamp, res.Count, err, tc.want)
		}
	}
}

// TestQueryMessageBodyBudget: three 3 MiB matches do not fit the 8 MiB body; the newest two do.
func TestQueryMessageBodyBudget(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		sendKeyed(t, e, "Big", fmt.Sprint(i)+string(bytes.Repeat([]byte{'x'}, 3<<20)), "big", "")
	}
	bodies, _ := queryBodies(t, e, "Big", "big", 10)
	if len(bodies) != 2 || bodies[0][0] != '1' || bodies[1][0] != '2' {
		t.Fatalf("answered %d records, want the newest two", len(bodies))
	}
}

func TestQueryMessageRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, topic, key string
		maxNum           int32
	}{
		{"invalid topic", "../etc", "k", 10},
		{"empty topic", "", "k", 10},
		{"empty key", "Orders", "", 10},
		{"zero maxNum", "Orders", "k", 0},
		{"negative maxNum", "Orders", "k", -1},
	} {
		if _, err := e.b.QueryMessage(context.Background(), tc.topic, tc.key, tc.maxNum, 0, math.MaxInt64); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}

func TestViewMessage(t *testing.T) {
	e := newEnv(t)
	sendKeyed(t, e, "View", "before", "k", "")
	r := sendKeyed(t, e, "View", "viewed", "k", "").Appended[0]
	got, err := e.b.ViewMessage(context.Background(), r.PhysicalOffset)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.store.ReadRecord(context.Background(), r.PhysicalOffset, r.Size, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ViewMessage answered %d bytes, want the stored record (%d bytes, %v)", len(got), len(want), err)
	}
	if rec, _, err := wire.DecodeRecord(got); err != nil || string(rec.Body) != "viewed" || rec.PhysicalOffset != r.PhysicalOffset {
		t.Fatalf("viewed record %+v, %v", rec, err)
	}
	for _, off := range []int64{r.PhysicalOffset + 1, r.PhysicalOffset + int64(r.Size), 1 << 40} {
		if _, err := e.b.ViewMessage(context.Background(), off); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("ViewMessage(%d): %v, want ErrNotFound", off, err)
		}
	}
	if _, err := e.b.ViewMessage(context.Background(), -1); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("ViewMessage(-1): %v, want ErrInvalidArgument", err)
	}
}
