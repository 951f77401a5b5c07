package broker_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/filter/sql92"
	"github.com/rocketgo/rocketgo/adapters/filter/tag"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// testFilters is the registry the wiring builds: TAG always, SQL92 when property filters are on.
func testFilters(cfg broker.Config) *filter.Registry {
	cs := []filter.Compiler{tag.New()}
	if cfg.EnablePropertyFilter {
		c, err := sql92.New(sql92.Config{MaxExpressionLength: cfg.FilterMaxExpressionLength,
			MaxDepth: cfg.FilterMaxDepth, MaxInList: cfg.FilterMaxInList, CacheSize: 64})
		if err != nil {
			panic(err)
		}
		cs = append(cs, c)
	}
	r, err := filter.NewRegistry(cs...)
	if err != nil {
		panic(err)
	}
	return r
}

func sqlHeartbeat(group, topicName, expr string) *inbound.Heartbeat {
	hb := heartbeat(group, topicName, expr)
	hb.Consumers[0].Subscriptions[0].ExpressionType = broker.ExpressionSQL92
	return hb
}

// sendProps stores one message on queue 0 with the given user properties; its body is id.
func sendProps(t *testing.T, e *env, topicName, id string, props map[string]string) {
	t.Helper()
	req := sendReq(topicName, "TagA", id)
	for k, v := range props {
		req.Properties[k] = v
	}
	if _, err := e.b.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func bodies(t *testing.T, res *inbound.PullResult) []string {
	t.Helper()
	recs, err := wire.DecodeRecords(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Body))
	}
	return out
}

// sqlFixture stores messages with and without the filtered properties:
// m0 a=5 red (match), m1 a=5 blue, m2 a=9 red, m3 no a, m4 nothing, m5 a=3 red (match), m6 a=x red.
func sqlFixture(t *testing.T, e *env, topicName string) {
	t.Helper()
	for i, p := range []map[string]string{
		{"a": "5", "color": "red"}, {"a": "5", "color": "blue"}, {"a": "9", "color": "red"},
		{"color": "red"}, {}, {"a": "3", "color": "red"}, {"a": "x", "color": "red"},
	} {
		sendProps(t, e, topicName, "m"+strconv.Itoa(i), p)
	}
}

func TestSQL92SubscriptionDeliversOnlyMatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sqlFixture(t, e, "S")
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", "a BETWEEN 3 AND 7 AND color = 'red'")); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Pull(ctx, pullReq("g", "S", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(bodies(t, res), ","); got != "m0,m5" || res.Status != inbound.PullFound || res.NextBeginOffset != 7 || res.Count != 2 {
		t.Fatalf("pull: %v, status %v next %d count %d", got, res.Status, res.NextBeginOffset, res.Count)
	}
	// From the middle: the refused records are skipped in nextBeginOffset.
	res, _ = e.b.Pull(ctx, pullReq("g", "S", 1, 0))
	if got := strings.Join(bodies(t, res), ","); got != "m5" || res.NextBeginOffset != 7 {
		t.Fatalf("from 1: %v next %d", got, res.NextBeginOffset)
	}
	// A subscription nothing matches answers "no match" past everything it scanned.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 2}, sqlHeartbeat("h", "S", "a > 100")); err != nil {
		t.Fatal(err)
	}
	res, _ = e.b.Pull(ctx, pullReq("h", "S", 0, 0))
	if res.Status != inbound.PullNoMatched || res.NextBeginOffset != 7 || len(res.Body) != 0 {
		t.Fatalf("no match: %+v", res)
	}
	// Missing properties are UNKNOWN: NOT does not deliver them.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 3}, sqlHeartbeat("n", "S", "NOT (a > 4)")); err != nil {
		t.Fatal(err)
	}
	res, _ = e.b.Pull(ctx, pullReq("n", "S", 0, 0))
	if got := strings.Join(bodies(t, res), ","); got != "m5" {
		t.Fatalf("NOT (a > 4): %v", got)
	}
	// System properties are properties too.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 4}, sqlHeartbeat("k", "S", "TAGS = 'TagA' AND a IS NULL")); err != nil {
		t.Fatal(err)
	}
	res, _ = e.b.Pull(ctx, pullReq("k", "S", 0, 0))
	if got := strings.Join(bodies(t, res), ","); got != "m3,m4" {
		t.Fatalf("TAGS and IS NULL: %v", got)
	}
}

