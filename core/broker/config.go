package broker

import "time"

// Config of the broker's use cases.
type Config struct {
	// Name, Cluster and ID identify the broker in routes (ID 0 is a master).
	Name    string `koanf:"name"`
	Cluster string `koanf:"cluster"`
	ID      int64  `koanf:"id"`
	// NamesrvAddrs are the name servers to register with ("ip:port").
	NamesrvAddrs []string `koanf:"namesrvAddrs"`
	// RegisterInterval is the period of re-registration with every name server.
	RegisterInterval time.Duration `koanf:"registerInterval"`
	// AutoCreateTopic lets a send to an unknown topic create it from TBW102.
	AutoCreateTopic bool `koanf:"autoCreateTopic"`
	// AutoCreateSubscriptionGroup creates consumer groups on their first heartbeat or pull.
	AutoCreateSubscriptionGroup bool `koanf:"autoCreateSubscriptionGroup"`
	// DefaultTopicQueueNums is the read and write queue count of TBW102 and of auto-created topics.
	DefaultTopicQueueNums int32 `koanf:"defaultTopicQueueNums"`
	// LongPollMaxSuspend caps how long a pull may be held, whatever the client asks.
	LongPollMaxSuspend time.Duration `koanf:"longPollMaxSuspend"`
	// OffsetFlushInterval is how often committed consumer offsets are persisted.
	OffsetFlushInterval time.Duration `koanf:"offsetFlushInterval"`
	// ClientExpiry drops a producer or consumer that has not sent a heartbeat for this long.
	ClientExpiry time.Duration `koanf:"clientExpiry"`
	// Region is answered in MSG_REGION on every send.
	Region string `koanf:"region"`
	// MaxPullBatch caps the messages of one pull answer.
	MaxPullBatch int `koanf:"maxPullBatch"`
	// MaxPullBytes caps the body of one pull answer.
	MaxPullBytes int `koanf:"maxPullBytes"`
	// MaxHeldPulls caps the pulls held at once in the whole broker; more are answered at once.
	MaxHeldPulls int `koanf:"maxHeldPulls"`
	// MaxHeldPullsPerConn caps the pulls one connection may have held at once.
	MaxHeldPullsPerConn int `koanf:"maxHeldPullsPerConn"`
	// MessageDelayLevel lists the delay of each level, 1 first, in s, m, h or d units.
	MessageDelayLevel string `koanf:"messageDelayLevel"`
	// MaxReconsumeTimes is how often a message is retried before it is dead-lettered, when
	// neither the consumer nor the group says otherwise.
	MaxReconsumeTimes int32 `koanf:"maxReconsumeTimes"`
	// LockLease is how long a queue lock of an orderly consumer lasts without renewal.
	LockLease time.Duration `koanf:"lockLease"`
	// HotLogBytes is how far behind the end of the commit log a record still counts as hot: a
	// new ConsumeFromLastOffset group starts at 0 on a queue whose first record is hot, as
	// RocketMQ does. 0 means 40% of the machine's memory.
	HotLogBytes int64 `koanf:"hotLogBytes"`
	// TransactionTimeout is how long a half message waits for its producer's decision before the
	// broker asks (CHECK_TRANSACTION_STATE).
	TransactionTimeout time.Duration `koanf:"transactionTimeout"`
	// TransactionCheckInterval is how often undecided half messages are checked.
	TransactionCheckInterval time.Duration `koanf:"transactionCheckInterval"`
	// TransactionCheckMax is how many checks a half message gets before it is discarded.
	TransactionCheckMax int `koanf:"transactionCheckMax"`
	// TimerMaxDelay is the furthest ahead a timer message may be scheduled.
	TimerMaxDelay time.Duration `koanf:"timerMaxDelay"`
	// MaxQueryResults caps the records of one query by key (QUERY_MESSAGE), whatever the
	// request's maxNum; 0 or less means the default.
	MaxQueryResults int `koanf:"maxQueryResults"`
	// EnablePropertyFilter accepts SQL92 subscriptions, which filter by message properties
	// (RocketMQ's enablePropertyFilter, off by default there). Off, they are refused as Java
	// refuses them: SYSTEM_ERROR, "The broker does not support consumer to filter message by".
	EnablePropertyFilter bool `koanf:"enablePropertyFilter"`
	// FilterMaxExpressionLength is the longest SQL92 expression accepted, in bytes.
	FilterMaxExpressionLength int `koanf:"filterMaxExpressionLength"`
	// FilterMaxDepth bounds the nesting of a SQL92 expression: every operator and every pair of
	// parentheses is a level ("a = 1" is 2 deep).
	FilterMaxDepth int `koanf:"filterMaxDepth"`
	// FilterMaxInList is the most values of one SQL92 IN list.
	FilterMaxInList int `koanf:"filterMaxInList"`
}

// Defaults returns a standalone-friendly configuration.
func Defaults() Config {
	return Config{
		Name:                        "broker-a",
		Cluster:                     "DefaultCluster",
		ID:                          0,
		NamesrvAddrs:                []string{"127.0.0.1:9876"},
		RegisterInterval:            30 * time.Second,
		AutoCreateTopic:             true,
		AutoCreateSubscriptionGroup: true,
		DefaultTopicQueueNums:       4,
		LongPollMaxSuspend:          20 * time.Second,
		OffsetFlushInterval:         5 * time.Second,
		ClientExpiry:                120 * time.Second,
		Region:                      "DefaultRegion",
		MaxPullBatch:                32,
		MaxPullBytes:                256 << 10,
		MaxHeldPulls:                100_000,
		MaxHeldPullsPerConn:         4096,
		MessageDelayLevel:           DefaultDelayLevels,
		MaxReconsumeTimes:           16,
		LockLease:                   60 * time.Second,
		TransactionTimeout:          6 * time.Second,
		TransactionCheckInterval:    30 * time.Second,
		TransactionCheckMax:         15,
		TimerMaxDelay:               72 * time.Hour,
		MaxQueryResults:             defaultMaxQueryResults,
		EnablePropertyFilter:        true,
		FilterMaxExpressionLength:   16 << 10,
		FilterMaxDepth:              64,
		FilterMaxInList:             1024,
	}
}
