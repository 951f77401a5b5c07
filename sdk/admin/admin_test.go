package admin

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/internal/fakemq"
	"github.com/rocketgo/rocketgo/sdk/internal/leaktest"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func TestAdminAgainstFakeCluster(t *testing.T) {
	defer leaktest.Check(t)()
	cl := fakemq.NewCluster(t, 2)
	var created []map[string]string
	for _, b := range cl.Brokers {
		b.Handle(wire.UpdateAndCreateTopic, func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
			created = append(created, req.ExtMap())
			cl.CreateTopic(req.Ext("topic"), 3)
			return wire.NewResponse(req, wire.Success, "")
		})
	}
	a, err := New(Options{NameServers: []string{cl.NS.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ci, err := a.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ci.ClusterAddrTable["FakeCluster"]; len(got) != 2 || ci.BrokerAddrTable["broker-1"].BrokerAddrs[0] != cl.Brokers[1].Addr {
		t.Fatalf("cluster info %+v", ci)
	}

	if err := a.CreateTopic(ctx, TopicConfig{Name: "NewTopic", ReadQueueNums: 3, WriteQueueNums: 3}); err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || created[0]["readQueueNums"] != "3" || created[0]["perm"] != "6" || created[0]["topicFilterType"] != "SINGLE_TAG" {
		t.Fatalf("create requests %v", created)
	}
	topics, err := a.Topics(ctx)
	if err != nil || !slices.Contains(topics, "NewTopic") {
		t.Fatalf("topics %v %v", topics, err)
	}
	r, err := a.TopicRoute(ctx, "NewTopic")
	if err != nil || len(r.Subscribe) != 6 {
		t.Fatalf("route %+v %v", r, err)
	}

	q := message.Queue{Topic: "NewTopic", BrokerName: "broker-1", QueueID: 2}
	if _, err := a.ConsumerOffset(ctx, "g", q); !errors.Is(err, ErrNotFound) {
		t.Errorf("offset before commit: %v", err)
	}
	cl.Brokers[1].Put("NewTopic", 2, "x", "")
	cl.Brokers[1].Put("NewTopic", 2, "y", "")
	if err := a.UpdateConsumerOffset(ctx, "g", q, 1); err != nil {
		t.Fatal(err)
	}
	if off, err := a.ConsumerOffset(ctx, "g", q); err != nil || off != 1 {
		t.Errorf("offset %d %v", off, err)
	}
	offs, err := a.ConsumerOffsets(ctx, "g", "NewTopic")
	if err != nil || len(offs) != 6 {
		t.Fatalf("offsets %v %v", offs, err)
	}
	for _, o := range offs {
		want := QueueOffsets{Queue: o.Queue, Committed: -1}
		if o.Queue == q {
			want.Committed, want.Max = 1, 2
		}
		if o != want {
			t.Errorf("offsets of %v: %+v, want %+v", o.Queue, o, want)
		}
	}
	// Requests the fake does not implement surface as ErrNotSupported.
	if _, err := a.Groups(ctx, cl.Brokers[0].Addr); !errors.Is(err, ErrNotSupported) {
		t.Errorf("groups: %v", err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
