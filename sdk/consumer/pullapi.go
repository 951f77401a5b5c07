package consumer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// PullStatus is what a pull found.
type PullStatus int

// Pull statuses (REMOTING.md §6.5).
const (
	Found            PullStatus = iota // messages returned
	NoNewMessage                       // nothing at the offset (yet)
	NoMatchedMessage                   // messages scanned, none matched the selector
	OffsetIllegal                      // the offset is out of the queue's range; see NextBeginOffset
)

func (s PullStatus) String() string {
	switch s {
	case Found:
		return "FOUND"
	case NoNewMessage:
		return "NO_NEW_MSG"
	case NoMatchedMessage:
		return "NO_MATCHED_MSG"
	case OffsetIllegal:
		return "OFFSET_ILLEGAL"
	}
	return "PullStatus(" + strconv.Itoa(int(s)) + ")"
}

// PullResult is a broker's answer to a pull.
type PullResult struct {
	Status PullStatus
	// NextBeginOffset is where the next pull of the queue starts.
	NextBeginOffset int64
	MinOffset       int64
	MaxOffset       int64
	// Messages found (Status Found); they may be fewer than the broker returned when a tag
	// selector filtered out hash collisions.
	Messages []*message.Ext
}

// Pull request sysFlag bits.
const (
	pullCommitOffset = 1
	pullSuspend      = 2
	pullSubscription = 4
)

type pullHeader struct {
	group        string
	queue        message.Queue
	offset       int64
	maxNums      int
	sysFlag      int32
	commitOffset int64
	suspend      time.Duration
	sub          Selector // used when sysFlag has pullSubscription
	subVersion   int64
}

// pullOnce sends one PULL_MESSAGE to addr and interprets the answer. tags (non-empty) filters
// the found messages by tag string, as RocketMQ's clients do after the broker's hash filter.
func pullOnce(ctx context.Context, c *client.Client, addr string, h *pullHeader, tags []string) (*PullResult, error) {
	ext := map[string]string{
		"consumerGroup":        h.group,
		"topic":                h.queue.Topic,
		"queueId":              strconv.Itoa(int(h.queue.QueueID)),
		"queueOffset":          strconv.FormatInt(h.offset, 10),
		"maxMsgNums":           strconv.Itoa(h.maxNums),
		"sysFlag":              strconv.Itoa(int(h.sysFlag)),
		"commitOffset":         strconv.FormatInt(h.commitOffset, 10),
		"suspendTimeoutMillis": strconv.FormatInt(h.suspend.Milliseconds(), 10),
		"subscription":         "",
		"subVersion":           strconv.FormatInt(h.subVersion, 10),
		"expressionType":       "TAG",
	}
	if h.sysFlag&pullSubscription != 0 {
		ext["subscription"] = h.sub.Expression
		ext["expressionType"] = h.sub.Type
	}
	resp, err := c.Invoke(ctx, addr, wire.NewRequest(wire.PullMessage, ext, nil))
	if err != nil {
		return nil, err
	}
	res := &PullResult{}
	switch resp.Code {
	case wire.Success:
		res.Status = Found
	case wire.PullNotFound:
		res.Status = NoNewMessage
	case wire.PullRetryImmediately:
		res.Status = NoMatchedMessage
	case wire.PullOffsetMoved:
		res.Status = OffsetIllegal
	default:
		return nil, client.CheckResponse(addr, wire.PullMessage, resp)
	}
	var perr error
	res.NextBeginOffset, perr = strconv.ParseInt(resp.Ext("nextBeginOffset"), 10, 64)
	if perr != nil {
		return nil, fmt.Errorf("%w: pull answer from %s without nextBeginOffset", client.ErrServer, addr)
	}
	res.MinOffset, _ = strconv.ParseInt(resp.Ext("minOffset"), 10, 64)
	res.MaxOffset, _ = strconv.ParseInt(resp.Ext("maxOffset"), 10, 64)
	if res.Status != Found || len(resp.Body) == 0 {
		return res, nil
	}
	msgs, derr := message.DecodeRecords(resp.Body, h.queue.BrokerName)
	if derr != nil && len(msgs) == 0 {
		return nil, fmt.Errorf("%w: pull body from %s: %v", client.ErrServer, addr, derr)
	}
	minS, maxS := resp.Ext("minOffset"), resp.Ext("maxOffset")
	kept := msgs[:0]
	for _, m := range msgs {
		if len(tags) > 0 && !containsTag(tags, m.Tag) {
			continue
		}
		m.Properties[message.PropertyMinOffset] = minS
		m.Properties[message.PropertyMaxOffset] = maxS
		kept = append(kept, m)
	}
	res.Messages = kept
	return res, nil
}

func containsTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}
