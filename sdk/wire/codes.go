package wire

// Request codes (RocketMQ's RequestCode). Values are pinned by codes_test.go against the Java
// sources; code_names.go holds RocketMQ's name for each, and a code missing there fails that test.
const (
	SendMessage                   int16 = 10
	PullMessage                   int16 = 11
	QueryMessage                  int16 = 12
	QueryConsumerOffset           int16 = 14
	UpdateConsumerOffset          int16 = 15
	UpdateAndCreateTopic          int16 = 17
	GetAllTopicConfig             int16 = 21
	GetBrokerRuntimeInfo          int16 = 28
	SearchOffsetByTimestamp       int16 = 29
	GetMaxOffset                  int16 = 30
	GetMinOffset                  int16 = 31
	GetEarliestMsgStoreTime       int16 = 32
	ViewMessageByID               int16 = 33
	HeartBeat                     int16 = 34
	UnregisterClient              int16 = 35
	ConsumerSendMsgBack           int16 = 36
	EndTransaction                int16 = 37
	GetConsumerListByGroup        int16 = 38
	CheckTransactionState         int16 = 39
	NotifyConsumerIdsChanged      int16 = 40
	LockBatchMQ                   int16 = 41
	UnlockBatchMQ                 int16 = 42
	GetAllConsumerOffset          int16 = 43
	GetAllDelayOffset             int16 = 45
	CheckClientConfig             int16 = 46
	PutKVConfig                   int16 = 100
	GetKVConfig                   int16 = 101
	DeleteKVConfig                int16 = 102
	RegisterBroker                int16 = 103
	UnregisterBroker              int16 = 104
	GetRouteInfoByTopic           int16 = 105
	GetBrokerClusterInfo          int16 = 106
	UpdateAndCreateSubscriptionGr int16 = 200 // kept for existing callers; same as UpdateAndCreateSubscriptionGroup
	GetAllSubscriptionGroupConfig int16 = 201
	GetTopicStatsInfo             int16 = 202
	GetConsumerConnectionList     int16 = 203
	GetProducerConnectionList     int16 = 204
	WipeWritePermOfBroker         int16 = 205
	GetAllTopicListFromNameserver int16 = 206
	DeleteSubscriptionGroup       int16 = 207
	GetConsumeStats               int16 = 208
	DeleteTopicInBroker           int16 = 215
	DeleteTopicInNamesrv          int16 = 216
	ResetConsumerClientOffset     int16 = 220
	GetConsumerStatusFromClient   int16 = 221
	InvokeBrokerToResetOffset     int16 = 222
	GetTopicsByCluster            int16 = 224
	GetConsumerRunningInfo        int16 = 307
	ConsumeMessageDirectly        int16 = 309
	SendMessageV2                 int16 = 310
	SendBatchMessage              int16 = 320
	QueryDataVersion              int16 = 322
	SendReplyMessage              int16 = 324
	SendReplyMessageV2            int16 = 325
	PushReplyMessageToClient      int16 = 326

	UpdateAndCreateSubscriptionGroup = UpdateAndCreateSubscriptionGr
)

// Response codes (RocketMQ's ResponseCode and RemotingSysResponseCode). Values are pinned by
// codes_test.go like the request codes.
const (
	Success                    int16 = 0
	SystemError                int16 = 1
	SystemBusy                 int16 = 2
	RequestCodeNotSupported    int16 = 3
	TransactionFailed          int16 = 4
	FlushDiskTimeout           int16 = 10
	SlaveNotAvailable          int16 = 11
	FlushSlaveTimeout          int16 = 12
	MessageIllegal             int16 = 13
	ServiceNotAvailable        int16 = 14
	VersionNotSupported        int16 = 15
	NoPermission               int16 = 16
	TopicNotExist              int16 = 17
	TopicExistAlready          int16 = 18
	PullNotFound               int16 = 19
	PullRetryImmediately       int16 = 20
	PullOffsetMoved            int16 = 21
	QueryNotFound              int16 = 22
	SubscriptionParseFailed    int16 = 23
	SubscriptionNotExist       int16 = 24
	SubscriptionNotLatest      int16 = 25
	SubscriptionGroupNotExist  int16 = 26
	FilterDataNotExist         int16 = 27
	FilterDataNotLatest        int16 = 28
	TransactionShouldCommit    int16 = 200
	TransactionShouldRollback  int16 = 201
	TransactionStateUnknow     int16 = 202
	TransactionStateGroupWrong int16 = 203
	NoBuyerID                  int16 = 204
	NotInCurrentUnit           int16 = 205
	ConsumerNotOnline          int16 = 206
	ConsumeMsgTimeout          int16 = 207
	NoMessage                  int16 = 208
	FlowControl                int16 = 215
)
