// Package errs holds the error kinds of the domain. The transport maps each to a RocketMQ response
// code with errors.Is, so use cases wrap them with context and never pick wire codes themselves.
package errs

import "errors"

// Error kinds.
var (
	ErrTopicNotExist             = errors.New("topic does not exist")
	ErrMessageIllegal            = errors.New("message illegal")
	ErrNoPermission              = errors.New("no permission")
	ErrServiceUnavailable        = errors.New("service not available")
	ErrSystemBusy                = errors.New("system busy")
	ErrFlushDiskTimeout          = errors.New("flush disk timeout")
	ErrSubscriptionGroupNotExist = errors.New("subscription group does not exist")
	ErrSubscriptionNotExist      = errors.New("subscription does not exist")
	ErrSubscriptionNotLatest     = errors.New("subscription not latest")
	ErrSubscriptionParse         = errors.New("subscription parse failed")
	ErrInvalidArgument           = errors.New("invalid argument")
	ErrNotFound                  = errors.New("not found")
)
