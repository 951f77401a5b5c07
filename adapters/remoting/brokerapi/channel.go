package brokerapi

import (
	"context"
	"net/netip"

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
