package wire

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Bodies of remoting commands that carry JSON. Field names follow RocketMQ's Java classes.

// DataVersion stamps a broker's topic table.
type DataVersion struct {
	Counter   int64 `json:"counter"`
	Timestamp int64 `json:"timestamp"`
}

// TopicConfig is a topic's configuration as brokers report and persist it.
type TopicConfig struct {
	TopicName       string `json:"topicName"`
	ReadQueueNums   int32  `json:"readQueueNums"`
	WriteQueueNums  int32  `json:"writeQueueNums"`
	Perm            int32  `json:"perm"`
	TopicFilterType string `json:"topicFilterType"`
	TopicSysFlag    int32  `json:"topicSysFlag"`
	Order           bool   `json:"order"`
}

// TopicConfigWrapper is the topic table with its version.
type TopicConfigWrapper struct {
	DataVersion      DataVersion            `json:"dataVersion"`
	TopicConfigTable map[string]TopicConfig `json:"topicConfigTable"`
}

// RegisterBrokerBody is REGISTER_BROKER's uncompressed body.
type RegisterBrokerBody struct {
	TopicConfigSerializeWrapper TopicConfigWrapper `json:"topicConfigSerializeWrapper"`
	FilterServerList            []string           `json:"filterServerList"`
}

// HeartbeatData is HEART_BEAT's body.
type HeartbeatData struct {
	ClientID        string         `json:"clientID"`
	ProducerDataSet []ProducerData `json:"producerDataSet"`
	ConsumerDataSet []ConsumerData `json:"consumerDataSet"`
}

// ProducerData names one producer group of a client.
type ProducerData struct {
	GroupName string `json:"groupName"`
}

// ConsumerData is one consumer group of a client.
type ConsumerData struct {
	GroupName           string             `json:"groupName"`
	ConsumeType         string             `json:"consumeType"`
	MessageModel        string             `json:"messageModel"`
	ConsumeFromWhere    string             `json:"consumeFromWhere"`
	SubscriptionDataSet []SubscriptionData `json:"subscriptionDataSet"`
	UnitMode            bool               `json:"unitMode"`
}

// SubscriptionData is one subscription. CodeSet holds strings from Go clients and numbers from
// Java clients, so it is kept raw; brokers recompute the codes from TagsSet anyway.
type SubscriptionData struct {
	ClassFilterMode bool              `json:"classFilterMode"`
	Topic           string            `json:"topic"`
	SubString       string            `json:"subString"`
	TagsSet         []string          `json:"tagsSet"`
	CodeSet         []json.RawMessage `json:"codeSet"`
	SubVersion      int64             `json:"subVersion"`
	ExpressionType  string            `json:"expressionType"`
}

// ConsumerListBody answers GET_CONSUMER_LIST_BY_GROUP.
type ConsumerListBody struct {
	ConsumerIDList []string `json:"consumerIdList"`
}

// TopicListBody answers GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
type TopicListBody struct {
	TopicList []string `json:"topicList"`
}

// BrokerData is one broker name in a route: its cluster and its addresses by broker id.
type BrokerData struct {
	Cluster     string
	BrokerName  string
	BrokerAddrs map[int64]string
}

// QueueData is what one broker offers of a topic.
type QueueData struct {
	BrokerName     string
	ReadQueueNums  int32
	WriteQueueNums int32
	Perm           int32
	TopicSysFlag   int32
}

// TopicRouteData answers GET_ROUTEINFO_BY_TOPIC.
type TopicRouteData struct {
	BrokerDatas []BrokerData
	QueueDatas  []QueueData
}