func TestSQL92PullWithSubscriptionFlag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sqlFixture(t, e, "S")
	req := pullReq("pc", "S", 0, 0)
	req.SysFlag |= inbound.PullFlagSubscription
	req.ExpressionType, req.Subscription = "SQL92", "color = 'red' AND a IS NOT NULL"
	res, err := e.b.Pull(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(bodies(t, res), ","); got != "m0,m2,m5,m6" {
		t.Fatalf("flag pull: %v", got)
	}
	req.Subscription = "color = "
	_, err = e.b.Pull(ctx, req)
	var pe *filter.ParseError
	if !errors.Is(err, errs.ErrSubscriptionParse) || !errors.As(err, &pe) || pe.Pos != 8 {
		t.Fatalf("invalid flag pull: %v", err)
	}
	// The batch cap still holds with a filter: one per pull.
	req.Subscription, req.MaxMsgNums = "color = 'red'", 1
	res, _ = e.b.Pull(ctx, req)
	if got := strings.Join(bodies(t, res), ","); got != "m0" || res.NextBeginOffset != 1 {
		t.Fatalf("capped: %v next %d", got, res.NextBeginOffset)
	}
	res, _ = e.b.Pull(ctx, &inbound.PullRequest{Group: "pc", Topic: "S", QueueOffset: 1, MaxMsgNums: 1,
		SysFlag: inbound.PullFlagSubscription, ExpressionType: "SQL92", Subscription: "color = 'red'"})
	if got := strings.Join(bodies(t, res), ","); got != "m2" || res.NextBeginOffset != 3 {
		t.Fatalf("capped, second: %v next %d", got, res.NextBeginOffset)
	}
}

// TestPostedSQL92LabelledTAG: the Go push consumer posts a SQL92 expression labelled TAG when
// PostSubscriptionWhenPull is set; the group's registered SQL92 subscription gives its type.
func TestPostedSQL92LabelledTAG(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sqlFixture(t, e, "S")
	const expr = "a BETWEEN 3 AND 7 AND color = 'red'"
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", expr)); err != nil {
		t.Fatal(err)
	}
	req := pullReq("g", "S", 0, 0)
	req.SysFlag |= inbound.PullFlagSubscription
	req.ExpressionType, req.Subscription = "TAG", expr
	res, err := e.b.Pull(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(bodies(t, res), ","); got != "m0,m5" {
		t.Fatalf("posted SQL92 labelled TAG: %v", got)
	}
	// Another text labelled TAG stays a tag expression.
	req.Subscription = "TagA"
	if res, _ := e.b.Pull(ctx, req); res.Count != 7 {
		t.Fatalf("TAG pull of the same group: %+v", res)
	}
}

func TestInvalidSQL92HeartbeatIsRefusedWithPositionAndReason(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sqlFixture(t, e, "S")
	err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", "a > 'x'"))
	var pe *filter.ParseError
	if !errors.Is(err, errs.ErrSubscriptionParse) || !errors.As(err, &pe) || pe.Pos != 4 {
		t.Fatalf("heartbeat: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "at offset 4") || !strings.Contains(msg, "takes numbers") || !strings.Contains(msg, "group g, topic S") {
		t.Fatalf("message %q lacks the position, the reason or the subscription", msg)
	}
	if ids := e.b.ConsumerIDs("g"); len(ids) != 0 {
		t.Fatalf("a refused heartbeat registered %v", ids)
	}
	// The group's pulls answer with the same reason, not "no heartbeat yet".
	if _, err := e.b.Pull(ctx, pullReq("g", "S", 0, 0)); !errors.Is(err, errs.ErrSubscriptionParse) || !strings.Contains(err.Error(), "at offset 4") {
		t.Fatalf("pull after a refused heartbeat: %v", err)
	}
	// A fixed expression is accepted and clears the refusal.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", "a > 4")); err != nil {
		t.Fatal(err)
	}
	res, err := e.b.Pull(ctx, pullReq("g", "S", 0, 0))
	if err != nil || strings.Join(bodies(t, res), ",") != "m0,m1,m2" {
		t.Fatalf("after the fix: %v %v", res, err)
	}
	// An unknown expression type is a parse failure too.
	hb := heartbeat("u", "S", "x")
	hb.Consumers[0].Subscriptions[0].ExpressionType = "XPATH"
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 2}, hb); !errors.Is(err, errs.ErrSubscriptionParse) || !errors.Is(err, filter.ErrUnknownType) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestPropertyFilterOff(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.EnablePropertyFilter = false })
	ctx := context.Background()
	sqlFixture(t, e, "S")
	err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", "a > 4"))
	if err == nil || errors.Is(err, errs.ErrSubscriptionParse) ||
		!strings.Contains(err.Error(), "does not support consumer to filter message by SQL92") ||
		!strings.Contains(err.Error(), "enablePropertyFilter") {
		t.Fatalf("heartbeat with property filters off: %v", err)
	}
	req := pullReq("pc", "S", 0, 0)
	req.SysFlag |= inbound.PullFlagSubscription
	req.ExpressionType, req.Subscription = "SQL92", "a > 4"
	if _, err := e.b.Pull(ctx, req); err == nil || !strings.Contains(err.Error(), "does not support") {
		t.Fatalf("flag pull with property filters off: %v", err)
	}
	if err := e.b.CheckSubscription(ctx, "pc", inbound.Subscription{Topic: "S", ExpressionType: "SQL92", Expression: "a > 4"}); err == nil {
		t.Fatal("CHECK_CLIENT_CONFIG accepted SQL92 with property filters off")
	}
	// TAG subscriptions are unaffected.
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 2}, heartbeat("t", "S", "*")); err != nil {
		t.Fatal(err)
	}
	if res, err := e.b.Pull(ctx, pullReq("t", "S", 0, 0)); err != nil || res.Count != 7 {
		t.Fatalf("tag pull: %+v %v", res, err)
	}
}

