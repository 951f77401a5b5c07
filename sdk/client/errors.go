package client

import (
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/sdk/internal/remote"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Errors of the SDK, checkable with errors.Is. The producer, consumer and admin packages return
// these (and re-export the ones their callers need most). A context's own errors
// (context.DeadlineExceeded, context.Canceled) come back wrapped, so errors.Is finds them too.
var (
	// ErrClosed: the client, producer or consumer was shut down, or the connection a request
	// waited on was closed.
	ErrClosed = remote.ErrClosed
	// ErrConnection: a connection could not be made, or broke.
	ErrConnection = remote.ErrConnection
	// ErrNoNameServer: no name server address is configured.
	ErrNoNameServer = errors.New("rocketgo: no name server address")
	// ErrTopicNotExist: the name server has no route for the topic, or a broker does not know it.
	ErrTopicNotExist = errors.New("rocketgo: topic does not exist")
	// ErrBrokerNotFound: no address is known for a broker name (not in any cached route).
	ErrBrokerNotFound = errors.New("rocketgo: broker address not found")
	// ErrNoPermission: the broker refused (topic or group permissions, system topic).
	ErrNoPermission = errors.New("rocketgo: no permission")
	// ErrNotSupported: the server does not implement the request.
	ErrNotSupported = errors.New("rocketgo: request not supported by the server")
	// ErrBusy: the broker is overloaded (SYSTEM_BUSY, FLOW_CONTROL).
	ErrBusy = errors.New("rocketgo: broker busy")
	// ErrServiceUnavailable: the broker cannot serve the request now (e.g. a slave, or stopping).
	ErrServiceUnavailable = errors.New("rocketgo: service not available")
	// ErrMessageIllegal: the broker rejected a message (too large, bad properties, bad topic).
	ErrMessageIllegal = errors.New("rocketgo: message illegal")
	// ErrNotFound: the broker has no such thing (no stored consumer offset, no message).
	ErrNotFound = errors.New("rocketgo: not found")
	// ErrSubscription: a pull's subscription is unknown or outdated at the broker.
	ErrSubscription = errors.New("rocketgo: subscription not accepted")
	// ErrServer: any other error code from a server; the *ResponseError says which.
	ErrServer = errors.New("rocketgo: server error")
)

// ResponseError is a non-success answer from a name server or broker.
type ResponseError struct {
	Addr    string // who answered
	Request int16  // request code
	Code    int16  // response code
	Remark  string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("rocketgo: %s to %s answered %s (%d): %s", wire.RequestCodeName(e.Request), e.Addr,
		wire.ResponseCodeName(e.Code), e.Code, e.Remark)
}

// Is maps the response code onto the sentinel errors.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrServer:
		return true
	case ErrTopicNotExist:
		return e.Code == wire.TopicNotExist
	case ErrNoPermission:
		return e.Code == wire.NoPermission
	case ErrNotSupported:
		return e.Code == wire.RequestCodeNotSupported
	case ErrBusy:
		return e.Code == wire.SystemBusy || e.Code == wire.FlowControl
	case ErrServiceUnavailable:
		return e.Code == wire.ServiceNotAvailable || e.Code == wire.SlaveNotAvailable
	case ErrMessageIllegal:
		return e.Code == wire.MessageIllegal
	case ErrNotFound:
		return e.Code == wire.QueryNotFound || e.Code == wire.NoMessage
	case ErrSubscription:
		return e.Code >= wire.SubscriptionParseFailed && e.Code <= wire.FilterDataNotLatest
	}
	return false
}

// CheckResponse turns a non-success response into a *ResponseError.
func CheckResponse(addr string, req int16, resp *wire.Command) error {
	if resp.Code == wire.Success {
		return nil
	}
	return &ResponseError{Addr: addr, Request: req, Code: resp.Code, Remark: resp.Remark}
}
