package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// QueryMessageByKey returns up to maxNum messages of topic indexed under key (a KEYS entry or the
// UNIQ_KEY) on every broker of the topic (QUERY_MESSAGE).
func (a *Admin) QueryMessageByKey(ctx context.Context, topic, key string, maxNum int) ([]*message.Ext, error) {
	r, err := a.c.QueryRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	ext := map[string]string{"topic": topic, "key": key, "maxNum": strconv.Itoa(maxNum),
		"beginTimestamp": "0", "endTimestamp": strconv.FormatInt(math.MaxInt64, 10)}
	var out []*message.Ext
	for _, name := range r.BrokerNames() {
		addr := r.MasterAddr(name)
		resp, err := a.c.Call(ctx, addr, wire.NewRequest(wire.QueryMessage, ext, nil))
		if errors.Is(err, client.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, err := message.DecodeRecords(resp.Body, name)
		if err != nil {
			return nil, fmt.Errorf("%w: query answer from %s: %v", client.ErrServer, addr, err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// ViewMessage returns the message stored under an offset message id (VIEW_MESSAGE_BY_ID at the
// broker the id names).
func (a *Admin) ViewMessage(ctx context.Context, offsetMsgID string) (*message.Ext, error) {
	host, off, err := wire.ParseOffsetMsgID(offsetMsgID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", client.ErrMessageIllegal, err)
	}
	resp, err := a.c.Call(ctx, host.String(), wire.NewRequest(wire.ViewMessageByID,
		map[string]string{"offset": strconv.FormatInt(off, 10)}, nil))
	if err != nil {
		return nil, err
	}
	msgs, err := message.DecodeRecords(resp.Body, "")
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("%w: view answer from %s: %d records, %v", client.ErrServer, host, len(msgs), err)
	}
	return msgs[0], nil
}