func TestCheckSubscription(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ok := []inbound.Subscription{
		{Topic: "S", ExpressionType: "SQL92", Expression: "a BETWEEN 1 AND 2"},
		{Topic: "S", ExpressionType: "TAG", Expression: "A || B"},
		{Topic: "S", ExpressionType: "", Expression: "*"},
	}
	for _, s := range ok {
		if err := e.b.CheckSubscription(ctx, "g", s); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	err := e.b.CheckSubscription(ctx, "g", inbound.Subscription{Topic: "S", ExpressionType: "sql92", Expression: "a BETWEEN 2 AND 1"})
	var pe *filter.ParseError
	if !errors.Is(err, errs.ErrSubscriptionParse) || !errors.As(err, &pe) || !strings.Contains(pe.Reason, "reversed") {
		t.Fatalf("reversed BETWEEN: %v", err)
	}
}

// TestFilteredBodyRespectsMaxPullBytes: the byte cap applies to what the filter keeps.
func TestFilteredBodyRespectsMaxPullBytes(t *testing.T) {
	e := newEnv(t, func(c *broker.Config) { c.MaxPullBytes = 1 })
	ctx := context.Background()
	sqlFixture(t, e, "S")
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "S", "color = 'red'")); err != nil {
		t.Fatal(err)
	}
	res, _ := e.b.Pull(ctx, pullReq("g", "S", 1, 0))
	if got := strings.Join(bodies(t, res), ","); got != "m2" || res.NextBeginOffset != 3 {
		t.Fatalf("one record over the cap: %v next %d", got, res.NextBeginOffset)
	}
}

// TestHeldSQL92Pull: a held pull reads again when a record arrives, and answers it only when it
// matches; a record that does not match answers "no match" past it, without its bytes.
func TestHeldSQL92Pull(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.b.CreateOrUpdateTopic(ctx, topic.Config{Name: "H", ReadQueueNums: 1, WriteQueueNums: 1,
		Perm: topic.PermRead | topic.PermWrite}); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Heartbeat(ctx, &fakeChannel{id: 1}, sqlHeartbeat("g", "H", "a = 1")); err != nil {
		t.Fatal(err)
	}
	hold := func(offset int64) chan *inbound.PullResult {
		done := make(chan *inbound.PullResult, 1)
		go func() {
			res, err := e.b.Pull(ctx, pullReq("g", "H", offset, 5*time.Second))
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		waitFor(t, "held pull", 5*time.Second, func() bool { return e.b.HeldPulls() == 1 })
		return done
	}
	done := hold(0)
	sendProps(t, e, "H", "other", map[string]string{"a": "2"})
	if res := <-done; res.Status != inbound.PullNoMatched || res.NextBeginOffset != 1 || len(res.Body) != 0 {
		t.Fatalf("non-matching arrival: %+v", res)
	}
	done = hold(1)
	sendProps(t, e, "H", "match", map[string]string{"a": "1"})
	res := <-done
	if got := strings.Join(bodies(t, res), ","); got != "match" || res.NextBeginOffset != 2 {
		t.Fatalf("held pull answered %v (%v)", got, res.Status)
	}
}
