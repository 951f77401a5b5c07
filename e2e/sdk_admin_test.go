package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/admin"
	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// TestSDKAdmin: topics (create, list, route, delete), cluster info, consumer offsets (query,
// update, lag) and group members through the SDK admin against rocketgo.
func TestSDKAdmin(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	b := startBroker(t, t.TempDir())
	a := sdkAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ci, err := a.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := ci.ClusterAddrTable["DefaultCluster"]; !slices.Contains(names, "broker-a") {
		t.Errorf("clusters %v", ci.ClusterAddrTable)
	}
	if addr := ci.BrokerAddrTable["broker-a"].BrokerAddrs[0]; addr != b.BrokerAddr {
		t.Errorf("broker-a master %q, want %q", addr, b.BrokerAddr)
	}

	topic, group := uniqueName("sdkadm"), uniqueName("sdkag")
	if err := a.CreateTopic(ctx, admin.TopicConfig{Name: topic, ReadQueueNums: 6, WriteQueueNums: 6}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new topic listed and routed", func() (bool, string) {
		topics, err := a.Topics(ctx)
		if err != nil || !slices.Contains(topics, topic) {
			return false, "not listed"
		}
		r, err := a.TopicRoute(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		return len(r.Subscribe) == 6 && len(r.Publish) == 6, "queues"
	})
	if cfgs, err := a.TopicConfigs(ctx, b.BrokerAddr); err != nil || cfgs[topic].ReadQueueNums != 6 {
		t.Errorf("topic configs: %v %+v", err, cfgs[topic])
	}

	p := sdkProducer(t, b)
	key := sdkKeyForQueue(6, 4)
	for range 7 {
		if _, err := p.Send(ctx, &message.Message{Topic: topic, Body: []byte("x"), ShardingKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	q := message.Queue{Topic: topic, BrokerName: "broker-a", QueueID: 4}
	if max, err := a.MaxOffset(ctx, q); err != nil || max != 7 {
		t.Errorf("max offset %d %v", max, err)
	}
	if min, err := a.MinOffset(ctx, q); err != nil || min != 0 {
		t.Errorf("min offset %d %v", min, err)
	}
	if err := a.UpdateConsumerOffset(ctx, group, q, 3); err != nil {
		t.Fatal(err)
	}
	if off, err := a.ConsumerOffset(ctx, group, q); err != nil || off != 3 {
		t.Errorf("consumer offset %d %v", off, err)
	}
	offs, err := a.ConsumerOffsets(ctx, group, topic)
	if err != nil || len(offs) != 6 {
		t.Fatalf("offsets %v %v", offs, err)
	}
	for _, o := range offs {
		if o.Queue == q && (o.Committed != 3 || o.Max != 7) {
			t.Errorf("progress on %v: %+v", q, o)
		}
	}

	// Group members: an SDK consumer online in the group.
	c := sdkPush(t, sdkPushOptions(b, group), topic, newSDKRecorder().handler("c"))
	waitFor(t, 10*time.Second, "the member listed", func() (bool, string) {
		ids, err := a.GroupMembers(ctx, group, topic)
		return err == nil && slices.Equal(ids, []string{c.Client().ID()}), "members"
	})
	// Group configs (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP / GET_ALL_SUBSCRIPTIONGROUP_CONFIG) are
	// optional at rocketgo: either they work or the answer says they are not supported.
	if err := a.CreateGroup(ctx, admin.DefaultGroupConfig(uniqueName("sdkag2"))); err != nil && !errors.Is(err, client.ErrNotSupported) {
		t.Errorf("create group: %v", err)
	}
	if _, err := a.Groups(ctx, b.BrokerAddr); err != nil && !errors.Is(err, client.ErrNotSupported) {
		t.Errorf("groups: %v", err)
	}

	if err := a.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the topic gone", func() (bool, string) {
		_, err := a.TopicRoute(ctx, topic)
		return errors.Is(err, client.ErrTopicNotExist), "route still there"
	})
}
