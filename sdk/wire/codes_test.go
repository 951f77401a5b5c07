package wire

import "testing"

// pinnedCode is one constant with the number Apache RocketMQ gives it. The numbers were read from
// RequestCode.java, ResponseCode.java and RemotingSysResponseCode.java (tag rocketmq-all-4.9.7 and
// the 5.x develop line agree on every value here); they are typed in by hand on purpose, so a
// wrong constant cannot vouch for itself.
type pinnedCode struct {
	name string // RocketMQ's Java name
	got  int16  // our constant
	want int16  // RocketMQ's value
}

var pinnedRequestCodes = []pinnedCode{
	{"SEND_MESSAGE", SendMessage, 10},
	{"PULL_MESSAGE", PullMessage, 11},
	{"QUERY_MESSAGE", QueryMessage, 12},
	{"QUERY_CONSUMER_OFFSET", QueryConsumerOffset, 14},
	{"UPDATE_CONSUMER_OFFSET", UpdateConsumerOffset, 15},
	{"UPDATE_AND_CREATE_TOPIC", UpdateAndCreateTopic, 17},
	{"GET_ALL_TOPIC_CONFIG", GetAllTopicConfig, 21},
	{"GET_BROKER_RUNTIME_INFO", GetBrokerRuntimeInfo, 28},
	{"SEARCH_OFFSET_BY_TIMESTAMP", SearchOffsetByTimestamp, 29},
	{"GET_MAX_OFFSET", GetMaxOffset, 30},
	{"GET_MIN_OFFSET", GetMinOffset, 31},
	{"GET_EARLIEST_MSG_STORETIME", GetEarliestMsgStoreTime, 32},
	{"VIEW_MESSAGE_BY_ID", ViewMessageByID, 33},
	{"HEART_BEAT", HeartBeat, 34},
	{"UNREGISTER_CLIENT", UnregisterClient, 35},
	{"CONSUMER_SEND_MSG_BACK", ConsumerSendMsgBack, 36},
	{"END_TRANSACTION", EndTransaction, 37},
	{"GET_CONSUMER_LIST_BY_GROUP", GetConsumerListByGroup, 38},
	{"CHECK_TRANSACTION_STATE", CheckTransactionState, 39},
	{"NOTIFY_CONSUMER_IDS_CHANGED", NotifyConsumerIdsChanged, 40},
	{"LOCK_BATCH_MQ", LockBatchMQ, 41},
	{"UNLOCK_BATCH_MQ", UnlockBatchMQ, 42},
	{"GET_ALL_CONSUMER_OFFSET", GetAllConsumerOffset, 43},
	{"GET_ALL_DELAY_OFFSET", GetAllDelayOffset, 45},
	{"CHECK_CLIENT_CONFIG", CheckClientConfig, 46},
	{"PUT_KV_CONFIG", PutKVConfig, 100},
	{"GET_KV_CONFIG", GetKVConfig, 101},
	{"DELETE_KV_CONFIG", DeleteKVConfig, 102},
	{"REGISTER_BROKER", RegisterBroker, 103},
	{"UNREGISTER_BROKER", UnregisterBroker, 104},
	{"GET_ROUTEINFO_BY_TOPIC", GetRouteInfoByTopic, 105},
	{"GET_BROKER_CLUSTER_INFO", GetBrokerClusterInfo, 106},
	{"UPDATE_AND_CREATE_SUBSCRIPTIONGROUP", UpdateAndCreateSubscriptionGroup, 200},
	{"UPDATE_AND_CREATE_SUBSCRIPTIONGROUP", UpdateAndCreateSubscriptionGr, 200},
	{"GET_ALL_SUBSCRIPTIONGROUP_CONFIG", GetAllSubscriptionGroupConfig, 201},
	{"GET_TOPIC_STATS_INFO", GetTopicStatsInfo, 202},
	{"GET_CONSUMER_CONNECTION_LIST", GetConsumerConnectionList, 203},
	{"GET_PRODUCER_CONNECTION_LIST", GetProducerConnectionList, 204},
	{"WIPE_WRITE_PERM_OF_BROKER", WipeWritePermOfBroker, 205},
	{"GET_ALL_TOPIC_LIST_FROM_NAMESERVER", GetAllTopicListFromNameserver, 206},
	{"DELETE_SUBSCRIPTIONGROUP", DeleteSubscriptionGroup, 207},
	{"GET_CONSUME_STATS", GetConsumeStats, 208},
	{"DELETE_TOPIC_IN_BROKER", DeleteTopicInBroker, 215},
	{"DELETE_TOPIC_IN_NAMESRV", DeleteTopicInNamesrv, 216},
	{"RESET_CONSUMER_CLIENT_OFFSET", ResetConsumerClientOffset, 220},
	{"GET_CONSUMER_STATUS_FROM_CLIENT", GetConsumerStatusFromClient, 221},
	{"INVOKE_BROKER_TO_RESET_OFFSET", InvokeBrokerToResetOffset, 222},
	{"GET_TOPICS_BY_CLUSTER", GetTopicsByCluster, 224},
	{"GET_CONSUMER_RUNNING_INFO", GetConsumerRunningInfo, 307},
	{"CONSUME_MESSAGE_DIRECTLY", ConsumeMessageDirectly, 309},
	{"SEND_MESSAGE_V2", SendMessageV2, 310},
	{"SEND_BATCH_MESSAGE", SendBatchMessage, 320},
	{"QUERY_DATA_VERSION", QueryDataVersion, 322},
	{"SEND_REPLY_MESSAGE", SendReplyMessage, 324},
	{"SEND_REPLY_MESSAGE_V2", SendReplyMessageV2, 325},
	{"PUSH_REPLY_MESSAGE_TO_CLIENT", PushReplyMessageToClient, 326},
}

