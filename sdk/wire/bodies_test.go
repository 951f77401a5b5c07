package wire

import (
	"encoding/json"
	"testing"
)

func TestAppendTopicRouteMatchesRocketMQ(t *testing.T) {
	r := TopicRouteData{
		BrokerDatas: []BrokerData{{Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "127.0.0.1:10911"}}},
		QueueDatas:  []QueueData{{BrokerName: "broker-a", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7}},
	}
	// The exact text REMOTING.md §12.0 shows a Java name server sending to a version-317 client.
	want := `{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":7,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}`
	if got := string(AppendTopicRoute(nil, &r, false)); got != want {
		t.Fatalf("route JSON\n got %s\nwant %s", got, want)
	}
	quoted := AppendTopicRoute(nil, &r, true)
	var v map[string]any
	if err := json.Unmarshal(quoted, &v); err != nil {
		t.Fatalf("quoted form is not standard JSON: %v\n%s", err, quoted)
	}
}

func TestAppendClusterInfoSortedAndCompact(t *testing.T) {
	ci := ClusterInfo{
		BrokerAddrTable: map[string]BrokerData{
			"b": {Cluster: "C", BrokerName: "b", BrokerAddrs: map[int64]string{1: "10.0.0.2:1", 0: "10.0.0.1:1"}},
			"a": {Cluster: "C", BrokerName: "a", BrokerAddrs: map[int64]string{0: "10.0.0.3:1"}},
		},
		ClusterAddrTable: map[string][]string{"C": {"a", "b"}},
	}
	want := `{"brokerAddrTable":{"a":{"brokerAddrs":{"0":"10.0.0.3:1"},"brokerName":"a","cluster":"C"},"b":{"brokerAddrs":{"0":"10.0.0.1:1","1":"10.0.0.2:1"},"brokerName":"b","cluster":"C"}},"clusterAddrTable":{"C":["a","b"]}}`
	if got := string(AppendClusterInfo(nil, &ci, true)); got != want {
		t.Fatalf("cluster info\n got %s\nwant %s", got, want)
	}
}

func TestHeartbeatDecodesGoClientBody(t *testing.T) {
	// Observed from the v2.1.2 client: codeSet holds strings and subVersion exceeds 2^53.
	body := `{"clientID":"192.0.2.2@20537","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"TopicTest","subString":"TagA || TagB","tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1795234679613041975,"expressionType":"TAG"}],"unitMode":false}]}`
	var hb HeartbeatData
	if err := json.Unmarshal([]byte(body), &hb); err != nil {
		t.Fatal(err)
	}
	s := hb.ConsumerDataSet[0].SubscriptionDataSet[0]
	if s.SubVersion != 1795234679613041975 || len(s.TagsSet) != 2 || hb.ProducerDataSet[0].GroupName != "pg" {
		t.Fatalf("decoded %+v", hb)
	}
	// Java clients send numeric codes; they must decode too.
	java := `{"clientID":"x","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"T","codeSet":[2598919],"subVersion":1700000000000}]}]}`
	if err := json.Unmarshal([]byte(java), &hb); err != nil {
		t.Fatal(err)
	}
}
