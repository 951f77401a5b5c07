package namesrvapi_test

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/adapters/remoting/namesrvapi"
	"github.com/rocketgo/rocketgo/core/namesrv"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

type fixture struct {
	addr   string
	client *remoting.Client
	routes *namesrv.RouteTable
}

func start(t *testing.T) *fixture {
	t.Helper()
	log := zap.NewNop()
	routes := namesrv.NewRouteTable(namesrv.Defaults(), clock.System{}, log)
	h := namesrvapi.New(routes, log)
	r := remoting.NewRouter(remoting.Defaults(), log)
	h.Register(r)
	srv := remoting.NewServer(remoting.Defaults(), "127.0.0.1:0", r.Serve, log)
	srv.OnConnect(h.OnConnect)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := remoting.NewClient(remoting.Defaults(), nil, log)
	t.Cleanup(func() {
		client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
	})
	return &fixture{addr: srv.Addr().String(), client: client, routes: routes}
}

func (f *fixture) call(t *testing.T, req *wire.Command) *wire.Command {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := f.client.Invoke(ctx, f.addr, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func registration(t *testing.T, topics map[string]wire.TopicConfig, counter int64) *wire.Command {
	body, err := json.Marshal(wire.RegisterBrokerBody{TopicConfigSerializeWrapper: wire.TopicConfigWrapper{
		DataVersion: wire.DataVersion{Counter: counter, Timestamp: 1700000000000}, TopicConfigTable: topics}})
	if err != nil {
		t.Fatal(err)
	}
	return wire.NewRequest(wire.RegisterBroker, map[string]string{
		"brokerName": "broker-a", "brokerAddr": "127.0.0.1:10911", "clusterName": "DefaultCluster",
		"haServerAddr": "127.0.0.1:10912", "brokerId": "0", "compressed": "false",
		"bodyCrc32": strconv.FormatInt(int64(crc32.ChecksumIEEE(body)&0x7FFFFFFF), 10),
	}, body)
}

func TestRegisterThenRouteIsRocketMQsExactJSON(t *testing.T) {
	f := start(t)
	req := wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": "TBW102"}, nil)
	req.Version = 317
	if resp := f.call(t, req); resp.Code != wire.TopicNotExist {
		t.Fatalf("unknown topic answered %d", resp.Code)
	}
	reg := registration(t, map[string]wire.TopicConfig{
		"TBW102": {TopicName: "TBW102", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7, TopicFilterType: "SINGLE_TAG"},
	}, 1)
	if resp := f.call(t, reg); resp.Code != wire.Success {
		t.Fatalf("register answered %d %s", resp.Code, resp.Remark)
	}
	resp := f.call(t, req)
	want := `{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":7,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}`
	if resp.Code != wire.Success || string(resp.Body) != want {
		t.Fatalf("route: code %d body %s", resp.Code, resp.Body)
	}
}

func TestRegisterRejectsBadCRC(t *testing.T) {
	f := start(t)
	reg := registration(t, map[string]wire.TopicConfig{"T": {TopicName: "T", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}}, 1)
	reg.SetExt("bodyCrc32", "12345")
	if resp := f.call(t, reg); resp.Code != wire.SystemError {
		t.Fatalf("bad crc answered %d", resp.Code)
	}
	if _, err := f.routes.Route("T"); err == nil {
		t.Fatal("a registration with a bad CRC must not create routes")
	}
}

func TestTopicListClusterInfoAndDelete(t *testing.T) {
	f := start(t)
	f.call(t, registration(t, map[string]wire.TopicConfig{
		"A": {TopicName: "A", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
		"B": {TopicName: "B", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
	}, 1))
	resp := f.call(t, wire.NewRequest(wire.GetAllTopicListFromNameserver, nil, nil))
	var list wire.TopicListBody
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.TopicList) != 2 {
		t.Fatalf("topic list %s: %v", resp.Body, err)
	}
	resp = f.call(t, wire.NewRequest(wire.GetBrokerClusterInfo, nil, nil))
	if resp.Code != wire.Success || len(resp.Body) == 0 {
		t.Fatalf("cluster info: %d", resp.Code)
	}
	f.call(t, wire.NewRequest(wire.DeleteTopicInNamesrv, map[string]string{"topic": "A"}, nil))
	if resp := f.call(t, wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": "A"}, nil)); resp.Code != wire.TopicNotExist {
		t.Fatalf("deleted topic still routed: %d", resp.Code)
	}
}

func TestBrokerDroppedWhenItsConnectionCloses(t *testing.T) {
	f := start(t)
	f.call(t, registration(t, map[string]wire.TopicConfig{"T": {TopicName: "T", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}}, 1))
	f.client.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := f.routes.Route("T"); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("route still present 5 s after the broker's connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
