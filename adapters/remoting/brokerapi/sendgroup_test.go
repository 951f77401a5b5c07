package brokerapi

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// groupBroker answers SendMany with one result per request: its index in the group as the
// physical offset, three records for a request whose body says "batch", an error for "fail".
type groupBroker struct {
	fakeBroker
	got [][]*inbound.SendRequest
}

func (g *groupBroker) SendMany(_ context.Context, reqs []*inbound.SendRequest) []inbound.SendOutcome {
	g.got = append(g.got, reqs)
	host := netip.MustParseAddrPort("127.0.0.1:10911")
	out := make([]inbound.SendOutcome, len(reqs))
	for i, r := range reqs {
		switch string(r.Body) {
		case "fail":
			out[i].Err = fmt.Errorf("x: %w", errs.ErrNoPermission)
		case "batch":
			out[i].Result = &inbound.SendResult{QueueID: r.QueueID, StoreHost: host, Appended: []storage.AppendResult{
				{PhysicalOffset: 0x10, QueueOffset: 7}, {PhysicalOffset: 0x20, QueueOffset: 8}, {PhysicalOffset: 0x30, QueueOffset: 9}}}
		default:
			out[i].Result = &inbound.SendResult{QueueID: r.QueueID, StoreHost: host,
				Appended: []storage.AppendResult{{PhysicalOffset: int64(i), QueueOffset: int64(i)}}}
		}
	}
	return out
}

// sendGroup answers every request of the group with its own outcome, in order: one that does
// not decode is answered without reaching the broker, and a batch's ids are comma-separated.
func TestSendGroupAnswersEachRequestWithItsOwnOutcome(t *testing.T) {
	g := &groupBroker{}
	h := New(g, "broker-a", "R1", zap.NewNop())
	noTopic := sendHeader()
	delete(noTopic, "topic")
	reqs := []*wire.Command{
		wire.NewRequest(wire.SendMessage, sendHeader(), []byte("a")),
		wire.NewRequest(wire.SendMessage, noTopic, []byte("b")),
		wire.NewRequest(wire.SendMessage, sendHeader(), []byte("fail")),
		wire.NewRequest(wire.SendMessage, sendHeader(), []byte("batch")),
		wire.NewRequest(wire.SendMessage, sendHeader(), []byte("c")),
	}
	for i, r := range reqs {
		r.Opaque = int32(i + 1)
	}
	resps := h.sendGroup(context.Background(), nil, reqs)
	if len(g.got) != 1 || len(g.got[0]) != 4 {
		t.Fatalf("SendMany calls %v: want one with the 4 requests that decode", g.got)
	}
	if len(resps) != len(reqs) {
		t.Fatalf("%d answers for %d requests", len(resps), len(reqs))
	}
	undecodable := roundTrip(t, h.send(context.Background(), nil, reqs[1])).Code // as send answers it alone
	if undecodable == wire.Success {
		t.Fatal("a send without a topic was accepted")
	}
	for i, want := range []int16{wire.Success, undecodable, wire.NoPermission, wire.Success, wire.Success} {
		resp := roundTrip(t, resps[i])
		if resp.Code != want || resp.Opaque != int32(i+1) || resp.Ext("TRACE_ON") != "true" {
			t.Fatalf("answer %d: code %d opaque %d %q, want code %d", i, resp.Code, resp.Opaque, resp.Remark, want)
		}
	}
	ids := strings.Split(roundTrip(t, resps[3]).Ext("msgId"), ",")
	if len(ids) != 3 || ids[0] != wire.OffsetMsgID(netip.MustParseAddrPort("127.0.0.1:10911"), 0x10) ||
		ids[2] != wire.OffsetMsgID(netip.MustParseAddrPort("127.0.0.1:10911"), 0x30) {
		t.Fatalf("batch ids %v", ids)
	}
	if got := roundTrip(t, resps[4]).Ext("msgId"); got != wire.OffsetMsgID(netip.MustParseAddrPort("127.0.0.1:10911"), 3) {
		t.Fatalf("last request's id %s: want its own (index 3 of the decoded four)", got)
	}
}

// sendFieldIndex and sendHeaderV2 name the same fields at the same places.
func TestSendFieldIndexMatchesTheV2Names(t *testing.T) {
	for i, f := range sendHeaderV2 {
		if got := sendFieldIndex(f.long); got != i || f.short != string(rune('a'+i)) {
			t.Fatalf("%s: index %d, short %q; want %d and %q", f.long, got, f.short, i, string(rune('a'+i)))
		}
	}
	if sendFieldIndex("nope") != -1 {
		t.Fatal("an unknown name has an index")
	}
}