// AppendTopicRoute writes a route as compact JSON with sorted keys, as RocketMQ's name server does.
// Broker ids are map keys: with quotedIDs false they are written bare ({0:"..."}), the fastjson
// form older clients get; with true, standard JSON. The Go client parses brokerAddrs by hand and
// breaks on any whitespace, so nothing here may add any.
func AppendTopicRoute(dst []byte, r *TopicRouteData, quotedIDs bool) []byte {
	dst = append(dst, `{"brokerDatas":[`...)
	for i := range r.BrokerDatas {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendBrokerData(dst, &r.BrokerDatas[i], quotedIDs)
	}
	dst = append(dst, `],"filterServerTable":{},"queueDatas":[`...)
	for i, q := range r.QueueDatas {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"brokerName":`...)
		dst = AppendJSONString(dst, q.BrokerName)
		dst = append(dst, `,"perm":`...)
		dst = strconv.AppendInt(dst, int64(q.Perm), 10)
		dst = append(dst, `,"readQueueNums":`...)
		dst = strconv.AppendInt(dst, int64(q.ReadQueueNums), 10)
		dst = append(dst, `,"topicSysFlag":`...)
		dst = strconv.AppendInt(dst, int64(q.TopicSysFlag), 10)
		dst = append(dst, `,"writeQueueNums":`...)
		dst = strconv.AppendInt(dst, int64(q.WriteQueueNums), 10)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func appendBrokerData(dst []byte, b *BrokerData, quotedIDs bool) []byte {
	dst = append(dst, `{"brokerAddrs":{`...)
	ids := make([]int64, 0, len(b.BrokerAddrs))
	for id := range b.BrokerAddrs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		if quotedIDs {
			dst = append(dst, '"')
		}
		dst = strconv.AppendInt(dst, id, 10)
		if quotedIDs {
			dst = append(dst, '"')
		}
		dst = append(dst, ':')
		dst = AppendJSONString(dst, b.BrokerAddrs[id])
	}
	dst = append(dst, `},"brokerName":`...)
	dst = AppendJSONString(dst, b.BrokerName)
	dst = append(dst, `,"cluster":`...)
	dst = AppendJSONString(dst, b.Cluster)
	return append(dst, '}')
}

// ClusterInfo answers GET_BROKER_CLUSTER_INFO.
type ClusterInfo struct {
	BrokerAddrTable  map[string]BrokerData
	ClusterAddrTable map[string][]string
}

// AppendClusterInfo writes cluster info as compact JSON with sorted keys (ids as in AppendTopicRoute).
func AppendClusterInfo(dst []byte, c *ClusterInfo, quotedIDs bool) []byte {
	dst = append(dst, `{"brokerAddrTable":{`...)
	names := make([]string, 0, len(c.BrokerAddrTable))
	for n := range c.BrokerAddrTable {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, n)
		dst = append(dst, ':')
		b := c.BrokerAddrTable[n]
		dst = appendBrokerData(dst, &b, quotedIDs)
	}
	dst = append(dst, `},"clusterAddrTable":{`...)
	clusters := make([]string, 0, len(c.ClusterAddrTable))
	for n := range c.ClusterAddrTable {
		clusters = append(clusters, n)
	}
	slices.Sort(clusters)
	for i, n := range clusters {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, n)
		dst = append(dst, ":["...)
		for j, b := range c.ClusterAddrTable[n] {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, b)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

// StandardJSONVersion is the first client version (V4_9_4) that RocketMQ answers with quoted
// broker ids.
const StandardJSONVersion int16 = 401

// MessageQueue names one queue of one broker.
type MessageQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
}

// LockBatchBody is the body of LOCK_BATCH_MQ and UNLOCK_BATCH_MQ.
type LockBatchBody struct {
	ConsumerGroup  string         `json:"consumerGroup"`
	ClientID       string         `json:"clientId"`
	OnlyThisBroker bool           `json:"onlyThisBroker"`
	MQSet          []MessageQueue `json:"mqSet"`
}

// LockBatchResponseBody answers LOCK_BATCH_MQ with the queues the client now holds.
type LockBatchResponseBody struct {
	LockOKMQSet []MessageQueue `json:"lockOKMQSet"`
}