var pinnedResponseCodes = []pinnedCode{
	{"SUCCESS", Success, 0},
	{"SYSTEM_ERROR", SystemError, 1},
	{"SYSTEM_BUSY", SystemBusy, 2},
	{"REQUEST_CODE_NOT_SUPPORTED", RequestCodeNotSupported, 3},
	{"TRANSACTION_FAILED", TransactionFailed, 4},
	{"FLUSH_DISK_TIMEOUT", FlushDiskTimeout, 10},
	{"SLAVE_NOT_AVAILABLE", SlaveNotAvailable, 11},
	{"FLUSH_SLAVE_TIMEOUT", FlushSlaveTimeout, 12},
	{"MESSAGE_ILLEGAL", MessageIllegal, 13},
	{"SERVICE_NOT_AVAILABLE", ServiceNotAvailable, 14},
	{"VERSION_NOT_SUPPORTED", VersionNotSupported, 15},
	{"NO_PERMISSION", NoPermission, 16},
	{"TOPIC_NOT_EXIST", TopicNotExist, 17},
	{"TOPIC_EXIST_ALREADY", TopicExistAlready, 18},
	{"PULL_NOT_FOUND", PullNotFound, 19},
	{"PULL_RETRY_IMMEDIATELY", PullRetryImmediately, 20},
	{"PULL_OFFSET_MOVED", PullOffsetMoved, 21},
	{"QUERY_NOT_FOUND", QueryNotFound, 22},
	{"SUBSCRIPTION_PARSE_FAILED", SubscriptionParseFailed, 23},
	{"SUBSCRIPTION_NOT_EXIST", SubscriptionNotExist, 24},
	{"SUBSCRIPTION_NOT_LATEST", SubscriptionNotLatest, 25},
	{"SUBSCRIPTION_GROUP_NOT_EXIST", SubscriptionGroupNotExist, 26},
	{"FILTER_DATA_NOT_EXIST", FilterDataNotExist, 27},
	{"FILTER_DATA_NOT_LATEST", FilterDataNotLatest, 28},
	{"TRANSACTION_SHOULD_COMMIT", TransactionShouldCommit, 200},
	{"TRANSACTION_SHOULD_ROLLBACK", TransactionShouldRollback, 201},
	{"TRANSACTION_STATE_UNKNOW", TransactionStateUnknow, 202},
	{"TRANSACTION_STATE_GROUP_WRONG", TransactionStateGroupWrong, 203},
	{"NO_BUYER_ID", NoBuyerID, 204},
	{"NOT_IN_CURRENT_UNIT", NotInCurrentUnit, 205},
	{"CONSUMER_NOT_ONLINE", ConsumerNotOnline, 206},
	{"CONSUME_MSG_TIMEOUT", ConsumeMsgTimeout, 207},
	{"NO_MESSAGE", NoMessage, 208},
	{"FLOW_CONTROL", FlowControl, 215},
}

func TestCodesMatchRocketMQ(t *testing.T) {
	check := func(kind string, pinned []pinnedCode, table []codeName, name func(int16) string) {
		t.Helper()
		for _, p := range pinned {
			if p.got != p.want {
				t.Errorf("%s %s: constant is %d, RocketMQ says %d", kind, p.name, p.got, p.want)
			}
			if n := name(p.want); n != p.name {
				t.Errorf("%s %d: named %q, RocketMQ says %q", kind, p.want, n, p.name)
			}
		}
		// Walk the name table the other way: every code it names must be pinned above, so a new
		// constant cannot be added without a checked value.
		for i, e := range table {
			if i > 0 && table[i-1].code >= e.code {
				t.Errorf("%s table not strictly sorted at %s (%d after %d)", kind, e.name, e.code, table[i-1].code)
			}
			found := false
			for _, p := range pinned {
				if p.name == e.name && p.want == e.code {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s table entry %s=%d is not pinned in codes_test.go", kind, e.name, e.code)
			}
		}
	}
	check("request", pinnedRequestCodes, requestCodeNames[:], RequestCodeName)
	check("response", pinnedResponseCodes, responseCodeNames[:], ResponseCodeName)
}

func TestCodeNameUnknown(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{RequestCodeName(9999), "UNKNOWN(9999)"},
		{RequestCodeName(-1), "UNKNOWN(-1)"},
		{ResponseCodeName(214), "UNKNOWN(214)"},
		{RequestCodeName(SendMessage), "SEND_MESSAGE"},
		{ResponseCodeName(PullNotFound), "PULL_NOT_FOUND"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
