package wire

// Request codes rocketgo adds for what RocketMQ's protocol has no request for. They sit far above
// RocketMQ's range (which stays below 1000 in int16) so they never collide with a code a RocketMQ
// release may add.
const (
	// ListTimers answers the pending timer messages by due time: extFields fromMs, limit; body
	// TimerListBody.
	ListTimers int16 = 30001
	// CancelTimer cancels a pending timer message: extFields msgId (its offset message id).
	CancelTimer int16 = 30002
)

// TimerInfo is one pending timer message.
type TimerInfo struct {
	DueMs       int64  `json:"dueMs"`
	OffsetMsgID string `json:"offsetMsgId"`
	Topic       string `json:"topic"`
	UniqKey     string `json:"uniqKey,omitempty"`
}

// TimerListBody answers ListTimers.
type TimerListBody struct {
	Timers []TimerInfo `json:"timers"`
}
