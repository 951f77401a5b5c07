package brokerapi

import (
	"context"
	"net/netip"
	"slices"
	"strconv"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// channel is a client connection as the domain sees it.
type channel struct{ c *remoting.Conn }

func (ch channel) ID() uint64                 { return ch.c.ID() }
func (ch channel) RemoteAddr() netip.AddrPort { return ch.c.RemoteAddr() }
func (ch channel) Close() error               { return ch.c.Close() }

// NotifyConsumerIDsChanged sends code 40 oneway, as RocketMQ does; clients never answer it.
func (ch channel) NotifyConsumerIDsChanged(ctx context.Context, group string) error {
	req := wire.NewRequest(wire.NotifyConsumerIdsChanged, map[string]string{"consumerGroup": group}, nil)
	return ch.c.InvokeOneway(ctx, req)
}

// ResetConsumerOffsets sends RESET_CONSUMER_CLIENT_OFFSET oneway. The body's offset table uses
// queue objects as map keys (fastjson's form), which is what the Go client parses.
func (ch channel) ResetConsumerOffsets(ctx context.Context, topicName, group, brokerName string, ts int64, offsets map[int32]int64) error {
	ext := map[string]string{"topic": topicName, "group": group, "timestamp": strconv.FormatInt(ts, 10), "isForce": "true"}
	req := wire.NewRequest(wire.ResetConsumerClientOffset, ext, appendOffsetTable(nil, topicName, brokerName, offsets))
	return ch.c.InvokeOneway(ctx, req)
}

// appendOffsetTable writes {"offsetTable":{{"brokerName":..,"queueId":..,"topic":..}:offset,...}}
// with queues in id order.
func appendOffsetTable(dst []byte, topicName, brokerName string, offsets map[int32]int64) []byte {
	ids := make([]int32, 0, len(offsets))
	for id := range offsets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = append(dst, `{"offsetTable":{`...)
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"brokerName":`...)
		dst = wire.AppendJSONString(dst, brokerName)
		dst = append(dst, `,"queueId":`...)
		dst = strconv.AppendInt(dst, int64(id), 10)
		dst = append(dst, `,"topic":`...)
		dst = wire.AppendJSONString(dst, topicName)
		dst = append(dst, "}:"...)
		dst = strconv.AppendInt(dst, offsets[id], 10)
	}
	return append(dst, "}}"...)
}
