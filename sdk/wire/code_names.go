package wire

import (
	"cmp"
	"slices"
	"strconv"
)

// codeName ties a code constant to the name RocketMQ's Java sources give it. Both tables are
// built from the constants themselves and kept sorted by code (codes_test.go checks both), so a
// constant and its name cannot drift apart.
type codeName struct {
	code int16
	name string
}

var requestCodeNames = [...]codeName{
	{SendMessage, "SEND_MESSAGE"},
	{PullMessage, "PULL_MESSAGE"},
	{QueryMessage, "QUERY_MESSAGE"},
	{QueryConsumerOffset, "QUERY_CONSUMER_OFFSET"},
	{UpdateConsumerOffset, "UPDATE_CONSUMER_OFFSET"},
	{UpdateAndCreateTopic, "UPDATE_AND_CREATE_TOPIC"},
	{GetAllTopicConfig, "GET_ALL_TOPIC_CONFIG"},
	{GetBrokerRuntimeInfo, "GET_BROKER_RUNTIME_INFO"},
	{SearchOffsetByTimestamp, "SEARCH_OFFSET_BY_TIMESTAMP"},
	{GetMaxOffset, "GET_MAX_OFFSET"},
	{GetMinOffset, "GET_MIN_OFFSET"},
	{GetEarliestMsgStoreTime, "GET_EARLIEST_MSG_STORETIME"},
	{ViewMessageByID, "VIEW_MESSAGE_BY_ID"},
	{HeartBeat, "HEART_BEAT"},
	{UnregisterClient, "UNREGISTER_CLIENT"},
	{ConsumerSendMsgBack, "CONSUMER_SEND_MSG_BACK"},
	{EndTransaction, "END_TRANSACTION"},
	{GetConsumerListByGroup, "GET_CONSUMER_LIST_BY_GROUP"},
	{CheckTransactionState, "CHECK_TRANSACTION_STATE"},
	{NotifyConsumerIdsChanged, "NOTIFY_CONSUMER_IDS_CHANGED"},
	{LockBatchMQ, "LOCK_BATCH_MQ"},
	{UnlockBatchMQ, "UNLOCK_BATCH_MQ"},
	{GetAllConsumerOffset, "GET_ALL_CONSUMER_OFFSET"},
	{GetAllDelayOffset, "GET_ALL_DELAY_OFFSET"},
	{CheckClientConfig, "CHECK_CLIENT_CONFIG"},
	{PutKVConfig, "PUT_KV_CONFIG"},
	{GetKVConfig, "GET_KV_CONFIG"},
	{DeleteKVConfig, "DELETE_KV_CONFIG"},
	{RegisterBroker, "REGISTER_BROKER"},
	{UnregisterBroker, "UNREGISTER_BROKER"},
	{GetRouteInfoByTopic, "GET_ROUTEINFO_BY_TOPIC"},
	{GetBrokerClusterInfo, "GET_BROKER_CLUSTER_INFO"},
	{UpdateAndCreateSubscriptionGroup, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP"},
	{GetAllSubscriptionGroupConfig, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG"},
	{GetTopicStatsInfo, "GET_TOPIC_STATS_INFO"},
	{GetConsumerConnectionList, "GET_CONSUMER_CONNECTION_LIST"},
	{GetProducerConnectionList, "GET_PRODUCER_CONNECTION_LIST"},
	{WipeWritePermOfBroker, "WIPE_WRITE_PERM_OF_BROKER"},
	{GetAllTopicListFromNameserver, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER"},
	{DeleteSubscriptionGroup, "DELETE_SUBSCRIPTIONGROUP"},
	{GetConsumeStats, "GET_CONSUME_STATS"},
	{DeleteTopicInBroker, "DELETE_TOPIC_IN_BROKER"},
	{DeleteTopicInNamesrv, "DELETE_TOPIC_IN_NAMESRV"},
	{ResetConsumerClientOffset, "RESET_CONSUMER_CLIENT_OFFSET"},
	{GetConsumerStatusFromClient, "GET_CONSUMER_STATUS_FROM_CLIENT"},
	{InvokeBrokerToResetOffset, "INVOKE_BROKER_TO_RESET_OFFSET"},
	{GetTopicsByCluster, "GET_TOPICS_BY_CLUSTER"},
	{GetConsumerRunningInfo, "GET_CONSUMER_RUNNING_INFO"},
	{ConsumeMessageDirectly, "CONSUME_MESSAGE_DIRECTLY"},
	{SendMessageV2, "SEND_MESSAGE_V2"},
	{SendBatchMessage, "SEND_BATCH_MESSAGE"},
	{QueryDataVersion, "QUERY_DATA_VERSION"},
	{SendReplyMessage, "SEND_REPLY_MESSAGE"},
	{SendReplyMessageV2, "SEND_REPLY_MESSAGE_V2"},
	{PushReplyMessageToClient, "PUSH_REPLY_MESSAGE_TO_CLIENT"},
}

var responseCodeNames = [...]codeName{
	{Success, "SUCCESS"},
	{SystemError, "SYSTEM_ERROR"},
	{SystemBusy, "SYSTEM_BUSY"},
	{RequestCodeNotSupported, "REQUEST_CODE_NOT_SUPPORTED"},
	{TransactionFailed, "TRANSACTION_FAILED"},
	{FlushDiskTimeout, "FLUSH_DISK_TIMEOUT"},
	{SlaveNotAvailable, "SLAVE_NOT_AVAILABLE"},
	{FlushSlaveTimeout, "FLUSH_SLAVE_TIMEOUT"},
	{MessageIllegal, "MESSAGE_ILLEGAL"},
	{ServiceNotAvailable, "SERVICE_NOT_AVAILABLE"},
	{VersionNotSupported, "VERSION_NOT_SUPPORTED"},
	{NoPermission, "NO_PERMISSION"},
	{TopicNotExist, "TOPIC_NOT_EXIST"},
	{TopicExistAlready, "TOPIC_EXIST_ALREADY"},
	{PullNotFound, "PULL_NOT_FOUND"},
	{PullRetryImmediately, "PULL_RETRY_IMMEDIATELY"},
	{PullOffsetMoved, "PULL_OFFSET_MOVED"},
	{QueryNotFound, "QUERY_NOT_FOUND"},
	{SubscriptionParseFailed, "SUBSCRIPTION_PARSE_FAILED"},
	{SubscriptionNotExist, "SUBSCRIPTION_NOT_EXIST"},
	{SubscriptionNotLatest, "SUBSCRIPTION_NOT_LATEST"},
	{SubscriptionGroupNotExist, "SUBSCRIPTION_GROUP_NOT_EXIST"},
	{FilterDataNotExist, "FILTER_DATA_NOT_EXIST"},
	{FilterDataNotLatest, "FILTER_DATA_NOT_LATEST"},
	{TransactionShouldCommit, "TRANSACTION_SHOULD_COMMIT"},
	{TransactionShouldRollback, "TRANSACTION_SHOULD_ROLLBACK"},
	{TransactionStateUnknow, "TRANSACTION_STATE_UNKNOW"},
	{TransactionStateGroupWrong, "TRANSACTION_STATE_GROUP_WRONG"},
	{NoBuyerID, "NO_BUYER_ID"},
	{NotInCurrentUnit, "NOT_IN_CURRENT_UNIT"},
	{ConsumerNotOnline, "CONSUMER_NOT_ONLINE"},
	{ConsumeMsgTimeout, "CONSUME_MSG_TIMEOUT"},
	{NoMessage, "NO_MESSAGE"},
	{FlowControl, "FLOW_CONTROL"},
}

// RequestCodeName returns RocketMQ's name of a request code, e.g. "SEND_MESSAGE", or "UNKNOWN(n)".
func RequestCodeName(code int16) string { return lookupCodeName(requestCodeNames[:], code) }

// ResponseCodeName returns RocketMQ's name of a response code, e.g. "PULL_NOT_FOUND", or
// "UNKNOWN(n)". Request and response codes overlap numerically, so the caller must know which
// kind it holds.
func ResponseCodeName(code int16) string { return lookupCodeName(responseCodeNames[:], code) }

func lookupCodeName(table []codeName, code int16) string {
	i, ok := slices.BinarySearchFunc(table, code, func(e codeName, c int16) int { return cmp.Compare(e.code, c) })
	if !ok {
		return "UNKNOWN(" + strconv.Itoa(int(code)) + ")"
	}
	return table[i].name
}
