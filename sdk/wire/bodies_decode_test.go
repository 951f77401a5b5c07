package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestDecodeTopicRouteBothDialects(t *testing.T) {
	want := &TopicRouteData{
		BrokerDatas: []BrokerData{{Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "127.0.0.1:10911", 1: "127.0.0.2:10911"}}},
		QueueDatas:  []QueueData{{BrokerName: "broker-a", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7}},
	}
	for _, quoted := range []bool{false, true} {
		body := AppendTopicRoute(nil, want, quoted)
		got, err := DecodeTopicRoute(body)
		if err != nil {
			t.Fatalf("quoted=%v: %v\n%s", quoted, err, body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("quoted=%v: got %+v want %+v", quoted, got, want)
		}
	}
	// The exact Java text of REMOTING.md §3.1, with whitespace and 5.x extras added.
	java := `{"brokerDatas":[{"brokerAddrs":{ 0 : "127.0.0.1:20911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],` +
		`"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}],"topicQueueMappingByBroker":{}}`
	got, err := DecodeTopicRoute([]byte(java))
	if err != nil {
		t.Fatal(err)
	}
	if got.BrokerDatas[0].BrokerAddrs[0] != "127.0.0.1:20911" || got.QueueDatas[0].WriteQueueNums != 4 || got.QueueDatas[0].Perm != 6 {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeTopicRouteRejects(t *testing.T) {
	for _, body := range []string{``, `{`, `{"brokerDatas":[]}`, `{"brokerDatas":[{"brokerAddrs":{"x":"a"}}],"queueDatas":[]}`, `[1,2]`} {
		if _, err := DecodeTopicRoute([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", body, err)
		}
	}
}

func TestQuoteNumericKeysLeavesStringsAndArrays(t *testing.T) {
	for in, want := range map[string]string{
		`{0:"a",1:"b"}`:            `{"0":"a","1":"b"}`,
		`{"x":[1,2,3],"y":{-1:2}}`: `{"x":[1,2,3],"y":{"-1":2}}`,
		`{"s":"{0:1}","t":{0:1}}`:  `{"s":"{0:1}","t":{"0":1}}`,
		`{"e":"a\"{3:4}"}`:         `{"e":"a\"{3:4}"}`,
		`{"a":1}`:                  `{"a":1}`,
	} {
		if got := string(quoteNumericKeys([]byte(in))); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestDecodeClusterInfoBothDialects(t *testing.T) {
	ci := &ClusterInfo{
		BrokerAddrTable:  map[string]BrokerData{"a": {Cluster: "C", BrokerName: "a", BrokerAddrs: map[int64]string{0: "10.0.0.3:1"}}},
		ClusterAddrTable: map[string][]string{"C": {"a"}},
	}
	for _, quoted := range []bool{false, true} {
		got, err := DecodeClusterInfo(AppendClusterInfo(nil, ci, quoted))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ci) {
			t.Fatalf("got %+v want %+v", got, ci)
		}
	}
}

func TestDecodeOffsetTable(t *testing.T) {
	body := `{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:7,{"brokerName":"broker-a","queueId":0,"topic":"T"}:0}}`
	got, err := DecodeOffsetTable([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueOffset{{MessageQueue{"T", "broker-a", 1}, 7}, {MessageQueue{"T", "broker-a", 0}, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
	if got, err := DecodeOffsetTable([]byte(`{"offsetTable":{}}`)); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{`{"offsetTable":{{"topic":"T"}:x}}`, `{"offsetTable":{3:4}}`, `[`, `{"offsetTable":{{"topic":"T"}}}`} {
		if _, err := DecodeOffsetTable([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzDecodeTopicRoute(f *testing.F) {
	f.Add([]byte(`{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.2:10911"},"brokerName":"broker-a","cluster":"C"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}`))
	f.Add([]byte(`{"brokerDatas":[{"brokerAddrs":{"0":"a:1"}}],"queueDatas":[]}`))
	f.Add([]byte(`{"a":"{0:1}","b":[0,{1:2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeTopicRoute(b)
		if err == nil {
			// What decodes must survive a round trip through the writer.
			if _, err := DecodeTopicRoute(AppendTopicRoute(nil, r, false)); err != nil {
				t.Fatalf("round trip of %s: %v", b, err)
			}
		}
		_, _ = DecodeClusterInfo(b)
		std := quoteNumericKeys(b)
		if len(std) < len(b) {
			t.Fatalf("quoteNumericKeys shrank the text")
		}
	})
}

func FuzzDecodeOffsetTable(f *testing.F) {
	f.Add([]byte(`{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:7}}`))
	f.Add([]byte(`{"offsetTable":{"{\"topic\":\"T\",\"queueId\":2}":3},"x":[1,{"y":"}"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeOffsetTable(b)
	})
}
