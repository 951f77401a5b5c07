package remoting

import "errors"

// Sentinel errors, checkable with errors.Is. Network failures are wrapped and returned as well.
var (
	// ErrClosed: the connection or client is closed, or closed while a call was waiting.
	ErrClosed = errors.New("remoting: closed")
	// ErrTimeout: the caller's context deadline passed while waiting. Errors carrying it also
	// wrap context.DeadlineExceeded.
	ErrTimeout = errors.New("remoting: timeout")
	// ErrWriteBacklog closes a connection whose peer leaves more than MaxPendingWrite of
	// answers unread.
	ErrWriteBacklog = errors.New("remoting: peer does not read its answers")
)
