// Package brokerapi maps the broker's remoting requests onto the domain's inbound ports and back:
// extFields and bodies in, results and RocketMQ response codes out.
package brokerapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// Broker is every inbound port the handlers call.
type Broker interface {
	inbound.Sender
	inbound.Puller
	inbound.Offsets
	inbound.Clients
	inbound.TopicAdmin
	inbound.Retrier
	inbound.QueueLocker
	inbound.OffsetResetter
	inbound.Transactions
	inbound.Timers
	inbound.Querier
}

// Handlers serve the broker's request codes.
type Handlers struct {
	b          Broker
	brokerName string
	region     string
	log        *zap.Logger
}

// New builds the handlers of the broker named brokerName in region (answered in MSG_REGION).
func New(b Broker, brokerName, region string, log *zap.Logger) *Handlers {
	return &Handlers{b: b, brokerName: brokerName, region: region, log: log}
}

// Register installs every handler on r. Quick requests run on their connection's read loop, so
// pipelined requests are answered in one write. Requests that append to the log run there too
// when inlineWrites holds (async flush: an append never waits for the disk); under sync flush they
// get goroutines, so a connection's concurrent senders share one flush. Pulls always get their
// own goroutine: they may be held.
func (h *Handlers) Register(r *remoting.Router, inlineWrites bool) {
	quick, write := r.HandleInline, r.Handle
	if inlineWrites {
		write = r.HandleInline
		// Sends already buffered on a connection are served together: one append for all.
		for _, code := range []int16{wire.SendMessage, wire.SendMessageV2, wire.SendBatchMessage} {
			r.HandleGroup(code, h.send, h.sendGroup)
		}
	} else {
		write(wire.SendMessage, h.send)
		write(wire.SendMessageV2, h.send)
		write(wire.SendBatchMessage, h.send)
	}
	write(wire.ConsumerSendMsgBack, h.sendBack)
	write(wire.EndTransaction, h.endTransaction)
	r.Handle(wire.PullMessage, h.pull)
	// A group's first heartbeat persists the group and its retry topic: not on the read loop.
	r.Handle(wire.HeartBeat, h.heartbeat)
	r.Handle(wire.UnregisterClient, h.unregisterClient)
	r.Handle(wire.CheckClientConfig, h.checkClientConfig) // compiles an expression: not on the read loop
	quick(wire.GetConsumerListByGroup, h.consumerList)
	quick(wire.QueryConsumerOffset, h.queryConsumerOffset)
	quick(wire.UpdateConsumerOffset, h.updateConsumerOffset)
	quick(wire.GetMaxOffset, h.maxOffset)
	quick(wire.GetMinOffset, h.minOffset)
	quick(wire.SearchOffsetByTimestamp, h.searchOffset)
	quick(wire.LockBatchMQ, h.lockBatch)
	quick(wire.UnlockBatchMQ, h.unlockBatch)
	quick(wire.ListTimers, h.listTimers)
	quick(wire.CancelTimer, h.cancelTimer)
	r.Handle(wire.UpdateAndCreateTopic, h.createTopic)
	r.Handle(wire.DeleteTopicInBroker, h.deleteTopic)
	r.Handle(wire.GetAllTopicConfig, h.allTopicConfig)
	r.Handle(wire.GetAllSubscriptionGroupConfig, h.allSubscriptionGroups)
	r.Handle(wire.InvokeBrokerToResetOffset, h.resetOffset)
	r.Handle(wire.QueryMessage, h.queryMessage)
	r.Handle(wire.ViewMessageByID, h.viewMessageByID)
}

// OnConnect forgets a connection's clients as soon as it closes.
func (h *Handlers) OnConnect(c *remoting.Conn) {
	ch := channel{c}
	c.OnClose(func() { h.b.ChannelClosed(ch) })
}

// codeOf maps a domain error onto RocketMQ's response code.
func codeOf(err error) int16 {
	switch {
	case errors.Is(err, errs.ErrTopicNotExist):
		return wire.TopicNotExist
	case errors.Is(err, errs.ErrMessageIllegal):
		return wire.MessageIllegal
	case errors.Is(err, errs.ErrNoPermission):
		return wire.NoPermission
	case errors.Is(err, errs.ErrServiceUnavailable):
		return wire.ServiceNotAvailable
	case errors.Is(err, errs.ErrSystemBusy):
		return wire.SystemBusy
	case errors.Is(err, errs.ErrFlushDiskTimeout):
		return wire.FlushDiskTimeout
	case errors.Is(err, errs.ErrSubscriptionGroupNotExist):
		return wire.SubscriptionGroupNotExist
	case errors.Is(err, errs.ErrSubscriptionNotExist):
		return wire.SubscriptionNotExist
	case errors.Is(err, errs.ErrSubscriptionNotLatest):
		return wire.SubscriptionNotLatest
	case errors.Is(err, errs.ErrSubscriptionParse):
		return wire.SubscriptionParseFailed
	}
	return wire.SystemError
}

func failErr(req *wire.Command, err error) *wire.Command {
	return wire.NewResponse(req, codeOf(err), err.Error())
}

func fail(req *wire.Command, code int16, format string, args ...any) *wire.Command {
	return wire.NewResponse(req, code, fmt.Sprintf(format, args...))
}

func ok(req *wire.Command) *wire.Command { return wire.NewResponse(req, wire.Success, "") }

// header reads typed extFields, remembering the first missing or malformed one.
type header struct {
	req  *wire.Command
	err  error
	send *[len(sendHeaderV2)]string // a send header's fields read in one pass (sendHeaderOf), or nil
}

func headerOf(req *wire.Command) header { return header{req: req} }

// sendHeaderOf reads a send header's fields in one pass over the extension fields, so the
// decoding of a send (which asks for eleven of them) does not search the fields once for each.
// v2: the fields have SEND_MESSAGE_V2's one-letter names (sendHeaderV2); they are still asked
// for by their long names.
func sendHeaderOf(req *wire.Command, v2 bool) header {
	h := header{req: req, send: new([len(sendHeaderV2)]string)}
	req.RangeExt(func(k, v string) bool {
		i := -1
		if v2 {
			if len(k) == 1 && k[0] >= 'a' && int(k[0]-'a') < len(sendHeaderV2) {
				i = int(k[0] - 'a')
			}
		} else {
			i = sendFieldIndex(k)
		}
		if i >= 0 {
			h.send[i] = v
		}
		return true
	})
	return h
}

// get reads a field by its long name.
func (h *header) get(key string) string {
	if h.send != nil {
		if i := sendFieldIndex(key); i >= 0 {
			return h.send[i]
		}
		return ""
	}
	return h.req.Ext(key)
}

func (h *header) str(key string) string { return h.get(key) }

func (h *header) required(key string) string {
	v := h.get(key)
	if v == "" && h.err == nil {
		h.err = fmt.Errorf("%w: header field %s is missing", errs.ErrInvalidArgument, key)
	}
	return v
}

func (h *header) int64(key string, def int64) int64 {
	v := h.get(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && h.err == nil {
		h.err = fmt.Errorf("%w: header field %s=%q is not an integer", errs.ErrInvalidArgument, key, v)
	}
	return n
}

func (h *header) int32(key string, def int32) int32 {
	v := h.get(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil && h.err == nil {
		h.err = fmt.Errorf("%w: header field %s=%q is not a 32-bit integer", errs.ErrInvalidArgument, key, v)
	}
	return int32(n)
}

func (h *header) bool(key string) bool { return h.get(key) == "true" }
