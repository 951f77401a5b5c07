package namesrv

import (
	"errors"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"go.uber.org/zap"
)

func reg(name, addr string, id int64, version int64, topics ...string) Registration {
	r := Registration{BrokerRegistration: outbound.BrokerRegistration{
		ClusterName: "DefaultCluster", BrokerName: name, BrokerAddr: addr, BrokerID: id,
		HAServerAddr: addr + "-ha", DataVersion: topic.DataVersion{Counter: version},
	}, Channel: uint64(len(addr)) + uint64(id)*1000}
	for _, t := range topics {
		r.Topics = append(r.Topics, topic.Config{Name: t, ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6})
	}
	return r
}

func TestRouteAfterRegister(t *testing.T) {
	rt := NewRouteTable(Defaults(), clock.System{}, zap.NewNop())
	if _, err := rt.Route("T"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("unknown topic: %v", err)
	}
	rt.Register(reg("broker-a", "127.0.0.1:10911", 0, 1, "T", "TBW102"))
	r, err := rt.Route("T")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Brokers) != 1 || r.Brokers[0].Addrs[0] != "127.0.0.1:10911" || len(r.Queues) != 1 || r.Queues[0].WriteQueueNums != 4 {
		t.Fatalf("route = %+v", r)
	}
	if got := rt.Topics(); len(got) != 2 || got[0] != "T" || got[1] != "TBW102" {
		t.Fatalf("topics = %v", got)
	}
}

func TestSlaveLearnsMasterAndTopicsComeOnlyFromMaster(t *testing.T) {
	rt := NewRouteTable(Defaults(), clock.System{}, zap.NewNop())
	rt.Register(reg("broker-a", "10.0.0.1:10911", 0, 1, "T"))
	res := rt.Register(reg("broker-a", "10.0.0.2:10911", 1, 7, "T", "OnlySlave"))
	if res.MasterAddr != "10.0.0.1:10911" || res.HAServerAddr != "10.0.0.1:10911-ha" {
		t.Fatalf("slave result = %+v", res)
	}
	if _, err := rt.Route("OnlySlave"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatal("a slave's topic list must not create routes")
	}
	r, _ := rt.Route("T")
	if len(r.Brokers[0].Addrs) != 2 {
		t.Fatalf("addrs = %v", r.Brokers[0].Addrs)
	}
}

func TestTopicDroppedWhenMasterStopsReportingIt(t *testing.T) {
	rt := NewRouteTable(Defaults(), clock.System{}, zap.NewNop())
	rt.Register(reg("broker-a", "a:1", 0, 1, "T", "U"))
	rt.Register(reg("broker-a", "a:1", 0, 2, "T"))
	if _, err := rt.Route("U"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatal("U should be gone")
	}
	// Same data version: the body is not re-read (as RocketMQ does).
	rt.Register(reg("broker-a", "a:1", 0, 2, "T", "U"))
	if _, err := rt.Route("U"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatal("same data version must not change topics")
	}
}

func TestExpiryAfterSilence(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	rt := NewRouteTable(Defaults(), clk, zap.NewNop())
	rt.Register(reg("broker-a", "a:1", 0, 1, "T"))
	clk.Advance(119 * time.Second)
	if n := rt.Expire(); n != 0 {
		t.Fatalf("expired %d brokers after 119 s", n)
	}
	rt.Register(reg("broker-a", "a:1", 0, 1, "T")) // heartbeat refreshes
	clk.Advance(119 * time.Second)
	if n := rt.Expire(); n != 0 {
		t.Fatal("refreshed broker expired")
	}
	clk.Advance(2 * time.Second)
	if n := rt.Expire(); n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	if _, err := rt.Route("T"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatal("route must go with its only broker")
	}
	if ci := rt.Cluster(); len(ci.Brokers) != 0 || len(ci.Clusters) != 0 {
		t.Fatalf("cluster info = %+v", ci)
	}
}

func TestChannelCloseAndUnregister(t *testing.T) {
	rt := NewRouteTable(Defaults(), clock.System{}, zap.NewNop())
	a := reg("broker-a", "a:1", 0, 1, "T")
	b := reg("broker-b", "bb:1", 0, 1, "T")
	rt.Register(a)
	rt.Register(b)
	rt.ChannelClosed(a.Channel)
	r, err := rt.Route("T")
	if err != nil || len(r.Brokers) != 1 || r.Brokers[0].BrokerName != "broker-b" {
		t.Fatalf("route = %+v, %v", r, err)
	}
	rt.Unregister("DefaultCluster", "broker-b", "bb:1", 0)
	if _, err := rt.Route("T"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatal("route must be empty")
	}
}
